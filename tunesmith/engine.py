"""The ONNX Runtime step engine: one session over model_artifacts/model.onnx, with explicit state.

CUDA is used only when a CUDA device is really usable; otherwise the session is created on CPU
without asking for CUDA at all, so machines without a GPU see no provider errors.
"""
from __future__ import annotations

import ctypes
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .config import Config
from .vocab import Vocabulary

DEFAULT_ARTIFACTS = Path(__file__).resolve().parent.parent / "model_artifacts"
PROVIDER_ENV = "TUNESMITH_PROVIDER"  # "cpu" forces the CPU even where CUDA works


@dataclass(frozen=True)
class LSTMState:
    """The recurrent state of every row of a batch: h and c are [layers, batch, hidden] float32."""
    h: np.ndarray
    c: np.ndarray

    @property
    def batch_size(self) -> int:
        return self.h.shape[1]


def cuda_device_count() -> int:
    """Counts CUDA devices through the driver library itself; 0 when there is no driver or GPU."""
    name = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
    try:
        driver = ctypes.CDLL(name)
        count = ctypes.c_int(0)
        if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return 0
        return count.value
    except (OSError, AttributeError):
        return 0


def choose_providers(requested: str | None = None) -> list[str]:
    requested = (requested or os.environ.get(PROVIDER_ENV, "auto")).lower()
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"provider must be auto, cpu or cuda, not {requested!r}")
    cuda_built = "CUDAExecutionProvider" in ort.get_available_providers()
    if requested == "cuda" or (requested == "auto" and cuda_built and cuda_device_count() > 0):
        if hasattr(ort, "preload_dlls"):
            try:
                ort.preload_dlls()  # CUDA/cuDNN from pip's nvidia packages, when installed that way
            except Exception:  # noqa: BLE001 - a system CUDA install may still serve the session
                pass
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class StepEngine:
    """Runs one character step of the exported LSTM for a batch of rows."""

    def __init__(self, artifacts_dir: str | Path = DEFAULT_ARTIFACTS, provider: str | None = None,
                 threads: int | None = None):
        artifacts_dir = Path(artifacts_dir)
        model_path = artifacts_dir / "model.onnx"
        if not model_path.is_file():
            raise FileNotFoundError(f"no model at {model_path}: train and export one (see README)")
        self.artifacts_dir = artifacts_dir
        self.config = Config.load(artifacts_dir / "config.json")
        self.vocab = Vocabulary.load(artifacts_dir / "vocab.json")
        card_path = artifacts_dir / "model_card.json"
        self.card = json.loads(card_path.read_text()) if card_path.exists() else {}
        if len(self.vocab) != self.config.vocab_size:
            raise ValueError(f"vocab.json has {len(self.vocab)} characters, config says {self.config.vocab_size}")

        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: no per-node warnings on start
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(model_path), options, providers=choose_providers(provider))
        # get_available_providers() lists what the wheel was built with; this is what really runs.
        self.providers = self.session.get_providers()

    @property
    def provider(self) -> str:
        return self.providers[0]

    @property
    def device_label(self) -> str:
        return "GPU (CUDA)" if self.provider == "CUDAExecutionProvider" else "CPU"

    def initial_state(self, batch_size: int = 1) -> LSTMState:
        shape = (self.config.num_layers, batch_size, self.config.hidden_size)
        return LSTMState(np.zeros(shape, np.float32), np.zeros(shape, np.float32))

    def step(self, tokens: np.ndarray, state: LSTMState) -> tuple[np.ndarray, LSTMState]:
        """tokens [B] int64 -> logits [B, V] float32 and the state after reading them."""
        logits, h, c = self.session.run(None, {"token": np.asarray(tokens, dtype=np.int64),
                                               "h": state.h, "c": state.c})
        return logits, LSTMState(h, c)

    def read(self, text: str, state: LSTMState | None = None) -> tuple[np.ndarray, LSTMState]:
        """Feeds every character of text (batch 1); returns the last logits [V] and the state."""
        if not text:
            raise ValueError("nothing to read: the text is empty")
        state = state or self.initial_state(1)
        for token in self.vocab.encode(text):
            logits, state = self.step(np.array([token]), state)
        return logits[0], state
