"""Strict meter: an incremental ABC tracker that masks every character that would break the tune.

The tracker follows a tune character by character in the corpus's dialect:

    X:<n> / T:<title> / [Z:<text>] / M:<meter> / L:1/8 / K:<tonic> <mode>
    body lines of notes, rests, (3 tuplets, > < broken rhythm, bar lines | || |] |: :| ::,
    endings [1 [2, each line ending in a bar line and ! , the tune ending with a blank line.

`advance(state, char)` returns the next state, or None when the character would make the tune
invalid: a bar that overflows the meter, a bar line that closes a short bar where a short bar is
not legitimate (only the pickup, the bars on either side of a repeat, double bar or ending, and
the last bar may be short), a tuplet or broken rhythm left open, a header value the corpus never
uses, a tune ending before 8 bars. Durations are counted in 1/24 of the unit note length, and every
allowed length is a multiple of 1/4 of it, so any bar that is not full can always be filled: the
tracker never walks into a dead end. Near the length cap it only lets the tune finish.

What it refuses that ABC allows (the corpus rarely or never uses it): chords, ties, grace notes,
decorations, annotations, mid-tune field changes, tuplets other than (3, and mixed lengths inside
a tuplet or a broken-rhythm pair.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .vocab import Vocabulary

UNIT = 24  # one unit note length (L:1/8), in ticks
# Note length suffixes and their ticks; all multiples of UNIT / 4, so no bar is ever unfillable.
LENGTHS = {"": 24, "2": 48, "3": 72, "4": 96, "6": 144, "8": 192,
           "/": 12, "/2": 12, "/4": 6, "3/2": 36, "3/4": 18}
LENGTH_PREFIXES = {k[:i] for k in LENGTHS for i in range(len(k) + 1)}
QUANTUM = min(LENGTHS.values())
METERS = {"C": 8, "C|": 8, "2/4": 4, "3/4": 6, "4/4": 8, "6/8": 6, "9/8": 9}  # bar length in units
KEYS = tuple(f"{tonic} {mode}" for tonic in ("C", "D", "E", "F", "G", "A", "B", "Bb", "Eb", "F#")
             for mode in ("Major", "Minor", "Dorian", "Mixolydian"))
# Free-text fields may use the characters the corpus uses there, none that reads as music.
_LETTERS_DIGITS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
TEXT_CHARS = {"T": frozenset(_LETTERS_DIGITS | set(" '(),-.")),
              "Z": frozenset(set("abcdefghijklmnopqrstuvwxyz0123456789") | set(" -:"))}
HEADER = (("X", None), ("T", "text"), ("Z", "text"), ("M", tuple(METERS)), ("L", ("1/8",)), ("K", KEYS))
OPTIONAL_FIELDS = {"Z"}
MAX_FIELD_CHARS = 80
MIN_BARS = 8
FINISH_RESERVE = 24  # characters kept back to close the tune before the length cap
NOTE_LETTERS = set("ABCDEFGabcdefg")
ACCIDENTALS = set("^=_")
SPECIAL_BARS = {"||", "|]", "|:", ":|", "::"}
# Every character the body may ever hold (notes, lengths, octaves, bars, endings, tuplets, line
# ends): masks of body states test only these; anything else is refused there by construction.
BODY_CHARS = frozenset(NOTE_LETTERS | ACCIDENTALS | set("z0123456789/,'|:[]! \n(<>"))


class TuneState(NamedTuple):
    """Everything the tracker knows about a tune so far; a NamedTuple: hashable and cheap to copy."""
    # Header: index into HEADER of the line being written, and that line's text (or its length).
    field: int = 0
    line: str = ""
    text_len: int = 0
    # Body.
    in_body: bool = False
    meter: int = 0  # ticks per bar
    bar: int = 0  # ticks in the current bar
    bars: int = 0  # complete bars so far (capped at MIN_BARS: only "enough or not" matters)
    first_bar: bool = True  # no bar line yet: a pickup may be short
    pickup: int = 0  # ticks in the pickup bar (0: the tune starts on a full bar)
    short_ok: bool = False  # the previous bar line was a repeat, double bar or ending
    token: str = "line_start"  # line_start, after_note, after_space, after_bar, accidental, note,
    #                           bar_symbol, ending, ending_digit, tuplet, line_end, done
    letter: str = ""  # the pending note's case: "A" upper, "a" lower, "z" a rest (all the rules need)
    octave: str = ""
    suffix: str = ""  # the pending note's length suffix so far
    symbol: str = ""  # the pending bar symbol so far
    tuplet_left: int = 0  # notes still owed to an open (3
    tuplet_base: int = 0  # the length every note of the open tuplet must have (0: not yet set)
    broken: str = ""  # '>' or '<' pending: the next note completes a broken-rhythm pair
    broken_base: int = 0
    last_base: int = 0  # length of the last complete note (for a broken pair)
    pair_done: bool = False  # the last note closed a broken pair: no chained pair
    ending: int = 0  # the open ending: 0 none, 1 after [1 (until the repeat), 2 after [2
    repeat_after_first: bool = False  # a :| closed the first ending: [2 may follow
    owe_ending: bool = False  # a short bar ended the first ending's line: the next line opens [2
    finishing: bool = False  # near the length cap: only closing moves are allowed
    # Form (FormTracker's rules, on when `form`): the tracker counts bars per part and reads the
    # key outside the automaton, and puts here only what the next moves depend on.
    form: bool = False  # the form's rules hold (off while a request's opening is written)
    counted: bool = False  # a FormCounter follows the tune: bar lines are reported to it (closed_with)
    part_end: int = 0  # the bar being written may close with: 0 a plain bar line only, 1 also one
    #                    that ends the part, 2 only one that ends the part, 3 plain or |: (a pickup),
    #                    4 any but |] (finishing a bar line the person's opening began)
    final_ok: bool = False  # |] (which ends the tune) may close this bar
    may_end: bool = False  # the last bar line ended a regular part on the home note: the tune may end
    first_ok: bool = False  # a first-time ending [1 may open after this bar (it can reach a regular count)
    final: bool = False  # after |]: only the tune's end may follow
    closed_with: str = ""  # the bar line that just closed a bar (for the tracker, then cleared)
    closed_short: bool = False  # ... and whether that bar was short


@dataclass(frozen=True)
class HeaderSpec:
    """What a request fixes in the header; the tracker forces it through the same mask.

    Every field left open keeps the corpus's whole range. Hashable: masks are cached per spec.
    """
    title: str | None = None  # T: exactly this text
    tune_type: str | None = None  # Z: " id:dc-<type>-<number>" (the corpus's form)
    meters: tuple[str, ...] = tuple(METERS)  # M: one of these
    keys: tuple[str, ...] = KEYS  # K: one of these ("<tonic> <mode>")

    def values(self, name: str):
        """The allowed values of a field: a tuple, "text" (free text) or None (a number)."""
        if name == "T" and self.title is not None:
            return (self.title,)
        if name == "M":
            return self.meters
        if name == "K":
            return self.keys
        return _HEADER_VALUES[name]


_HEADER_VALUES = dict(HEADER)
OPEN_HEADER = HeaderSpec()
TYPE_NUMBER_DIGITS = 4


def _typed_z(spec: HeaderSpec, value: str, char: str) -> bool:
    """Z with a fixed tune type: the corpus's " id:dc-<type>-" then a number."""
    prefix = f" id:dc-{spec.tune_type}-"
    if char == "\n":
        return value.startswith(prefix) and len(value) > len(prefix)
    candidate = value + char
    if len(candidate) <= len(prefix):
        return prefix.startswith(candidate)
    return char.isdigit() and len(candidate) - len(prefix) <= TYPE_NUMBER_DIGITS


