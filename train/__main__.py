"""Train the Tunesmith character LSTM on the ABC corpus.

    python -m train --preset transposed --out runs/transposed  # the shipped model (~30 min on 2 CPU cores)
    python -m train --preset shipped --out runs/shipped    # the model shipped until Nov 26 (~1 hour)
    python -m train --preset seed --out runs/seed          # the seed recipe (~20 min; overfits, early-stopped)
    python -m train --preset tiny --out runs/tiny          # seconds; a smoke run

Uses CUDA when present. Writes best.pt (weights + config + vocabulary), metrics.csv/json,
summary.json and loss_curve.png into --out. Export the checkpoint with `python -m export`.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

from train.config import PRESETS, Config
from tunesmith.vocab import Vocabulary

from .data import DEFAULT_CORPUS, REPO_ROOT, Split, fixed_split, read_corpus, sha256_of, split_tunes
from .trainer import train
from .transpose import transposed_copies


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m train", description=__doc__.split("\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="seed")
    parser.add_argument("--data", default=str(DEFAULT_CORPUS), help="ABC corpus, tunes separated by blank lines")
    parser.add_argument("--out", default="runs/seed", help="output folder")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    for field in dataclasses.fields(Config):
        if field.name != "vocab_size":
            parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default),
                                default=None, help=f"override the preset's {field.name}")
    return parser.parse_args(argv)


def load_training_data(data: str, extra_corpus: str, transpose: int = 0) -> tuple[Vocabulary, Split, dict]:
    """The vocabulary and fixed split of the corpus, plus the extra corpus's tunes and the training
    tunes moved to neighbouring keys (`transpose` copies each), for training only."""
    text = read_corpus(data)
    vocab = Vocabulary.from_text(text)
    split = fixed_split(split_tunes(text))
    provenance = {"corpus": os.path.basename(data), "corpus_sha256": sha256_of(data)}
    if extra_corpus:
        extra_path = REPO_ROOT / extra_corpus
        extra_text = read_corpus(extra_path)
        unknown = vocab.unknown_chars(extra_text)
        if unknown:
            raise ValueError(f"{extra_corpus} holds characters outside the vocabulary: {unknown!r}")
        extra = split_tunes(extra_text)
        split = Split(train=split.train + extra, validation=split.validation)
        provenance.update(extra_corpus_sha256=sha256_of(extra_path), extra_tunes=len(extra))
    if transpose:
        moved = transposed_copies(split.train, transpose)
        unknown = vocab.unknown_chars("\n\n".join(moved))
        if unknown:
            raise ValueError(f"transposed tunes hold characters outside the vocabulary: {unknown!r}")
        split = Split(train=split.train + moved, validation=split.validation)
        provenance.update(transposed_tunes=len(moved))
    return vocab, split, provenance


def main(argv=None) -> int:
    args = parse_args(argv)
    config = dataclasses.replace(PRESETS[args.preset])
    for field in dataclasses.fields(Config):
        value = getattr(args, field.name, None)
        if value is not None:
            setattr(config, field.name, value)
    try:
        vocab, split, provenance = load_training_data(args.data, config.extra_corpus, config.transpose)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(split.train)} training tunes, {len(split.validation)} validation tunes, "
          f"{len(vocab)} characters", file=sys.stderr)
    import torch
    provenance.update(train_tunes=len(split.train), validation_tunes=len(split.validation))
    summary = train(config, split, vocab, args.out, provenance=provenance,
                    device=torch.device(args.device) if args.device else None)
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
