"""Write a tunebook of composed tunes.

    python -m tunesmith.generate --n 20 --temperature 1.0 --seed 0 --out tunes.abc
    python -m tunesmith.generate --n 4 --type jig --key G --mode Dorian --title "The Long Road"
    python -m tunesmith.generate --n 20 --no-constraints --out raw.abc     # the raw model
    python -m tunesmith.generate --n 20 --home tonic        # the form's last note on the tonic (default: its triad)
    python -m tunesmith.generate --n 20 --no-form           # strict meter alone, without the form

Strict meter is on by default: every tune is well-formed ABC whose bars hold the meter
(tunesmith/strict_abc.py), with the form (tunesmith/form.py: regular parts, paired endings, the
last note home) unless --no-form; --no-constraints samples the model's distribution unchanged (fixed
header fields are still forced). Settings are checked exactly as the app checks them
(tunesmith/request.py). All tunes go through the batched composer together.

Tune i (from 0) is composed with seed + i, so a tunebook is reproducible and each tune in it can be
regenerated alone. Tunes are separated by one blank line and numbered X:1, X:2, ...
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from .abc import tunebook
from .composer import Composer
from .engine import load_engine
from .form import FORM_BY_DEFAULT, HOME_BY_DEFAULT, HOMES
from .model import DEFAULT_ARTIFACTS, ModelFolderError
from .request import RequestError, parse_request

# CLI option -> request field, for the options that are passed through only when given.
PASSED_THROUGH = {"temperature": "temperature", "seed": "seed", "type": "tune_type", "meter": "meter",
                  "key": "key", "mode": "mode", "title": "title", "opening": "opening", "max_chars": "max_chars"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tunesmith.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1, help="number of tunes")
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--type", help="tune type: reel, jig, hornpipe, polka, slide, set dance, slip jig, ...")
    parser.add_argument("--meter", help="e.g. 6/8, C|, 3/4")
    parser.add_argument("--key", help="tonic, e.g. D, Bb, F#")
    parser.add_argument("--mode", help="Major, Minor, Dorian or Mixolydian")
    parser.add_argument("--title")
    parser.add_argument("--opening", help="the first bars of the tune body (\\n for newlines)")
    parser.add_argument("--max-chars", dest="max_chars", type=int)
    parser.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    parser.add_argument("--provider", choices=["auto", "cpu", "cuda"], default=None)
    parser.add_argument("--weights", choices=["fp32", "int8"], default=None, help="CPU weights (default: the model's)")
    parser.add_argument("--no-constraints", action="store_true", help="sample the raw model (no strict meter)")
    parser.add_argument("--form", action=argparse.BooleanOptionalAction, default=FORM_BY_DEFAULT,
                        help="regular parts, paired endings, ending on the home note (with strict meter)")
    parser.add_argument("--home", choices=HOMES, help=f"with form: the tonic or any note of the tonic triad "
                                                      f"(default {HOME_BY_DEFAULT})")
    parser.add_argument("--out", default="-", help="output .abc file, or - for standard output")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    values = {field: getattr(args, option) for option, field in PASSED_THROUGH.items()
              if getattr(args, option) is not None}
    if "opening" in values:
        values["opening"] = values["opening"].replace("\\n", "\n")
    values["strict"] = not args.no_constraints
    values["form"] = args.form
    if args.home:
        values["home"] = args.home
    try:
        engine = load_engine(args.artifacts, provider=args.provider, variant=args.weights)
        if engine.cuda_problem:
            print(f"warning: a GPU is present but CUDA cannot start ({engine.cuda_problem}); using the CPU",
                  file=sys.stderr)
        request = parse_request(values, engine.description)
    except (RequestError, ModelFolderError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with Composer(engine) as composer:
        streams = [composer.submit(request.with_seed(request.seed + i)) for i in range(args.n)]
        tunes = [s.result().text for s in tqdm(streams, desc="tunes", disable=args.n == 1, file=sys.stderr)]
    book = tunebook(tunes)
    if args.out == "-":
        sys.stdout.write(book)
    else:
        Path(args.out).write_text(book)
        print(f"wrote {args.n} tunes to {args.out} ({engine.name})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
