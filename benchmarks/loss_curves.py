"""Plot the validation curves of several training runs on one chart.

    python -m benchmarks.loss_curves runs/seed runs/oneills_reg --out model_artifacts/loss_curves.png

Each run folder holds the metrics.csv that `python -m train` writes; curves are labelled by folder.
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: the chart goes to a file
import matplotlib.pyplot as plt  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loss_curves", description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--out", default="loss_curves.png")
    args = parser.parse_args(argv)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for run in args.runs:
        with open(Path(run) / "metrics.csv") as f:
            rows = list(csv.DictReader(f))
        steps = [int(r["step"]) for r in rows]
        line, = ax.plot(steps, [float(r["val_nats_per_char"]) for r in rows], label=f"{Path(run).name} validation")
        ax.plot(steps, [float(r["train_loss"]) for r in rows], color=line.get_color(), linestyle=":",
                alpha=0.7, label=f"{Path(run).name} train")
    ax.set_xlabel("step")
    ax.set_ylabel("nats per character")
    ax.set_ylim(0.5, 2.0)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
