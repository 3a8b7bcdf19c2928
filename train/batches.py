"""Where training batches come from: random windows (the seed recipe) or tunes read in order.

Both yield (inputs, targets, carry_state): inputs/targets are [batch, seq_len] token ids, and
carry_state says whether the LSTM state from the previous batch continues into this one.
"""
from __future__ import annotations

import torch

from tunesmith.vocab import Vocabulary

from .data import join_tunes


class RandomWindows:
    """Windows of seq_len + 1 characters at random offsets of the training text, from zero state."""

    def __init__(self, tunes: list[str], vocab: Vocabulary, batch_size: int, seq_len: int,
                 generator: torch.Generator):
        self.ids = torch.from_numpy(vocab.encode(join_tunes(tunes)))
        if len(self.ids) <= seq_len + 1:
            raise ValueError(f"training text ({len(self.ids)} characters) is shorter than one window")
        self.batch_size, self.seq_len, self.generator = batch_size, seq_len, generator

    def __iter__(self):
        while True:
            starts = torch.randint(0, len(self.ids) - self.seq_len - 1, (self.batch_size,), generator=self.generator)
            windows = torch.stack([self.ids[s:s + self.seq_len + 1] for s in starts.tolist()])
            yield windows[:, :-1], windows[:, 1:], False


class TunesInOrder:
    """Truncated back-propagation through time, as char-rnn trains.

    Each epoch shuffles the tunes, joins them and cuts the text into batch_size contiguous
    streams; batch k holds window k of every stream, so the state carries from one window to
    the next and the model learns from context longer than one window (a tune's repeats).
    """

    def __init__(self, tunes: list[str], vocab: Vocabulary, batch_size: int, seq_len: int,
                 generator: torch.Generator):
        self.tune_ids = [torch.from_numpy(vocab.encode(join_tunes([t]))) for t in tunes]
        total = sum(len(t) for t in self.tune_ids)
        if total // batch_size <= seq_len + 1:
            raise ValueError(f"training text ({total} characters) is too short for {batch_size} streams")
        self.batch_size, self.seq_len, self.generator = batch_size, seq_len, generator

    def __iter__(self):
        while True:
            order = torch.randperm(len(self.tune_ids), generator=self.generator).tolist()
            ids = torch.cat([self.tune_ids[i] for i in order])
            stream_len = (len(ids) - 1) // self.batch_size
            streams = ids[: stream_len * self.batch_size + 1]
            inputs = streams[:-1].view(self.batch_size, stream_len)
            targets = streams[1:].view(self.batch_size, stream_len)
            for k, start in enumerate(range(0, stream_len - self.seq_len + 1, self.seq_len)):
                yield inputs[:, start:start + self.seq_len], targets[:, start:start + self.seq_len], k > 0
