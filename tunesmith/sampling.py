"""Drawing the next character of many tunes at once, each row on its own numbers.

Every operation here works along a row, in float64, from that row's logits alone, so a tune drawn
in a batch of 64 gets exactly the character it would get alone (given the same logits, which the
engines give: their rows do not depend on the other rows).
"""
from __future__ import annotations

import numpy as np


def log_likelihoods(logits: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """log p(chosen) under the unmasked model at temperature 1, per row (for ranking tunes)."""
    x = logits.astype(np.float64)
    top = x.max(axis=1)
    log_norm = np.log(np.exp(x - top[:, None]).sum(axis=1)) + top
    return x[np.arange(len(x)), chosen] - log_norm


def draw(logits: np.ndarray, temperatures: np.ndarray, allowed: np.ndarray | None,
         uniforms: np.ndarray) -> np.ndarray:
    """One index per row from softmax(logits / temperature) over the allowed characters.

    logits [R, V], temperatures [R], allowed [R, V] bool or None, uniforms [R] in [0, 1): an
    inverse-CDF draw, one uniform number per character, so a seed fixes the tune.
    """
    x = logits.astype(np.float64)
    if allowed is not None:
        x = np.where(allowed, x, -np.inf)
    # Scale relative to the best allowed character, so exp never overflows nor all underflows.
    weights = np.exp((x - x.max(axis=1, keepdims=True)) / temperatures[:, None])
    cumulative = np.cumsum(weights, axis=1)
    thresholds = uniforms * cumulative[:, -1]
    # The first index whose cumulative weight passes the threshold (a zero weight never does).
    chosen = (cumulative <= thresholds[:, None]).sum(axis=1)
    return np.minimum(chosen, logits.shape[1] - 1)
