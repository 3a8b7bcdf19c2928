"""The form of a tune, read from its ABC: its parts and their bars, its endings, where it stops.

    python -m judge.form data/irish.abc data/oneills1850.abc tunes.abc     # one column per tunebook
    python -m judge.form tunes.abc --tunes                                   # and a line per tune

A judge independent of the tracker that writes the tunes (tunesmith/strict_abc.py): it reads any
tune in the corpus's dialect with its own small parser and reports, per tune and in total:
- its parts (split at ||, |], :|, ::, |:) and each part's written bars: a short first bar is a
  pickup and not counted (its completing bar, the part's last, is); a second-time ending replaces
  the first, so a part counts the bars before [1 plus those of [2 (or of [1 when there is no [2);
- whether every [1 has its [2 after it in the same part, and whether [2 has as many bars as [1;
- whether |] appears only at the end (music after a final bar line is a tune that does not end);
- the last note against the key's tonic and its tonic triad (with the key signature, explicit
  accidentals and accidentals carried through the bar).
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

PART_LENGTHS = (4, 8, 16)  # written bars of a regular part
PART_ENDS = ("|]", "||", ":|", "::", "|:", ":|:", ":||", "[|")
LETTER_PITCH = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
LETTER_FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}  # on the line of fifths
MODE_FIFTHS = {"major": 0, "ionian": 0, "mixolydian": -1, "dorian": -2, "minor": -3, "aeolian": -3,
               "phrygian": -4, "lydian": 1, "locrian": -5}
MODE_THIRD = {"major": 4, "ionian": 4, "mixolydian": 4, "lydian": 4}  # the rest: a minor third (3)
SHARP_ORDER, FLAT_ORDER = "FCGDAEB", "BEADGCF"
METER_UNITS = {"C": Fraction(8), "C|": Fraction(8)}  # bar length in units of L:1/8
TUPLET_TIME = {2: Fraction(3, 2), 3: Fraction(2, 3), 4: Fraction(3, 4)}  # (n: n notes in the time of ...

# Body tokens: what the corpus writes (and what the judge skips: quoted text, grace notes, decorations).
TOKEN = re.compile(r"""
    (?P<quoted>"[^"]*")
  | (?P<grace>\{[^}]*\})
  | (?P<deco>![^!\n]+!(?=.))
  | (?P<ending>\[[12](?![0-9]))
  | (?P<bar>:\|:|:\|\]|:\|\||:\||::|\|\]|\|\||\|:|\[\||\|)
  | (?P<endnum>(?<=\|)[12](?![0-9/]))
  | (?P<chord>\[[^\]\d][^\]]*\][0-9]*/*[0-9]*)
  | (?P<tuplet>\([2-9])
  | (?P<note>(?P<acc>\^\^|__|\^|_|=)?(?P<letter>[A-Ga-gz])(?P<octave>[,']*)(?P<length>[0-9]*/*[0-9]*))
  | (?P<broken>[<>]+)
