"""The corpus, its fixed train/validation split, and the text the model is trained on."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tunesmith.abc import split_tunebook
from tunesmith.model import sha256_of  # noqa: F401 - the one file hash, re-exported for training and export

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT / "data" / "irish.abc"
TUNE_SEPARATOR = "\n\n"  # a blank line ends a tune; the sampler stops on it too
VALIDATION_EVERY = 10  # chunk index % 10 == 0 is validation: the project's fixed split


def read_corpus(path: str | Path = DEFAULT_CORPUS) -> str:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"corpus file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise ValueError(f"corpus file is empty: {path}")
    return text


def split_tunes(text: str) -> list[str]:
    """Blank-line separated chunks in file order, empty ones dropped, outer newlines stripped."""
    return split_tunebook(text)


def join_tunes(tunes: list[str]) -> str:
    """Training and validation text: each tune followed by the blank line that ends it."""
    return "".join(tune + TUNE_SEPARATOR for tune in tunes)


@dataclass
class Split:
    train: list[str]
    validation: list[str]

    @property
    def train_text(self) -> str:
        return join_tunes(self.train)

    @property
    def validation_text(self) -> str:
        return join_tunes(self.validation)


def fixed_split(tunes: list[str]) -> Split:
    return Split(
        train=[t for i, t in enumerate(tunes) if i % VALIDATION_EVERY != 0],
        validation=[t for i, t in enumerate(tunes) if i % VALIDATION_EVERY == 0],
    )

