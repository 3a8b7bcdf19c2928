"""Step engines: one character step of the exported LSTM for a batch of rows, state held by the caller.

Every engine has the same small interface, so the composer never knows which one it drives:

    engine.description      the model's description (vocabulary, sizes, defaults)
    engine.name             what runs, in words ("CPU int8", "GPU (CUDA graphs)")
    engine.initial_state(n) the zero state of n rows
    engine.step(tokens, state) -> (logits [n, V] float32 on the host, next state)
    engine.rows(state, idx), engine.join(states)    keep some rows, stack states (rows join and leave)
    engine.host_rows(state, idx), engine.from_host(lstm_state)    to and from numpy (snapshots)

`load_engine()` picks one: CUDA graphs when a GPU is really usable (tunesmith/cuda_graphs.py),
otherwise ONNX Runtime on the CPU with the folder's default weights (int8 when it passed its
quality check at export, fp32 otherwise).
"""
from __future__ import annotations

import ctypes
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .model import DEFAULT_ARTIFACTS, ModelDescription, ModelFolderError, load_description

PROVIDER_ENV = "TUNESMITH_PROVIDER"  # "cpu" forces the CPU even where CUDA works
VARIANT_ENV = "TUNESMITH_WEIGHTS"  # "fp32" or "int8" overrides the folder's CPU default
SPINNING_ENV = "TUNESMITH_SPINNING"  # "0": ONNX Runtime's threads sleep between steps (shared machines)
THREADS_ENV = "TUNESMITH_THREADS"  # ONNX Runtime's threads for one CPU step (default below)
# Two threads halve a batch-1 step on a 2-core machine; more cores help little at these sizes.
DEFAULT_THREADS = max(1, min(4, os.cpu_count() or 1))
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LSTMState:
    """The recurrent state of every row of a batch: h and c are [layers, batch, hidden] float32."""
    h: np.ndarray
    c: np.ndarray

    @property
    def batch_size(self) -> int:
        return self.h.shape[1]


def zero_state(description: ModelDescription, batch_size: int) -> LSTMState:
    layers, hidden = description.state_shape
    return LSTMState(np.zeros((layers, batch_size, hidden), np.float32),
                     np.zeros((layers, batch_size, hidden), np.float32))


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


def requested_provider(provider: str | None = None) -> str:
    """"auto", "cpu" or "cuda": the argument, else $TUNESMITH_PROVIDER, else auto."""
    requested = (provider or os.environ.get(PROVIDER_ENV, "auto")).lower()
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"provider must be auto, cpu or cuda, not {requested!r}")
    return requested


def wants_cuda(requested: str | None = None) -> bool:
    """Whether to try CUDA: asked for, or 'auto' with a CUDA-built ONNX Runtime and a real GPU."""
    requested = requested_provider(requested)
    if requested == "cpu":
        return False
    return requested == "cuda" or ("CUDAExecutionProvider" in ort.get_available_providers()
                                   and cuda_device_count() > 0)


def cpu_session_options(threads: int | None = None) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: no per-node warnings on start
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or int(os.environ.get(THREADS_ENV) or DEFAULT_THREADS)
    # Measured at batch 1 on 2 cores (int8): 2 spinning threads 62 µs a step, 2 sleeping 95 µs
    # (each step wakes a thread), 1 thread 85 µs. Spinning burns a core for a moment after each
    # step, which a busy shared machine may want back: TUNESMITH_SPINNING=0 turns it off.
    options.add_session_config_entry("session.intra_op.allow_spinning",
                                     "0" if os.environ.get(SPINNING_ENV) == "0" else "1")
    return options


def check_session_io(session: ort.InferenceSession, description: ModelDescription, path: Path) -> None:
    inputs = tuple(i.name for i in session.get_inputs())
    outputs = tuple(o.name for o in session.get_outputs())
    if inputs != description.input_names or outputs != description.output_names:
        raise ModelFolderError(f"{description.folder / 'model.json'}: field 'io' says inputs "
                               f"{list(description.input_names)} and outputs {list(description.output_names)}, "
                               f"but {path.name} has {list(inputs)} and {list(outputs)}")


