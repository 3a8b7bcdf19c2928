"""One tune being written: its random numbers, its tracker, its text, and snapshots at every bar.

A stream is made from a request (or a snapshot) and driven by the composer, which steps many
streams in one batch. The consumer reads `text`, iterates `updates()`, waits on `result()`, or
calls `cancel()`. At every bar line the stream keeps a `Snapshot`: the LSTM state, the tracker,
the position in its random numbers and the text, so "continue from bar N" starts from there
without re-reading the opening, and continuing with the same seed writes the same tune again.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .engine import LSTMState
from .model import ModelDescription
from .request import TuneRequest
from .strict_abc import TuneTracker

UNIFORM_BLOCK = 64  # random numbers drawn at a time; a tune's sequence does not depend on it
BAR_START = "|:"


@dataclass(frozen=True)
class Snapshot:
    """The stream just before the bar line that closes bar `bar` (the pickup counts as bar 1)."""
    request: TuneRequest
    bar: int
    text: str
    state: LSTMState  # one row, on the host: after reading `text`
    logits: np.ndarray  # [V]: the model's prediction for the next character
    tracker: TuneTracker
    draws: int  # random numbers used so far
    log_likelihood: float
    scored: int
    forced: str  # opening characters still to write
    in_body: bool
    line_start: int
    earlier: tuple["Snapshot", ...] = ()  # the snapshots of bars 1 .. bar-1 (a continuation keeps them)


@dataclass(frozen=True)
class Tune:
    """A finished (or stopped) tune."""
    text: str
    request: TuneRequest
    mean_log_likelihood: float  # per character the model wrote (not the prime or the opening)
    reason: str  # "end" (a blank line), "length" (the cap), "cancelled", "error: ..."
    bars: int

    @property
    def seed(self) -> int:
        return self.request.seed


class Stream:
    def __init__(self, request: TuneRequest, description: ModelDescription, start: Snapshot | None = None):
        self.request = request
        self.vocab = description.vocab
        self._done = threading.Event()
        self._started = threading.Event()  # the composer wrote its first character
        self.cancelled = False
        self.reason = ""
        self.snapshots: list[Snapshot] = []
        self.first_char_at: float | None = None  # when the composer wrote its first character
        # Strict meter, or any fixed header field or opening, needs the tracker's mask.
        self.masked = request.strict or request.fixes_header or bool(request.opening)
        self.mask_live = False  # set below, once the tracker exists
        self._rng = np.random.Generator(np.random.PCG64(request.seed))
        self._uniforms = np.empty(0)
        self._next_uniform = 0
        if start is None:
            prime = description.inference.prime
            self.tracker = TuneTracker(self.vocab, request.max_chars, request.header_spec(), body=request.strict,
                                       form=request.strict and request.form, home_triad=request.home == "triad")
            self.text = ""
            self.draws = 0
            self.log_likelihood, self.scored = 0.0, 0
            self.in_body, self.line_start = False, 0
            self.forced = prime  # the prime is written as is; the opening follows the header
            self.logits = None
            self.mask_live = self._mask_live  # whether the tracker masks the next character
            self.feed = self.vocab.index[prime[0]]  # the first step reads it from the zero state
            self._take_forced(self.feed)
            self.state_row = None  # the composer starts it from zeros
        else:
            self.tracker = start.tracker.copy()
            self.text = start.text
            self.snapshots = list(start.earlier)  # bars keep their numbers in the continuation
            same_seed = request.seed == start.request.seed
            self.draws = start.draws if same_seed else 0
            if same_seed:
                self._rng.bit_generator.advance(start.draws)  # the same numbers the original drew next
            self.log_likelihood, self.scored = start.log_likelihood, start.scored
            self.in_body, self.line_start = start.in_body, start.line_start
            self.forced = start.forced
            self.mask_live = self._mask_live
            self.feed = -1
            self.logits = start.logits  # the composer chooses from these first
            self.state_row = start.state

    # --- what the composer calls, once per step, from its one thread -------------------------
    def uniform(self) -> float:
        if self._next_uniform == len(self._uniforms):
            self._uniforms, self._next_uniform = self._rng.random(UNIFORM_BLOCK), 0
        self._next_uniform += 1
        self.draws += 1
        return self._uniforms[self._next_uniform - 1]

    @property
    def _mask_live(self) -> bool:
        return self.masked and self.tracker.following

    def next_choice(self) -> tuple[int, int]:
        """(forced, mask) for the next character: forced is its vocabulary index when it is not the
        model's to choose (the prime, the opening, the only character the tracker allows), else -1;
        mask is the tracker's state number (its row of automaton.allowed, filled) or -1 unmasked."""
        forced = self.vocab.index[self.forced[0]] if self.forced else -1
        if not self.mask_live:
            return forced, -1
        tracker = self.tracker
        automaton, sid = tracker.automaton, tracker.sid
        if not automaton.masked[sid]:
            automaton.mask(sid)
        return (forced if forced >= 0 else automaton.only[sid]), sid

    def _take_forced(self, index: int) -> bool:
        """Writes the forced character; True when it came from the prime or the opening."""
        if self.forced and self.vocab.index[self.forced[0]] == index:
            self.forced = self.forced[1:]
            self._append(index)
            return True
        return False

    def write(self, index: int, log_likelihood: float) -> bool:
        """Appends the chosen character; False when the tune is over (nothing appended then)."""
        char = self.vocab.chars[index]
        if self.first_char_at is None:
            self.first_char_at = time.monotonic()
            self._started.set()
        if char == "\n" and self.text.endswith("\n"):
            self.finish("end")  # a blank line ends a tune, as in the corpus
            return False
        if not self._take_forced(index):
            self._append(index)
            self.log_likelihood += log_likelihood
            self.scored += 1
        self.feed = index
        if len(self.text) >= self.request.max_chars:
            self.finish("length")
            return False
        return True

    def _append(self, index: int) -> None:
        char = self.vocab.chars[index]
        following = self.mask_live
        self.text += char  # a new string each time: readers in other threads see whole texts
        if char == "\n":
            if not self.in_body and self.text.startswith("K:", self.line_start):
                self.in_body = True  # the header is over: the opening comes next
                self.forced += self.request.opening
                self.mask_live = self._mask_live
            self.line_start = len(self.text)
        if following:
            # The form holds the model's characters, not the opening's (which is the person's).
            self.tracker.push_index(index, enforce_form=not self.forced)

    def starts_bar_line(self, index: int) -> bool:
        char = self.vocab.chars[index]
        return self.in_body and char in BAR_START and self.text[-1] not in BAR_START

    def keep_snapshot(self, state: LSTMState, logits: np.ndarray, draws_before: int) -> None:
        """Called before writing a character that starts a bar line, with what produced it."""
        self.snapshots.append(Snapshot(
            request=self.request, bar=len(self.snapshots) + 1, text=self.text, state=state,
            logits=logits.copy(), tracker=self.tracker.copy(), draws=draws_before,
            log_likelihood=self.log_likelihood, scored=self.scored, forced=self.forced,
            in_body=self.in_body, line_start=self.line_start))

    def finish(self, reason: str) -> None:
        if not self._done.is_set():
            self.reason = reason
            self._done.set()
            self._started.set()

    # --- what a consumer calls, from any thread --------------------------------------------
    @property
    def done(self) -> bool:
        return self._done.is_set()

    def cancel(self) -> None:
        """Stop writing; the composer drops the row at its next step and the text stays as it is."""
        self.cancelled = True

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def updates(self, interval: float = 0.05, timeout: float | None = None) -> Iterator[str]:
        """The text as soon as writing starts, then at most once per interval, then the final text.

        Paced for a reader, not one update per character: a whole tune takes a few hundred
        characters and, on a free CPU, well under a second. With a timeout (seconds), the updates
        stop then even if the tune is not done (`done` tells; the caller decides what follows).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        left = (lambda: None) if deadline is None else (lambda: max(0.0, deadline - time.monotonic()))
        shown = None
        if not self._started.wait(left()):  # set by the first character, or by the end (a cancel, a fault)
            return
        if not self._done.is_set():
            shown = self.text
            yield shown
        while not self._done.wait(interval if deadline is None else min(interval, left())):
            if deadline is not None and time.monotonic() >= deadline:
                return
            text = self.text
            if text != shown:
                shown = text
                yield text
        if self.text != shown:
            yield self.text

    def result(self, timeout: float | None = None) -> Tune:
        if not self._done.wait(timeout):
            raise TimeoutError("the tune is still being written")
        mean = self.log_likelihood / self.scored if self.scored else float("nan")
        return Tune(self.text, self.request, mean, self.reason, len(self.snapshots))

    def snapshot(self, bar: int) -> Snapshot:
        """The point just after bar `bar`'s notes, before its closing bar line (1 = the first bar)."""
        snapshots = self.snapshots
        if not isinstance(bar, int) or not 1 <= bar <= len(snapshots):
            raise ValueError(f"bar must be from 1 to {len(snapshots)} (the bars written so far)")
        return dataclasses.replace(snapshots[bar - 1], earlier=tuple(snapshots[:bar - 1]))
