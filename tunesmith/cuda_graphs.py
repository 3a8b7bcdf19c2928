"""The GPU engine: ONNX Runtime's CUDA provider with the state kept on the device and CUDA graphs.

A plain CUDA session is no faster than the CPU at batch 1: the step is ~20 small kernels, each
paying a launch. Here every input and output is bound to a fixed device buffer (IO binding), and
ONNX Runtime captures the step as a CUDA graph, replayed each step with one launch. A graph needs
fixed shapes and addresses, so rows are padded up to a bucket (by default always 64 rows, so that a
row's numbers never depend on the batch; any of 1, 2, 4, ... 64 for measurements), each bucket
has its own buffers and two graphs: h/c in buffer A -> out to B, then B -> A (double buffering,
since a graph may not read and write the same state buffer). Only the tokens go to the device and
only the logits come back each step; the state crosses to the host only when rows join or leave.

Install what CUDA needs on a GPU machine (one command, in README):
    pip install "onnxruntime-gpu[cuda,cudnn]==1.31.1"

The same buffer logic runs on the CPU provider (device="cpu", graphs off) so tests cover it
on machines without a GPU.
"""
from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from .engine import LSTMState, check_session_io, zero_state
from .model import ModelDescription

BUCKETS = (1, 2, 4, 8, 16, 32, 64)
# The buckets a composer's engine uses: one shape for every step. cuBLAS and cuDNN choose their
# kernels by batch size, so with a bucket per size a row's logits depended on how many rows shared
# the step (on an H100, 4 of 20 tunes composed beside others differed from the same tune alone).
# Padded to one shape, a tune is the same whoever else is composing, at ~13 µs a step more than
# batch 1's own bucket (benchmarks/gpu_cell.py).
ROW_INDEPENDENT_BUCKETS = (64,)


class CudaUnavailable(RuntimeError):
    """A GPU is there but ONNX Runtime cannot run on it; the message says what is missing."""


def bucket_for(rows: int, buckets: tuple[int, ...] = BUCKETS) -> int:
    """The smallest of `buckets` that holds `rows` rows."""
    for size in buckets:
        if rows <= size:
            return size
    raise ValueError(f"at most {buckets[-1]} rows fit one step of this engine (asked for {rows})")


def cuda_missing_reason() -> str:
    """Why ONNX Runtime's CUDA provider library does not load (names the missing library)."""
    library = os.path.join(os.path.dirname(ort.__file__), "capi", "libonnxruntime_providers_cuda.so")
    if not os.path.exists(library):
        return "this onnxruntime has no CUDA provider (install onnxruntime-gpu, see README)"
    try:
        ctypes.CDLL(library)
    except OSError as error:
        return (f"{error}; install CUDA's libraries with `pip install \"onnxruntime-gpu[cuda,cudnn]==1.31.1\"`")
    return "the CUDA provider loaded but the session did not use it (see ONNX Runtime's log)"


@dataclass(frozen=True)
class DeviceState:
    """The batch state: `rows` live rows in bucket `bucket`'s buffers, side `side` (0: A, 1: B)."""
    bucket: int
    rows: int
    side: int


class _Bucket:
    """Fixed buffers for one bucket size, and one IO binding per direction (A -> B, B -> A)."""

    def __init__(self, session, description: ModelDescription, size: int, device: str, graph_ids: tuple[int, int],
                 graphs: bool):
        layers, hidden = description.state_shape
        vocab = len(description.vocab)
        token_name, h_name, c_name = description.input_names
        logits_name, h_out, c_out = description.output_names

        def buffer(shape, dtype):
            return ort.OrtValue.ortvalue_from_numpy(np.zeros(shape, dtype), device, 0)

        self.size = size
        self.token = buffer((size,), np.int64)
        self.h = [buffer((layers, size, hidden), np.float32) for _ in range(2)]
        self.c = [buffer((layers, size, hidden), np.float32) for _ in range(2)]
        self.logits = buffer((size, vocab), np.float32)
        self.bindings, self.run_options = [], []
        for side in (0, 1):
            binding = session.io_binding()
            binding.bind_ortvalue_input(token_name, self.token)
            binding.bind_ortvalue_input(h_name, self.h[side])
            binding.bind_ortvalue_input(c_name, self.c[side])
            binding.bind_ortvalue_output(logits_name, self.logits)
            binding.bind_ortvalue_output(h_out, self.h[1 - side])
            binding.bind_ortvalue_output(c_out, self.c[1 - side])
            options = ort.RunOptions()
            if graphs:
                options.add_run_config_entry("gpu_graph_id", str(graph_ids[side]))
            self.bindings.append(binding)
            self.run_options.append(options)
        self._padded_tokens = np.zeros(size, np.int64)


