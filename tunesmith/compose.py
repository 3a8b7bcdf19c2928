"""What the app asks of the runtime: check a user's settings, then stream a tune as it grows.

Kept apart from the UI so the same checks guard every entry point (page, REST API, client).
"""
from __future__ import annotations

import math
from collections.abc import Iterator

from .engine import StepEngine
from .sampler import DEFAULT_MAX_CHARS, DEFAULT_PRIME, sample_tune
from .strict_abc import StrictMeter

MIN_TEMPERATURE, MAX_TEMPERATURE = 0.1, 2.0
MAX_SEED = 2**31 - 1


def parse_settings(temperature, seed) -> tuple[float, int]:
    """Turns what a user sent into (temperature, seed), or raises ValueError saying what is wrong."""
    try:
        temperature = float(temperature)
    except (TypeError, ValueError):
        raise ValueError("Temperature must be a number.") from None
    if not math.isfinite(temperature) or not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        raise ValueError(f"Temperature must be between {MIN_TEMPERATURE} and {MAX_TEMPERATURE}.")
    try:
        seed_value = float(seed)
    except (TypeError, ValueError):
        raise ValueError("Seed must be a whole number.") from None
    if not math.isfinite(seed_value) or seed_value != int(seed_value) or not 0 <= seed_value <= MAX_SEED:
        raise ValueError(f"Seed must be a whole number from 0 to {MAX_SEED}.")
    return temperature, int(seed_value)


def stream_tune(engine: StepEngine, temperature, seed, strict: bool = True,
                max_chars: int = DEFAULT_MAX_CHARS) -> Iterator[str]:
    """Yields the tune's text after each new character (the whole text so far, not the delta).

    strict: mask every character that would break the meter or the notation (tunesmith.strict_abc).
    """
    temperature, seed = parse_settings(temperature, seed)
    hook = StrictMeter(engine.vocab, max_chars) if strict else None
    text = ""
    for char in sample_tune(engine, prime=DEFAULT_PRIME, temperature=temperature, seed=seed,
                            max_chars=max_chars, logits_hook=hook):
        text += char
        yield text
