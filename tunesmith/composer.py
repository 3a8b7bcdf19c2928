"""One batched composer for every tune: all users, all candidates, the CLI's tunebooks.

A single background thread loops: it admits waiting streams (up to `max_rows`), runs ONE engine
step for the rows of every active stream, then for each row applies the stream's mask and
temperature and draws with the stream's own random numbers (tunesmith/sampling.py, row by row
in float64), and hands the character to the stream. Streams join and leave between steps; a
cancelled stream (its consumer gone) is dropped at the next step. The caller of `submit` holds
the stream: it reads the text as it grows, waits for the result, or cancels.

    with Composer(load_engine()) as composer:
        tune = composer.submit(request).result()
"""
from __future__ import annotations

import collections
import logging
import threading
import time

import numpy as np

from .engine import LSTMState, zero_state
from .request import TuneRequest, parse_request, parse_seed
from .sampling import choose
from .stream import Snapshot, Stream, Tune

DEFAULT_MAX_ROWS = 64  # rows in one step; beyond it streams wait their turn (the CPU's sweet spot)
WARM_UP_TUNES, WARM_UP_SEED = 64, 1_000_000
log = logging.getLogger(__name__)


class Composer:
    def __init__(self, engine, max_rows: int = DEFAULT_MAX_ROWS):
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self.engine = engine
        self.description = engine.description
        # A CUDA-graph engine captures one graph per batch size up to its largest bucket.
        self.max_rows = min(max_rows, engine.max_batch or max_rows)
        self._waiting: collections.deque[Stream] = collections.deque()
        self._active: list[Stream] = []
        self._state = None
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self.steps = 0  # engine steps run
        self.rows_stepped = 0  # characters read by the engine, over all rows
        self.peak_rows = 0
        self.busy_seconds = 0.0  # CPU time of the composer's thread (engine steps' own threads aside)

    # --- for callers ------------------------------------------------------------------------
    def submit(self, request: TuneRequest, start: Snapshot | None = None) -> Stream:
        """Queues a tune (from the beginning, or continued from a snapshot) and returns its stream."""
        stream = Stream(request, self.description, start)
        with self._wake:
            if self._closed:
                raise RuntimeError("the composer is closed")
            self._waiting.append(stream)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tunesmith-composer", daemon=True)
                self._thread.start()
            self._wake.notify()
        return stream

    def continue_from(self, snapshot: Snapshot, seed=None) -> Stream:
        """Writes on from a snapshot: the same seed writes the original tune again, another a new ending."""
        seed = snapshot.request.seed if seed is None else parse_seed(seed)
        return self.submit(snapshot.request.with_seed(seed), start=snapshot)

    def candidates(self, request: TuneRequest, count: int) -> list[Stream]:
        """`count` tunes of one request, with seeds seed, seed+1, ... (rank them by their results)."""
        parse_seed(request.seed + count - 1)  # the last seed must be a valid seed too
        return [self.submit(request.with_seed(request.seed + i)) for i in range(count)]

    def warm_up(self, tunes: int = WARM_UP_TUNES) -> list[Stream]:
        """Composes some throwaway tunes (not waited for) so the tracker's shared masks are built
        before people arrive: a cold tracker costs about twice the time per character."""
        request = parse_request({"seed": WARM_UP_SEED}, self.description)
        return self.candidates(request, tunes)

    def compose_all(self, requests: list[TuneRequest]) -> list[Tune]:
        streams = [self.submit(r) for r in requests]
        return [s.result() for s in streams]

    def stats(self) -> dict:
        """Rows active and waiting, the cap, and counters; busy_seconds is the composer thread's
        CPU time up to its last idle moment."""
        with self._wake:
            return {"active": len(self._active), "waiting": len(self._waiting), "max_rows": self.max_rows,
                    "peak_rows": self.peak_rows, "steps": self.steps, "rows_stepped": self.rows_stepped,
                    "busy_seconds": self.busy_seconds,
                    "engine": self.engine.name}

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
        for stream in list(self._waiting) + self._active:
            stream.finish("cancelled")

    def __enter__(self) -> "Composer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- the loop ---------------------------------------------------------------------------
    def _run(self) -> None:
        started = time.thread_time()
        while True:
            joining = []
            # The lock only when someone waits to join (or nothing is active): most steps skip it.
            if self._waiting or not self._active or self._closed:
                with self._wake:
                    while not self._closed and not self._waiting and not self._active:
                        self.busy_seconds += time.thread_time() - started
                        self._wake.wait()
                        started = time.thread_time()
                    if self._closed:
                        return
                    while self._waiting and len(self._active) + len(joining) < self.max_rows:
                        joining.append(self._waiting.popleft())
            try:
                self._admit(joining)
                if self._active:
                    self._step()
            except Exception as error:  # noqa: BLE001 - a fault ends the tunes under way, not the composer
                log.exception("composer step failed")
                for stream in self._active + joining:
                    stream.finish(f"error: {error}")
                self._active, self._state = [], None

    def _admit(self, joining: list[Stream]) -> None:
        rows, admitted = [], []  # host rows (numpy) of the streams that join
        for stream in joining:
            if stream.cancelled:
                stream.finish("cancelled")
                continue
            if stream.logits is not None:  # continued from a snapshot: it chooses first
                self._choose([stream], stream.logits[None, :], [stream.state_row])
                if stream.done:
                    continue
                rows.append(stream.state_row)
            else:
                rows.append(zero_state(self.description, 1))
            admitted.append(stream)
        if not admitted:
            return
        if self._state is None:
            self._state = self.engine.from_host(rows[0]) if len(rows) == 1 else self.engine.join(rows)
        else:
            self._state = self.engine.join([self._state] + rows)
        self._active.extend(admitted)
        self.peak_rows = max(self.peak_rows, len(self._active))

    def _step(self) -> None:
        active = self._active
        tokens = np.fromiter((s.feed for s in active), dtype=np.int64, count=len(active))
        logits, self._state = self.engine.step(tokens, self._state)
        self.steps += 1
        self.rows_stepped += len(active)
        if self._choose(active, logits, None):
            keep = [i for i, s in enumerate(active) if not s.done]
            self._active = [active[i] for i in keep]
            self._state = self.engine.rows(self._state, keep) if keep else None

    def _choose(self, streams: list[Stream], logits: np.ndarray, host_rows) -> bool:
        """Picks and writes the next character of each stream from its row of logits; True when a
        stream finished (or was cancelled) and its row must go."""
        forced, mask_ids, temperatures, uniforms, draws_before = [], [], [], [], []
        automaton = streams[0].tracker.automaton
        shared = True  # every row masked, by the same automaton: one fancy index makes the masks
        for stream in streams:
            draws_before.append(stream.draws)
            index, mask = (-2, -1) if stream.cancelled else stream.next_choice()
            forced.append(index)
            mask_ids.append(mask)
            shared = shared and mask >= 0 and stream.tracker.automaton is automaton
            temperatures.append(stream.request.temperature)
            # A forced character draws no random number: the stream's numbers stay its own.
            uniforms.append(stream.uniform() if index == -1 else 0.0)
        if shared:  # a single row's mask is a view; a batch's, one gather
            allowed = automaton.allowed[mask_ids[0]][None] if len(streams) == 1 else \
                np.take(automaton.allowed, mask_ids, axis=0)
        else:
            allowed = self._masks(streams, mask_ids) if any(m >= 0 for m in mask_ids) else None
        chosen, log_probs = choose(logits, temperatures, allowed, uniforms)
        chosen = [f if f >= 0 else c for f, c in zip(forced, chosen)]
        scores = log_probs(chosen)
        # Snapshots before bar lines: the rows that need one cross to the host together.
        bar_lines = [i for i, stream in enumerate(streams) if forced[i] != -2 and stream.starts_bar_line(chosen[i])]
        if bar_lines:
            rows = self.engine.host_rows(self._state, bar_lines) if host_rows is None else None
            for k, i in enumerate(bar_lines):
                state = host_rows[i] if rows is None else LSTMState(rows.h[:, k:k + 1], rows.c[:, k:k + 1])
                streams[i].keep_snapshot(state, logits[i], draws_before[i])
        ended = False
        for i, stream in enumerate(streams):
            if forced[i] == -2:
                stream.finish("cancelled")
                ended = True
                continue
            try:
                ended = not stream.write(chosen[i], scores[i]) or ended
            except ValueError as error:  # a tracker refusal: a bug, but it ends this tune only
                log.error("stream stopped: %s", error)
                stream.finish(f"error: {error}")
                ended = True
        return ended

    @staticmethod
    def _masks(streams: list[Stream], mask_ids: list[int]) -> np.ndarray:
        """The allowed characters of each row, row by row; all True for an unmasked row."""
        width = len(streams[0].vocab)
        return np.stack([s.tracker.automaton.allowed[m] if m >= 0 else np.ones(width, bool)
                         for s, m in zip(streams, mask_ids)])
