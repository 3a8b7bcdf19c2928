"""Which graph of the cell steps fastest on a GPU, and where a batch-1 step's time goes.

    python -m benchmarks.gpu_cell --out runs/gpu_cell

For a lent CUDA machine (needs onnxruntime-gpu and torch). Side by side, rounds interleaved:
- the CUDA-graph engine (tunesmith/cuda_graphs.py) with a bucket per batch size, on the shipped
  step and on each graph from export/cell_variants.py, and the composer's engine as shipped (every
  step padded to 64 rows), at batch 1, 8 and 64, µs per step including the token upload and the
  logits download, as the composer calls it;
- at batch 1, the step split into its three calls: token upload, graph replay (run_with_iobinding),
  logits download;
- torch on the same cell and sizes: CUDA eager (logits to the host each step, as the engines do)
  and a torch CUDA graph (token upload, replay, logits download).
Writes gpu_cell.json to --out and prints it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from export.cell_variants import write_variants
from tunesmith.cuda_graphs import BUCKETS, CudaGraphEngine
from tunesmith.model import DEFAULT_ARTIFACTS, WeightsFile, load_description, sha256_of

BATCHES = (1, 8, 64)
ROUNDS, STEPS = 7, 400  # about 20 s a batch size on an H100


def median_us(run, steps: int) -> float:
    started = time.perf_counter()
    run(steps)
    return (time.perf_counter() - started) / steps * 1e6


def engine_runner(engine, batch: int):
    state = engine.initial_state(batch)
    tokens = np.zeros(batch, np.int64)

    def run(steps):
        nonlocal state
        for _ in range(steps):
            _, state = engine.step(tokens, state)
    return run


def breakdown(engine) -> dict:
    """Batch-1 step split into its calls (each timed on its own, many times)."""
    engine.initial_state(1)
    bucket = engine._buckets[1]
    tokens = np.zeros(1, np.int64)
    parts = {
        "upload_token": lambda n: [bucket.token.update_inplace(tokens) for _ in range(n)],
        "replay": lambda n: [engine.session.run_with_iobinding(bucket.bindings[i % 2], bucket.run_options[i % 2])
                             for i in range(n)],
        "download_logits": lambda n: [bucket.logits.numpy() for _ in range(n)],
    }
    return {name: round(statistics.median(median_us(run, STEPS) for _ in range(ROUNDS)), 1)
            for name, run in parts.items()}


def torch_runners(description, batch: int) -> dict:
    import torch

    from train.config import Config
    from train.model import CharLSTM
    layers, hidden = description.state_shape
    torch.backends.cudnn.enabled = False  # plain matrix products; see benchmarks/speed.py
    model = CharLSTM(Config(vocab_size=len(description.vocab), embedding_size=description.embedding_size,
                            hidden_size=hidden, num_layers=layers)).eval().cuda()
    host_token = torch.zeros(batch, dtype=torch.int64).pin_memory()
    token = torch.zeros(batch, dtype=torch.int64, device="cuda")
    h, c = (t.cuda() for t in model.initial_state(batch))

    def eager(steps):
        nonlocal h, c
        with torch.inference_mode():
            for _ in range(steps):
                logits, h, c = model.step(token, h, c)
                logits.cpu()

    with torch.inference_mode():
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                model.step(token, h, c)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            g_logits, g_h, g_c = model.step(token, h, c)
    host_logits = torch.empty(g_logits.shape, dtype=g_logits.dtype).pin_memory()

    def graphed(steps):
        for _ in range(steps):
            token.copy_(host_token, non_blocking=True)
            graph.replay()
            host_logits.copy_(g_logits)  # waits for the replay
    return {"torch cuda eager": eager, "torch cuda graph": graphed}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_cell", description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    parser.add_argument("--out", default="runs/gpu_cell")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"),
                        help="cpu: a smoke run of this script without a GPU (no torch rows)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    description = load_description(args.artifacts)
    text = (Path(__file__).resolve().parent.parent / "data" / "irish.abc").read_text(encoding="utf-8")[:600]
    variants = write_variants(Path(args.artifacts), Path(tempfile.mkdtemp(prefix="cells-")), text)
    report = {"variants": variants, "us_per_step": {}, "batch1_breakdown_us": {}}

    engines = {}
    for name, info in variants.items():
        path = Path(info["file"])
        weights = WeightsFile("fp32", path, sha256_of(path))
        try:
            engines[name] = CudaGraphEngine(dataclasses.replace(description, weights={"fp32": weights}),
                                            device=args.device, buckets=BUCKETS)
        except Exception as error:  # noqa: BLE001 - a graph the CUDA provider cannot capture is a finding
            report.setdefault("failed", {})[name] = f"{type(error).__name__}: {error}"
    # The composer's engine: the shipped file, every step padded to one bucket of 64 rows.
    shipped = CudaGraphEngine(description, device=args.device)
    for batch in BATCHES:
        runners = {f"ort cuda graphs: {name}": engine_runner(e, batch) for name, e in engines.items()}
        runners["shipped engine (one 64-row bucket)"] = engine_runner(shipped, batch)
        if args.device == "cuda":
            runners.update(torch_runners(description, batch))
        for run in runners.values():
            run(20)
        samples = {name: [median_us(run, STEPS) for _ in range(1)] for name, run in runners.items()}
        for _ in range(ROUNDS - 1):
            for name, run in runners.items():
                samples[name].append(median_us(run, STEPS))
        report["us_per_step"][str(batch)] = {n: round(statistics.median(s), 1) for n, s in samples.items()}
        print(batch, report["us_per_step"][str(batch)], flush=True)
    for name, engine in engines.items():
        report["batch1_breakdown_us"][name] = breakdown(engine)
    one = report["us_per_step"]["1"]
    report["best_batch1"] = min((v, k) for k, v in one.items() if k.startswith("ort"))
    report["shipped_engine_us"] = {b: report["us_per_step"][str(b)]["shipped engine (one 64-row bucket)"] for b in BATCHES}
    if "torch cuda eager" in one:
        report["best_batch1_speedup_vs_torch_cuda_eager"] = round(one["torch cuda eager"] / report["best_batch1"][0], 2)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_cell.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