""", re.VERBOSE)


@dataclass
class Part:
    main: list[Fraction] = field(default_factory=list)  # durations of its bars before [1
    first: list[Fraction] | None = None  # the [1 ending's bars
    second: list[Fraction] | None = None  # the [2 ending's bars
    closed_by: str = ""

    def segment(self) -> list[Fraction]:
        return self.second if self.second is not None else self.first if self.first is not None else self.main

    def written_bars(self, bar_units: Fraction) -> int:
        """Bars a player reads: [2 replaces [1; a short first bar (a pickup) is not counted."""
        bars = list(self.main) + (self.second if self.second is not None else self.first or [])
        return len(bars) - (1 if bars and bars[0] < bar_units else 0)


@dataclass
class Form:
    parts: list[int]  # written bars per part
    endings: int  # [1 endings
    paired: bool  # every [1 has its [2 (and no [2 lacks its [1)
    equal_endings: bool  # every [2 has as many bars as its [1
    final_only_at_end: bool  # no |] with music after it
    last_note_tonic: bool | None  # None: no note
    last_note_triad: bool | None
    regular: bool = False  # every part 4, 8 or 16 written bars
    free_type: bool = False  # a set dance or O'Carolan tune: the corpus's parts of these have other lengths

    def line(self) -> str:
        return (f"parts {self.parts} · endings {self.endings} paired {self.paired} equal {self.equal_endings} · "
                f"|] only at end {self.final_only_at_end} · last note tonic {self.last_note_tonic} "
                f"triad {self.last_note_triad}")


def header(tune: str, name: str) -> str | None:
    match = re.search(rf"^{name}:\s*(.*)$", tune, re.MULTILINE)
    return match.group(1).strip() if match else None


def key_of(value: str | None) -> tuple[int, str, dict[str, int]]:
    """(tonic pitch class, mode, the key signature's accidental per letter) of a K: value."""
    match = re.match(r"([A-G])([#b]?)\s*([A-Za-z]*)", value or "C")
    letter, accidental, mode = match.group(1), match.group(2), (match.group(3) or "major").lower()
    mode = next((m for m in MODE_FIFTHS if m.startswith(mode[:3])), "major") if mode not in ("m", "min") else "minor"
    fifths = LETTER_FIFTHS[letter] + {"#": 7, "b": -7, "": 0}[accidental] + MODE_FIFTHS[mode]
    signature = {c: 1 for c in SHARP_ORDER[:max(0, fifths)]} | {c: -1 for c in FLAT_ORDER[:max(0, -fifths)]}
    tonic = (LETTER_PITCH[letter] + {"#": 1, "b": -1, "": 0}[accidental]) % 12
    return tonic, mode, signature


def bar_units(meter: str | None) -> Fraction:
    if meter in METER_UNITS:
        return METER_UNITS[meter]
    match = re.fullmatch(r"(\d+)/(\d+)", meter or "")
    if not match or int(match.group(2)) == 0:
        return Fraction(8)  # no meter, or one that is not a meter: read as 4/4
    return Fraction(int(match.group(1)) * 8, int(match.group(2)))


def note_length(text: str) -> Fraction:
    """A length suffix in units: "" 1, "2" 2, "/" 1/2, "/4" 1/4, "3/2" 3/2, "//" 1/4."""
    if not text:
        return Fraction(1)
    match = re.fullmatch(r"([0-9]*)(/*)([0-9]*)", text)
    top = int(match.group(1) or 1)
    if not match.group(2):
        return Fraction(top)
    bottom = int(match.group(3)) if match.group(3) else 2 ** len(match.group(2))
    return Fraction(top, bottom)


def read_form(tune: str) -> Form:
    """The form of one tune (its header's M: and K:, its body's bars)."""
    units = bar_units(header(tune, "M"))
    tonic, mode, signature = key_of(header(tune, "K"))
    lines = tune.strip("\n").split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith("K:")), -1) + 1
    body = " ".join(line.rstrip("!").rstrip() if line.endswith("!") else line for line in lines[start:]
                    if not re.match(r"^[A-Za-z]:(?![|:])", line))  # a field, not a note before :| or ::
    parts, part = [], Part()
    bar, bar_accidentals, tuplet, broken, previous = Fraction(0), {}, [], None, Fraction(1)
    endings = unpaired = unequal = 0
    final_at, music_after_final = False, False
    last_pitch = None

    def close_bar():
        nonlocal bar
        if bar > 0:
            part.segment().append(bar)
        bar = Fraction(0)
        bar_accidentals.clear()

    def close_part(symbol):
        nonlocal part, unpaired, unequal
        if part.first is None and len(part.main) == 1 and part.main[0] < units:
            part = Part(main=list(part.main))  # only a pickup ("FA|:"): it starts the next part
            return
        if part.first is not None and part.second is None:
            unpaired += 1
        if part.first is not None and part.second is not None and len(part.first) != len(part.second):
            unequal += 1
        if part.main or part.first or part.second:
            part.closed_by = symbol
            parts.append(part)
        part = Part()

    for match in TOKEN.finditer(body):
        kind = match.lastgroup if match.lastgroup not in ("acc", "letter", "octave", "length") else "note"
        if kind == "note" or match.group("chord"):
            if final_at:
                music_after_final = True
            if match.group("chord"):
                inner = TOKEN.search(match.group("chord")[1:])
                length = note_length(inner.group("length") if inner and inner.group("note") else "")
                pitch = None
            else:
                length = note_length(match.group("length"))
                pitch = pitch_of(match, signature, bar_accidentals)
            if broken:
                length *= Fraction(1, 2) if broken == ">" else Fraction(3, 2)
                broken = None
            if tuplet:
                length *= tuplet[0]
                tuplet[1] -= 1
                if tuplet[1] == 0:
                    tuplet = []
            bar += length
            previous = length
            if pitch is not None:
                last_pitch = pitch
        elif kind == "broken":
            # The previous note is dotted (>) or shortened (<); the next takes the rest.
            sign = match.group("broken")[0]
            bar += previous / 2 * (1 if sign == ">" else -1)
            broken = sign
        elif kind == "tuplet":
            n = int(match.group("tuplet")[1])
            tuplet = [TUPLET_TIME.get(n, Fraction(n - 1, n)), n]
        elif kind == "bar":
            symbol = match.group("bar")
            close_bar()
            if symbol == "|]":
                final_at = True
            if symbol in PART_ENDS:
                if symbol.startswith(":|") and part.first is not None and part.second is None:
                    continue  # the first ending's repeat: the [2 comes next, same part
                close_part(symbol)
        elif kind in ("ending", "endnum"):
            close_bar()
            if match.group(kind).endswith("1"):
                endings += 1
                if part.first is not None:  # a second [1 in the part: the first one was never paired
                    close_part("[1")
                part.first = []
            elif part.first is None:
                unpaired += 1  # a [2 without its [1
            else:
                part.second = []
    close_bar()
    close_part("end")
    regular = bool(parts) and all(p.written_bars(units) in PART_LENGTHS for p in parts)
    triad = {tonic, (tonic + MODE_THIRD.get(mode, 3)) % 12, (tonic + 7) % 12}
    return Form(parts=[p.written_bars(units) for p in parts], endings=endings, paired=unpaired == 0,
                equal_endings=unequal == 0, final_only_at_end=not music_after_final,
                last_note_tonic=None if last_pitch is None else last_pitch == tonic,
                last_note_triad=None if last_pitch is None else last_pitch in triad, regular=regular,
                free_type=bool(re.search(r"^Z:.*\bdc-(setdance|ocarolan)-", tune, re.MULTILINE)))


def pitch_of(match, signature: dict[str, int], bar_accidentals: dict[str, int]) -> int | None:
    """A note's pitch class: its own accidental (which then holds for the bar), else one written
    earlier in the bar on the same letter and octave, else the key signature's."""
    letter = match.group("letter")
    if letter == "z":
        return None
    name = letter.upper()
    where = letter + match.group("octave")
    accidental = match.group("acc")
    if accidental:
        shift = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}[accidental]
        bar_accidentals[where] = shift
    else:
        shift = bar_accidentals.get(where, signature.get(name, 0))
    return (LETTER_PITCH[name] + shift) % 12


