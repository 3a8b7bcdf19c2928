"""Drawing the next character of many tunes at once, each row on its own numbers.

Every operation here works along a row, in float64, from that row's logits alone, so a tune drawn
in a batch of 64 gets exactly the character it would get alone (given the same logits, which the
engines give: their rows do not depend on the other rows).
"""
from __future__ import annotations

import numpy as np


def choose(logits: np.ndarray, temperatures: list[float], allowed: np.ndarray | None,
           uniforms: list[float]):
    """One index per row (a list) from softmax(logits / temperature) over the allowed characters, and a
    function giving, for one index per row, its log-probability under the unmasked model at
    temperature 1 (the score a tune is ranked by).

    logits [R, V]; temperatures and uniforms: R numbers (uniforms in [0, 1)); allowed [R, V] bool
    or None. An inverse-CDF draw: one uniform number per character, so a seed fixes the tune.
    """
    if len(logits) == 1:  # one row: the same numbers with 1-D operations, which cost less
        return _choose_one(logits[0], temperatures[0], None if allowed is None else allowed[0], uniforms[0])
    x = logits.astype(np.float64)
    shifted = x - x.max(axis=1, keepdims=True)
    weights = np.exp(shifted)
    log_norm = np.log(weights.sum(axis=1))

    def log_probs(indices: list[int]) -> list[float]:
        return (shifted[np.arange(len(indices)), indices] - log_norm).tolist()

    if any(t != 1.0 for t in temperatures):
        weights = np.exp(shifted / np.array(temperatures)[:, None])
    if allowed is not None:
        weights *= allowed
    cumulative = np.cumsum(weights, axis=1)
    total = cumulative[:, -1]
    if not all(total.tolist()):  # every allowed character underflowed: rescale those rows to their best one
        for row in np.flatnonzero(total == 0):
            masked = np.where(allowed[row], x[row], -np.inf)
            cumulative[row] = np.cumsum(np.exp((masked - masked.max()) / temperatures[row]))
        total = cumulative[:, -1]
    thresholds = np.array(uniforms) * total
    # The first index whose cumulative weight passes the threshold (a zero weight never does).
    chosen = (cumulative <= thresholds[:, None]).sum(axis=1)
    return np.minimum(chosen, logits.shape[1] - 1).tolist(), log_probs


def _choose_one(logits: np.ndarray, temperature: float, allowed: np.ndarray | None, uniform: float):
    """choose() for a single row: the same operations along the row, so the same character."""
    x = logits.astype(np.float64)
    shifted = x - x.max()
    weights = np.exp(shifted)
    log_norm = np.log(weights.sum())
    if temperature != 1.0:
        weights = np.exp(shifted / temperature)
    if allowed is not None:
        weights *= allowed
    cumulative = np.cumsum(weights)
    total = cumulative[-1]
    if total == 0:  # every allowed character underflowed: rescale to the best allowed one
        masked = np.where(allowed, x, -np.inf)
        cumulative = np.cumsum(np.exp((masked - masked.max()) / temperature))
        total = cumulative[-1]
    # cumulative never decreases, so this is the count of entries <= the threshold, as choose()'s
    chosen = min(int(cumulative.searchsorted(uniform * total, side="right")), len(x) - 1)

    def log_probs(indices: list[int]) -> list[float]:
        return [float(shifted[indices[0]] - log_norm)]

    return [chosen], log_probs
