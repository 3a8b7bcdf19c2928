"""Character vocabulary: every distinct character of the corpus is one token.

Built once from the corpus at training time and saved beside the model; never rebuilt at inference.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class Vocabulary:
    def __init__(self, chars: list[str]):
        if len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise ValueError("vocabulary must be a list of distinct single characters")
        self.chars = list(chars)
        self.index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> "Vocabulary":
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, char: str) -> bool:
        return char in self.index

    def unknown_chars(self, text: str) -> list[str]:
        return sorted(set(text) - set(self.index))

    def encode(self, text: str) -> np.ndarray:
        unknown = self.unknown_chars(text)
        if unknown:
            raise ValueError(f"characters outside the vocabulary: {unknown!r}")
        return np.fromiter((self.index[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"chars": self.chars}, ensure_ascii=False, indent=0) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "Vocabulary":
        return cls(json.loads(Path(path).read_text())["chars"])
