"""The runtime on the shipped artifacts (and on the tiny model where a test needs a free hand)."""
import sys

import numpy as np
import pytest

from tunesmith.abc import set_reference_number, split_tunebook, title_of, tunebook
from tunesmith.engine import StepEngine, choose_providers, cuda_device_count
from tunesmith.generate import main as generate_main
from tunesmith.sampler import choose, generate_tune, sample_tune
from tunesmith.strict_abc import StrictMeter

from .conftest import SHIPPED_ARTIFACTS


@pytest.fixture(scope="module")
def engine():
    return StepEngine(SHIPPED_ARTIFACTS)


def test_runtime_never_imports_torch():
    import subprocess
    code = ("import sys, tunesmith.engine, tunesmith.sampler, tunesmith.generate, tunesmith.compose; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_shipped_artifacts_load_on_the_provider_really_in_use(engine):
    assert engine.providers == engine.session.get_providers()
    expected = "CUDAExecutionProvider" if cuda_device_count() > 0 else "CPUExecutionProvider"
    assert engine.provider == expected
    assert len(engine.vocab) == engine.config.vocab_size == 83
    assert engine.card["validation_nats_per_char"] <= 1.17  # the end-to-end floor


def test_cpu_only_machine_never_asks_for_cuda():
    if cuda_device_count() > 0:
        pytest.skip("this machine has a CUDA device")  # the check is about GPU-less machines
    assert choose_providers("auto") == ["CPUExecutionProvider"]
    assert choose_providers("cpu") == ["CPUExecutionProvider"]


def test_shipped_model_writes_a_tune_with_a_header(engine):
    tune = generate_tune(engine, temperature=1.0, seed=0)
    assert tune.startswith("X:1\nT:")
    assert any("|" in line for line in tune.splitlines())  # a body with bar lines
    assert tune.endswith("\n") and "\n\n" not in tune
    # At a cool temperature the model writes the corpus's full header, in the corpus's order.
    for seed in range(5):
        lines = generate_tune(engine, temperature=0.5, seed=seed).splitlines()
        assert [line[:2] for line in lines[:6]] == ["X:", "T:", "Z:", "M:", "L:", "K:"]


def test_same_seed_same_tune_and_seeds_differ(engine):
    first = generate_tune(engine, temperature=1.0, seed=7)
    assert generate_tune(engine, temperature=1.0, seed=7) == first
    assert generate_tune(engine, temperature=1.0, seed=8) != first


def test_streams_one_character_at_a_time_and_stops_at_the_cap(engine):
    chars = list(sample_tune(engine, prime="X:1\nT:", temperature=1.5, seed=1, max_chars=40))
    assert all(len(c) == 1 for c in chars)
    assert "".join(chars).startswith("X:1\nT:") and len(chars) <= 40


def test_greedy_matches_step_by_step_argmax(engine):
    text = generate_tune(engine, temperature=0, max_chars=60)
    logits, state = engine.read("X:1\n")
    expected = "X:1\n"
    while len(expected) < len(text):
        char = engine.vocab.chars[int(np.argmax(logits))]
        expected += char
        logits, state = engine.step(np.array([engine.vocab.index[char]]), state)
        logits = logits[0]
    assert text == expected


def test_batched_step_equals_single_rows(engine):
    state = engine.initial_state(3)
    tokens = engine.vocab.encode("XMK")
    for _ in range(3):
        logits, state = engine.step(tokens, state)
    single = engine.initial_state(1)
    for _ in range(3):
        alone, single = engine.step(tokens[1:2], single)
    np.testing.assert_allclose(alone[0], logits[1], atol=1e-4)


def test_logits_hook_can_forbid_characters(engine):
    bar = engine.vocab.index["|"]

    def forbid_bar_lines(logits, text):
        logits = logits.copy()
        logits[bar] = -np.inf
        return logits

    tune = generate_tune(engine, temperature=1.0, seed=3, max_chars=300, logits_hook=forbid_bar_lines)
    assert "|" not in tune


@pytest.mark.parametrize("settings, message", [
    ({"prime": ""}, "non-empty"),
    ({"prime": "X:1\nT:Café"}, "does not know"),
    ({"temperature": -1.0}, "temperature"),
    ({"temperature": float("nan")}, "temperature"),
    ({"seed": -3}, "seed"),
    ({"max_chars": 0}, "max_chars"),
])
def test_bad_settings_are_refused_clearly(engine, settings, message):
    with pytest.raises(ValueError, match=message):
        generate_tune(engine, **settings)


def test_choose_follows_the_distribution():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([0.7, 0.2, 0.1]))
    draws = np.bincount([choose(logits, 1.0, rng) for _ in range(4000)], minlength=3) / 4000
    np.testing.assert_allclose(draws, [0.7, 0.2, 0.1], atol=0.03)
    assert choose(logits, 0, rng) == 0
    cold = np.bincount([choose(logits, 0.2, rng) for _ in range(500)], minlength=3)
    assert cold[0] > 490  # low temperature sharpens towards the most likely


def test_abc_helpers():
    assert set_reference_number("X:1\nT:A\n", 5) == "X:5\nT:A\n"
    assert set_reference_number("T:A\n", 2) == "X:2\nT:A\n"
    assert title_of("X:1\nT: The Rolling Wave\n") == "The Rolling Wave"
    assert title_of("X:1\n") == "Untitled"
    book = tunebook(["X:1\nT:A\nabc|\n", "X:1\nT:B\ndef|\n"])
    assert book == "X:1\nT:A\nabc|\n\nX:2\nT:B\ndef|\n"
    assert split_tunebook(book) == ["X:1\nT:A\nabc|", "X:2\nT:B\ndef|"]


def test_cli_writes_a_numbered_tunebook(tmp_path):
    out = tmp_path / "tunes.abc"
    assert generate_main(["--n", "3", "--temperature", "1.0", "--seed", "0", "--out", str(out)]) == 0
    tunes = split_tunebook(out.read_text())
    assert len(tunes) == 3
    assert [t.splitlines()[0] for t in tunes] == ["X:1", "X:2", "X:3"]
    assert "\n\n\n" not in out.read_text()
    engine = StepEngine(SHIPPED_ARTIFACTS)
    strict = StrictMeter(engine.vocab, 2000)
    assert tunes[2] == set_reference_number(generate_tune(engine, seed=2, logits_hook=strict), 3).strip("\n")


def test_cli_reports_bad_input(tmp_path, capsys):
    assert generate_main(["--prime", "Ω", "--out", str(tmp_path / "x.abc")]) == 2
    assert "does not know" in capsys.readouterr().err
    assert not (tmp_path / "x.abc").exists()


def test_shipped_model_is_the_shipped_preset_and_beats_the_seed_floor():
    from tunesmith.config import PRESETS, Config
    shipped = Config.load(SHIPPED_ARTIFACTS / "config.json")
    assert shipped == PRESETS["shipped"]  # `python -m train --preset shipped` reproduces it
    card = StepEngine(SHIPPED_ARTIFACTS).card
    assert card["validation_nats_per_char"] <= 1.00
    assert card["extra_training_data"]["path"] == "data/oneills1850.abc"
