"""Sampling a tune character by character from the step engine.

The per-step hook is where constraints plug in: it gets the logits of the next character and the
text so far, and returns the logits to sample from (for instance with forbidden characters set
to -inf). With no hook, samples follow the model's distribution at the given temperature.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from .engine import StepEngine

DEFAULT_PRIME = "X:1\n"
DEFAULT_MAX_CHARS = 2000
END_OF_TUNE = "\n\n"  # a blank line, as between the corpus's tunes
MAX_TEMPERATURE = 5.0

LogitsHook = Callable[[np.ndarray, str], np.ndarray]


def validate_settings(prime: str, temperature: float, seed: int, max_chars: int, engine: StepEngine) -> None:
    if not isinstance(prime, str) or not prime:
        raise ValueError("the prime must be a non-empty string, such as 'X:1\\n'")
    unknown = engine.vocab.unknown_chars(prime)
    if unknown:
        raise ValueError(f"the prime holds characters the model does not know: {''.join(unknown)!r}")
    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) \
            or not 0 <= temperature <= MAX_TEMPERATURE:
        raise ValueError(f"temperature must be a number from 0 (greedy) to {MAX_TEMPERATURE}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError("seed must be a whole number, 0 or more")
    if not isinstance(max_chars, int) or max_chars < 1:
        raise ValueError("max_chars must be a positive whole number")


def choose(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Draws one token from softmax(logits / temperature); temperature 0 takes the most likely."""
    if temperature == 0:
        return int(np.argmax(logits))
    scaled = logits.astype(np.float64) / temperature
    probs = np.exp(scaled - scaled.max())
    cumulative = np.cumsum(probs)
    # Inverse-CDF draw: one uniform number per step keeps runs reproducible for a given seed.
    return int(min(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"), len(probs) - 1))


def sample_tune(engine: StepEngine, prime: str = DEFAULT_PRIME, temperature: float = 1.0, seed: int = 0,
                max_chars: int = DEFAULT_MAX_CHARS, logits_hook: LogitsHook | None = None) -> Iterator[str]:
    """Yields the prime, then one sampled character at a time, until a blank line or max_chars.

    The tune's last line break is yielded; the second newline of the blank line that ends the tune
    is not. Identical settings and seed give identical output.
    """
    validate_settings(prime, temperature, seed, max_chars, engine)
    rng = np.random.default_rng(seed)
    logits, state = engine.read(prime)
    text = prime
    yield from prime
    while len(text) < max_chars:
        if logits_hook is not None:
            logits = logits_hook(logits, text)
        char = engine.vocab.chars[choose(logits, temperature, rng)]
        if char == "\n" and text.endswith("\n"):
            return  # blank line: the tune is over
        text += char
        yield char
        step_logits, state = engine.step(np.array([engine.vocab.index[char]]), state)
        logits = step_logits[0]


def generate_tune(engine: StepEngine, **settings) -> str:
    return "".join(sample_tune(engine, **settings))
