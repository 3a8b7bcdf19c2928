"""Small helpers for ABC text: reference numbers, titles and tunebooks."""
from __future__ import annotations

import re

_X_LINE = re.compile(r"^X:[^\n]*", re.MULTILINE)
_T_LINE = re.compile(r"^T:([^\n]*)", re.MULTILINE)


def set_reference_number(tune: str, number: int) -> str:
    """Rewrites the tune's first X: line to X:<number>, adding one at the top if it has none."""
    if _X_LINE.search(tune):
        return _X_LINE.sub(f"X:{number}", tune, count=1)
    return f"X:{number}\n{tune}"


def title_of(tune: str, default: str = "Untitled") -> str:
    match = _T_LINE.search(tune)
    return match.group(1).strip() if match and match.group(1).strip() else default


def tunebook(tunes: list[str]) -> str:
    """Tunes numbered X:1, X:2, ... separated by one blank line, ending with a newline."""
    return "\n\n".join(set_reference_number(t.strip("\n"), i) for i, t in enumerate(tunes, 1)) + "\n"


def split_tunebook(text: str) -> list[str]:
    return [chunk.strip("\n") for chunk in text.split("\n\n") if chunk.strip()]
