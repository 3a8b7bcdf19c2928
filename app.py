"""Tunesmith: a neural folk-tune composer in the browser.

    python app.py        # serves on 127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT override)

Layout and wiring only: the model, sampler and checks live in tunesmith/.
"""
from __future__ import annotations

import random
from pathlib import Path

import gradio as gr

from tunesmith.compose import MAX_SEED, MAX_TEMPERATURE, MIN_TEMPERATURE, stream_tune
from tunesmith.engine import StepEngine

STATIC_DIR = Path(__file__).resolve().parent / "static"
ABCJS_URL = f"/gradio_api/file={STATIC_DIR / 'abcjs' / 'abcjs-basic-min.js'}"
gr.set_static_paths([str(STATIC_DIR)])

engine = StepEngine()

# The template stays static: abcjs draws into .score from watch(), so re-renders never wipe it,
# and the ABC text (model output) never reaches the page as HTML.
SCORE_TEMPLATE = '<div class="score" aria-label="Score"></div>'
SCORE_CSS = ".score { min-height: 220px; background: white; border-radius: 8px; padding: 4px; }"
SCORE_JS = """
const target = element.querySelector('.score');
let frame = null;
function draw() {
  frame = null;
  const abc = typeof props.value === 'string' ? props.value : '';
  if (!abc) { target.replaceChildren(); return; }
  ABCJS.renderAbc(target, abc, { responsive: 'resize', add_classes: true });
}
// Characters arrive faster than the screen refreshes: draw at most once a frame.
watch('value', () => { if (frame === null) frame = requestAnimationFrame(draw); });
draw();
"""


def compose(temperature, seed, strict=True):
    try:
        yield from ((text, text) for text in stream_tune(engine, temperature, seed, strict=bool(strict)))
    except ValueError as error:
        raise gr.Error(str(error)) from None


def random_seed() -> int:
    return random.randint(0, 99_999)


with gr.Blocks(title="Tunesmith") as demo:
    gr.Markdown("# Tunesmith\nA neural folk-tune composer: a character-level LSTM trained on Irish "
                "tunes writes ABC notation one character at a time.")
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            temperature = gr.Slider(MIN_TEMPERATURE, MAX_TEMPERATURE, value=1.0, step=0.05, label="Temperature",
                                    info="Lower is safer and more repetitive; higher is wilder.")
            seed = gr.Number(value=0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed",
                             info="The same seed and temperature give the same tune.")
            strict = gr.Checkbox(value=True, label="Strict meter",
                                 info="Every bar holds the meter and the notation is always valid.")
            with gr.Row():
                generate = gr.Button("Generate", variant="primary")
                surprise = gr.Button("New seed")
            gr.Markdown(f"Model runs on **{engine.device_label}** (`{engine.provider}`).", elem_id="provider")
        with gr.Column(scale=2):
            score = gr.HTML("", html_template=SCORE_TEMPLATE, css_template=SCORE_CSS, js_on_load=SCORE_JS,
                            head=f'<script src="{ABCJS_URL}"></script>', elem_id="score")
            abc_text = gr.Textbox(label="ABC notation", lines=10, max_lines=40, interactive=False,
                                  buttons=["copy"], elem_id="abc-text")

    generate.click(compose, inputs=[temperature, seed, strict], outputs=[abc_text, score], api_name="compose")
    surprise.click(random_seed, outputs=seed, api_name=False).then(
        compose, inputs=[temperature, seed, strict], outputs=[abc_text, score], api_name=False)

demo.queue(default_concurrency_limit=4, max_size=64)

if __name__ == "__main__":
    demo.launch(theme=gr.themes.Soft())