class OrtEngine:
    """ONNX Runtime session over one weights file; state lives on the host as numpy arrays."""

    max_batch: int | None = None  # no bucket limit on the CPU
    cuda_problem: str | None = None  # why CUDA did not start, where a GPU is present but unusable

    def __init__(self, description: ModelDescription, variant: str | None = None, threads: int | None = None):
        variant = variant or os.environ.get(VARIANT_ENV) or description.cpu_default
        if variant not in description.weights:
            raise ModelFolderError(f"{description.folder / 'model.json'}: field 'weights' has no {variant!r} "
                                   f"entry (it has {sorted(description.weights)})")
        self.description = description
        self.vocab = description.vocab
        self.variant = variant
        self.weights = description.weights[variant]
        path = self.weights.check()
        try:
            self.session = ort.InferenceSession(str(path), cpu_session_options(threads),
                                                providers=["CPUExecutionProvider"])
        except Exception as error:  # noqa: BLE001 - ORT raises its own types for a corrupt file
            raise ModelFolderError(f"{self.weights.path}: ONNX Runtime cannot load it ({error})") from None
        check_session_io(self.session, description, self.weights.path)
        self.providers = self.session.get_providers()  # what really runs, not what was asked
        self._names = description.input_names
        self._outputs = list(description.output_names)
        self._run = self.session._sess.run

    @property
    def name(self) -> str:
        return f"CPU {self.variant}"

    @property
    def device_label(self) -> str:
        return "CPU"

    def initial_state(self, batch_size: int = 1) -> LSTMState:
        return zero_state(self.description, batch_size)

    def step(self, tokens: np.ndarray, state: LSTMState) -> tuple[np.ndarray, LSTMState]:
        """tokens [B] int64 -> logits [B, V] float32 and the state after reading them."""
        token, h, c = self._names
        # The session's own run(), without the Python wrapper's per-call checks (done once at load).
        logits, h_out, c_out = self._run(self._outputs, {token: np.asarray(tokens, dtype=np.int64),
                                                         h: state.h, c: state.c}, None)
        return logits, LSTMState(h_out, c_out)

    # Row bookkeeping for the composer: cheap numpy here, device-aware in the CUDA engine.
    def rows(self, state: LSTMState, index) -> LSTMState:
        return LSTMState(state.h[:, index], state.c[:, index])

    def join(self, states: list[LSTMState]) -> LSTMState:
        return LSTMState(np.concatenate([s.h for s in states], axis=1), np.concatenate([s.c for s in states], axis=1))

    def host_rows(self, state: LSTMState, index) -> LSTMState:
        """A host copy of some rows (for snapshots)."""
        return LSTMState(state.h[:, index].copy(), state.c[:, index].copy())

    def from_host(self, state: LSTMState) -> LSTMState:
        return state


def load_engine(artifacts: str | Path = DEFAULT_ARTIFACTS, provider: str | None = None,
                variant: str | None = None, threads: int | None = None):
    """The engine for this machine: CUDA graphs where a GPU is usable, else ONNX Runtime on the CPU.

    provider: "auto" (default, or $TUNESMITH_PROVIDER), "cpu" or "cuda". With "cuda", failing to
    start CUDA is an error; with "auto" it is logged, naming what is missing, and the CPU is used.
    """
    description = load_description(artifacts)
    if wants_cuda(provider):
        from .cuda_graphs import CudaGraphEngine
        try:
            return CudaGraphEngine(description)
        except Exception as error:  # noqa: BLE001 - no CUDA libraries, no fp32 weights, a failed capture
            if requested_provider(provider) == "cuda":
                raise
            log.warning("a GPU is present but CUDA cannot start, running on the CPU: %s", error)
            engine = OrtEngine(description, variant, threads)
            engine.cuda_problem = str(error)
            return engine
    return OrtEngine(description, variant, threads)
