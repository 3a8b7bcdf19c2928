"""Strict meter vs the raw model, side by side: abcjs well-formedness, likelihood, time per character.

    python -m benchmarks.strict_meter [--n 200] [--temperature 1.0]

Composes tunes for seeds 0..n-1 with and without the strict-meter mask (through the batched
composer, as the app does) and reports:
- the share that abcjs judges well-formed (judge/abcjs_judge.js; needs Node.js);
- the model's mean log-likelihood per character it wrote (at temperature 1, unmasked), which says
  how far the mask pulls the music from what the model would write;
- the wall time per character over the whole batch (the mask's own cost is in benchmarks.speed).
Strict meter alone: the form, on by default with it, has its own benchmark (benchmarks/form.py).
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import time

import numpy as np

from judge import judge_tunes
from tunesmith.composer import Composer
from tunesmith.engine import load_engine
from tunesmith.model import DEFAULT_ARTIFACTS
from tunesmith.request import parse_request


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.strict_meter", description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--temperature", type=float, default=1.0)
    args = parser.parse_args(argv)
    engine = load_engine(args.artifacts)

    report = {"artifacts": args.artifacts, "engine": engine.name, "tunes": args.n, "temperature": args.temperature}
    for mode in ("raw", "strict"):
        request = parse_request({"temperature": args.temperature, "strict": mode == "strict", "form": False},
                                engine.description)
        with Composer(engine) as composer:
            started = time.perf_counter()
            tunes = composer.compose_all([request.with_seed(seed) for seed in range(args.n)])
            seconds = time.perf_counter() - started
        verdicts = judge_tunes([t.text for t in tunes])
        reasons = collections.Counter(re.sub(r"\d+", "N", r) for v in verdicts for r in v["reasons"][:1])
        chars = sum(len(t.text) for t in tunes)
        report[mode] = {
            "well_formed": round(sum(v["ok"] for v in verdicts) / args.n, 4),
            "first_failure_reasons": dict(reasons.most_common(6)),
            "mean_chars_per_tune": round(chars / args.n, 1),
            "mean_log_likelihood_per_char": round(float(np.mean([t.mean_log_likelihood for t in tunes])), 4),
            "microseconds_per_char_batched": round(seconds / chars * 1e6, 1),
            "stopped_by_error": sum(t.reason.startswith("error") for t in tunes),
        }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
