"""Form-aware decoding: what a tune's bar lines may do, from its parts, endings and key.

The strict-meter tracker (strict_abc.py) decides every character from its state; the form rules
need counts that would multiply those states (bars in the part, bars in a first-time ending) and
the key (for the home note). So a FormCounter, one per tune, reads the tune as it is written and
counts; after every character it hands the tracker flags for the next moves (TuneState's
part_end, final_ok, may_end, first_ok), and the tracker's masks apply them like any other rule:

- a part ends (||, :|, ::, |:, |]) only after 4, 8 or 16 written bars, counting from its pickup
  (a short first bar is not counted; the short bar that completes it is); at 16 it must end. Set
  dances and O'Carolan tunes, whose corpus parts have other lengths, may end a part after any
  number of bars up to FREE_PART_BARS;
- a first-time ending [1 closes with its repeat :| after a regular count, then [2 comes at once,
  with as many bars as [1, and ends the part;
- |] ends the tune (nothing but the tune's end may follow), and the tune ends only after a bar
  line that ends a regular part, on the home note: the key's tonic, or with `home_triad` any
  note of the tonic triad, read with the key signature and the bar's accidentals. A part that
  ends elsewhere ends all the same, and another part follows: the notes themselves are never
  steered home. (Steering them, by keeping a note that is not home from filling the last bar,
  cost twice the likelihood: the model, pushed off the note it meant to end on, wrote ever
  shorter notes looking for one, benchmarks/form.py.)

Near the length cap (the tracker's finishing) the form gives way: the tune is closed there.
Nothing is ever a dead end: a bar can always be filled to full, a full bar can always close with
a plain or a part-ending bar line, and [2 can always follow a closed [1 (tests/test_form.py walks
every meter and pickup).
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from .strict_abc import MIN_BARS, NOTE_LETTERS, TuneState

LEGAL_PART_BARS = (4, 8, 16)  # written bars of a regular part (a repeated 4-bar part plays as 8)
MAX_PART_BARS = 16  # a part that long must end
FIRST_ENDING_BARS = 4  # the longest first-time ending (the corpus's are 1 to 4 bars)
MIN_PARTS = 2  # parts before the tune may end (99% of the corpus's tunes have two or more)
FREE_FORM_TYPES = ("setdance", "ocarolan")  # corpus words of the types with parts of other lengths
FREE_PART_BARS = 32  # their parts may end after any number of bars up to this
HOMES = ("tonic", "triad")  # what the last note may be
# What a request that names no home gets: any note of the tonic triad, as 83% of irish.abc's tunes
# end (75% on the tonic). Holding the model to the tonic costs more likelihood, doubles the tunes'
# length and runs 4% of them to the length cap, where the form gives way (benchmarks/form.py).
HOME_BY_DEFAULT = "triad"
# On with strict meter unless a request turns it off. The likelihood it costs is in
# benchmarks/form.py and the README.
FORM_BY_DEFAULT = True
LETTERS = "CDEFGAB"
LINE_OF_FIFTHS = "FCGDAEB"
MODE_FIFTHS = {"Major": 0, "Mixolydian": -1, "Dorian": -2, "Minor": -3}  # a mode's signature vs major's


def tonic_fifths(tonic: str) -> int:
    """A tonic's place on the line of fifths (C 0, G 1, F -1, F# 6, Bb -2)."""
    return LINE_OF_FIFTHS.index(tonic[0]) - 1 + 7 * {"#": 1, "b": -1}.get(tonic[1:], 0)


def signature(fifths: int) -> dict[str, int]:
    """Letter -> its accidental (1 sharp, -1 flat) in the key signature this far round the circle
    (a key's: tonic_fifths(tonic) + MODE_FIFTHS[mode]); letters not named are natural."""
    return {c: 1 for c in "FCGDAEB"[:max(0, fifths)]} | {c: -1 for c in "BEADGCF"[:max(0, -fifths)]}
ENDS_TUNE = ("||", ":|", "|]")  # bar lines after which a tune may end (|: and :: start a repeat)
# Counts of bars after which a [1 may open (see FormCounter.first_ending_fits), reckoned once.
_FIRST_FITS = frozenset(b for b in range(1, MAX_PART_BARS)
                        if any(b + e in LEGAL_PART_BARS for e in range(1, FIRST_ENDING_BARS + 1)))
