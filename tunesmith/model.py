"""What the runtime knows of a model: its description, read from `model.json` beside the ONNX files.

The description holds only what defines the network and its use — sizes, vocabulary, the ONNX
inputs and outputs, the weight files with their hashes, and the inference defaults that requests
fall back to. How the model was trained (recipe, data, figures) lives in `model_card.json`, which
the runtime never needs. Export writes both (`export/describe.py`).

A folder whose description is missing, malformed or contradicts its files fails here, with a
message naming the file and the field.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .vocab import Vocabulary

DESCRIPTION_FILE = "model.json"
FORMAT = "tunesmith-model/1"
DEFAULT_ARTIFACTS = Path(__file__).resolve().parent.parent / "model_artifacts"


class ModelFolderError(ValueError):
    """The model folder cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class InferenceDefaults:
    """What a request falls back to, and the ranges it may ask for, for this model."""
    prime: str  # the text every tune starts from (the corpus's "X:1\n")
    temperature: float
    min_temperature: float
    max_temperature: float
    max_chars: int  # the length cap a request gets unless it asks for another
    max_chars_limit: int  # the largest cap a request may ask for


@dataclass(frozen=True)
class WeightsFile:
    variant: str  # "fp32" or "int8"
    path: Path
    sha256: str

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]

    def check(self) -> Path:
        """The file's path, once it is known to be there and to be the file the description hashed."""
        where = f"{self.path.parent / DESCRIPTION_FILE}: field 'weights.{self.variant}'"
        if not self.path.is_file():
            raise ModelFolderError(f"{where} names {self.path.name}, which is not in {self.path.parent}")
        stat = self.path.stat()
        if _hash_of(self.path, stat.st_size, stat.st_mtime_ns) != self.sha256:
            raise ModelFolderError(f"{where}: sha256 does not match {self.path.name} (a changed or corrupt file)")
        return self.path


@dataclass(frozen=True)
class ModelDescription:
    folder: Path
    vocab: Vocabulary
    embedding_size: int
    hidden_size: int
    num_layers: int
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    opset: int
    weights: dict[str, WeightsFile]  # by variant
    cpu_default: str  # the variant a CPU engine loads unless told otherwise
    inference: InferenceDefaults

    @property
    def state_shape(self) -> tuple[int, int]:
        """(layers, hidden): h and c are [layers, batch, hidden]."""
        return self.num_layers, self.hidden_size


@functools.lru_cache(maxsize=16)
def _hash_of(path: Path, size: int, mtime_ns: int) -> str:
    """The file's sha256, hashed once per version of the file (loading the description and then
    the engine would otherwise read the weights twice)."""
    return sha256_of(path)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Reader:
    """Reads typed fields out of the description, naming the field in every complaint."""

    def __init__(self, path: Path, data):
        self.path = path
        if not isinstance(data, dict):
            self.fail("", "must be a JSON object")
        self.data = data

    def fail(self, field: str, message: str):
        where = f"field '{field}' " if field else ""
        raise ModelFolderError(f"{self.path}: {where}{message}")

    def get(self, dotted: str, kind, check=None, rule: str = ""):
        value = self.data
        for part in dotted.split("."):
            if not isinstance(value, dict) or part not in value:
                self.fail(dotted, "is missing")
            value = value[part]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(dotted, f"must be {kind.__name__}, not {type(value).__name__}")
        if check is not None and not check(value):
            self.fail(dotted, rule)
        return value


def load_description(folder: str | Path = DEFAULT_ARTIFACTS) -> ModelDescription:
    """Reads and checks `folder/model.json`; raises ModelFolderError naming the file and field.

    The CPU default's weights must be present and match their hash; another variant's file is
    checked when an engine loads it, so a CPU-only copy of the folder (a Space) may leave the
    fp32 file out.
    """
    folder = Path(folder)
    path = folder / DESCRIPTION_FILE
    if not path.is_file():
        raise ModelFolderError(f"{path}: missing; export a model with `python -m export` (see README)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFolderError(f"{path}: not valid JSON ({error})") from None
    read = _Reader(path, data)
    read.get("format", str, lambda v: v == FORMAT, f"must be {FORMAT!r}")

    chars = read.get("vocabulary", list, lambda v: len(v) > 1, "must list the model's characters")
    try:
        vocab = Vocabulary(chars)
    except ValueError as error:
        read.fail("vocabulary", str(error))
    vocab_size = read.get("network.vocab_size", int, lambda v: v == len(vocab),
                          f"must equal the length of 'vocabulary' ({len(vocab)})")
    del vocab_size
    positive = (lambda v: v > 0, "must be a positive whole number")
    names = (lambda v: len(v) == 3 and all(isinstance(n, str) and n for n in v), "must be three names")

    weights = {}
    for variant in read.get("weights", dict, lambda v: "fp32" in v, "must hold an 'fp32' entry"):
        file_name = read.get(f"weights.{variant}.file", str, lambda v: "/" not in v and "\\" not in v,
                             "must be a file name in the model folder")
        expected = read.get(f"weights.{variant}.sha256", str, lambda v: len(v) == 64, "must be a sha256 hex digest")
        weights[variant] = WeightsFile(variant, folder / file_name, expected)
    cpu_default = read.get("cpu_default", str, lambda v: v in weights, f"must be one of {sorted(weights)}")
    weights[cpu_default].check()

    temperature_range = (lambda v: 0 < v <= 10, "must be above 0 and at most 10")
    inference = InferenceDefaults(
        prime=read.get("inference.prime", str, lambda v: bool(v) and not vocab.unknown_chars(v),
                       "must be non-empty text in the vocabulary"),
        temperature=read.get("inference.temperature", float, *temperature_range),
        min_temperature=read.get("inference.min_temperature", float, *temperature_range),
        max_temperature=read.get("inference.max_temperature", float, *temperature_range),
        max_chars=read.get("inference.max_chars", int, *positive),
        max_chars_limit=read.get("inference.max_chars_limit", int, *positive),
    )
    if not inference.min_temperature <= inference.temperature <= inference.max_temperature:
        read.fail("inference.temperature", "must lie between min_temperature and max_temperature")
    if inference.max_chars > inference.max_chars_limit:
        read.fail("inference.max_chars", "must not exceed max_chars_limit")
    return ModelDescription(
        folder=folder, vocab=vocab,
        embedding_size=read.get("network.embedding_size", int, *positive),
        hidden_size=read.get("network.hidden_size", int, *positive),
        num_layers=read.get("network.num_layers", int, *positive),
        input_names=tuple(read.get("io.inputs", list, *names)),
        output_names=tuple(read.get("io.outputs", list, *names)),
        opset=read.get("io.opset", int, *positive),
        weights=weights, cpu_default=cpu_default, inference=inference,
    )
