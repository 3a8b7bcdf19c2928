"""Continuing a tune a person has edited: its text up to bar N becomes a request.

An edited tune has no snapshot to continue from, so its header fields (title, tune type, meter,
key and mode) are fixed and its body up to the end of bar N becomes the opening of a new request:
the composer then reads it and writes the rest. Everything goes through `parse_request`, so an
edit that strict meter refuses is refused here, naming the bar and the character, and the result
has an ordinary share link.
"""
from __future__ import annotations

import re

from .model import ModelDescription
from .request import MAX_OPENING_CHARS, TUNE_TYPES, RequestError, TuneRequest, parse_request

# Bar lines as the corpus writes them, longest first; each one closes a bar that holds notes.
_BAR_LINE = re.compile(r"\|\]|\|\||\|:|:\|\]?|::|\|")
_TYPE = re.compile(r"id:dc-([a-z]+)-")


class EditError(RequestError):
    """What is wrong with an edited tune (field "edit", or "bar")."""


def split_tune(text: str) -> tuple[dict[str, str], str]:
    """The header's fields (letter -> value, first of each) and the body after the K: line."""
    fields, lines = {}, text.split("\n")
    for index, line in enumerate(lines):
        match = re.match(r"([A-Za-z]):(.*)", line)
        if not match:
            raise EditError("edit", f"line {index + 1} must be a header field like 'K:D Major' before the tune's body")
        fields.setdefault(match.group(1), match.group(2).strip())
        if match.group(1) == "K":
            return fields, "\n".join(lines[index + 1:])
    raise EditError("edit", "the tune needs its K: line (the key) before the music")


def end_of_bar(body: str, bar: int) -> int:
    """The index just after the bar line that closes bar `bar` (1 = the first bar, a pickup included)."""
    closed, notes_since = 0, False
    position = 0
    while position < len(body):
        match = _BAR_LINE.match(body, position)
        if match:
            if notes_since:
                closed += 1
                notes_since = False
                if closed == bar:
                    return match.end()
            position = match.end()
            continue
        if not body[position].isspace() and body[position] != "!":
            notes_since = True
        position += 1
    raise EditError("bar", f"this tune has {closed} complete bars; continue from bar 1 to {closed}")


def continuation_request(text: str, bar: int, seed: int, model: ModelDescription, strict: bool = True,
                         temperature: float | None = None, max_chars: int | None = None,
                         form: bool | None = None, home: str | None = None) -> TuneRequest:
    """The request that keeps `text` up to the end of bar `bar` and writes the rest with `seed`."""
    fields, body = split_tune(text.replace("\r\n", "\n"))
    opening = body[:end_of_bar(body, bar)].lstrip("\n")
    if len(opening) > MAX_OPENING_CHARS:
        raise EditError("bar", f"keeps {len(opening)} characters of music; at most {MAX_OPENING_CHARS} can be kept "
                               f"(continue from an earlier bar)")
    type_match = _TYPE.search(fields.get("Z", ""))
    tune_type = type_match.group(1) if type_match and type_match.group(1) in TUNE_TYPES.values() else None
    key, _, mode = fields.get("K", "").partition(" ")
    values = {"seed": seed, "strict": strict, "title": fields.get("T") or None, "tune_type": tune_type,
              "meter": fields.get("M") or None, "key": key or None, "mode": mode.strip() or None,
              "opening": opening}
    if temperature is not None:
        values["temperature"] = temperature
    if max_chars is not None:
        values["max_chars"] = max_chars
    for name, value in (("form", form), ("home", home)):
        if value is not None:
            values[name] = value
    try:
        return parse_request(values, model)
    except RequestError as error:
        where = {"opening": "the music up to that bar", "meter": "M:", "key": "K:", "mode": "K:",
                 "title": "T:"}.get(error.field, error.field)
        raise EditError("edit", f"{where}: {error.rule}") from None
