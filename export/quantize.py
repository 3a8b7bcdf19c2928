"""Make the int8 CPU model of an exported folder, check it, and record what it costs and scores.

    python -m export.quantize --artifacts model_artifacts

ONNX Runtime's static quantisation of the matrix products (weights int8 per output channel,
activations uint8 with scales calibrated on training tunes). Static, not dynamic: a dynamic
scale is computed over the whole batch, so one row's numbers would change with the other rows in
the batch, and a tune composed beside others would not be the tune composed alone.

Checks and records (in model_card.json under "int8", and model.json's weights): parity with the
fp32 file (max |logit difference| teacher-forced on a validation tune, top-1 agreement), rows
independent of the batch, validation nats/char of both files measured the same way, the share
of strict tunes abcjs judges well-formed, batch-1 step time of both side by side, file size.
int8 becomes the folder's CPU default only if its validation loss is within MAX_LOSS_INCREASE of
fp32 and at least MIN_WELL_FORMED of its tunes are well-formed.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                      quantize_static)

from train.data import DEFAULT_CORPUS, fixed_split, read_corpus, split_tunes
from train.evaluate import _tune_rows
from tunesmith.engine import zero_state
from tunesmith.model import ModelDescription, load_description

from .cell_variants import cell_weights, is_fused, matmul_form
from .describe import update_description

INT8_FILE = "model.int8.onnx"
MAX_LOSS_INCREASE = 0.01  # nats/char: the most int8 may lose against fp32 and still be the default
MIN_WELL_FORMED = 0.99
WELL_FORMED_TUNES = 100
CALIBRATION_TUNES, CALIBRATION_CHARS = 24, 400  # training tunes only: never the validation split
PARITY_MAX_LOGIT_DIFF = 1.0  # int8 rounds; the loss bound is the real quality check


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _zero_state(description: ModelDescription, batch: int):
    state = zero_state(description, batch)
    return state.h, state.c


class _TrainingStates(CalibrationDataReader):
    """Inputs the fp32 model really sees: training tunes read side by side, every third step."""

    def __init__(self, session: ort.InferenceSession, tunes: list[str], description: ModelDescription):
        ids = [description.vocab.encode(t)[:CALIBRATION_CHARS] for t in tunes]
        h, c = _zero_state(description, len(ids))
        feeds = []
        for t in range(max(len(i) for i in ids)):
            token = np.array([i[t] if t < len(i) else 0 for i in ids], np.int64)
            if t % 3 == 0:
                feeds.append({"token": token, "h": h, "c": c})
            _, h, c = session.run(None, {"token": token, "h": h, "c": c})
        self._feeds = iter(feeds)

    def get_next(self):
        return next(self._feeds, None)


def quantize(fp32_path: Path, out_path: Path, training_tunes: list[str], description: ModelDescription) -> None:
    # Static quantisation turns MatMul/Gemm into int8; a fused LSTM node would stay float, so a
    # fused step is rebuilt in the MatMul form first (same weights, same logits on the CPU).
    model = matmul_form(cell_weights(fp32_path, description)) if is_fused(fp32_path) else onnx.load(str(fp32_path))
    # The exporter's stored shapes trip ORT's quantiser ("Inferred shape and existing shape
    # differ"); they are only hints, so drop them and let it infer its own.
    del model.graph.value_info[:]
    with tempfile.TemporaryDirectory() as tmp:
        clean = Path(tmp) / "clean.onnx"
        onnx.save(model, str(clean))
        reader = _TrainingStates(_session(clean), training_tunes[:CALIBRATION_TUNES], description)
        quantize_static(str(clean), str(out_path), reader, quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=["MatMul", "Gemm"], per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)


def onnx_validation_nats_per_char(session: ort.InferenceSession, tunes: list[str],
                                  description: ModelDescription) -> float:
    """train.evaluate's measure (the same rows and masks) run through an ONNX step session."""
    rows = [(i.numpy(), t.numpy(), m.numpy()) for i, t, m in _tune_rows(tunes, description.vocab)]
    length = max(len(r[0]) for r in rows)
    h, c = _zero_state(description, len(rows))
    total, count = 0.0, 0
    for t in range(length):
        token = np.array([r[0][t] if t < len(r[0]) else 0 for r in rows], np.int64)
        logits, h, c = session.run(None, {"token": token, "h": h, "c": c})
        logits = logits.astype(np.float64)
        top = logits.max(axis=1)
        log_norm = np.log(np.exp(logits - top[:, None]).sum(axis=1)) + top
        for b, (_, targets, counted) in enumerate(rows):
            if t < len(targets) and counted[t]:
                total += log_norm[b] - logits[b, targets[t]]
                count += 1
    return total / count


def parity(fp32: ort.InferenceSession, int8: ort.InferenceSession, tune: str, description: ModelDescription) -> dict:
    """Teacher-forced on one tune: logit differences, top-1 agreement, and batch independence."""
    ids = description.vocab.encode(tune)
    batch = 4
    h32, c32 = _zero_state(description, 1)
    h8, c8 = _zero_state(description, 1)
    hb, cb = _zero_state(description, batch)
    max_diff, agree, batch_diff = 0.0, 0, 0.0
    for t, token in enumerate(ids):
        one = np.array([token], np.int64)
        l32, h32, c32 = fp32.run(None, {"token": one, "h": h32, "c": c32})
        l8, h8, c8 = int8.run(None, {"token": one, "h": h8, "c": c8})
        # Row 0 of a batch reads the same tune; the other rows read other characters.
        others = np.array([token] + [ids[(t + 7 * r) % len(ids)] for r in range(1, batch)], np.int64)
        lb, hb, cb = int8.run(None, {"token": others, "h": hb, "c": cb})
        max_diff = max(max_diff, float(np.abs(l32 - l8).max()))
        agree += int(l32.argmax() == l8.argmax())
        batch_diff = max(batch_diff, float(np.abs(lb[0] - l8[0]).max()))
    return {"teacher_forced_chars": len(ids), "max_abs_logit_diff_vs_fp32": max_diff,
            "top1_agreement_vs_fp32": round(agree / len(ids), 4),
            "max_abs_logit_diff_batch_row_vs_alone": batch_diff}


