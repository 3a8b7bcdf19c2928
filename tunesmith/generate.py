"""Write a tunebook of sampled tunes.

    python -m tunesmith.generate --n 20 --temperature 1.0 --seed 0 --out tunes.abc
    python -m tunesmith.generate --n 20 --no-constraints --out raw.abc     # the raw model

Strict meter is on by default: every tune is well-formed ABC whose bars hold the meter
(tunesmith/strict_abc.py); --no-constraints samples the model's distribution unchanged.

Tune i (from 0) is sampled with seed + i, so a tunebook is reproducible and each tune in it can be
regenerated alone. Tunes are separated by one blank line and numbered X:1, X:2, ...
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from .abc import tunebook
from .engine import DEFAULT_ARTIFACTS, StepEngine
from .sampler import DEFAULT_MAX_CHARS, DEFAULT_PRIME, generate_tune
from .strict_abc import StrictMeter


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tunesmith.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1, help="number of tunes")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prime", default=DEFAULT_PRIME, help="text the tune starts with (\\n for newlines)")
    parser.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS)
    parser.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    parser.add_argument("--provider", choices=["auto", "cpu", "cuda"], default=None)
    parser.add_argument("--no-constraints", action="store_true", help="sample the raw model (no strict meter)")
    parser.add_argument("--out", default="-", help="output .abc file, or - for standard output")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    prime = args.prime.replace("\\n", "\n")
    try:
        engine = StepEngine(args.artifacts, provider=args.provider)
        tunes = [generate_tune(engine, prime=prime, temperature=args.temperature, seed=args.seed + i,
                               max_chars=args.max_chars,
                               logits_hook=None if args.no_constraints else StrictMeter(engine.vocab, args.max_chars))
                 for i in tqdm(range(args.n), desc="tunes", disable=args.n == 1, file=sys.stderr)]
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    book = tunebook(tunes)
    if args.out == "-":
        sys.stdout.write(book)
    else:
        Path(args.out).write_text(book)
        print(f"wrote {args.n} tunes to {args.out} ({engine.device_label})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
