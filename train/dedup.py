"""Finding copies of validation tunes in another collection, by title or by notes.

Notes are compared as diatonic steps between consecutive notes (so a copy in another key, with
other rhythms, ornaments or accidentals, still matches): two tunes are the same when most of the
shorter one's runs of 9 notes also occur in the other.
"""
from __future__ import annotations

import re

SHINGLE_STEPS = 8
SAME_TUNE_CONTAINMENT = 0.25  # Cobb's own distinct tunes never pass 0.2 against its validation split
_NOTE = re.compile(r"([A-Ga-g])([,']*)")
_LETTERS = "CDEFGAB"


def title_key(tune: str) -> str:
    """'The Rose in the Heather' / 'Rose in the Heather, The' -> 'rose in the heather'."""
    match = re.search(r"^T:(.*)$", tune, re.MULTILINE)
    title = match.group(1).lower() if match else ""
    title = re.sub(r",\s*the\s*$", "", title.strip())
    title = re.sub(r"^the\s+", "", title)
    return re.sub(r"[^a-z0-9]+", " ", title).strip()


def body_of(tune: str) -> str:
    return "\n".join(line for line in tune.splitlines() if not re.match(r"^[A-Za-z]:", line))


def diatonic_steps(tune: str) -> list[int]:
    body = re.sub(r'"[^"]*"', "", body_of(tune))  # annotations hold letters that are not notes
    positions = []
    for letter, octave in _NOTE.findall(body):
        position = _LETTERS.index(letter.upper()) + (7 if letter.islower() else 0)
        positions.append(position + 7 * octave.count("'") - 7 * octave.count(","))
    return [b - a for a, b in zip(positions, positions[1:])]


def shingles(tune: str) -> frozenset:
    steps = diatonic_steps(tune)
    return frozenset(tuple(steps[i:i + SHINGLE_STEPS]) for i in range(len(steps) - SHINGLE_STEPS + 1))


def containment(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


class TuneIndex:
    """The tunes to protect (the validation split): asks whether another tune copies one."""

    def __init__(self, tunes: list[str]):
        self.titles = {title_key(t): i for i, t in enumerate(tunes) if title_key(t)}
        self.shingles = [shingles(t) for t in tunes]

    def copy_of(self, tune: str) -> tuple[int, str] | None:
        """(index of the protected tune, 'title' or 'notes') when tune copies one, else None."""
        key = title_key(tune)
        if key and key in self.titles:
            return self.titles[key], "title"
        own = shingles(tune)
        for index, other in enumerate(self.shingles):
            if containment(own, other) >= SAME_TUNE_CONTAINMENT:
                return index, "notes"
        return None