def step_microseconds(sessions: dict[str, ort.InferenceSession], description: ModelDescription, steps: int = 500,
                      rounds: int = 5) -> dict[str, float]:
    """Batch-1 step time of each session, timed in turn each round (the median over rounds)."""
    samples = {name: [] for name in sessions}
    token = np.zeros(1, np.int64)
    for round_ in range(rounds + 1):
        for name, session in sessions.items():
            h, c = _zero_state(description, 1)
            started = time.perf_counter()
            for _ in range(steps):
                _, h, c = session.run(None, {"token": token, "h": h, "c": c})
            if round_:  # the first round warms up
                samples[name].append((time.perf_counter() - started) / steps * 1e6)
    return {name: round(statistics.median(s), 1) for name, s in samples.items()}


def well_formed_share(artifacts: Path, variant: str, tunes: int = WELL_FORMED_TUNES) -> float | None:
    """The share of strict tunes (temperature 1, seeds 0..n-1) abcjs judges well-formed; None without Node."""
    from judge import judge_tunes, node_available
    from tunesmith.composer import Composer
    from tunesmith.engine import load_engine
    from tunesmith.request import parse_request

    if not node_available():
        return None
    engine = load_engine(artifacts, provider="cpu", variant=variant)
    with Composer(engine) as composer:
        results = composer.compose_all([parse_request({"seed": seed}, engine.description) for seed in range(tunes)])
    verdicts = judge_tunes([r.text for r in results])
    return sum(v["ok"] for v in verdicts) / len(verdicts)


def make_int8(artifacts: Path, corpus: Path = DEFAULT_CORPUS, well_formed_tunes: int = WELL_FORMED_TUNES) -> dict:
    description = load_description(artifacts)
    split = fixed_split(split_tunes(read_corpus(corpus)))
    if description.num_layers != 1 or description.input_names != ("token", "h", "c"):
        raise ValueError("quantize expects the one-layer step exported by export/onnx_step.py")
    fp32_path = description.weights["fp32"].check()
    int8_path = artifacts / INT8_FILE
    # Written beside, checked, then moved into place: a failed check leaves the folder as it was.
    candidate = artifacts / (INT8_FILE + ".candidate")
    quantize(fp32_path, candidate, split.train, description)
    fp32, int8 = _session(fp32_path), _session(candidate)

    report = {
        "method": "onnxruntime quantize_static, QDQ, MatMul and Gemm; weights int8 per channel, "
                  "activations uint8 calibrated (MinMax) on training tunes",
        "file": INT8_FILE,
        "file_bytes": candidate.stat().st_size,
        "fp32_file_bytes": fp32_path.stat().st_size,
        "parity": parity(fp32, int8, split.validation[0], description),
        "validation_nats_per_char": round(onnx_validation_nats_per_char(int8, split.validation, description), 5),
        "fp32_validation_nats_per_char": round(onnx_validation_nats_per_char(fp32, split.validation, description), 5),
        "step_microseconds_batch1": step_microseconds({"fp32": fp32, "int8": int8}, description),
    }
    if report["parity"]["max_abs_logit_diff_vs_fp32"] > PARITY_MAX_LOGIT_DIFF or \
            report["parity"]["max_abs_logit_diff_batch_row_vs_alone"] != 0.0:
        candidate.unlink()
        raise RuntimeError(f"int8 parity failed: {report['parity']}")
    candidate.replace(int8_path)
    # fp32 stays the default until the int8 tunes are judged.
    update_description(artifacts, weights={"fp32": fp32_path.name, "int8": INT8_FILE}, cpu_default="fp32")
    report["well_formed"] = well_formed_share(artifacts, "int8", well_formed_tunes)
    report["well_formed_tunes"] = well_formed_tunes
    loss_increase = report["validation_nats_per_char"] - report["fp32_validation_nats_per_char"]
    report["loss_increase_vs_fp32"] = round(loss_increase, 5)
    report["cpu_default"] = loss_increase <= MAX_LOSS_INCREASE and (report["well_formed"] or 0) >= MIN_WELL_FORMED
    report["rule"] = (f"int8 is the CPU default when its validation loss is within {MAX_LOSS_INCREASE} nats/char "
                      f"of fp32 and at least {MIN_WELL_FORMED:.0%} of its strict tunes are well-formed")
    update_description(artifacts, cpu_default="int8" if report["cpu_default"] else "fp32")

    card_path = artifacts / "model_card.json"
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    card["int8"] = report
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.quantize", description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", default="model_artifacts")
    parser.add_argument("--data", default=str(DEFAULT_CORPUS), help="the corpus the model was trained on")
    args = parser.parse_args(argv)
    report = make_int8(Path(args.artifacts), Path(args.data))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