class CudaGraphEngine:
    """Device-resident state, one captured graph per bucket and direction. One batch state at a time
    (the composer's): a bucket's buffers hold the live rows."""

    cuda_problem: str | None = None

    def __init__(self, description: ModelDescription, device: str = "cuda", graphs: bool | None = None,
                 variant: str = "fp32", buckets: tuple[int, ...] = ROW_INDEPENDENT_BUCKETS):
        if not buckets or any(b not in BUCKETS for b in buckets) or list(buckets) != sorted(set(buckets)):
            raise ValueError(f"buckets must be increasing sizes from {BUCKETS} (got {buckets})")
        self.buckets = tuple(buckets)
        self.description = description
        self.vocab = description.vocab
        self.device = device
        self.graphs = (device == "cuda") if graphs is None else graphs
        self.variant = variant
        self.max_batch = self.buckets[-1]
        self.weights = description.weights[variant]
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if device == "cuda":
            if hasattr(ort, "preload_dlls"):
                ort.preload_dlls()  # CUDA and cuDNN from pip's nvidia packages
            providers = [("CUDAExecutionProvider", {"enable_cuda_graph": "1" if self.graphs else "0"}),
                         "CPUExecutionProvider"]
        else:
            providers = ["CPUExecutionProvider"]
        self.session = ort.InferenceSession(str(self.weights.check()), options, providers=providers)
        self.providers = self.session.get_providers()
        if device == "cuda" and "CUDAExecutionProvider" not in self.providers:
            raise CudaUnavailable(cuda_missing_reason())
        check_session_io(self.session, description, self.weights.path)
        self._buckets: dict[int, _Bucket] = {}
        if self.graphs:
            self._capture_all()

    def _capture_all(self) -> None:
        """Runs every bucket in both directions once, so each graph is captured at load, where a
        failure can still fall back to the CPU, not at a visitor's first step. (ONNX Runtime keeps
        captured graphs per thread: the composer's thread captures its own on first use, which
        this check has shown to work.)"""
        for size in self.buckets:
            state = self.initial_state(size)
            for _ in range(2):
                _, state = self.step(np.zeros(size, np.int64), state)

    @property
    def name(self) -> str:
        return "GPU (CUDA graphs)" if self.device == "cuda" and self.graphs else f"{self.device.upper()} (IO binding)"

    @property
    def device_label(self) -> str:
        return "GPU (CUDA)" if self.device == "cuda" else "CPU"

    def _bucket(self, size: int) -> _Bucket:
        if size not in self._buckets:
            index = BUCKETS.index(size)
            # Graph id 0 is ONNX Runtime's own; each bucket takes two ids of its own.
            self._buckets[size] = _Bucket(self.session, self.description, size, self.device,
                                          (2 * index + 1, 2 * index + 2), self.graphs)
        return self._buckets[size]

    def initial_state(self, batch_size: int = 1) -> DeviceState:
        return self.from_host(zero_state(self.description, batch_size))

    def from_host(self, state: LSTMState) -> DeviceState:
        rows = state.batch_size
        bucket = self._bucket(bucket_for(rows, self.buckets))
        for buffers, values in ((bucket.h, state.h), (bucket.c, state.c)):
            padded = np.zeros((values.shape[0], bucket.size, values.shape[2]), np.float32)
            padded[:, :rows] = values
            buffers[0].update_inplace(padded)
        return DeviceState(bucket.size, rows, 0)

    def host_rows(self, state: DeviceState, index) -> LSTMState:
        bucket = self._buckets[state.bucket]
        h = bucket.h[state.side].numpy()[:, :state.rows]
        c = bucket.c[state.side].numpy()[:, :state.rows]
        return LSTMState(h[:, index].copy(), c[:, index].copy())

    def rows(self, state: DeviceState, index) -> DeviceState:
        return self.from_host(self.host_rows(state, index))

    def join(self, states: list) -> DeviceState:
        hosts = [s if isinstance(s, LSTMState) else self.host_rows(s, slice(None)) for s in states]
        return self.from_host(LSTMState(np.concatenate([s.h for s in hosts], axis=1),
                                        np.concatenate([s.c for s in hosts], axis=1)))

    def step(self, tokens: np.ndarray, state: DeviceState) -> tuple[np.ndarray, DeviceState]:
        bucket = self._buckets[state.bucket]
        rows = len(tokens)
        if rows != state.rows:
            raise ValueError(f"{rows} tokens for a state of {state.rows} rows")
        bucket._padded_tokens[:rows] = tokens
        bucket._padded_tokens[rows:] = 0
        bucket.token.update_inplace(bucket._padded_tokens)
        self.session.run_with_iobinding(bucket.bindings[state.side], bucket.run_options[state.side])
        logits = bucket.logits.numpy()[:rows]
        return logits, DeviceState(bucket.size, rows, 1 - state.side)
