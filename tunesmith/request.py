"""A tune request: everything that decides a tune, checked once, for every entry point.

The app, its API and the CLI all turn what they were sent into a `TuneRequest` with
`parse_request(values, model)`; anything wrong raises `RequestError` naming the field and the
rule. The limits below, and the model's inference defaults (`model.json`), are the only ones:
nothing downstream checks again. The same request on the same model gives the same tune.
"""
from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .model import ModelDescription
from .form import FORM_BY_DEFAULT, HOME_BY_DEFAULT, HOMES
from .strict_abc import KEYS, METERS, TEXT_CHARS, HeaderSpec, TuneState, first_refusal, refusal_reason

MAX_SEED = 2**31 - 1
MAX_TITLE_CHARS = 80  # the tracker's cap on a header text field
MAX_OPENING_CHARS = 600  # about two parts of a reel
MIN_MAX_CHARS = 300  # a header and eight bars, with room to finish
HEADER_ROOM = 200  # characters kept for the header besides a fixed title, when checking length caps
MAX_CANDIDATES = 8
ANY = "any"  # what a picker sends for "let the model choose"

# The corpus's tune types (its Z: id:dc-<type>-N lines): the name people use -> the corpus's word.
TUNE_TYPES = {"reel": "reel", "jig": "jig", "hornpipe": "hornpipe", "polka": "polka", "slide": "slide",
              "set dance": "setdance", "slip jig": "slipjig", "waltz": "waltz", "O'Carolan": "ocarolan"}


def type_name(corpus_word: str | None) -> str:
    """The name people use for a corpus tune type ("slipjig" -> "slip jig"); ANY for None."""
    return next((name for name, word in TUNE_TYPES.items() if word == corpus_word), ANY)


TONICS = tuple(dict.fromkeys(k.split()[0] for k in KEYS))
MODES = tuple(dict.fromkeys(k.split()[1] for k in KEYS))
FIELDS = ("temperature", "seed", "tune_type", "meter", "key", "mode", "title", "opening", "max_chars", "strict",
          "form", "home")


class RequestError(ValueError):
    """A request field is wrong: `field` names it, the message says the rule."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.rule = message


@dataclass(frozen=True)
class TuneRequest:
    temperature: float
    seed: int
    tune_type: str | None = None  # the corpus's word ("reel", "slipjig"), None: the model chooses
    meter: str | None = None  # "6/8", "C|", ...
    key: str | None = None  # the tonic: "D", "Bb", ...
    mode: str | None = None  # "Major", "Dorian", ...
    title: str | None = None
    opening: str = ""  # body text the tune starts with, after the header
    max_chars: int = 2000
    strict: bool = True
    form: bool = FORM_BY_DEFAULT  # with strict meter: regular parts, paired endings, the home note (form.py)
    home: str = HOME_BY_DEFAULT  # what the last note may be: "tonic", or "triad" (any note of the tonic triad)
    # The meters the opening fits (all of them without one); not a user field.
    opening_meters: tuple[str, ...] = tuple(METERS)

    @property
    def fixes_header(self) -> bool:
        return any(v is not None for v in (self.tune_type, self.meter, self.key, self.mode, self.title))

    def header_spec(self) -> HeaderSpec:
        meters = tuple(m for m in self.opening_meters if self.meter in (None, m))
        keys = tuple(k for k in KEYS if self.key in (None, k.split()[0]) and self.mode in (None, k.split()[1]))
        return HeaderSpec(title=self.title, tune_type=self.tune_type, meters=meters, keys=keys)

    def with_seed(self, seed: int) -> "TuneRequest":
        return dataclasses.replace(self, seed=seed)

    def to_dict(self) -> dict:
        """The user fields (what a share link or an API call carries); parse_request reads it back."""
        return {name: getattr(self, name) for name in FIELDS}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(field: str, value, limit: int, model: ModelDescription) -> str:
    if not isinstance(value, str):
        raise RequestError(field, f"must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise RequestError(field, f"must be at most {limit} characters (got {len(value)})")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RequestError(field, "holds an invalid character (a lone surrogate)") from None
    unknown = model.vocab.unknown_chars(value)
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:5])
        raise RequestError(field, f"holds characters the model does not know: {shown}")
    return value


def _choice(field: str, value, options: Mapping[str, str] | tuple[str, ...]):
    """None for 'any' or absent; otherwise one of the options (matched ignoring case)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", ANY)):
        return None
    if not isinstance(value, str):
        raise RequestError(field, f"must be text, not {type(value).__name__}")
    lookup = options if isinstance(options, Mapping) else {o: o for o in options}
    for name, canonical in lookup.items():
        if value.strip().lower() in (name.lower(), canonical.lower()):
            return canonical
    raise RequestError(field, f"must be {ANY!r} or one of: {', '.join(lookup)}")


def _whole_number(field: str, value, low: int, high: int) -> int:
    if value is None:
        raise RequestError(field, f"must be a whole number from {low} to {high} (it is empty)")
    if not _is_number(value):
        raise RequestError(field, f"must be a whole number from {low} to {high}, not {type(value).__name__}")
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise RequestError(field, f"must be a whole number from {low} to {high} (got {value})")
    if not low <= value <= high:
        raise RequestError(field, f"must be a whole number from {low} to {high} (got {int(value)})")
    return int(value)


# Refusal categories (strict_abc.refusal_reason) for notation the strict tracker does not write.
STRICT_LEAVES_OUT = ("tie", "annotation, chord or grace note", "key change in the body", "meter change in the body")
# A bar line or repeat sign before the first note: in ABC a repeat with no "|:" goes back to the
# start, so "|:GAB dBG|" is "GAB dBG|" (the corpus's tunes, and so the tracker, start on a note).
LEADING_BAR_LINE = re.compile(r"^\s*(\|:|\|\||\||:)\s*")


