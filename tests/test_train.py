import json
import math

import pytest
import torch

from train.__main__ import main as train_main
from train.trainer import load_checkpoint


def test_tiny_training_lowers_the_loss(tiny_run):
    run_dir, summary = tiny_run
    history = json.loads((run_dir / "metrics.json").read_text())
    initial = math.log(83)  # an untrained model is near uniform over the vocabulary
    assert summary["best_val_nats_per_char"] < initial - 0.5
    assert history[-1]["train_loss"] < initial - 0.5
    assert summary["best_val_nats_per_char"] == min(h["val_nats_per_char"] for h in history)


def test_run_writes_checkpoint_metrics_and_curve(tiny_run):
    run_dir, summary = tiny_run
    for name in ("best.pt", "metrics.csv", "metrics.json", "summary.json", "loss_curve.png"):
        assert (run_dir / name).stat().st_size > 0, name
    assert (run_dir / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert (run_dir / "metrics.csv").read_text().splitlines()[0] == "step,train_loss,val_nats_per_char,seconds"
    model, vocab, saved = load_checkpoint(run_dir / "best.pt")
    assert len(vocab) == 83 and model.config.hidden_size == 32
    assert saved["step"] == summary["best_step"]


def test_best_checkpoint_reproduces_its_validation_loss(tiny_run, split):
    from train.evaluate import validation_nats_per_char
    run_dir, summary = tiny_run
    model, vocab, _ = load_checkpoint(run_dir / "best.pt")
    assert validation_nats_per_char(model, split.validation, vocab) == pytest.approx(
        summary["best_val_nats_per_char"], abs=1e-5)


def test_validation_counts_every_character_but_the_first(split, vocab):
    from train import evaluate
    rows = evaluate._tune_rows(split.validation, vocab)
    assert sum(int(mask.sum()) for _, _, mask in rows) == len(split.validation_text) - 1


def test_same_seed_same_weights(split, vocab, tmp_path):
    import dataclasses
    from train.trainer import train
    from train.config import PRESETS
    config = dataclasses.replace(PRESETS["tiny"], max_steps=5, eval_every=5)
    a = train(dataclasses.replace(config), split, vocab, tmp_path / "a", progress=False)
    b = train(dataclasses.replace(config), split, vocab, tmp_path / "b", progress=False)
    assert a["best_val_nats_per_char"] == b["best_val_nats_per_char"]
    wa = torch.load(tmp_path / "a" / "best.pt", weights_only=True)["model"]
    wb = torch.load(tmp_path / "b" / "best.pt", weights_only=True)["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_cli_reports_missing_and_empty_data(tmp_path, capsys):
    assert train_main(["--preset", "tiny", "--data", str(tmp_path / "missing.abc"), "--out", str(tmp_path)]) == 2
    assert "corpus file not found" in capsys.readouterr().err
    (tmp_path / "empty.abc").write_text("")
    assert train_main(["--preset", "tiny", "--data", str(tmp_path / "empty.abc"), "--out", str(tmp_path)]) == 2
    assert "corpus file is empty" in capsys.readouterr().err


def test_cli_refuses_an_extra_corpus_outside_the_vocabulary(tmp_path, capsys):
    extra = tmp_path / "extra.abc"
    extra.write_text("X:1\nT:Ω\nK:D Major\nABc|!\n")
    assert train_main(["--preset", "tiny", "--extra-corpus", str(extra), "--out", str(tmp_path)]) == 2
    assert "outside the vocabulary" in capsys.readouterr().err
