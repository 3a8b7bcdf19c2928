"""Validation loss in nats per character over the validation tunes, joined as training text is.

Every character of the joined text but the first is predicted. Tunes are read side by side in one
batch, each with the blank line before it as its only context (the state starts at zero per tune,
as it does for every training window), which is fast on CPU and tune-independent.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from tunesmith.vocab import Vocabulary

from .data import TUNE_SEPARATOR
from .model import CharLSTM


def _tune_rows(tunes: list[str], vocab: Vocabulary):
    rows = []
    for i, tune in enumerate(tunes):
        prefix = TUNE_SEPARATOR if i > 0 else ""
        ids = vocab.encode(prefix + tune + TUNE_SEPARATOR)
        mask = torch.ones(len(ids) - 1, dtype=torch.bool)
        mask[: max(len(prefix) - 1, 0)] = False  # the separator's first newline ends the previous tune
        rows.append((torch.from_numpy(ids[:-1]), torch.from_numpy(ids[1:]), mask))
    return rows


def _pad(seqs, value):
    return torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=value)


@torch.no_grad()
def validation_nats_per_char(model: CharLSTM, tunes: list[str], vocab: Vocabulary,
                             batch_size: int = 96) -> float:
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    rows = _tune_rows(tunes, vocab)
    for start in range(0, len(rows), batch_size):
        inputs, targets, counted = (_pad(list(col), v) for col, v in
                                    zip(zip(*rows[start:start + batch_size]), (0, 0, False)))
        logits, _ = model(inputs.to(device))
        loss = F.cross_entropy(logits.transpose(1, 2), targets.to(device), reduction="none")
        total += loss[counted.to(device)].sum().item()
        count += int(counted.sum())
    model.train(was_training)
    return total / count if count else math.nan
