"""Exploring around a tune: ranking candidates, and continuing a tune from a bar, again and again.

A continuation is named by its base request and a chain of (bar, seed) pairs: write the base,
continue from bar b1 with seed s1, then from bar b2 of that with seed s2, ... Every stage is
deterministic, so a chain is a complete description of a tune (share links carry it).
"""
from __future__ import annotations

import math

from .composer import Composer
from .request import RequestError, TuneRequest
from .stream import Stream, Tune


def score(tune: Tune) -> float:
    """The model's own score of a tune: mean log-likelihood per character it wrote (higher is likelier);
    a tune with no characters of the model's own scores lowest."""
    return tune.mean_log_likelihood if not math.isnan(tune.mean_log_likelihood) else -math.inf


def ranked(tunes: list[Tune]) -> list[Tune]:
    """Candidates, the model's likeliest first (ties keep their order)."""
    return sorted(tunes, key=score, reverse=True)


def write_chain(composer: Composer, request: TuneRequest, chain: tuple[tuple[int, int], ...]) -> Stream:
    """The stream that writes `request`, then continues it from each (bar, seed) of `chain` in turn.
    Earlier stages are written whole first (tens of ms each); RequestError("bar") when a stage has
    fewer bars than the chain asks for."""
    stream = composer.submit(request)
    for bar, seed in chain:
        stream.wait()
        bars = len(stream.snapshots)
        if not 1 <= bar <= bars:
            stream.cancel()
            raise RequestError("bar", f"this tune has {bars} bars; continue from bar 1 to {bars}")
        stream = composer.continue_from(stream.snapshot(bar), seed)
    return stream


def shorten(chain: tuple[tuple[int, int], ...], bar: int, seed: int) -> tuple[tuple[int, int], ...]:
    """The chain for continuing a chained tune from `bar` with `seed`. Bars 1..bar of a continuation
    that kept bars 1..b >= bar are its base's bars 1..bar, so those stages are dropped: the tune's
    own seed then writes it again, and links stay short."""
    return (*(stage for stage in chain if stage[0] < bar), (bar, seed))