_FIRST_FITS_FREE = frozenset(range(1, FREE_PART_BARS))


@dataclass
class FormCounter:
    home_triad: bool = False
    header: str = ""  # the header as written (read for K: and Z: when the body starts)
    key_read: bool = False
    tonic: str = "C"
    triad: tuple[str, str] = ("E", "G")
    signature: dict[str, str] = field(default_factory=dict)  # letter -> "^" or "_" (others "=")
    max_part: int = MAX_PART_BARS
    free: bool = False
    parts: int = 0  # parts ended so far
    shortest_part: int = MAX_PART_BARS  # written bars of the shortest part so far
    part_bars: int = 0  # written bars of the part so far (a [1 ending's included)
    pickup_seen: bool = False  # the part's pickup (its short first bar) has been written
    first_len: int = 0  # bars the part's [1 ending had, once it closed
    ending_bars: int = 0  # bars of the ending being written
    last_home: int = 0  # the last note: 2 the tonic, 1 another note of the tonic triad, 0 other
    may_end: bool = False
    bar_accidentals: dict[str, str] = field(default_factory=dict)  # letter+octave -> accidental, this bar
    note: list = field(default_factory=lambda: ["", "", ""])  # the note being written: letter, octave, accidental
    note_open: bool = False
    grace: bool = False  # an opening ended inside a bar line or an ending mark: any may be finished

    def copy(self) -> "FormCounter":
        twin = copy.copy(self)
        twin.bar_accidentals, twin.note = dict(self.bar_accidentals), list(self.note)
        return twin

    # --- reading -------------------------------------------------------------------------------
    def read_key(self) -> None:
        key = re.search(r"^K:([A-G])([#b]?) *([A-Za-z]*)", self.header, re.MULTILINE)
        if key:
            letter, accidental, mode = key.group(1), key.group(2), key.group(3).lower()
            fifths = tonic_fifths(letter + accidental) + MODE_FIFTHS.get(mode.capitalize(), 0)
            self.signature = {c: "^" if a > 0 else "_" for c, a in signature(fifths).items()}
            i = LETTERS.index(letter)
            self.tonic, self.triad = letter, (LETTERS[(i + 2) % 7], LETTERS[(i + 4) % 7])
        tune_type = re.search(r"^Z: id:dc-([a-z]+)-", self.header, re.MULTILINE)
        self.free = bool(tune_type) and tune_type.group(1) in FREE_FORM_TYPES
        self.max_part = FREE_PART_BARS if self.free else MAX_PART_BARS
        self.key_read = True

    def home_class(self, commit: bool) -> int | None:
        """The note being written: 2 the tonic, 1 the triad's third or fifth, 0 another pitch; None
        for a rest. `commit`: it is complete, and its accidental holds for the rest of the bar."""
        letter, octave, accidental = self.note
        if letter == "z" or not letter:
            return None
        name, where = letter.upper(), letter + octave
        expected = self.signature.get(name, "=")
        if accidental:
            if commit:
                self.bar_accidentals[where] = accidental
            written = accidental
        else:
            written = self.bar_accidentals.get(where, expected)
        if written != expected:
            return 0
        return 2 if name == self.tonic else 1 if name in self.triad else 0

    def home(self, pending: bool = False) -> bool:
        """Whether the last note (or the one being written) is home."""
        cls = self.home_class(commit=False) if pending and self.note_open else None
        cls = self.last_home if cls is None else cls  # a rest: the note before it
        return cls is not None and (cls == 2 or (self.home_triad and cls >= 1))

    def long_enough(self, bars: int) -> bool:
        """Whether a part this long may end the tune: as long as the shortest part so far, up to 8
        (a 4-bar part ends a tune of 4-bar parts, not one of 8-bar parts)."""
        return bars >= min(8, self.shortest_part)

    def regular(self, bars: int) -> bool:
        return bars in LEGAL_PART_BARS or (self.free and 1 <= bars <= FREE_PART_BARS)

    def observe(self, before: TuneState, after: TuneState, char: str) -> None:
        """Follows one body character: notes (for the home note) and bar lines (for the counts)."""
        if not self.key_read:
            self.read_key()
        if self.note_open and char not in ",'/0123456789":
            cls = self.home_class(commit=True)
            if cls is not None:
                self.last_home = cls
            self.note_open, self.note[2] = False, ""
        elif self.note_open and char in ",'":
            self.note[1] += char
        if char in "^=_":
            self.note[2] = char
        elif char in NOTE_LETTERS or char == "z":
            self.note[0], self.note[1], self.note_open = char, "", True
        if after.closed_with:
            self.bar_closed(before, after)
        elif char not in "!\n":
            self.may_end = False  # music goes on

    def bar_closed(self, before: TuneState, after: TuneState) -> None:
        symbol = after.closed_with
        in_first = before.ending == 1 and not before.repeat_after_first
        in_ending = in_first or before.ending == 2
        self.bar_accidentals = {}
        if self.part_bars == 0 and not self.pickup_seen and after.closed_short and not in_ending:
            self.pickup_seen = True  # a pickup: not counted (the short bar that completes it is)
        else:
            self.part_bars += 1
            self.ending_bars += in_ending
        self.may_end = False
        if in_first and symbol == ":|":
            # [2 comes next and replaces [1: the part counts its bars before [1, then [2's.
            self.first_len, self.ending_bars = self.ending_bars, 0
            self.part_bars -= self.first_len
        elif symbol in ("||", "|]", ":|", "::", "|:") and not (symbol == "|:" and self.part_bars == 0):
            self.parts += 1
            long_enough = self.long_enough(self.part_bars)  # against the parts before it, as flags() asks of |]
            self.shortest_part = min(self.shortest_part, max(1, self.part_bars))
            self.may_end = (symbol in ENDS_TUNE and not in_first and self.home() and self.parts >= MIN_PARTS
                            and after.bars >= MIN_BARS and self.regular(self.part_bars) and long_enough)
            self.part_bars = self.ending_bars = self.first_len = 0
            self.pickup_seen = False

    # --- what the next moves may do ------------------------------------------------------------
    def first_ending_fits(self, before: int) -> bool:
        """Whether a [1 may open after `before` bars of the part: not at its start (an ending is
        the end of a part), and it reaches a regular count within FIRST_ENDING_BARS (as the
        corpus's first-time endings do)."""
        return before in (_FIRST_FITS_FREE if self.free else _FIRST_FITS)

    def flags(self, state: TuneState) -> tuple[int, bool, bool, bool]:
        """(part_end, final_ok, may_end, first_ok) for the next moves (see TuneState)."""
        bars_ok = state.bars + 1 >= MIN_BARS
        # A bar being written counts when it closes, unless it is a pickup; after a bar line
        # (bar 0) the count is already up to date, for a [1 at the start of the next line.
        closes = state.bar > 0 or state.token in ("note", "accidental", "tuplet")
        pickup = self.part_bars == 0 and not self.pickup_seen and state.ending == 0
        counted = self.part_bars + (1 if closes and not (pickup and state.bar < state.meter) else 0)
        first_ok = state.ending == 0 and self.first_ending_fits(counted)
        if state.ending == 1 and not state.repeat_after_first:
            n = self.part_bars + 1  # the first-time ending closes at the first regular count
            return (2 if self.regular(n) or n >= self.max_part else 0), False, self.may_end, False
        last_part = self.parts + 1 >= MIN_PARTS  # the tune may end with this part
        if state.ending == 2:
            done = self.ending_bars + 1 >= self.first_len
            endable = done and bars_ok and last_part and self.long_enough(self.part_bars + 1)
            return (2 if done else 0), endable and self.home(pending=True), self.may_end, False
        if pickup:
            return 3, False, self.may_end, first_ok
        n = self.part_bars + 1
        regular = self.regular(n)
        part_end = 2 if n >= self.max_part else 1 if regular else 0
        # The tune may end here (a part long enough, on the home note). A part that ends away from
        # home ends all the same, and the tune goes on with another part.
        endable = regular and bars_ok and last_part and self.long_enough(n)
        return part_end, endable and self.home(pending=True), self.may_end, first_ok
