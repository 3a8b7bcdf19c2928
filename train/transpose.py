"""Training tunes moved to neighbouring keys: more tunes in the keys the corpus uses.

A tune is moved one step round the circle of fifths (G major becomes D or C major, A Dorian E or
D Dorian), by a fourth down or up (the smaller move; a fifth the other way if that leaves the
corpus's range): `K:` is rewritten and every note moves by the same
number of letters and semitones, with accidentals written wherever the new key signature (or an
accidental earlier in the bar) would otherwise give the wrong pitch, and wherever the tune wrote
one. A copy is made only when its key is one the corpus uses, every note stays within the
corpus's range and needs no double accidental; anything else in the tune is kept as written.

Only training tunes are moved (train/__main__.py): the validation tunes stay as they are.
"""
from __future__ import annotations

import re

from tunesmith.form import LETTERS, LINE_OF_FIFTHS, MODE_FIFTHS, signature, tonic_fifths
from tunesmith.strict_abc import KEYS

NATURAL = (0, 2, 4, 5, 7, 9, 11)  # semitones of C D E F G A B above C
# One step round the circle of fifths, as (letters, semitones): a fourth first, then a fifth.
STEPS = {1: ((-3, -5), (4, 7)), -1: ((3, 5), (-4, -7))}
LOWEST, HIGHEST = -10, 20  # diatonic steps from middle C: G, to b' (the corpus's range)
NOTE = re.compile(r"(\^|_|=)?([A-Ga-g])([,']*)")
ACCIDENTAL = {"^": 1, "_": -1, "=": 0}
WRITTEN = {1: "^", -1: "_", 0: "="}


def tonic_name(fifths: int) -> str:
    letter = LINE_OF_FIFTHS[(fifths + 1) % 7]
    return letter + {0: "", 1: "#", -1: "b"}.get((fifths + 1) // 7, "?")


def step_of(letter: str, octave: str) -> int:
    """Diatonic steps from middle C: C 0, c 7, c' 14, C, -7."""
    base = LETTERS.index(letter.upper()) + (7 if letter.islower() else 0)
    return base + 7 * octave.count("'") - 7 * octave.count(",")


def spelled(step: int) -> str:
    octave, index = divmod(step, 7)
    if octave >= 1:
        return LETTERS[index].lower() + "'" * (octave - 1)
    return LETTERS[index] + "," * (-octave)


def pitch(step: int, accidental: int) -> int:
    octave, index = divmod(step, 7)
    return 12 * octave + NATURAL[index] + accidental


def transpose(tune: str, direction: int, keys: tuple[str, ...] = KEYS) -> str | None:
    """The tune one step sharpwards (direction 1: G to D) or flatwards (-1: G to C), by a fourth
    where the notes stay in range, else by a fifth; None when it cannot be moved."""
    for letters, semitones in STEPS[direction]:
        moved = _moved(tune, direction, letters, semitones, keys)
        if moved is not None:
            return moved
    return None


def _moved(tune: str, direction: int, letters: int, semitones: int, keys: tuple[str, ...]) -> str | None:
    head, sep, body = tune.partition("\nK:")
    if not sep:
        return None
    key_line, newline, body = body.partition("\n")
    match = re.fullmatch(r"\s*([A-G][#b]?) (Major|Minor|Dorian|Mixolydian)\s*", key_line)
    if not match:
        return None
    tonic, mode = match.groups()
    old_fifths = tonic_fifths(tonic)
    new_tonic = tonic_name(old_fifths + direction)
    if f"{new_tonic} {mode}" not in keys:
        return None
    old_sig = signature(old_fifths + MODE_FIFTHS[mode])
    new_sig = signature(old_fifths + direction + MODE_FIFTHS[mode])
    out, last = [], 0
    old_bar, new_bar = {}, {}  # accidentals written in this bar, by step
    for match in re.finditer(r"\||\n|" + NOTE.pattern, body):
        out.append(body[last:match.start()])
        last = match.end()
        if match.group(0) in ("|", "\n"):
            if match.group(0) == "|":
                old_bar.clear()
                new_bar.clear()
            out.append(match.group(0))
            continue
        written, letter, octave = match.groups()
        step = step_of(letter, octave)
        if written:
            old_bar[step] = ACCIDENTAL[written]
        sounding = pitch(step, old_bar.get(step, old_sig.get(letter.upper(), 0)))
        new_step = step + letters
        if not LOWEST <= new_step <= HIGHEST:
            return None
        new_letter = LETTERS[new_step % 7]
        needed = sounding + semitones - pitch(new_step, 0)
        if needed not in WRITTEN:
            return None  # a double sharp or flat: the corpus writes none
        implied = new_bar.get(new_step, new_sig.get(new_letter, 0))
        mark = ""
        if written or needed != implied:
            mark = WRITTEN[needed]
            new_bar[new_step] = needed
        out.append(mark + spelled(new_step))
    out.append(body[last:])
    return f"{head}\nK:{new_tonic} {mode}{newline}{''.join(out)}"


def transposed_copies(tunes: list[str], copies: int) -> list[str]:
    """Up to `copies` moved copies of each tune: one step round the circle of fifths (1: sharpwards,
    else flatwards; 2: both), then two steps, from those copies in the same direction (3, 4)."""
    moved = []
    for tune in tunes:
        first = []  # (direction, copy)
        for direction in (1, -1):
            if len(first) == min(copies, 2):
                break
            copy = transpose(tune, direction)
            if copy is not None:
                first.append((direction, copy))
        second = [transpose(copy, direction) for direction, copy in first][:max(copies - 2, 0)]
        moved += [copy for _, copy in first] + [copy for copy in second if copy is not None]
    return moved