def _body_start(meter: str, spec: HeaderSpec) -> TuneState:
    """The tracker's state at the start of the body, after a header with this meter."""
    key = spec.keys[0] if spec.keys else KEYS[0]
    _, state = first_refusal(f"X:1\nT:t\nM:{meter}\nL:1/8\nK:{key}\n")
    return state


def check_opening(opening: str, meters: tuple[str, ...]) -> tuple[str, ...]:
    """The meters the opening bars hold in strict ABC; RequestError naming the first bad bar if none."""
    worst = None
    fitting = []
    for meter in meters:
        position, state = first_refusal(opening, state=_body_start(meter, HeaderSpec()))
        if position is None:
            if state.token == "done":
                raise RequestError("opening", "must not end the tune (it holds a blank line)")
            fitting.append(meter)
        elif worst is None or position > worst[0]:
            worst = (position, state, meter)
    if fitting:
        return tuple(fitting)
    position, state, meter = worst
    bar = len(re.findall(r"[|:]+", opening[:position])) + 1
    char = opening[position]
    where = f"M:{meter}" if len(meters) == 1 else f"any meter (it gets furthest in M:{meter})"
    reason = refusal_reason(state, char)
    if reason in STRICT_LEAVES_OUT:
        reason += " (strict meter leaves these out; turn it off to keep them)"
    elif reason.startswith("the character"):
        reason = "not a note, rest, bar line or ending that fits here"
    raise RequestError("opening", f"bar {bar}, character {position + 1} ({char!r}): {reason}, in {where}")


def parse_request(values: Mapping, model: ModelDescription) -> TuneRequest:
    """Untrusted values (from a form, JSON, a URL or the command line) -> a checked TuneRequest.

    Absent fields take the model's defaults. Numbers must be numbers (not text or booleans),
    whole numbers whole; pickers take a listed value or 'any'; text must be in the model's
    vocabulary. Raises RequestError naming the first wrong field.
    """
    if not isinstance(values, Mapping):
        raise RequestError("request", "must be a mapping of field names to values")
    unknown = sorted(str(k) for k in values if k not in FIELDS)
    if unknown:
        raise RequestError(unknown[0], f"is not a request field (fields: {', '.join(FIELDS)})")
    defaults = model.inference
    get = values.get

    temperature = get("temperature", defaults.temperature)
    low, high = defaults.min_temperature, defaults.max_temperature
    if isinstance(temperature, int) and not isinstance(temperature, bool) and abs(temperature) > 10**6:
        temperature = float("inf")  # a huge whole number: out of range (float() would overflow)
    if not _is_number(temperature) or not math.isfinite(temperature) or not low <= temperature <= high:
        shown = type(temperature).__name__ if not _is_number(temperature) else temperature
        raise RequestError("temperature", f"must be a number from {low} to {high} (got {shown})")

    seed = parse_seed(get("seed", 0))
    tune_type = _choice("tune_type", get("tune_type"), TUNE_TYPES)
    meter = _choice("meter", get("meter"), tuple(METERS))
    key = _choice("key", get("key"), TONICS)
    mode = _choice("mode", get("mode"), MODES)

    title = get("title")
    if title is not None:
        title = _text("title", title, MAX_TITLE_CHARS, model).strip()
        bad = sorted(set(title) - TEXT_CHARS["T"])
        if bad:
            raise RequestError("title", f"may hold letters, digits, spaces and ' ( ) , - . only, not {bad[0]!r}")
        title = title or None

    max_chars = _whole_number("max_chars", get("max_chars", defaults.max_chars), MIN_MAX_CHARS,
                              defaults.max_chars_limit)
    strict = get("strict", True)
    if not isinstance(strict, bool):
        raise RequestError("strict", f"must be true or false, not {type(strict).__name__}")

    form = get("form", FORM_BY_DEFAULT)
    if not isinstance(form, bool):
        raise RequestError("form", f"must be true or false, not {type(form).__name__}")
    home = get("home", HOME_BY_DEFAULT)
    if not isinstance(home, str) or home.strip().lower() not in HOMES:
        raise RequestError("home", f"must be one of: {', '.join(HOMES)}")
    home = home.strip().lower()

    opening = get("opening")
    opening = "" if opening is None else _text("opening", opening, MAX_OPENING_CHARS, model)
    opening = LEADING_BAR_LINE.sub("", opening, count=1)
    if opening.strip() == "":
        opening = ""
    if "\n\n" in opening:
        raise RequestError("opening", "must not hold a blank line (a blank line ends a tune)")
    room = max_chars - HEADER_ROOM - len(title or "") - len(opening)
    if room < MIN_MAX_CHARS - HEADER_ROOM:
        raise RequestError("max_chars", f"leaves too little room after the header and the opening: "
                                        f"at least {max_chars - room + MIN_MAX_CHARS - HEADER_ROOM} needed")
    meters = tuple(METERS)
    if opening and strict:
        meters = check_opening(opening, (meter,) if meter else tuple(METERS))

    return TuneRequest(temperature=float(temperature), seed=seed, tune_type=tune_type, meter=meter, key=key,
                       mode=mode, title=title, opening=opening, max_chars=max_chars, strict=strict,
                       form=form, home=home, opening_meters=meters)


def parse_seed(value) -> int:
    return _whole_number("seed", value, 0, MAX_SEED)


def parse_candidates(value) -> int:
    return _whole_number("candidates", value, 1, MAX_CANDIDATES)


__all__ = ["TuneRequest", "RequestError", "parse_request", "parse_seed", "parse_candidates"]
