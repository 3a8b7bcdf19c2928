"""Form-aware decoding against strict meter alone, judged by the form judge and abcjs.

    python -m benchmarks.form [--n 200] [--temperature 1.0] [--artifacts model_artifacts] [--corpus]
    python -m benchmarks.form --n 1000 --only tonic triad      # the dead-end check at 1,000 tunes

Composes tunes for seeds 0..n-1 (through the batched composer, as the app does) with strict meter
alone, with the form on (the tonic as home note) and with the form on allowing any note of the
tonic triad, and prints one Markdown table (judge/form.py's rows, one column each; --corpus adds
the training tunebooks' own columns) and, per column:
- well-formed by abcjs (judge/abcjs_judge.js; needs Node.js);
- the model's mean log-likelihood per character it wrote (at temperature 1, unmasked): how far the
  form pulls the music from what the model would write;
- tunes stopped by an error (a dead end would be one), tunes stopped at the length cap, mean length.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from judge import judge_tunes
from judge.form import ROWS, read_form, split_book, totals
from tunesmith.composer import Composer
from tunesmith.engine import load_engine
from tunesmith.model import DEFAULT_ARTIFACTS
from tunesmith.request import parse_request

REPO = Path(__file__).resolve().parent.parent
CORPORA = (REPO / "data" / "irish.abc", REPO / "data" / "oneills1850.abc")
COLUMNS = {"strict meter": {"form": False}, "form, tonic": {"form": True, "home": "tonic"},
           "form, triad": {"form": True, "home": "triad"}}
SHORT = dict(zip(("strict", "tonic", "triad"), COLUMNS))  # --only's names for the columns


def compose(engine, n: int, temperature: float, settings: dict) -> list:
    request = parse_request({"temperature": temperature, "strict": True, **settings}, engine.description)
    with Composer(engine) as composer:
        return composer.compose_all([request.with_seed(seed) for seed in range(n)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.form", description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--corpus", action="store_true", help="add the corpus tunebooks' columns")
    parser.add_argument("--only", nargs="+", choices=list(SHORT),
                        help="only these columns (strict, tonic, triad)")
    parser.add_argument("--json", help="where the figures go (default runs/form.json, runs/form_<columns>.json with --only)")
    args = parser.parse_args(argv)
    if args.json is None:
        args.json = str(REPO / "runs" / ("form_" + "_".join(args.only) + ".json" if args.only else "form.json"))
    engine = load_engine(args.artifacts)
    columns, extra = {}, {}
    if args.corpus:
        for path in CORPORA:
            columns[path.name] = totals([read_form(t) for t in split_book(path.read_text())])
    for name, settings in COLUMNS.items():
        if args.only and name not in [SHORT[short] for short in args.only]:
            continue
        tunes = compose(engine, args.n, args.temperature, settings)
        texts = [t.text for t in tunes]
        columns[name] = totals([read_form(t) for t in texts])
        verdicts = judge_tunes(texts)
        extra[name] = {
            "well-formed by abcjs": sum(v["ok"] for v in verdicts) / len(texts),
            "log-likelihood per character (nats)": float(np.mean([t.mean_log_likelihood for t in tunes])),
            "stopped by an error (dead end)": sum(t.reason.startswith("error") for t in tunes),
            "stopped at the length cap": sum(t.reason == "length" or len(t.text) >= t.request.max_chars - 30
                                             for t in tunes),
            "mean characters": float(np.mean([len(x) for x in texts])),
        }
    names = list(columns)
    lines = [f"| {args.n} tunes, temperature {args.temperature:g}, {engine.name} | " + " | ".join(names) + " |",
             "|---|" + "---|" * len(names)]
    for row, _ in ROWS:
        lines.append(f"| {row} | " + " | ".join(f"{columns[n][row]:.1%}" for n in names) + " |")
    for row in next(iter(extra.values())):
        cells = []
        for n in names:
            value = extra.get(n, {}).get(row)
            cells.append("" if value is None else f"{value:.1%}" if row.startswith("well") else
                         f"{value:.3f}" if row.startswith("log") else f"{value:.0f}")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"columns": columns, "extra": extra, "n": args.n,
                                           "temperature": args.temperature, "engine": engine.name}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
