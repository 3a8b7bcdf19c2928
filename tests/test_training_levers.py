"""Learning-rate schedule, in-order batches with carried state, and the novelty measure."""
import dataclasses
import math

import pytest
import torch

from benchmarks.novelty import body, longest_shared_run
from train.batches import RandomWindows, TunesInOrder
from train.trainer import learning_rate_at, train
from train.config import PRESETS, Config


def test_learning_rate_warms_up_then_decays_to_the_floor():
    config = Config(learning_rate=1e-2, min_learning_rate=1e-4, warmup_steps=10, max_steps=110,
                    lr_schedule="cosine")
    assert learning_rate_at(5, config) == pytest.approx(5e-3)
    assert learning_rate_at(10, config) == pytest.approx(1e-2)
    assert learning_rate_at(60, config) == pytest.approx((1e-2 + 1e-4) / 2)
    assert learning_rate_at(110, config) == pytest.approx(1e-4)
    rates = [learning_rate_at(s, config) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    assert learning_rate_at(50, dataclasses.replace(config, lr_schedule="constant")) == 1e-2


def test_in_order_batches_continue_each_stream(split, vocab):
    batches = iter(TunesInOrder(split.train[:40], vocab, batch_size=4, seq_len=30,
                                generator=torch.Generator().manual_seed(0)))
    first_in, first_target, carry_first = next(batches)
    second_in, _, carry_second = next(batches)
    assert first_in.shape == (4, 30) and not carry_first and carry_second
    assert torch.equal(first_in[:, 1:], first_target[:, :-1])
    assert torch.equal(second_in[:, 0], first_target[:, -1])  # each row picks up where it stopped


def test_random_windows_never_carry_state(split, vocab):
    inputs, targets, carry = next(iter(RandomWindows(split.train, vocab, 3, 20, torch.Generator().manual_seed(0))))
    assert inputs.shape == targets.shape == (3, 20) and not carry


def test_tiny_tbptt_run_with_dropout_and_schedule_learns(split, vocab, tmp_path):
    config = dataclasses.replace(PRESETS["tiny"], batching="in_order", dropout=0.2, lr_schedule="cosine",
                                 warmup_steps=5, weight_decay=0.01, grad_clip=1.0)
    summary = train(config, split, vocab, tmp_path, progress=False)
    assert summary["best_val_nats_per_char"] < math.log(83) - 0.5


def test_bad_lever_names_are_refused(split, vocab, tmp_path):
    with pytest.raises(ValueError, match="batching"):
        train(dataclasses.replace(PRESETS["tiny"], batching="shuffled"), split, vocab, tmp_path, progress=False)


def test_longest_shared_run_and_body():
    assert longest_shared_run("xxabcdefyy", "zzabcdq\0cdefyq") == 5  # "cdefy"
    assert longest_shared_run("abcdef", "abc\0def") == 3  # never across two training tunes
    assert longest_shared_run("abc", "xyz") == 0
    assert body("X:1\nT:A\nM:C\nL:1/8\nK:D Major\nabc|!\ndef|!") == "abc|!\ndef|!"
