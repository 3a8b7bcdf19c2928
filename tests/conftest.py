"""Shared fixtures: the real corpus and split, and a tiny model trained and exported once."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from train.data import DEFAULT_CORPUS, fixed_split, read_corpus, split_tunes
from train.config import PRESETS
from tunesmith.vocab import Vocabulary

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_ARTIFACTS = ROOT / "model_artifacts"


@pytest.fixture(scope="session")
def corpus_text() -> str:
    return read_corpus(DEFAULT_CORPUS)


@pytest.fixture(scope="session")
def tunes(corpus_text):
    return split_tunes(corpus_text)


@pytest.fixture(scope="session")
def split(tunes):
    return fixed_split(tunes)


@pytest.fixture(scope="session")
def vocab(corpus_text) -> Vocabulary:
    return Vocabulary.from_text(corpus_text)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, split, vocab):
    """A tiny model trained for a few seconds: (run folder, summary)."""
    from train.trainer import train

    out = tmp_path_factory.mktemp("tiny_run")
    config = dataclasses.replace(PRESETS["tiny"])
    summary = train(config, split, vocab, out, progress=False)
    return out, summary


@pytest.fixture(scope="session")
def tiny_artifacts(tmp_path_factory, tiny_run):
    """The tiny model exported the way the shipped one is: (artifacts folder, model card)."""
    from export.__main__ import write_artifacts

    run_dir, _ = tiny_run
    out = tmp_path_factory.mktemp("tiny_artifacts")
    card = write_artifacts(run_dir / "best.pt", out, DEFAULT_CORPUS, well_formed_tunes=8)
    return out, card


@pytest.fixture(scope="session")
def shipped_engine():
    """The shipped model on the CPU with its default weights (what the app runs on a CPU Space)."""
    from tunesmith.engine import load_engine
    return load_engine(SHIPPED_ARTIFACTS, provider="cpu")


@pytest.fixture(scope="session")
def composer(shipped_engine):
    from tunesmith.composer import Composer
    with Composer(shipped_engine) as running:
        yield running


@pytest.fixture(scope="session")
def served_app():
    """The app, served once on a free localhost port for the API and browser tests: (module, url)."""
    import app
    app.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None, quiet=True,
                    **app.LAUNCH_OPTIONS)
    try:
        yield app, app.demo.local_url
    finally:
        app.demo.close()
        app.composer.close()  # no engine step may still run while the interpreter exits


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium through Playwright. Without one: a skip saying how to get one, except in CI,
    where the browser tests must run."""
    import os

    from playwright.sync_api import sync_playwright

    from .browser import CHROMIUM_ARGS, HOW_TO_GET, chromium_path
    with sync_playwright() as playwright:
        path = chromium_path(playwright)
        if path is None:
            if os.environ.get("CI"):
                pytest.fail(HOW_TO_GET)
            pytest.skip(HOW_TO_GET)
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
