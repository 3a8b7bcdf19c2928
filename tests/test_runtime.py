"""The runtime's pieces on the shipped artifacts: model folder, engines, sampling, ABC helpers, CLI."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tunesmith.abc import set_reference_number, split_tunebook, title_of, tunebook
from tunesmith.engine import OrtEngine, cuda_device_count, load_engine, wants_cuda
from tunesmith.generate import main as generate_main
from tunesmith.model import ModelFolderError, load_description
from tunesmith.request import parse_request
from tunesmith.sampling import choose

from .conftest import SHIPPED_ARTIFACTS


def test_runtime_never_imports_torch():
    code = ("import sys, tunesmith.engine, tunesmith.composer, tunesmith.generate, tunesmith.cuda_graphs, "
            "tunesmith.request; sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_shipped_folder_describes_itself_apart_from_its_recipe():
    description = load_description(SHIPPED_ARTIFACTS)
    assert len(description.vocab) == 83 and description.hidden_size == 1024
    assert description.input_names == ("token", "h", "c")
    assert description.cpu_default == "int8" and description.weights["int8"].path.stat().st_size < 10 * 2**20
    assert not (SHIPPED_ARTIFACTS / "config.json").exists()  # the recipe lives in the model card only
    card = json.loads((SHIPPED_ARTIFACTS / "model_card.json").read_text())
    assert card["config"]["max_steps"] == 4500 and "learning_rate" not in json.dumps(
        json.loads((SHIPPED_ARTIFACTS / "model.json").read_text()))
    int8 = card["int8"]
    assert int8["validation_nats_per_char"] - int8["fp32_validation_nats_per_char"] <= 0.01
    assert int8["well_formed"] >= 0.99 and int8["cpu_default"]


@pytest.fixture()
def folder_copy(tmp_path):
    for name in ("model.json", "model.int8.onnx"):
        shutil.copy(SHIPPED_ARTIFACTS / name, tmp_path / name)
    return tmp_path


def edit_description(folder, change):
    data = json.loads((folder / "model.json").read_text())
    change(data)
    (folder / "model.json").write_text(json.dumps(data))


@pytest.mark.parametrize("change, field", [
    (lambda d: d["network"].pop("hidden_size"), "network.hidden_size"),
    (lambda d: d["network"].update(vocab_size=84), "network.vocab_size"),
    (lambda d: d["inference"].update(temperature="hot"), "inference.temperature"),
    (lambda d: d["inference"].update(max_chars=10**6), "inference.max_chars"),
    (lambda d: d["weights"]["int8"].update(sha256="0" * 64), "weights.int8"),
    (lambda d: d.update(cpu_default="int4"), "cpu_default"),
    (lambda d: d.update(vocabulary=["a", "a"]), "vocabulary"),
])
def test_a_bad_description_fails_at_load_naming_file_and_field(folder_copy, change, field):
    edit_description(folder_copy, change)
    with pytest.raises(ModelFolderError, match=rf"model.json.*'{field}"):
        load_description(folder_copy)


def test_a_cpu_only_folder_loads_without_the_fp32_file_but_not_that_engine(folder_copy):
    description = load_description(folder_copy)  # model.onnx (fp32) is absent from the copy
    assert OrtEngine(description).variant == "int8"
    with pytest.raises(ModelFolderError, match="weights.fp32.*model.onnx"):
        OrtEngine(description, variant="fp32")


def test_missing_or_corrupt_files_are_named(folder_copy):
    (folder_copy / "model.int8.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelFolderError, match="weights.int8.*sha256"):
        load_description(folder_copy)
    (folder_copy / "model.json").write_text("{ not json")
    with pytest.raises(ModelFolderError, match="model.json: not valid JSON"):
        load_description(folder_copy)
    (folder_copy / "model.json").unlink()
    with pytest.raises(ModelFolderError, match="model.json: missing"):
        load_description(folder_copy)


def test_engine_io_must_match_the_description(folder_copy):
    edit_description(folder_copy, lambda d: d["io"].update(inputs=["tok", "h", "c"]))
    with pytest.raises(ModelFolderError, match="field 'io'"):
        OrtEngine(load_description(folder_copy))


def test_cpu_only_machine_never_asks_for_cuda(shipped_engine):
    if cuda_device_count() > 0:
        pytest.skip("this machine has a CUDA device")  # the check is about GPU-less machines
    assert not wants_cuda("auto") and not wants_cuda("cpu")
    assert shipped_engine.providers == ["CPUExecutionProvider"] and shipped_engine.name == "CPU int8"


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_batched_rows_equal_single_rows_exactly(variant):
    """Each row's numbers must not depend on the other rows: that is what lets tunes share a step."""
    engine = load_engine(SHIPPED_ARTIFACTS, provider="cpu", variant=variant)
    tokens = engine.vocab.encode("XMK|a")
    state = engine.initial_state(5)
    single = [engine.initial_state(1) for _ in tokens]
    for _ in range(4):
        logits, state = engine.step(tokens, state)
        alone = []
        for row, token in enumerate(tokens):
            row_logits, single[row] = engine.step(tokens[row:row + 1], single[row])
            alone.append(row_logits[0])
        assert np.array_equal(np.stack(alone), logits)


