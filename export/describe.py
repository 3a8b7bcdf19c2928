"""Writes a model folder's `model.json`: what the runtime needs, apart from the training recipe.

Called by `python -m export` and `python -m export.quantize`; the runtime reads the file with
`tunesmith.model.load_description`, which checks every field written here.
"""
from __future__ import annotations

import json
from pathlib import Path

from tunesmith.model import DESCRIPTION_FILE, FORMAT, sha256_of
from tunesmith.vocab import Vocabulary

from .onnx_step import INPUT_NAMES, OPSET, OUTPUT_NAMES

# The inference defaults every request falls back to; the one place they are set for a model.
INFERENCE_DEFAULTS = {
    "prime": "X:1\n",  # every corpus tune starts "X:<n>"; the model continues from here
    "temperature": 1.0,
    "min_temperature": 0.1,  # below this, candidates collapse into the same greedy tune
    "max_temperature": 2.0,  # above this, the strict mask is all that keeps the text ABC
    "max_chars": 2000,  # 4x the longest corpus tune's body is rare; this lets any tune finish
    "max_chars_limit": 4000,
}


def write_description(folder: Path, *, embedding_size: int, hidden_size: int, num_layers: int,
                      vocab: Vocabulary, weights: dict[str, str], cpu_default: str = "fp32",
                      inference: dict | None = None) -> dict:
    """weights: variant -> file name in folder (each file is hashed here)."""
    description = {
        "format": FORMAT,
        "network": {"kind": "char-lstm", "vocab_size": len(vocab), "embedding_size": embedding_size,
                    "hidden_size": hidden_size, "num_layers": num_layers},
        "vocabulary": vocab.chars,
        "io": {"inputs": INPUT_NAMES, "outputs": OUTPUT_NAMES, "opset": OPSET},
        "weights": {variant: {"file": name, "sha256": sha256_of(folder / name)}
                    for variant, name in weights.items()},
        "cpu_default": cpu_default,
        "inference": inference or INFERENCE_DEFAULTS,
    }
    (folder / DESCRIPTION_FILE).write_text(json.dumps(description, indent=1, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
    return description


def update_description(folder: Path, **changes) -> dict:
    """Rewrites model.json with some fields changed (re-hashing the weight files it names)."""
    current = json.loads((folder / DESCRIPTION_FILE).read_text(encoding="utf-8"))
    network = current["network"]
    settings = dict(embedding_size=network["embedding_size"], hidden_size=network["hidden_size"],
                    num_layers=network["num_layers"], vocab=Vocabulary(current["vocabulary"]),
                    weights={v: w["file"] for v, w in current["weights"].items()},
                    cpu_default=current["cpu_default"], inference=current["inference"])
    settings.update(changes)
    return write_description(folder, **settings)
