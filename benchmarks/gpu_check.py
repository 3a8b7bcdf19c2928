"""The checks a lent GPU machine settles, in one run (the device image has no pytest nor Gradio).

    python -m benchmarks.gpu_check --out "$OUT"

On the device, after onnxruntime-gpu is unpacked there (../shared/scripts/prepare-ort-gpu.sh, then
`bash .whl/install.sh && export PYTHONPATH=/tmp/site`):
1. load_engine() picks the CUDA-graph engine with the CUDA provider really in use, or says why not;
2. tunes for seeds 0..19 on the GPU against the CPU fp32 engine, and on the GPU alone against
   batched: how many are identical;
3. `python -m benchmarks.speed --no-app` (engine steps beside torch CUDA eager, the composer's
   overhead and rates), its JSON written beside.
Writes gpu_check.json to --out and prints it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tunesmith.composer import Composer
from tunesmith.engine import load_engine
from tunesmith.model import DEFAULT_ARTIFACTS
from tunesmith.request import parse_request

SEEDS = range(20)


def compose(engine, batched: bool) -> list[str]:
    request = parse_request({}, engine.description)
    with Composer(engine) as composer:
        if batched:
            return [t.text for t in composer.compose_all([request.with_seed(s) for s in SEEDS])]
        return [composer.submit(request.with_seed(s)).result().text for s in SEEDS]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    parser.add_argument("--out", default="runs")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    gpu = load_engine(args.artifacts)
    report = {"engine": gpu.name, "providers": gpu.providers, "cuda_problem": gpu.cuda_problem}
    if gpu.device_label.startswith("GPU"):
        cpu = load_engine(args.artifacts, provider="cpu", variant="fp32")
        gpu_alone, gpu_batched, cpu_alone = compose(gpu, False), compose(gpu, True), compose(cpu, False)
        report["identical_gpu_vs_cpu_fp32"] = sum(a == b for a, b in zip(gpu_alone, cpu_alone))
        report["identical_gpu_alone_vs_batched"] = sum(a == b for a, b in zip(gpu_alone, gpu_batched))
        report["tunes"] = len(SEEDS)
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    if not gpu.device_label.startswith("GPU"):
        return 1
    from benchmarks.speed import main as speed
    return speed(["--no-app", "--json", str(out / "speed_gpu.json")])


if __name__ == "__main__":
    sys.exit(main())
