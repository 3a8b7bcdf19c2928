"""The GPU engine's buffer logic (buckets, double buffers, rows joining and leaving).

On a machine without a GPU the same engine runs on ONNX Runtime's CPU provider with IO binding and
graphs off, which exercises everything but the capture itself; the GPU test runs where one is.
"""
import numpy as np
import pytest

from tunesmith.composer import Composer
from tunesmith.cuda_graphs import BUCKETS, ROW_INDEPENDENT_BUCKETS, CudaGraphEngine, bucket_for
from tunesmith.engine import cuda_device_count, load_engine, wants_cuda
from tunesmith.model import load_description
from tunesmith.request import parse_request

from .conftest import SHIPPED_ARTIFACTS


@pytest.fixture(scope="module")
def bound_engine():
    return CudaGraphEngine(load_description(SHIPPED_ARTIFACTS), device="cpu", buckets=BUCKETS)


@pytest.fixture(scope="module")
def fp32_engine():
    return load_engine(SHIPPED_ARTIFACTS, provider="cpu", variant="fp32")


def test_buckets():
    assert [bucket_for(n) for n in (1, 2, 3, 5, 17, 33, 64)] == [1, 2, 4, 8, 32, 64, 64]
    assert [bucket_for(n, (8, 64)) for n in (1, 8, 9)] == [8, 8, 64]
    assert BUCKETS[-1] == 64
    with pytest.raises(ValueError, match="at most 64 rows"):
        bucket_for(65)


def test_the_default_engine_pads_every_step_to_one_bucket(fp32_engine):
    engine = CudaGraphEngine(load_description(SHIPPED_ARTIFACTS), device="cpu")
    assert engine.buckets == ROW_INDEPENDENT_BUCKETS == (64,) and engine.max_batch == 64
    tokens = fp32_engine.vocab.encode("X:1")
    state, plain = engine.initial_state(3), fp32_engine.initial_state(3)
    for _ in range(2):
        got, state = engine.step(tokens, state)
        expected, plain = fp32_engine.step(tokens, plain)
    assert (state.bucket, state.rows, got.shape) == (64, 3, expected.shape)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    for bad in ((), (3,), (64, 8), (8, 8)):
        with pytest.raises(ValueError, match="buckets must be"):
            CudaGraphEngine(engine.description, device="cpu", buckets=bad)


def test_bound_buffers_step_like_the_plain_engine_through_joins_and_leaves(bound_engine, fp32_engine):
    tokens = fp32_engine.vocab.encode("XK|ab")
    plain, bound = fp32_engine.initial_state(3), bound_engine.initial_state(3)
    for step in range(6):  # several steps: the two buffers alternate
        expected, plain = fp32_engine.step(tokens[:3], plain)
        got, bound = bound_engine.step(tokens[:3], bound)
        np.testing.assert_allclose(got, expected, atol=1e-5)
    assert bound.bucket == 4 and bound.rows == 3
    # Two rows join (3 -> 5: the next bucket), then rows 1 and 3 leave (5 -> 3).
    extra = fp32_engine.initial_state(2)
    plain, bound = fp32_engine.join([plain, extra]), bound_engine.join([bound, extra])
    assert bound.bucket == 8 and bound.rows == 5
    for _ in range(3):
        expected, plain = fp32_engine.step(tokens, plain)
        got, bound = bound_engine.step(tokens, bound)
        np.testing.assert_allclose(got, expected, atol=1e-5)
    plain, bound = fp32_engine.rows(plain, [0, 2, 4]), bound_engine.rows(bound, [0, 2, 4])
    np.testing.assert_allclose(bound_engine.host_rows(bound, [0, 1, 2]).h, plain.h, atol=1e-5)
    expected, _ = fp32_engine.step(tokens[:3], plain)
    got, _ = bound_engine.step(tokens[:3], bound)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_the_composer_on_bound_buffers_writes_the_same_tunes(bound_engine, fp32_engine):
    request = parse_request({"max_chars": 600}, fp32_engine.description)
    requests = [request.with_seed(seed) for seed in range(6)]
    with Composer(bound_engine) as composer:
        bound = [t.text for t in composer.compose_all(requests)]
    with Composer(fp32_engine) as composer:
        plain = [t.text for t in composer.compose_all(requests)]
    assert bound == plain


@pytest.mark.skipif(cuda_device_count() == 0, reason="no CUDA device on this machine")
def test_on_a_gpu_cuda_graphs_are_chosen_and_write_the_cpu_tunes(fp32_engine):
    engine = load_engine(SHIPPED_ARTIFACTS)
    assert wants_cuda("auto") and isinstance(engine, CudaGraphEngine), engine.cuda_problem
    assert "CUDAExecutionProvider" in engine.providers and engine.graphs
    request = parse_request({}, engine.description)
    with Composer(engine) as composer:
        gpu = [t.text for t in composer.compose_all([request.with_seed(s) for s in range(10)])]
        alone = [composer.submit(request.with_seed(s)).result().text for s in range(10)]
    assert gpu == alone  # one padded shape: a row's numbers never depend on the others
    with Composer(fp32_engine) as composer:
        cpu = [t.text for t in composer.compose_all([request.with_seed(s) for s in range(10)])]
    assert sum(a == b for a, b in zip(gpu, cpu)) >= 9  # GPU and CPU kernels round differently, rarely
