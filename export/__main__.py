"""Export a trained checkpoint's one-step cell to ONNX and write the shipped model folder.

    python -m export --checkpoint runs/seed/best.pt --out model_artifacts

Writes model.onnx (one file) and, after onnx.checker and a parity check against torch on a real
validation tune at batch 1 and 4, rewrites a one-layer cell as ONNX's fused LSTM operator (checked
against the exporter's graph; see export/cell_variants.py), then:
- model.json: what the runtime needs (sizes, vocabulary, IO names, opset, weight hashes, inference
  defaults), written by export/describe.py and read by tunesmith.model;
- model_card.json: how it was made (training recipe, corpus sha256, validation nats/char, steps,
  parity figures, library versions, date);
- model.int8.onnx, checked and recorded by export/quantize.py (the CPU default if it passes).
"""
from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
from pathlib import Path

import onnx
import onnxruntime
import torch

from train.data import DEFAULT_CORPUS, REPO_ROOT, fixed_split, read_corpus, sha256_of, split_tunes
from train.evaluate import validation_nats_per_char
from train.model import count_parameters
from train.trainer import load_checkpoint

from .cell_variants import fuse_folder
from .describe import write_description
from .onnx_step import INPUT_NAMES, OPSET, OUTPUT_NAMES, export_step
from .parity import MAX_LOGIT_DIFF, check_parity
from .quantize import WELL_FORMED_TUNES, make_int8

PARITY_TUNE_INDEX = 0  # the first validation tune


def extra_training_data(path: str) -> dict | None:
    """The extra corpus the config names (training only), with its size and hash."""
    if not path:
        return None
    full = REPO_ROOT / path
    return {"path": path, "sha256": sha256_of(full), "tunes": len(split_tunes(read_corpus(full)))}


def write_artifacts(checkpoint: Path, out: Path, data: Path, parity_batches=(1, 4),
                    well_formed_tunes: int = WELL_FORMED_TUNES) -> dict:
    model, vocab, saved = load_checkpoint(checkpoint)
    text = read_corpus(data)
    split = fixed_split(split_tunes(text))
    if vocab.unknown_chars(text):
        raise ValueError(f"{data} holds characters the checkpoint's vocabulary lacks: {vocab.unknown_chars(text)}")

    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "model.onnx"
    proto = export_step(model, onnx_path)
    parity = [check_parity(model, onnx_path, vocab, split.validation[PARITY_TUNE_INDEX], batch_size=b)
              for b in parity_batches]
    for result in parity:
        if result["max_abs_logit_diff"] > MAX_LOGIT_DIFF or not result["greedy_identical"]:
            raise RuntimeError(f"export parity failed: {result}")

    config = model.config
    write_description(out, embedding_size=config.embedding_size, hidden_size=config.hidden_size,
                      num_layers=config.num_layers, vocab=vocab, weights={"fp32": onnx_path.name})
    fused = fuse_folder(out, split.validation[PARITY_TUNE_INDEX], MAX_LOGIT_DIFF)
    run_summary_path = checkpoint.parent / "summary.json"
    run_summary = json.loads(run_summary_path.read_text()) if run_summary_path.exists() else {}
    if (checkpoint.parent / "loss_curve.png").exists():
        shutil.copy(checkpoint.parent / "loss_curve.png", out / "loss_curve.png")
    card = {
        "name": "Tunesmith character LSTM",
        "description": "Character-level LSTM over ABC notation of Irish folk tunes; one step per file run.",
        "config": model.config.to_dict(),
        "parameters": count_parameters(model),
        "inputs": {"token": "int64 [batch]", "h": f"float32 [{model.config.num_layers}, batch, "
                   f"{model.config.hidden_size}]", "c": "float32, same shape as h"},
        "outputs": {"logits": f"float32 [batch, {len(vocab)}]", "h_out": "as h", "c_out": "as c"},
        "input_names": INPUT_NAMES,
        "output_names": OUTPUT_NAMES,
        "opset": OPSET,
        "ir_version": proto.ir_version,
        "corpus": data.name,
        "corpus_sha256": sha256_of(data),
        "split": {"rule": "blank-line chunks, index % 10 == 0 is validation",
                  "train_tunes": len(split.train), "validation_tunes": len(split.validation)},
        "extra_training_data": extra_training_data(model.config.extra_corpus),
        "validation_nats_per_char": validation_nats_per_char(model, split.validation, vocab),
        "best_step": saved["step"],
        "steps_run": run_summary.get("steps_run"),
        "train_seconds": run_summary.get("train_seconds"),
        "train_device": run_summary.get("device"),
        "parity": {"max_allowed_abs_logit_diff": MAX_LOGIT_DIFF, "runs": parity},
        "graph": fused,
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__,
                     "onnxruntime": onnxruntime.__version__, "python": sys.version.split()[0]},
        "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    (out / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    card["int8"] = make_int8(out, data, well_formed_tunes)
    return card


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default="runs/seed/best.pt")
    parser.add_argument("--out", default="model_artifacts")
    parser.add_argument("--data", default=str(DEFAULT_CORPUS), help="the corpus the checkpoint was trained on")
    args = parser.parse_args(argv)
    if not Path(args.checkpoint).is_file():
        print(f"error: checkpoint not found: {args.checkpoint} (train one with `python -m train`)", file=sys.stderr)
        return 2
    card = write_artifacts(Path(args.checkpoint), Path(args.out), Path(args.data))
    summary = {k: card[k] for k in ("parameters", "validation_nats_per_char", "best_step", "opset")}
    summary["int8"] = {k: card["int8"][k] for k in ("validation_nats_per_char", "file_bytes", "well_formed",
                                                    "cpu_default")}
    summary["parity"] = [{k: r[k] for k in ("batch_size", "max_abs_logit_diff", "greedy_identical")}
                         for r in card["parity"]["runs"]]
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