def _header(state: TuneState, char: str, spec: HeaderSpec = OPEN_HEADER) -> TuneState | None:
    name, _ = HEADER[state.field]
    values = spec.values(name)
    line = state.line
    if line == "":  # line start: the field letter of this or an allowed later field
        skippable = name in OPTIONAL_FIELDS and not (name == "Z" and spec.tune_type)
        for i in [state.field] + ([state.field + 1] if skippable else []):
            if char == HEADER[i][0]:
                return state._replace(field=i, line=char)
        return None
    if line == name:
        return state._replace(line=line + ":") if char == ":" else None
    value = line[2:]
    if name == "Z" and spec.tune_type:
        if not _typed_z(spec, value, char):
            return None
        return _end_header_line(state) if char == "\n" else state._replace(line=line + char)
    if values == "text":
        if char == "\n":
            return _end_header_line(state) if state.text_len > 0 else None
        if state.text_len >= MAX_FIELD_CHARS or char not in TEXT_CHARS[name]:
            return None
        if state.text_len == 0 and char == " " and name == "T":
            return None
        return state._replace(text_len=state.text_len + 1)
    if values is None:  # X: a reference number
        if char == "\n":
            return _end_header_line(state) if value else None
        return state._replace(line=line + char) if char.isdigit() and len(value) < 6 else None
    if char == "\n":
        return _end_header_line(state) if value in values else None
    candidate = value + char
    return state._replace(line=line + char) if any(v.startswith(candidate) for v in values) else None


