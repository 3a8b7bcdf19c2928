"""CPU time per character step at batch 1: ONNX Runtime (shipped model) vs torch eager, side by side.

    python -m benchmarks.step_time [--steps 2000] [--rounds 5]
    python -m benchmarks.step_time --artifacts model_artifacts runs/seed_artifacts   # compare models

ONNX Runtime runs each artifacts folder's model.onnx (at 1, 2 and default threads for the first);
torch eager runs the first folder's architecture with randomly initialised weights, which cost the
same time as trained ones. Each round times every engine once, in turn, so machine noise falls on
all of them; the median over rounds is reported.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from train.config import Config
from train.model import CharLSTM
from tunesmith.engine import OrtEngine
from tunesmith.model import DEFAULT_ARTIFACTS, load_description


def fp32_engine(folder: str, threads: int | None = None) -> OrtEngine:
    return OrtEngine(load_description(folder), variant="fp32", threads=threads)


def card_of(folder: str) -> dict:
    return json.loads((Path(folder) / "model_card.json").read_text())


def time_onnx(engine: OrtEngine, tokens: np.ndarray) -> float:
    state = engine.initial_state(1)
    started = time.perf_counter()
    for token in tokens:
        _, state = engine.step(token[None], state)
    return (time.perf_counter() - started) / len(tokens)


def time_torch(model: CharLSTM, tokens: np.ndarray) -> float:
    h, c = model.initial_state(1)
    tokens = torch.from_numpy(tokens)
    with torch.inference_mode():
        started = time.perf_counter()
        for token in tokens:
            _, h, c = model.step(token[None], h, c)
    return (time.perf_counter() - started) / len(tokens)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.step_time", description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", nargs="+", default=[str(DEFAULT_ARTIFACTS)])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    first = args.artifacts[0]
    engines = {f"{first}: onnxruntime cpu fp32, {n or 'default'} threads": fp32_engine(first, threads=n)
               for n in (None, 1, 2)}
    for other in args.artifacts[1:]:
        engines[f"{other}: onnxruntime cpu fp32, default threads"] = fp32_engine(other)
    config = Config.from_dict(card_of(first)["config"])
    model = CharLSTM(config).eval()
    tokens = np.random.default_rng(0).integers(0, config.vocab_size, args.steps).astype(np.int64)
    timers = {name: (lambda e=e: time_onnx(e, tokens)) for name, e in engines.items()}
    timers[f"{first}: torch eager cpu, {torch.get_num_threads()} threads"] = lambda: time_torch(model, tokens)

    for timer in timers.values():  # warm-up
        timer()
    samples = {name: [] for name in timers}
    for _ in range(args.rounds):
        for name, timer in timers.items():
            samples[name].append(timer())
    medians = {name: statistics.median(s) for name, s in samples.items()}
    torch_name = next(n for n in medians if "torch eager" in n)
    report = {
        "batch": 1, "steps_per_round": args.steps, "rounds": args.rounds,
        "models": {d: {k: card_of(d).get(k) for k in ("parameters", "validation_nats_per_char")}
                   | {k: card_of(d)["config"][k] for k in ("hidden_size", "num_layers")}
                   for d in args.artifacts},
        "onnxruntime": ort.__version__, "torch": torch.__version__,
        "microseconds_per_step": {n: round(m * 1e6, 1) for n, m in medians.items()},
        "speedup_vs_torch": {n: round(medians[torch_name] / m, 2) for n, m in medians.items()},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
