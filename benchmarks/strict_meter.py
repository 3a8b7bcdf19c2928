"""Strict meter vs the raw model, side by side: abcjs well-formedness, likelihood, mask cost.

    python -m benchmarks.strict_meter [--n 200] [--temperature 1.0]

Samples tunes for seeds 0..n-1 with and without the strict-meter mask and reports:
- the share that abcjs judges well-formed (judge/abcjs_judge.js; needs Node.js);
- the model's mean log-likelihood per sampled character (at temperature 1, unmasked), which says
  how far the mask pulls the music from what the model would write;
- the time the mask takes as a share of a step (the network step plus the mask).
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import time

import numpy as np
from tqdm import tqdm

from judge import judge_tunes
from tunesmith.engine import DEFAULT_ARTIFACTS, StepEngine
from tunesmith.sampler import DEFAULT_PRIME, generate_tune
from tunesmith.strict_abc import StrictMeter


class TimedHook:
    """Wraps the strict hook and keeps the seconds spent in it."""

    def __init__(self, hook: StrictMeter):
        self.hook, self.seconds, self.calls = hook, 0.0, 0

    def __call__(self, logits, text):
        started = time.perf_counter()
        out = self.hook(logits, text)
        self.seconds += time.perf_counter() - started
        self.calls += 1
        return out


def mean_log_likelihood(engine: StepEngine, tune: str, prime: str = DEFAULT_PRIME) -> float:
    """Mean log p(char | text before it) over the sampled characters, under the unmasked model."""
    logits, state = engine.read(prime)
    total = 0.0
    for char in tune[len(prime):]:
        shifted = logits - logits.max()
        total += float(shifted[engine.vocab.index[char]] - np.log(np.exp(shifted).sum()))
        step_logits, state = engine.step(np.array([engine.vocab.index[char]]), state)
        logits = step_logits[0]
    return total / max(1, len(tune) - len(prime))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.strict_meter", description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--temperature", type=float, default=1.0)
    args = parser.parse_args(argv)
    engine = StepEngine(args.artifacts)

    report = {"artifacts": args.artifacts, "tunes": args.n, "temperature": args.temperature}
    for mode in ("raw", "strict"):
        tunes, hooks, seconds = [], [], 0.0
        for seed in tqdm(range(args.n), desc=mode):
            hook = TimedHook(StrictMeter(engine.vocab, 2000)) if mode == "strict" else None
            started = time.perf_counter()
            tunes.append(generate_tune(engine, temperature=args.temperature, seed=seed, logits_hook=hook))
            seconds += time.perf_counter() - started
            hooks.append(hook)
        verdicts = judge_tunes(tunes)
        reasons = collections.Counter(re.sub(r"\d+", "N", r) for v in verdicts for r in v["reasons"][:1])
        chars = sum(len(t) for t in tunes)
        report[mode] = {
            "well_formed": round(sum(v["ok"] for v in verdicts) / args.n, 4),
            "first_failure_reasons": dict(reasons.most_common(6)),
            "mean_chars_per_tune": round(chars / args.n, 1),
            "mean_log_likelihood_per_char": round(float(np.mean([mean_log_likelihood(engine, t) for t in tunes])), 4),
            "microseconds_per_char": round(seconds / chars * 1e6, 1),
        }
        if mode == "strict":
            mask_seconds = sum(h.seconds for h in hooks)
            report[mode]["mask_share_of_step"] = round(mask_seconds / seconds, 4)
            report[mode]["mask_microseconds_per_char"] = round(mask_seconds / sum(h.calls for h in hooks) * 1e6, 1)
            report[mode]["tracker_lost"] = sum(h.hook.lost for h in hooks)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
