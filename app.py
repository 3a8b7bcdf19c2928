"""Tunesmith: a neural folk-tune composer in the browser.

    python app.py        # serves on 127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT override)

Layout and wiring only: every request is checked by tunesmith.request and written by the one
batched composer (tunesmith.composer) that all visitors share.
"""
from __future__ import annotations

import random
from pathlib import Path

import gradio as gr

from tunesmith.composer import Composer
from tunesmith.engine import load_engine
from tunesmith.request import ANY, MAX_SEED, METERS, MODES, TONICS, TUNE_TYPES, RequestError, parse_request

STATIC_DIR = Path(__file__).resolve().parent / "static"
ABCJS_URL = f"/gradio_api/file={STATIC_DIR / 'abcjs' / 'abcjs-basic-min.js'}"
UPDATE_INTERVAL = 0.05  # seconds between updates sent to a listener: faster than the eye, not per character
gr.set_static_paths([str(STATIC_DIR)])

engine = load_engine()
composer = Composer(engine)
composer.warm_up()  # in the background: the first visitors' tunes find the tracker's masks ready
description = engine.description
defaults = description.inference

# The template stays static: abcjs draws into .score from watch(), so re-renders never wipe it,
# and the ABC text (model output) never reaches the page as HTML.
SCORE_TEMPLATE = '<div class="score" aria-label="Score"></div>'
SCORE_CSS = ".score { min-height: 220px; background: white; border-radius: 8px; padding: 4px; }"
SCORE_JS = (STATIC_DIR / "score.js").read_text()


def compose(temperature, seed, strict, tune_type, meter, key, mode, title, opening, max_chars):
    """Compose a folk tune in ABC notation, streamed as it is written.

    Args:
        temperature: how adventurous the model is (lower: safer and more repetitive).
        seed: a whole number; the same request with the same seed gives the same tune.
        strict: every bar holds the meter and the notation is always valid.
        tune_type: reel, jig, hornpipe, polka, slide, set dance, slip jig, waltz, O'Carolan, or "any".
        meter: e.g. "6/8", "C|", "3/4", or "any".
        key: the tonic, e.g. "D", "Bb", or "any".
        mode: Major, Minor, Dorian, Mixolydian, or "any".
        title: the tune's title, or empty for the model to choose one.
        opening: the first bars of the tune body in ABC, or empty.
        max_chars: the most characters the tune may have.
    """
    values = {"temperature": temperature, "seed": seed, "strict": strict, "tune_type": tune_type, "meter": meter,
              "key": key, "mode": mode, "title": title or None, "opening": opening or "", "max_chars": max_chars}
    try:
        request = parse_request(values, description)
    except RequestError as error:
        raise gr.Error(str(error)) from None
    stream = composer.submit(request)
    try:
        for text in stream.updates(UPDATE_INTERVAL):
            yield text, text
    finally:
        stream.cancel()  # the listener left (or the tune is done): free the row at the next step


def random_seed() -> int:
    return random.randint(0, 99_999)


def engine_info() -> dict:
    """What composes the tunes: the engine, its device, the model's short hash, how many tunes
    are written together, and why CUDA did not start where a GPU is present but unusable."""
    return {"engine": engine.name, "device": engine.device_label,
            "model": description.weights[engine.variant].short_hash, "max_rows": composer.max_rows,
            "cuda_problem": engine.cuda_problem}


def device_note() -> str:
    where = "on GPU" if engine.device_label.startswith("GPU") else "on CPU"
    note = (f"Running {where} ({engine.name}, model `{description.weights[engine.variant].short_hash}`); "
            f"up to {composer.max_rows} tunes are written together, the rest wait their turn.")
    if engine.cuda_problem:
        note += f" A GPU is present but CUDA could not start: {engine.cuda_problem}"
    return note


with gr.Blocks(title="Tunesmith") as demo:
    gr.Markdown("# Tunesmith\nA neural folk-tune composer: a character-level LSTM trained on Irish "
                "tunes writes ABC notation one character at a time.")
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            temperature = gr.Slider(defaults.min_temperature, defaults.max_temperature, value=defaults.temperature,
                                    step=0.05, label="Temperature",
                                    info="Lower is safer and more repetitive; higher is wilder.")
            seed = gr.Number(value=0, minimum=0, maximum=MAX_SEED, label="Seed",
                             info="The same seed and settings give the same tune.")
            strict = gr.Checkbox(value=True, label="Strict meter",
                                 info="Every bar holds the meter and the notation is always valid.")
            with gr.Accordion("Shape the tune", open=False):
                tune_type = gr.Dropdown([ANY, *TUNE_TYPES], value=ANY, label="Tune type")
                meter = gr.Dropdown([ANY, *METERS], value=ANY, label="Meter")
                key = gr.Dropdown([ANY, *TONICS], value=ANY, label="Key")
                mode = gr.Dropdown([ANY, *MODES], value=ANY, label="Mode")
                title = gr.Textbox(label="Title", placeholder="left to the model")
                opening = gr.Textbox(label="Opening bars (ABC)", placeholder="e.g. GA|B2d dBG|", lines=2)
                max_chars = gr.Number(value=defaults.max_chars, label="Maximum length (characters)")
            with gr.Row():
                generate = gr.Button("Generate", variant="primary")
                surprise = gr.Button("New seed")
            gr.Markdown(device_note(), elem_id="provider")
        with gr.Column(scale=2):
            score = gr.HTML("", html_template=SCORE_TEMPLATE, css_template=SCORE_CSS, js_on_load=SCORE_JS,
                            head=f'<script src="{ABCJS_URL}"></script>', elem_id="score")
            abc_text = gr.Textbox(label="ABC notation", lines=10, max_lines=40, interactive=False,
                                  buttons=["copy"], elem_id="abc-text")

    inputs = [temperature, seed, strict, tune_type, meter, key, mode, title, opening, max_chars]
    generate.click(compose, inputs=inputs, outputs=[abc_text, score], api_name="compose")
    surprise.click(random_seed, outputs=seed, api_name=False).then(
        compose, inputs=inputs, outputs=[abc_text, score], api_name=False)
    gr.api(engine_info, api_name="engine", queue=False)

# Every stream is a row of the one composer: let as many run as it steps together.
demo.queue(default_concurrency_limit=composer.max_rows, max_size=4 * composer.max_rows)

if __name__ == "__main__":
    demo.launch(theme=gr.themes.Soft())