def _end_header_line(state: TuneState) -> TuneState:
    name, _ = HEADER[state.field]
    if name == "M":
        state = state._replace(meter=METERS[state.line[2:]] * UNIT)
    if state.field == len(HEADER) - 1:
        return state._replace(in_body=True, line="", text_len=0)
    return state._replace(field=state.field + 1, line="", text_len=0)


def _note_ticks(state: TuneState, suffix: str) -> int | None:
    """Ticks the pending note adds to the bar with this suffix, or None if it may not end so."""
    if suffix not in LENGTHS:
        return None
    base = LENGTHS[suffix]
    if state.broken:
        return None if base != state.broken_base else (base // 2 if state.broken == ">" else base * 3 // 2)
    if state.tuplet_left:
        if state.tuplet_base and base != state.tuplet_base:
            return None
        if not state.tuplet_base and state.bar + 2 * base > state.meter:  # the whole (3 must fit
            return None
        return base * 2 // 3
    return base if state.bar + base <= state.meter else None


def _complete_note(state: TuneState) -> TuneState | None:
    ticks = _note_ticks(state, state.suffix)
    if ticks is None:
        return None
    base = LENGTHS[state.suffix]
    tuplet_left = max(0, state.tuplet_left - 1)
    return state._replace(
        bar=state.bar + ticks, token="after_note", letter="", octave="", suffix="",
        tuplet_left=tuplet_left,
        tuplet_base=(state.tuplet_base or base) if tuplet_left else 0,
        broken="", broken_base=0, last_base=base, pair_done=bool(state.broken))


def _letter_case(char: str) -> str:
    """Which note letter it is does not change what may follow, only its case (octave marks) and
    whether it is a rest: keeping just that makes far fewer tracker states."""
    return "z" if char == "z" else ("A" if char.isupper() else "a")


def _can_start_note(state: TuneState) -> bool:
    if state.finishing and not (state.tuplet_left or state.broken):
        return state.bar == 0 and state.token == "after_space"  # only the bar after an ending
    if state.broken or state.tuplet_left:
        return True  # room was checked when the pair or tuplet opened
    return state.bar + QUANTUM <= state.meter


def _start_note(state: TuneState, char: str) -> TuneState | None:
    if not _can_start_note(state):
        return None
    if char in ACCIDENTALS:
        return state._replace(token="accidental")
    if char in NOTE_LETTERS or char == "z":
        return state._replace(token="note", letter=_letter_case(char), octave="", suffix="")
    return None


def _may_close_bar(state: TuneState) -> bool:
    return state.bar > 0 and not state.tuplet_left and not state.broken


def _close_bar(state: TuneState, symbol: str, ending: bool = False) -> TuneState | None:
    """Closes the current bar with `symbol`; None if a short bar may not end there.

    A short first bar is the pickup (at most half a bar). Later, a bar may be short only next to a
    repeat, double bar or ending, and only as long as the pickup or its complement, as real tunes
    do it ("AB|...|d6:|"); near the length cap the last bar may be anything.
    """
    if state.form and not state.finishing and not _form_allows(state, symbol):
        return None
    full = state.bar == state.meter
    special = symbol in SPECIAL_BARS or ending
    pickup = state.pickup
    if state.first_bar:
        if not full and state.bar > state.meter // 2:
            return None
        pickup = 0 if full else state.bar
    elif not full and not state.finishing:
        if not (pickup and (special or state.short_ok) and state.bar in (pickup, state.meter - pickup)):
            return None
    ending, repeat_after_first = state.ending, state.repeat_after_first
    if symbol in SPECIAL_BARS:
        if ending == 1:
            repeat_after_first = True  # the first ending is over: "[2" may follow
        elif ending == 2:
            ending = 0  # the second ending closes the section
    return state._replace(
        bar=0, bars=min(MIN_BARS, state.bars + 1), first_bar=False, short_ok=special,
        token="after_bar", symbol="", pair_done=False, ending=ending, pickup=pickup,
        repeat_after_first=repeat_after_first,
        closed_with=symbol if state.counted else "", closed_short=state.counted and not full,
        final=state.form and (state.final or symbol == "|]"), may_end=False)


PART_ENDING_BARS = ("||", "|]", ":|", "::", "|:")  # bar lines that end a part (|: starts a repeat)


def _form_allows(state: TuneState, symbol: str) -> bool:
    """Whether the form lets `symbol` close the current bar (state.part_end, set by the tracker)."""
    if state.part_end == 4:
        return symbol != "|]"
    ends_part = symbol in PART_ENDING_BARS
    if state.ending == 1 and not state.repeat_after_first:  # inside the first-time ending
        if symbol == ":|":  # its repeat closes it: [2 follows
            return state.part_end in (1, 2)
        return not ends_part and state.part_end != 2
    if symbol == "|]":
        return state.final_ok
    if state.part_end == 3:  # the part's first bar: a pickup may be followed by |:
        return not ends_part or (symbol == "|:" and state.bar < state.meter)
    return state.part_end in (1, 2) if ends_part else state.part_end != 2


def _bar_can_close(state: TuneState, first: str) -> bool:
    """Whether some bar symbol starting with `first` may close the current bar."""
    if first == ":":
        return any(_close_bar(state, symbol) for symbol in (":|", "::"))
    if any(_close_bar(state, symbol) for symbol in ("|", "||", "|]", "|:")):
        return True
    return _ending_possible(_close_bar(state, "|", ending=True))


def _ending_possible(state: TuneState | None) -> bool:
    """Whether "[1" or "[2" may follow: [1 opens an ending, [2 follows a first ending's repeat."""
    return state is not None and ((state.ending == 0 and _first_ending_ok(state)) or
                                  (state.ending == 1 and state.repeat_after_first))


def _first_ending_ok(state: TuneState) -> bool:
    """The form lets [1 open here: the tracker's first_ok, and not right after a bar line that
    ended the part (first_ok is reckoned for the part going on); never while finishing, where an
    ending would only spend the characters kept to close the tune."""
    return not state.form or (not state.finishing and state.first_ok and state.closed_with not in PART_ENDING_BARS)


def _body(state: TuneState, char: str) -> TuneState | None:
    token = state.token
    if token == "done":
        return None
    if token == "line_end":
        return state._replace(token="line_start") if char == "\n" else None

    if token == "note":
        if char in ",'" and not state.suffix and len(state.octave) < 2 and state.letter != "z" and (
                (char == "," and state.letter.isupper()) or (char == "'" and state.letter.islower())):
            return state._replace(octave=state.octave + char)
        if char.isdigit() or char == "/":
            candidate = state.suffix + char
            if candidate in LENGTH_PREFIXES and any(
                    k.startswith(candidate) and _note_ticks(state, k) is not None for k in LENGTHS):
                return state._replace(suffix=candidate)
            return None
        completed = _complete_note(state)
        return None if completed is None else _body(completed, char)

    if token == "accidental":
        return state._replace(token="note", letter=_letter_case(char), octave="", suffix="") \
            if char in NOTE_LETTERS else None

    if token == "tuplet":
        return state._replace(token="after_space", tuplet_left=3, tuplet_base=0) \
            if char == "3" else None

    if token == "bar_symbol":
        symbol = state.symbol
        if symbol == "|":
            if char in "]|:":
                return _close_bar(state, "|" + char)
            if char == "[":  # an ending straight after a plain bar line: "|[1"
                closed = _close_bar(state, "|", ending=True)
                return closed._replace(token="ending") if _ending_possible(closed) else None
            closed = _close_bar(state, "|")
            if closed is None and char == "!" and state.ending == 1 and not state.finishing and (
                    not state.form or state.part_end == 4):
                # A short bar may end the first ending's line when the next line opens with "[2".
                closed = _close_bar(state, "|", ending=True)
                closed = closed and closed._replace(owe_ending=True, repeat_after_first=True)
            return None if closed is None else _body(closed, char)
        if symbol == ":":
            if char == "|":
                return state._replace(symbol=":|")
            if char == ":":
                return _close_bar(state, "::")
            return None
        if symbol == ":|":
            closed = _close_bar(state, ":|")
            if closed is None:
                return None
            if char == "[":
                return closed._replace(token="ending") if _ending_possible(closed) else None
            return _body(closed, char)
        return None

    if token == "ending":
        # Finishing, a "[" came before the switch (it refuses a new one): its 1 may follow.
        if char == "1" and state.ending == 0 and (state.finishing or _first_ending_ok(state)):
            return state._replace(token="ending_digit", short_ok=True, ending=1,
                                       repeat_after_first=False)
        if char == "2" and state.ending == 1 and state.repeat_after_first:
            return state._replace(token="ending_digit", short_ok=True, ending=2)
        return None
    if token == "ending_digit":
        if char == " ":
            return state._replace(token="after_space")
        return _start_note(state._replace(token="after_space"), char)

    # Between tokens: line_start, after_note, after_space, after_bar.
    if state.owe_ending and token == "line_start":
        return state._replace(token="ending", owe_ending=False) if char == "[" else None
    if char == "\n":
        if token == "line_start" and state.bars >= MIN_BARS and state.bar == 0 and (
                not state.form or state.finishing or state.may_end or state.final):
            return state._replace(token="done")  # the blank line that ends the tune
        return None
    if state.form and not state.finishing:
        if state.final:  # after |]: the line ends, then the tune
            return state._replace(token="line_end") if char == "!" and token == "after_bar" else None
        if state.ending == 1 and state.repeat_after_first and token in ("after_bar", "line_start") \
                and char not in "![":
            return None  # the first-time ending is over: its [2 comes next
    if char == "!":
        return state._replace(token="line_end") if token == "after_bar" else None
    if state.finishing and token == "after_bar":
        return None  # close the line now
    if char == " ":
        if token in ("after_note", "after_bar") and not state.finishing:
            return state._replace(token="after_space")
        return None
    if char in "|:":
        if token == "line_start" or not _may_close_bar(state):
            return None
        if state.finishing and char == ":":
            return None
        if char == "|" and state.finishing:
            # the last bar: close it for good, whatever its length
            return state._replace(token="bar_symbol", symbol="|") \
                if state.bar == state.meter else _close_bar(state, "|]")
        return state._replace(token="bar_symbol", symbol=char) if _bar_can_close(state, char) else None
    if char == "[":
        # An ending at the start of a line, after the bar line that closed the previous one.
        return state._replace(token="ending") if token == "line_start" and not state.first_bar \
            and state.bar == 0 and not state.finishing and _ending_possible(state) else None
    if char in "<>":
        if token != "after_note" or state.tuplet_left or state.pair_done or state.finishing:
            return None
        base = state.last_base
        if state.bar + base > state.meter:
            return None
        # Retime the note just written: x1.5 for '>', x0.5 for '<'; the next note takes the rest.
        bar = state.bar + base // 2 if char == ">" else state.bar - base // 2
        return state._replace(token="after_space", bar=bar, broken=char, broken_base=base)
    if char == "(":
        if state.tuplet_left or state.broken or state.finishing or state.bar + 2 * QUANTUM > state.meter:
            return None
        return state._replace(token="tuplet")
    return _start_note(state, char)


def advance(state: TuneState, char: str, spec: HeaderSpec = OPEN_HEADER) -> TuneState | None:
    """The state after `char`, or None if the character would make the tune invalid."""
    if not state.in_body:
        return _header(state, char, spec)
    nxt = _body(state, char)
    if nxt is not None and nxt.token != "after_note" and (nxt.last_base or nxt.pair_done):
        # Only a broken-rhythm sign right after a note reads these: forget them elsewhere, so
        # states that differ in nothing else are one state.
        nxt = nxt._replace(last_base=0, pair_done=False)
    return nxt


class Automaton:
    """The tracker as a lazily built automaton over one vocabulary, shared by every tune and user.

    Each tracker state a tune reaches (with its header spec while in the header) gets a number.
    Its mask (which characters may follow) is computed on the first visit and kept as a row of
    `allowed`, so the masks of a whole batch are one fancy index; each move taken is kept in
    `moves`, so a stream's step is a dict lookup. When it holds MAX_STATES states, new tunes get a
    fresh automaton; tunes under way keep theirs until they end, so memory stays bounded.
    """

    # Visited states before new tunes get a fresh automaton: the states a tune can reach run to
    # millions, and the model keeps finding rare ones (about 7 per tune after the first hundred),
    # so an automaton that never starts again grows for ever. This many take about 3 MB (0.4 kB
    # each with their masks and moves, measured); the common states come back within a few dozen
    # tunes of a fresh start.
    MAX_STATES = 8_000
    _current: dict[tuple, "Automaton"] = {}
    _choosing = threading.Lock()

    def __init__(self, chars: list[str]):
        self.chars = chars
        # Streams are made on callers' threads and stepped on composers' threads: every change
        # (a new state, a mask, a move) happens under this lock. Reads need none: lists only
        # grow, and `allowed` is swapped for a larger copy, never changed in place after a read.
        self._lock = threading.RLock()
        self.ids: dict = {}
        self.states: list[TuneState] = []
        self.specs: list[HeaderSpec] = []
        self.masked: list[bool] = []  # whether allowed[sid] and only[sid] are computed
        # All rows at once (zeroed pages cost no memory until written); tunes still under way when
        # the automaton is full may add a few more, and then it doubles.
        self.allowed = np.zeros((self.MAX_STATES, len(chars)), dtype=bool)
        self.only: list[int] = []  # the one character allowed in a state, or -1 (a forced move)
        self.can_finish: list[bool] = []  # in the body with enough bars: finishing may switch on
        self.width = len(chars)
        self.moves: dict[int, int] = {}  # state * width + character index -> next state (an int key: no tuple)
        self.flagged: dict[tuple, int] = {}  # (state, form flags) -> the state with those flags

    @classmethod
    def for_vocab(cls, vocab: Vocabulary) -> "Automaton":
        key = tuple(vocab.chars)
        with cls._choosing:
            automaton = cls._current.get(key)
            if automaton is None or len(automaton.states) >= cls.MAX_STATES:
                automaton = cls._current[key] = cls(list(vocab.chars))
        return automaton

    def number(self, state: TuneState, spec: HeaderSpec) -> int:
        key = state if state.in_body else (spec, state)
        sid = self.ids.get(key)
        if sid is None:
            with self._lock:
                return self._add(key, state, spec)
        return sid

    def _add(self, key, state: TuneState, spec: HeaderSpec) -> int:
        sid = self.ids.get(key)
        if sid is None:
            sid = len(self.states)
            self.states.append(state)
            self.specs.append(spec)
            self.masked.append(False)
            self.only.append(-1)
            self.can_finish.append(state.in_body and not state.finishing and state.bars >= MIN_BARS)
            if sid >= len(self.allowed):
                self.allowed = np.concatenate([self.allowed, np.zeros_like(self.allowed)])
            self.ids[key] = sid  # last: another thread sees the number only once it is complete
        return sid

    def mask(self, sid: int) -> None:
        """Computes allowed[sid] and only[sid] (on the first visit of a state)."""
        state, spec = self.states[sid], self.specs[sid]
        body = state.in_body
        allowed = [(not body or c in BODY_CHARS) and advance(state, c, spec) is not None for c in self.chars]
        with self._lock:
            self.allowed[sid] = allowed
            self.only[sid] = allowed.index(True) if sum(allowed) == 1 else -1
            self.masked[sid] = True

    def move(self, sid: int, index: int) -> int:
        """The state after character `index` from state sid, or -1 where it is refused."""
        key = sid * self.width + index
        nxt = self.moves.get(key)
        if nxt is None:
            after = advance(self.states[sid], self.chars[index], self.specs[sid])
            nxt = -1 if after is None else self.number(after, self.specs[sid])
            self.moves[key] = nxt  # a dict assignment is atomic; the same value either way
        return nxt

    def finishing(self, sid: int) -> int:
        return self.number(self.states[sid]._replace(finishing=True), self.specs[sid])

    def with_flags(self, sid: int, enforce: bool, part_end: int, final_ok: bool, may_end: bool,
                   first_ok: bool) -> int:
        """The state sid with the form's flags for the next moves (and the bar-close note cleared)."""
        key = (sid, enforce, part_end, final_ok, may_end, first_ok)
        flagged = self.flagged.get(key)
        if flagged is None:
            state = self.states[sid]
            want = state._replace(form=enforce, counted=True, part_end=part_end, final_ok=final_ok, may_end=may_end,
                                  first_ok=first_ok, closed_with="", closed_short=False)
            flagged = sid if want == state else self.number(want, self.specs[sid])
            self.flagged[key] = flagged
        return flagged


class TuneTracker:
    """Follows one tune character by character and says which next characters keep it valid.

    Made by a stream from its request: `spec` forces the fixed header fields; `body` False stops
    following at the end of the header (strict meter off: only the header is held to the form).
    `form` adds the form's rules (tunesmith/form.py) to the body's, `home_triad` lets the tune end
    on any note of the tonic triad. Near `max_chars` it switches to finishing: only moves that
    close the tune are allowed.
    """

    def __init__(self, vocab: Vocabulary, max_chars: int, spec: HeaderSpec = OPEN_HEADER, body: bool = True,
                 form: bool = False, home_triad: bool = False):
        from .form import FormCounter  # form.py builds on this module's states
        self.automaton = Automaton.for_vocab(vocab)
        self.max_chars = max_chars
        self.body = body
        self.consumed = 0
        self.sid = self.automaton.number(TuneState(), spec)
        self.form = FormCounter(home_triad=home_triad) if form and body else None

    @property
    def state(self) -> TuneState:
        return self.automaton.states[self.sid]

    @property
    def following(self) -> bool:
        """False once the header is over and the body is free (strict meter off)."""
        return self.body or not self.state.in_body

    def allowed(self) -> np.ndarray:
        """A boolean mask over the vocabulary: the characters that keep the tune valid here."""
        if not self.automaton.masked[self.sid]:
            self.automaton.mask(self.sid)
        return self.automaton.allowed[self.sid]

    def push_index(self, index: int, enforce_form: bool = True) -> None:
        """Follows one more character (by vocabulary index); ValueError if it breaks the tune.
        `enforce_form` False: the form counts this character but does not restrict the next one
        (a request's opening is the person's, written as given)."""
        automaton = self.automaton
        nxt = automaton.moves.get(self.sid * automaton.width + index)
        if nxt is None:
            nxt = automaton.move(self.sid, index)
        if nxt < 0:
            raise ValueError(f"{automaton.chars[index]!r} is not valid here (character {self.consumed})")
        self.consumed += 1
        if self.form is not None:
            nxt = self._follow_form(self.sid, nxt, index, enforce_form)
        if automaton.can_finish[nxt] and self.max_chars - self.consumed <= FINISH_RESERVE:
            nxt = automaton.finishing(nxt)
        self.sid = nxt

    def _follow_form(self, before: int, after: int, index: int, enforce: bool) -> int:
        automaton, form = self.automaton, self.form
        state, char = automaton.states[after], automaton.chars[index]
        if not state.in_body:
            form.header += char
            return after
        form.observe(automaton.states[before], state, char)
        if not enforce:
            form.grace = True  # the person's opening: the model may have to finish a bar line it began
        elif form.grace and state.token not in ("bar_symbol", "ending"):
            form.grace = False
        if enforce and form.grace:  # any bar line or ending may finish what the opening began
            flags = (4, False, form.may_end and not state.finishing, True)
        elif enforce and not state.finishing:
            flags = form.flags(state)
        else:
            flags = (0, False, False, False)
        return automaton.with_flags(after, enforce, *flags)

    def push(self, char: str, enforce_form: bool = True) -> None:
        if char not in self.automaton.chars:
            raise ValueError(f"{char!r} is not in the vocabulary")
        self.push_index(self.automaton.chars.index(char), enforce_form)

    def copy(self) -> "TuneTracker":
        twin = TuneTracker.__new__(TuneTracker)
        twin.__dict__.update(self.__dict__)  # the automaton is shared; the state number is a plain int
        twin.form = self.form.copy() if self.form is not None else None
        return twin


def first_refusal(text: str, spec: HeaderSpec = OPEN_HEADER,
                  state: TuneState | None = None) -> tuple[int | None, TuneState]:
    """(position of the first character the tracker refuses, the state before it), or
    (None, the state after the whole text) when it accepts every character."""
    state = state or TuneState()
    for position, char in enumerate(text):
        nxt = advance(state, char, spec)
        if nxt is None:
            return position, state
        state = nxt
    return None, state


def explain(tune: str) -> str | None:
    """None when the tracker accepts the whole tune (ending with its blank line), else why not."""
    text = tune.rstrip("\n") + "\n\n"
    position, state = first_refusal(text)
    if position is not None:
        return f"{refusal_reason(state, text[position])} (character {position}: {text[max(0, position - 15):position + 1]!r})"
    return None if state.token == "done" else "the tune does not end after a bar line and !"


def refusal_reason(state: TuneState, char: str) -> str:
    """A category for a refused character, so a corpus report can say what the tracker lacks."""
    if not state.in_body:
        return f"header {HEADER[state.field][0]}: a value the corpus does not use"
    if char == "-":
        return "tie"
    if char in '"{':
        return "annotation, chord or grace note"
    if char == "K" and state.token == "line_start":
        return "key change in the body"
    if char == "\n":
        return "a line that does not end in a bar line and !" if state.token != "line_start" \
            else "a tune shorter than 8 bars"
    if char == "M" and state.token == "line_start":
        return "meter change in the body"
    if state.token == "note" and (char.isdigit() or char == "/"):
        return "a note length outside the supported set" if state.suffix + char not in LENGTH_PREFIXES \
            else "a bar that overflows the meter"
    if state.token == "note":
        completed = _complete_note(state)
        if completed is None:
            return "a bar that overflows the meter"
        state = completed
    if state.token == "ending" or char == "[":
        return "an ending out of order"
    if char in "|:" or state.token == "bar_symbol":
        return "a short bar where a full bar belongs"
    if char in NOTE_LETTERS or char in ACCIDENTALS or char in "z(<>":
        return "a bar that overflows the meter" if state.bar + QUANTUM > state.meter or char in "<>(" \
            else "a note where the tracker expects something else"
    return f"the character {char!r} here"
