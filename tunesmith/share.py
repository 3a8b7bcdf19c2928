"""Share links: a tune request as a URL query, and back.

A link carries every setting that decides the tune (type, meter, key, mode, title, opening bars,
temperature, seed, length, strict, form and home note) and the short hash of the model that wrote it, so opening it
writes the same tune again on the same model, and says so when the model differs. What a link
holds is untrusted: it goes through `parse_request` like any other input, and a wrong value is
reported with the link's own parameter name.

    ?type=reel&meter=C%7C&key=D&mode=Major&temperature=1.0&seed=42&length=2000&strict=1&model=3f2a...
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from urllib.parse import urlencode

from .model import ModelDescription
from .request import ANY, RequestError, TuneRequest, parse_request, parse_seed, type_name

# URL parameter -> request field (the names people see in a link are short).
PARAMS = {"type": "tune_type", "meter": "meter", "key": "key", "mode": "mode", "title": "title",
          "opening": "opening", "temperature": "temperature", "seed": "seed", "length": "max_chars",
          "strict": "strict", "form": "form", "home": "home"}
MODEL_PARAM = "model"
# A continuation ("from bar N, with seed T"; a chain for a continuation of a continuation):
# comma lists of equal length, applied in order to the tune the other parameters write.
BAR_PARAM, THEN_PARAM = "bar", "then"
MAX_CONTINUATIONS = 16
MAX_PARAM_CHARS = 1000  # longer than any field allows: a longer value is refused before parsing
_FIELD_PARAMS = {field: param for param, field in PARAMS.items()}


class LinkError(RequestError):
    """A link's parameter is wrong; `field` is the parameter's name in the link."""


def to_query(request: TuneRequest, model_hash: str, continuations: tuple[tuple[int, int], ...] = ()) -> str:
    """The query string (with its leading '?') that writes `request` again on the model `model_hash`,
    then continues it from each (bar, seed) in turn."""
    values = {
        "type": type_name(request.tune_type),
        "meter": request.meter or ANY, "key": request.key or ANY, "mode": request.mode or ANY,
        "title": request.title or "", "opening": request.opening,
        "temperature": f"{request.temperature:g}", "seed": str(request.seed),
        "length": str(request.max_chars), "strict": "1" if request.strict else "0",
        "form": "1" if request.form else "0", "home": request.home if request.form else "",
        MODEL_PARAM: model_hash,
    }
    if continuations:
        values[BAR_PARAM] = ",".join(str(bar) for bar, _ in continuations)
        values[THEN_PARAM] = ",".join(str(seed) for _, seed in continuations)
    return "?" + urlencode({k: v for k, v in values.items() if v != ""})


def _number(param: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LinkError(param, f"must be a number (got {text[:40]!r})") from None
    if not math.isfinite(value):
        raise LinkError(param, f"must be a number (got {text[:40]!r})")
    return value


def _whole(param: str, text: str) -> int:
    if not re.fullmatch(r"\s*\d{1,12}\s*", text):
        raise LinkError(param, f"must be a whole number (got {text[:40]!r})")
    return int(text)


def from_query(params: Mapping[str, str], model: ModelDescription) -> tuple[TuneRequest, str | None]:
    """A link's parameters -> (the checked request, the model hash the link names or None).

    Raises LinkError naming the link's parameter. Unknown parameters are refused too, so a typo
    never silently writes a different tune.
    """
    values = {}  # a setting the link leaves out takes its default (the form's included: on)
    for param, text in params.items():
        if param in (BAR_PARAM, THEN_PARAM):
            continue  # read by continuations_from_query
        if param != MODEL_PARAM and param not in PARAMS:
            raise LinkError(param, f"is not a link parameter (parameters: "
                                   f"{', '.join([*PARAMS, MODEL_PARAM, BAR_PARAM, THEN_PARAM])})")
        if not isinstance(text, str) or len(text) > MAX_PARAM_CHARS:
            raise LinkError(param, f"must be text of at most {MAX_PARAM_CHARS} characters")
        if param == MODEL_PARAM:
            continue
        field = PARAMS[param]
        if field == "temperature":
            values[field] = _number(param, text)
        elif field in ("seed", "max_chars"):
            values[field] = _whole(param, text)
        elif field in ("strict", "form"):
            if text.strip().lower() not in ("1", "0", "true", "false"):
                raise LinkError(param, f"must be 1 or 0 (got {text[:40]!r})")
            values[field] = text.strip().lower() in ("1", "true")
        else:
            values[field] = text
    try:
        request = parse_request(values, model)
    except RequestError as error:
        raise LinkError(_FIELD_PARAMS.get(error.field, error.field), error.rule) from None
    model_hash = params.get(MODEL_PARAM)
    return request, (model_hash if isinstance(model_hash, str) and model_hash else None)


def continuations_from_query(params: Mapping[str, str]) -> tuple[tuple[int, int], ...]:
    """The link's continuations, (bar, seed) pairs in order; LinkError naming `bar` or `then`."""
    bars, seeds = params.get(BAR_PARAM, ""), params.get(THEN_PARAM, "")
    if not bars and not seeds:
        return ()
    if not isinstance(bars, str) or not isinstance(seeds, str) or len(bars) + len(seeds) > MAX_PARAM_CHARS:
        raise LinkError(BAR_PARAM, f"must be text of at most {MAX_PARAM_CHARS} characters")
    bar_list = [_whole(BAR_PARAM, b) for b in bars.split(",")]
    seed_list = [parse_seed_for_link(_whole(THEN_PARAM, t)) for t in seeds.split(",")]
    if len(bar_list) != len(seed_list):
        raise LinkError(THEN_PARAM, f"must give one seed per bar in {BAR_PARAM} ({len(bar_list)})")
    if len(bar_list) > MAX_CONTINUATIONS or min(bar_list) < 1:
        raise LinkError(BAR_PARAM, f"must be 1 to {MAX_CONTINUATIONS} bar numbers, each 1 or more")
    return tuple(zip(bar_list, seed_list))


def parse_seed_for_link(value: int) -> int:
    try:
        return parse_seed(value)
    except RequestError as error:
        raise LinkError(THEN_PARAM, error.rule) from None