def draw(logits, temperatures, allowed, uniforms):
    return np.array(choose(logits, list(temperatures), allowed, list(uniforms))[0])


def test_choose_follows_the_distribution_and_the_mask():
    logits = np.log(np.array([[0.7, 0.2, 0.1]] * 4000, np.float32))
    uniforms = np.random.default_rng(0).random(4000)
    draws = np.bincount(draw(logits, np.ones(4000), None, uniforms), minlength=3) / 4000
    np.testing.assert_allclose(draws, [0.7, 0.2, 0.1], atol=0.03)
    masked = draw(logits, np.ones(4000), np.array([[False, True, True]] * 4000), uniforms)
    assert 0 not in masked and abs((masked == 1).mean() - 2 / 3) < 0.03
    cold = draw(logits, np.full(4000, 0.2), None, uniforms)
    assert (cold == 0).mean() > 0.98  # a low temperature sharpens towards the most likely
    # Far below the best logit, an allowed character is still drawn (no underflow to nothing).
    far = np.array([[0.0, -900.0, -950.0]], np.float32)
    assert draw(far, [0.1], np.array([[False, True, True]]), [0.999])[0] in (1, 2)
    _, log_probs = choose(logits[:1], [1.0], None, [0.5])
    np.testing.assert_allclose(log_probs([1]), [np.log(0.2)], rtol=1e-5)


def test_choose_for_a_row_does_not_depend_on_its_batch():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((64, 83)).astype(np.float32) * 4
    temperatures, uniforms = rng.uniform(0.1, 2, 64), rng.random(64)
    allowed = rng.random((64, 83)) > 0.5
    together = draw(logits, temperatures, allowed, uniforms)
    alone = [draw(logits[i:i + 1], temperatures[i:i + 1], allowed[i:i + 1], uniforms[i:i + 1])[0] for i in range(64)]
    assert together.tolist() == alone


def test_abc_helpers():
    assert set_reference_number("X:1\nT:A\n", 5) == "X:5\nT:A\n"
    assert set_reference_number("T:A\n", 2) == "X:2\nT:A\n"
    assert title_of("X:1\nT: The Rolling Wave\n") == "The Rolling Wave"
    assert title_of("X:1\n") == "Untitled"
    book = tunebook(["X:1\nT:A\nabc|\n", "X:1\nT:B\ndef|\n"])
    assert book == "X:1\nT:A\nabc|\n\nX:2\nT:B\ndef|\n"
    assert split_tunebook(book) == ["X:1\nT:A\nabc|", "X:2\nT:B\ndef|"]


def test_cli_writes_a_numbered_tunebook_through_the_composer(tmp_path, composer):
    out = tmp_path / "tunes.abc"
    assert generate_main(["--n", "3", "--temperature", "1.0", "--seed", "0", "--type", "jig",
                          "--out", str(out)]) == 0
    tunes = split_tunebook(out.read_text())
    assert [t.splitlines()[0] for t in tunes] == ["X:1", "X:2", "X:3"]
    assert all("Z: id:dc-jig-" in t for t in tunes)
    assert "\n\n\n" not in out.read_text()
    request = parse_request({"temperature": 1.0, "seed": 2, "tune_type": "jig"}, composer.description)
    assert tunes[2] == set_reference_number(composer.submit(request).result().text, 3).strip("\n")


@pytest.mark.parametrize("args, field", [
    (["--opening", "Ω"], "opening"), (["--temperature", "9"], "temperature"), (["--type", "tango"], "tune_type"),
    (["--seed", "-1"], "seed"),
])
def test_cli_reports_bad_input_naming_the_field(tmp_path, capsys, args, field):
    assert generate_main(args + ["--out", str(tmp_path / "x.abc")]) == 2
    assert f"error: {field}:" in capsys.readouterr().err
    assert not (tmp_path / "x.abc").exists()


def test_shipped_model_is_the_shipped_preset_and_beats_the_seed_floor():
    from train.config import PRESETS, Config
    card = json.loads((SHIPPED_ARTIFACTS / "model_card.json").read_text())
    assert Config.from_dict(card["config"]) == PRESETS["transposed_dropout"]  # `python -m train --preset transposed_dropout`
    assert card["validation_nats_per_char"] <= 1.00
    assert card["extra_training_data"]["path"] == "data/oneills1850.abc"
