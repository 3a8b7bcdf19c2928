"""How much of the shipped model's output is copied from its training tunes.

    python -m benchmarks.novelty [--n 200] [--temperature 1.0] [--artifacts model_artifacts]

Samples n tunes (seeds 0..n-1) and, for each, finds the longest run of body characters (the lines
after the header) that also occurs in the body of any training tune the model was trained on
(irish.abc's training split plus the extra corpus in its config). Prints the distribution and the
share of tunes with a shared run of 64 or more characters (target: at most 5%).
"""
from __future__ import annotations

import argparse
import json

from pathlib import Path

from train.dedup import body_of as body  # the lines after the header
from train.data import DEFAULT_CORPUS, REPO_ROOT, fixed_split, read_corpus, split_tunes
from train.transpose import transposed_copies
from tunesmith.composer import Composer
from tunesmith.engine import load_engine
from tunesmith.model import DEFAULT_ARTIFACTS
from tunesmith.request import parse_request

COPY_RUN = 64
BUCKETS = [0, 16, 32, 48, 64, 96, 128]


def longest_shared_run(text: str, haystack: str) -> int:
    """Length of the longest substring of text found in haystack (grows the best length greedily)."""
    best = 0
    for start in range(len(text)):
        while start + best < len(text) and text[start:start + best + 1] in haystack:
            best += 1
    return best


def training_tunes(artifacts: Path) -> list[str]:
    """irish.abc's training split plus the extra corpus the model card names, and their copies in
    neighbouring keys when its recipe made them (train/transpose.py)."""
    card = json.loads((artifacts / "model_card.json").read_text())
    tunes = fixed_split(split_tunes(read_corpus(DEFAULT_CORPUS))).train
    extra = card.get("extra_training_data")
    if extra:
        tunes += split_tunes(read_corpus(REPO_ROOT / extra["path"]))
    copies = card.get("config", {}).get("transpose", 0)
    return tunes + transposed_copies(tunes, copies) if copies else tunes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.novelty", description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--strict", action="store_true", help="sample with the default masks (strict meter and the form)")
    args = parser.parse_args(argv)

    engine = load_engine(args.artifacts)
    # A NUL never occurs in ABC, so no match can run across two training tunes.
    haystack = "\0".join(body(t) for t in training_tunes(Path(args.artifacts)))
    request = parse_request({"temperature": args.temperature, "strict": args.strict}, engine.description)
    with Composer(engine) as composer:
        tunes = composer.compose_all([request.with_seed(seed) for seed in range(args.n)])
    runs = [longest_shared_run(body(tune.text), haystack) for tune in tunes]
    labels = [f"{lo}-{hi - 1}" for lo, hi in zip(BUCKETS, BUCKETS[1:])] + [f"{BUCKETS[-1]}+"]
    counts = [sum(lo <= r < hi for r in runs) for lo, hi in zip(BUCKETS, BUCKETS[1:] + [10**9])]
    copied = sum(r >= COPY_RUN for r in runs)
    print(json.dumps({
        "artifacts": str(args.artifacts), "tunes": args.n, "temperature": args.temperature, "strict": args.strict,
        "training_tunes": haystack.count("\0") + 1,
        "longest_shared_run_histogram": dict(zip(labels, counts)),
        "median_longest_shared_run": sorted(runs)[len(runs) // 2],
        f"share_with_run_>={COPY_RUN}": round(copied / args.n, 4),
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