def split_book(text: str) -> list[str]:
    """The tunes of a tunebook: blocks that start with X:."""
    return [block.strip("\n") + "\n" for block in re.split(r"\n\s*\n", text) if block.lstrip().startswith("X:")]


ROWS = (  # (row, the tunes that pass it); every row is a share of all the tunes
    ("last note is the key's tonic", lambda f: f.last_note_tonic is True),
    ("last note is in the tonic triad", lambda f: f.last_note_triad is True),
    ("has first/second-time endings", lambda f: f.endings > 0),
    ("every [1 has its [2", lambda f: f.paired),
    ("every [2 as long as its [1", lambda f: f.equal_endings),
    ("final bar line (\\|]) only at the end", lambda f: f.final_only_at_end),
    ("every part has 4, 8 or 16 written bars", lambda f: f.regular),
    ("... set dances and O'Carolan tunes aside", lambda f: f.regular or f.free_type),
    ("two or more parts", lambda f: len(f.parts) >= 2),
)


def totals(forms: list[Form]) -> dict[str, float]:
    """Each row's share of the tunes."""
    return {name: sum(map(test, forms)) / max(1, len(forms)) for name, test in ROWS}


def table(books: dict[str, list[str]]) -> str:
    """A Markdown table: one row per measure, one column per tunebook."""
    columns = {name: totals([read_form(t) for t in tunes]) for name, tunes in books.items()}
    lines = ["| | " + " | ".join(f"{name} ({len(books[name])})" for name in books) + " |",
             "|---|" + "---|" * len(books)]
    for row, _ in ROWS:
        lines.append(f"| {row} | " + " | ".join(f"{columns[name][row]:.0%}" for name in books) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m judge.form", description=__doc__.split("\n")[0])
    parser.add_argument("books", nargs="+", help="ABC tunebooks")
    parser.add_argument("--tunes", action="store_true", help="a line per tune as well")
    args = parser.parse_args(argv)
    books = {Path(p).name: split_book(Path(p).read_text()) for p in args.books}
    if args.tunes:
        for name, tunes in books.items():
            for tune in tunes:
                print(f"{name} X:{header(tune, 'X')} {header(tune, 'T')}: {read_form(tune).line()}")
    print(table(books))
    return 0


if __name__ == "__main__":
    sys.exit(main())
