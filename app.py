"""Tunesmith: a neural folk-tune composer in the browser.

    python app.py        # serves on 127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT override)

Layout and wiring only: every request is checked by tunesmith.request (links by tunesmith.share)
and written by the one batched composer (tunesmith.composer) that all visitors share. The
browser side (score, playback, downloads, share link) is static/tune.js.
"""
from __future__ import annotations

import contextlib
import html
import json
import logging
import os
import random
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import gradio as gr
from starlette.middleware import Middleware

from tunesmith.composer import Composer
from tunesmith.edit import continuation_request
from tunesmith.fairness import ClientJobs, client_address
from tunesmith.form import FORM_BY_DEFAULT, HOME_BY_DEFAULT, HOMES
from tunesmith.explore import ranked, score, shorten, write_chain
from tunesmith.engine import load_engine
from tunesmith.abc import tunebook
from tunesmith.request import (ANY, FIELDS, MAX_CANDIDATES, METERS, MODES, TONICS, TUNE_TYPES, RequestError,
                               parse_candidates, parse_request, parse_seed, type_name)
from tunesmith.share import LinkError, continuations_from_query, from_query, to_query

STATIC_DIR = Path(__file__).resolve().parent / "static"


def static_url(*parts: str) -> str:
    """A vendored file's URL, relative to the working directory (Gradio resolves file= paths from
    there) so the page shows no server path; absolute only when run from outside the project."""
    path = STATIC_DIR.joinpath(*parts)
    relative = os.path.relpath(path)
    return f"/gradio_api/file={path if relative.startswith('..') else Path(relative).as_posix()}"


SOUNDFONT_URL = static_url("soundfont") + "/"  # abcjs adds <instrument>-mp3/<note>.mp3
UPDATE_INTERVAL = 0.05  # seconds between updates sent to a listener: faster than the eye, not per character
MAX_SECONDS_PER_TUNE = 120  # a tune takes well under a second on a free CPU: past this the server is stuck or swamped
JOBS_PER_CLIENT = 64  # queued or running /compose jobs per client: a quarter of the queue (4 x 64) at most
RANDOM_SEEDS = 100_000  # an unlocked seed is drawn from 0..RANDOM_SEEDS-1: short enough to write down
gr.set_static_paths([str(STATIC_DIR)])
log = logging.getLogger("tunesmith.app")

engine = load_engine()
composer = Composer(engine)
client_jobs = ClientJobs(JOBS_PER_CLIENT, ttl=MAX_SECONDS_PER_TUNE + 30)
composer.warm_up()  # in the background: the first visitors' tunes find the tracker's masks ready
description = engine.description
defaults = description.inference
MODEL_HASH = description.weights[engine.variant].short_hash

# The tune view's template is static: tune.js draws into it from watch(), so re-renders never wipe
# it, and model-written text reaches the page only through abcjs (SVG text) and textContent.
VIEW_TEMPLATE = (STATIC_DIR / "tune.html").read_text()
VIEW_CSS = (STATIC_DIR / "tune.css").read_text()
VIEW_JS = (STATIC_DIR / "tune.js").read_text()
VIEW_HEAD = (f'<script src="{static_url("abcjs", "abcjs-basic-min.js")}"></script>'
             f'<link rel="stylesheet" href="{static_url("abcjs", "abcjs-audio.css")}">')
PAGE_CSS = (STATIC_DIR / "page.css").read_text()
# Gradio 6 takes page CSS at launch; mcp_server serves the API endpoints as tools for assistants
# (at /gradio_api/mcp/). Tests launch with these too.
# max_file_size: the app takes no files, so uploads are refused beyond a few bytes.
# state_session_capacity: Gradio keeps a copy of the page's component state for every session, and
# every REST call is a session of its own (about 100 kB each here): the default (10,000) let memory
# grow by ~100 kB a request; the oldest sessions beyond this many are dropped.
SESSIONS_KEPT = 300


class ExactArguments:
    """ASGI guard: REST `/call/compose` with more or fewer values than compose takes is refused
    (422, naming the fields) before Gradio, which would drop extra values silently."""

    PATH = "/gradio_api/call/compose"
    MAX_BODY = 1 << 20  # a request body the app reads to count values; larger ones are refused

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith(self.PATH):
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more and len(body) <= self.MAX_BODY:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        problem = None
        if len(body) > self.MAX_BODY:
            problem = f"the request body is over {self.MAX_BODY} bytes"
        else:
            try:
                data = json.loads(body or b"{}").get("data")
            except (ValueError, AttributeError):
                data = None
            if isinstance(data, list) and len(data) != len(API_FIELDS):
                problem = f"compose takes {len(API_FIELDS)} values ({', '.join(API_FIELDS)}), not {len(data)}"
        if problem:
            log.warning("refused /compose before the queue: %s", problem)
            payload = json.dumps({"detail": problem}).encode()
            await send({"type": "http.response.start", "status": 422,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
            await send({"type": "http.response.body", "body": payload})
            return
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        await self.app(scope, replay, send)


LAUNCH_OPTIONS = {"css": PAGE_CSS, "mcp_server": True, "max_file_size": "1kb",
                  "state_session_capacity": SESSIONS_KEPT,
                  "app_kwargs": {"middleware": [Middleware(ExactArguments)]}}

EXAMPLES = [  # ready-made links (the page reads them like any share link)
    ("A reel in D", {"type": "reel", "key": "D", "mode": "Major", "seed": "7"}),
    ("A jig in G", {"type": "jig", "key": "G", "mode": "Major", "seed": "12"}),
    ("A slip jig in A Dorian", {"type": "slip jig", "key": "A", "mode": "Dorian", "seed": "3"}),
    ("A hornpipe, a little wilder", {"type": "hornpipe", "temperature": "1.2", "seed": "21"}),
    ("A polka from an opening", {"type": "polka", "meter": "2/4", "opening": "A>B AF|D2 FA|", "seed": "5"}),
]


def compose(temperature: float = defaults.temperature, seed: int = 0, strict: bool = True, tune_type: str = ANY,
            meter: str = ANY, key: str = ANY, mode: str = ANY, title: str = "", opening: str = "",
            max_chars: int = defaults.max_chars, form: bool = FORM_BY_DEFAULT, home: str = HOME_BY_DEFAULT,
            request: gr.Request = None) -> Iterator[str]:
    """Compose a folk tune in ABC notation, streamed as it is written.

    Args:
        temperature: how adventurous the model is, from 0.1 to 2.0 (lower: safer and more repetitive).
        seed: a whole number from 0 to 2147483647; the same request with the same seed gives the same tune.
        strict: every bar holds the meter and the notation is always valid.
        tune_type: reel, jig, hornpipe, polka, slide, set dance, slip jig, waltz, O'Carolan, or "any".
        meter: e.g. "6/8", "C|", "3/4", or "any".
        key: the tonic, e.g. "D", "Bb", or "any".
        mode: Major, Minor, Dorian, Mixolydian, or "any".
        title: the tune's title, or empty for the model to choose one.
        opening: the first bars of the tune body in ABC, or empty.
        max_chars: the most characters the tune may have.
        form: with strict meter, a regular form: parts of 4, 8 or 16 bars, first and second endings
            paired, |] only at the end, and the last note the home note.
        home: with form, what the last note may be: "tonic" (the key's), or "triad" (any note of the tonic triad).

    Returns:
        The ABC text of the tune, growing as it is written.
    """
    try:
        tune = _request(dict(temperature=temperature, seed=seed, strict=strict, tune_type=tune_type, meter=meter,
                             key=key, mode=mode, title=title, opening=opening, max_chars=max_chars, form=form,
                             home=home))
        stream = composer.submit(tune)
        try:
            yield from _updates(stream)
        finally:
            stream.cancel()  # the listener left (or the tune is done): free the row at the next step
    finally:
        client_jobs.release(client_of(request))  # reserved by check_api
        forget_session(request)


def _reserve_slot(request, field: str) -> tuple[str | None, str]:
    """Reserves one of the client's JOBS_PER_CLIENT slots for an event that passed its checks
    (released when the event ends); else "busy" on `field` (the message has to sit under some
    field; it is about none)."""
    client = client_of(request)
    if client_jobs.reserve(client):
        return None, ""
    log.warning("refused a request before the queue: %s has %d jobs", client, client_jobs.cap)
    return field, (f"busy: you already have {client_jobs.cap} tunes queued or being written; "
                   f"try again when some have finished")


@contextlib.contextmanager
def holding_slot(request):
    """A page event's job slot, reserved by its validator, is released however the event ends."""
    try:
        yield
    finally:
        client_jobs.release(client_of(request))


def forget_session(request) -> None:
    """Drops an API call's session once the call is over. Gradio keeps a copy of the whole page's
    config for every session (about 100 kB here) until SESSIONS_KEPT newer ones push it out; an
    API call's session holds nothing afterwards, and keeping it would let API traffic push out the
    sessions of people on the page (their candidates and the tune they continue)."""
    holder = getattr(demo, "state_holder", None)  # set when the app is served
    if request is None or holder is None or not request.session_hash:
        return
    with holder.lock:
        holder.session_data.pop(request.session_hash, None)
        holder.time_last_used.pop(request.session_hash, None)


def client_of(request) -> str:
    """Who sent a request (tunesmith.fairness.client_address: behind a Space's proxy, the address
    the proxy saw, never what the client wrote in X-Forwarded-For)."""
    if request is None:
        return "local"
    return client_address(request.client.host if request.client else None, request.headers.get("x-forwarded-for"))


API_FIELDS = ("temperature", "seed", "strict", "tune_type", "meter", "key", "mode", "title", "opening", "max_chars",
              "form", "home")


def check_api(temperature, seed, strict, tune_type, meter, key, mode, title, opening, max_chars, form, home,
              request: gr.Request = None):
    """Runs before the queue for /compose (gradio_client, REST /call, MCP): the raw values (the
    endpoint does no preprocessing) through the request parser, a message for the field it refuses;
    then the client's job slot (_reserve_slot)."""
    values = (temperature, seed, strict, tune_type, meter, key, mode, title, opening, max_chars, form, home)
    named = dict(zip(API_FIELDS, values))
    try:
        parse_request(named, description)
        wrong, message = None, ""
    except RequestError as error:  # Gradio names the parameter before the message
        wrong, message = error.field, error.rule
        log.warning("refused /compose before the queue: %s", error)  # one line, no traceback
    if wrong is None:
        wrong, message = _reserve_slot(request, API_FIELDS[0])
    return _verdicts(API_FIELDS, wrong, message)


def _updates(stream):
    """A stream's paced updates for one listener; a tune past the time cap is stopped, and a tune
    the composer failed on ends with a message (the next request works: the composer carries on)."""
    yield from stream.updates(UPDATE_INTERVAL, timeout=MAX_SECONDS_PER_TUNE)
    if not stream.done:
        stream.cancel()
        log.warning("tune stopped after %d s (seed %d)", MAX_SECONDS_PER_TUNE, stream.request.seed)
        raise gr.Error(f"The server is too busy: this tune took over {MAX_SECONDS_PER_TUNE} s. "
                       f"Please try again in a moment.")
    if stream.reason.startswith("error"):
        log.warning("tune failed (seed %d): %s", stream.request.seed, stream.reason)
        raise gr.Error("The composer failed while writing this tune. Please try again.")


@contextlib.contextmanager
def refused_as_error(prefix: str = ""):
    """A RequestError (or LinkError) inside becomes the listener's gr.Error, in the app's words."""
    try:
        yield
    except RequestError as error:
        raise gr.Error(f"{prefix}{error}") from None


def _request(values: dict):
    with refused_as_error():
        return parse_request(values, description)


def _page_values(lock, temperature, seed, strict, tune_type, meter, key, mode, title, opening, max_chars, form,
                 home) -> dict:
    """The page's controls as request values; an unlocked seed is drawn here, in the same event that
    writes the tune, so the seed box always shows the seed of the tune on screen."""
    if not lock:
        seed = random.randrange(RANDOM_SEEDS)
    return dict(temperature=temperature, seed=seed, strict=strict, tune_type=tune_type, meter=meter, key=key,
                mode=mode, title=title, opening=opening, max_chars=max_chars, form=form, home=home)


PAGE_INPUTS = ("lock", "temperature", "seed", "strict", "tune_type", "meter", "key", "mode", "title", "opening",
               "max_chars", "form", "home", "candidates")


def check_page(lock, temperature, seed, strict, tune_type, meter, key, mode, title, opening, max_chars, form, home,
               candidates, request: gr.Request = None):
    """Runs before the queue: a message under each control whose value the request parser refuses;
    then the client's job slot."""
    named = dict(zip(PAGE_INPUTS, (lock, temperature, seed, strict, tune_type, meter, key, mode, title, opening,
                                   max_chars, form, home, candidates)))
    if not named["lock"]:
        named["seed"] = 0  # drawn when the tune is written
    try:
        tune = parse_request({k: v for k, v in named.items() if k in FIELDS}, description)
        count = parse_candidates(named["candidates"])
        if named["lock"]:
            parse_seed(tune.seed + count - 1)  # every candidate's seed must be a seed
        wrong, message = None, ""
    except RequestError as error:
        wrong, message = error.field, error.rule
        log.warning("refused a page request before the queue: %s", error)
    if wrong is None:
        wrong, message = _reserve_slot(request, "temperature")
    return _verdicts(PAGE_INPUTS, wrong, message)


def _verdicts(names, wrong, message) -> list:
    """One gr.validate per input: the refused one carries the message (shown under its field)."""
    return [gr.validate(name != wrong, message if name == wrong else "") for name in names]


def _ranked(tunes: list) -> list[dict]:
    """Finished candidates for the picker, the model's likeliest first."""
    return [{"seed": t.seed, "text": t.text, "score": max(score(t), -99.0), "share": to_query(t.request, MODEL_HASH)}
            for t in ranked(tunes)]


def _choices(order: list[dict]) -> list[tuple[str, int]]:
    return [(f"{rank}. seed {c['seed']} · score {c['score']:.3f}", c["seed"]) for rank, c in enumerate(order, 1)]


def _no_candidates():
    return gr.Radio(choices=[], value=None, visible=False)


def write_tune(lock, temperature, seed, strict, tune_type, meter, key, mode, title, opening, max_chars, form, home,
               candidates, request: gr.Request = None):
    with holding_slot(request):  # reserved by check_page
        yield from _write_tune((lock, temperature, seed, strict, tune_type, meter, key, mode, title, opening,
                                max_chars, form, home), candidates)


def _write_tune(page, candidates):
    """The page's Generate (the page's inputs, then the number of candidates): (seed, view, picker,
    candidates, link, edit box, edited) updates; the seed and the view always come from the same
    tune. Several candidates are written in one batched run (seeds seed, seed+1, ...), the first
    shown as it is written, then all ranked, the best shown."""
    request = _request(_page_values(*page))
    with refused_as_error("candidates: "):
        count = parse_candidates(candidates)
        parse_seed(request.seed + count - 1)  # every candidate's seed must be a seed
    share = to_query(request, MODEL_HASH)
    streams = composer.candidates(request, count)
    try:
        for text in _updates(streams[0]):
            yield (request.seed, gr.HTML(value=text, share=share, writing=True, book=""), gr.skip(), gr.skip(),
                   share, gr.skip(), False)
        if count == 1:
            yield (request.seed, gr.HTML(value=streams[0].text, share=share, writing=False, book=""),
                   _no_candidates(), [], share, streams[0].text, False)
            return
        order = _ranked([s.result() for s in streams])
        best, book = order[0], tunebook([c["text"] for c in order])
        yield (best["seed"], gr.HTML(value=best["text"], share=best["share"], writing=False, book=book),
               gr.Radio(choices=_choices(order), value=best["seed"], visible=True), order, best["share"],
               best["text"], False)
    finally:
        for stream in streams:
            stream.cancel()


def show_candidate(seed, order):
    """Shows the picked candidate, with its own seed and share link."""
    chosen = next((c for c in order or [] if c["seed"] == seed), None)
    if chosen is None:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    book = tunebook([c["text"] for c in order])
    return (chosen["seed"], gr.HTML(value=chosen["text"], share=chosen["share"], writing=False, book=book),
            chosen["share"], chosen["text"], False)


def _link(query: str):
    """A link's (request, continuations); gr.Error naming the link's parameter."""
    params = dict(parse_qsl((query or "").lstrip("?"), keep_blank_values=True))
    with refused_as_error("link "):
        return from_query(params, description)[0], continuations_from_query(params)


def _stream_link(request, chain):
    """(seed, view, link, edit box) updates of one tune that a link names (continuations included)."""
    share = to_query(request, MODEL_HASH, chain)
    with refused_as_error():
        stream = write_chain(composer, request, chain)
    try:
        for text in _updates(stream):
            yield request.seed, gr.HTML(value=text, share=share, writing=True, book=""), share, gr.skip()
        yield request.seed, gr.HTML(value=stream.text, share=share, writing=False, book=""), share, stream.text
    finally:
        stream.cancel()


def continue_tune(shown, bar, then_seed, edited=False, edit_text="", strict=True, temperature=None, max_chars=None,
                  form=FORM_BY_DEFAULT, home=HOME_BY_DEFAULT, request: gr.Request = None):
    with holding_slot(request):  # reserved by check_continue
        yield from _continue_tune(shown, bar, then_seed, edited, edit_text, strict, temperature, max_chars, form, home)


CONTINUE_INPUTS = ("shown", "bar", "then_seed", "edited", "edit_text", "strict", "temperature", "max_chars", "form",
                   "home")


def check_continue(shown, bar, then_seed, edited, edit_text, strict, temperature, max_chars, form, home,
                   request: gr.Request = None):
    """Runs before the queue: the bar and the continuation seed (messages under them), then the
    client's job slot. The tune itself is checked when the event runs: it is a link or an edit
    the page made, and its message names what is wrong in it."""
    try:
        _whole_bar(bar)
        if then_seed not in (None, ""):
            parse_seed(then_seed)
        wrong, message = None, ""
    except RequestError as error:
        wrong, message = {"seed": "then_seed"}.get(error.field, error.field), error.rule
        log.warning("refused a continuation before the queue: %s", error)
    if wrong is None:
        wrong, message = _reserve_slot(request, "bar")
    return _verdicts(CONTINUE_INPUTS, wrong, message)


def _continue_tune(shown, bar, then_seed, edited, edit_text, strict, temperature, max_chars, form, home):
    """Continue from here: keeps the tune shown up to bar `bar` exactly and writes the rest again,
    with `then_seed` (its own seed writes the same tune again) or, when empty, a new seed. An
    edited tune is kept up to that bar as the opening of a new request (tunesmith/edit.py)."""
    with refused_as_error():
        bar = _whole_bar(bar)
        then = random.randrange(RANDOM_SEEDS) if then_seed in (None, "") else parse_seed(then_seed)
        if edited:
            request = continuation_request(edit_text or "", bar, then, description, strict=bool(strict),
                                           temperature=temperature, max_chars=max_chars, form=form, home=home)
    if edited:
        for seed_value, view_update, share, text in _stream_link(request, ()):
            yield seed_value, then, view_update, _no_candidates(), [], share, text, False
        return
    if not shown:
        raise gr.Error("bar: write a tune first, then pick the bar to continue from")
    request, chain = _link(shown)
    chain = shorten(chain, bar, then)
    for seed_value, view_update, share, text in _stream_link(request, chain):
        yield seed_value, then, view_update, _no_candidates(), [], share, text, False


def _whole_bar(value) -> int:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
            or not 1 <= value <= 10_000:
        raise RequestError("bar", "must be a bar number, 1 or more (click a note in the score to pick one)")
    return int(value)


def read_link(request: gr.Request):
    """Fills the controls from a share link (the page's URL query) and says what is off about it."""
    params = dict(request.query_params) if request is not None else {}
    keep = [gr.skip()] * 13
    if not params:
        return *keep, gr.skip(), ""
    try:
        tune, model_hash = from_query(params, description)
        continuations_from_query(params)
    except LinkError as error:
        return *keep, gr.Markdown(f"⚠️ This link cannot be read: {as_text(str(error))}. Showing the usual "
                                  f"settings.", visible=True), ""
    notice = ""
    if model_hash and model_hash != MODEL_HASH:
        notice = (f"ℹ️ This link was made with model `{as_text(model_hash)}`; this page runs model `{MODEL_HASH}`, "
                  f"so the tune written here may differ from the one that was shared.")
    # The link's tune is written at once; the lock stays off, so Generate then moves on to new seeds.
    return (False, tune.temperature, tune.seed, tune.strict, type_name(tune.tune_type), tune.meter or ANY, tune.key or ANY,
            tune.mode or ANY, tune.title or "", tune.opening, tune.max_chars, tune.form, tune.home,
            gr.Markdown(notice, visible=bool(notice)), "?" + urlencode(params))


def as_text(text: str) -> str:
    """Anything from a link, shown in Markdown as text: never HTML, never a code span's end."""
    return html.escape(text, quote=True).replace("`", "'").replace("\n", " ")


def write_linked_tune(link, request: gr.Request = None):
    """Writes the tune a share link names, continuations included (the lock is left off)."""
    with holding_slot(request):  # reserved by check_linked
        yield from _write_linked_tune(link)


def check_linked(link, request: gr.Request = None):
    """Runs before the queue: the client's job slot for writing a linked tune (the link itself was
    read, and its problems shown, when the page loaded)."""
    wrong, message = _reserve_slot(request, "link") if link else (None, "")
    return _verdicts(("link",), wrong, message)


def _write_linked_tune(link):
    if not link:
        yield (gr.skip(),) * 8
        return
    request, chain = _link(link)
    then = chain[-1][1] if chain else None
    for seed_value, view_update, share, text in _stream_link(request, chain):
        yield seed_value, then, view_update, _no_candidates(), [], share, text, False


def preview_edit(text):
    """An edit redraws the score at once; it has no link until it is continued."""
    return gr.HTML(value=text or "", share="", writing=False, book=""), True


def engine_info() -> dict:
    """What composes the tunes: the engine, its device, the model's short hash, how many tunes
    are written together, and why CUDA did not start where a GPU is present but unusable."""
    return {"engine": engine.name, "device": engine.device_label, "model": MODEL_HASH,
            "max_rows": composer.max_rows, "cuda_problem": engine.cuda_problem}


def device_note() -> str:
    where = "Running on GPU" if engine.device_label.startswith("GPU") else "Running on CPU"
    note = (f"{where} ({engine.name}) · model `{MODEL_HASH}` · up to {composer.max_rows} tunes are "
            f"written together; the rest wait their turn.")
    if engine.cuda_problem:
        note += f" A GPU is present but CUDA could not start: {engine.cuda_problem}"
    return note


def examples_html() -> str:
    """Links in the same tab (Markdown links would open new ones); the page reads them on load."""
    links = " · ".join(f'<a href="?{html.escape(urlencode(params))}">{html.escape(name)}</a>'
                       for name, params in EXAMPLES)
    return f'<p class="examples"><strong>Try:</strong> {links}</p>'



with gr.Blocks(title="Tunesmith") as demo:
    gr.Markdown("# Tunesmith\nA neural folk-tune composer: a character-level LSTM trained on Irish "
                "tunes writes ABC notation one character at a time. Press **Generate**, listen, shape, share.",
                elem_id="intro")
    link_notice = gr.Markdown(visible=False, elem_id="link-notice")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):  # first in the page: on a phone the score comes first
            with gr.Row(elem_id="actions"):
                generate = gr.Button("Generate", variant="primary", elem_id="generate")
                stop = gr.Button("Stop", variant="stop", elem_id="stop")
            view = gr.HTML("", html_template=VIEW_TEMPLATE, css_template=VIEW_CSS, js_on_load=VIEW_JS,
                           head=VIEW_HEAD, elem_id="tune-view", share="", writing=False,
                           soundfont=SOUNDFONT_URL, model=MODEL_HASH, book="")
            pick = gr.Radio([], label="Candidates, the model's likeliest first", visible=False, elem_id="pick",
                            info="Each one plays, downloads and shares on its own.")
            with gr.Accordion("Edit the ABC", open=False, elem_id="edit-accordion"):
                edit_box = gr.Textbox(label="ABC notation (editable)", lines=10, max_lines=30, elem_id="edit",
                                      elem_classes=["monospace"],
                                      info="Changes redraw the score. Then click a bar and continue from it: "
                                           "the tune up to that bar is kept as you wrote it.")
            with gr.Row(elem_id="continue-row"):
                from_bar = gr.Number(value=None, label="Continue from bar", elem_id="from-bar",
                                     info="Click a note in the score, or type a bar number.")
                then_seed = gr.Number(value=None, label="Continuation seed", elem_id="then-seed",
                                      info="Empty: a new ending each time. The tune's own seed writes it again.")
                continue_button = gr.Button("Continue from this bar", elem_id="continue")
        with gr.Column(scale=2, min_width=280, elem_id="controls"):
            with gr.Row():
                # No minimum/maximum here: Gradio would refuse out-of-range seeds with a toast of its
                # own before check_page can put the app's message under the field.
                seed = gr.Number(value=0, label="Seed", elem_id="seed", info="The seed of the tune shown.")
                lock = gr.Checkbox(value=False, label="Keep this seed", elem_id="lock",
                                   info="Off: each Generate draws a new seed. Typing a seed turns it on.")
            temperature = gr.Slider(defaults.min_temperature, defaults.max_temperature, value=defaults.temperature,
                                    step=0.05, label="Temperature", elem_id="temperature",
                                    info="Lower is safer and more repetitive; higher is wilder.")
            strict = gr.Checkbox(value=True, label="Strict meter", elem_id="strict",
                                 info="Every bar holds the meter and the notation is always valid.")
            count = gr.Slider(1, MAX_CANDIDATES, value=1, step=1, label="Candidates", elem_id="candidates",
                              info="Several tunes in one go (seeds seed, seed+1, ...), ranked by the model's own score.")
            with gr.Accordion("Shape the tune", open=True):
                with gr.Row():
                    tune_type = gr.Dropdown([ANY, *TUNE_TYPES], value=ANY, label="Tune type", elem_id="tune-type")
                    meter = gr.Dropdown([ANY, *METERS], value=ANY, label="Meter", elem_id="meter")
                with gr.Row():
                    key = gr.Dropdown([ANY, *TONICS], value=ANY, label="Key", elem_id="key")
                    mode = gr.Dropdown([ANY, *MODES], value=ANY, label="Mode", elem_id="mode")
                title = gr.Textbox(label="Title", placeholder="left to the model", elem_id="title")
                opening = gr.Textbox(label="Opening bars (ABC)", placeholder="e.g. GA|B2d dBG|", lines=2,
                                     elem_id="opening", elem_classes=["monospace"])
                max_chars = gr.Number(value=defaults.max_chars, label="Maximum length (characters)",
                                      elem_id="max-chars")
                with gr.Row():
                    form = gr.Checkbox(value=FORM_BY_DEFAULT, label="Regular form", elem_id="form",
                                       info="With strict meter: parts of 4, 8 or 16 bars, first and second endings "
                                            "paired, ending on the home note.")
                    home = gr.Radio(list(HOMES), value=HOME_BY_DEFAULT, label="Last note", elem_id="home",
                                    info="With regular form: the key's tonic, or any note of its triad.")
            gr.HTML(examples_html(), elem_id="examples")
            gr.Markdown(device_note(), elem_id="provider")

    page_inputs = [lock, temperature, seed, strict, tune_type, meter, key, mode, title, opening, max_chars, form, home]
    ranked_state = gr.State([])  # the candidates of the last Generate, best first
    shown = gr.State("")  # the link of the tune on screen: what "Continue from this bar" continues
    edited = gr.State(False)  # the edit box holds a person's edit: continue from its text instead
    writing = generate.click(write_tune, inputs=[*page_inputs, count],
                             outputs=[seed, view, pick, ranked_state, shown, edit_box, edited],
                             validator=check_page, api_visibility="private", trigger_mode="once")
    pick.input(show_candidate, inputs=[pick, ranked_state], outputs=[seed, view, shown, edit_box, edited],
               api_visibility="private",
               show_progress="hidden")
    continuing = continue_button.click(continue_tune, inputs=[shown, from_bar, then_seed, edited, edit_box, strict,
                                                              temperature, max_chars, form, home],
                                       outputs=[seed, then_seed, view, pick, ranked_state, shown, edit_box, edited],
                                       validator=check_continue, api_visibility="private", trigger_mode="once")
    stop.click(None, cancels=[writing, continuing])
    seed.input(None, outputs=lock, js="() => true", api_visibility="private", show_progress="hidden")
    edit_box.input(preview_edit, inputs=edit_box, outputs=[view, edited], api_visibility="private",
                   show_progress="hidden", trigger_mode="always_last")
    linked = gr.State("")  # the page's link query, when it was opened from one
    demo.load(read_link, outputs=[*page_inputs, link_notice, linked], api_visibility="private",
              show_progress="hidden").then(
        write_linked_tune, inputs=[linked],
        outputs=[seed, then_seed, view, pick, ranked_state, shown, edit_box, edited],
        validator=check_linked, api_visibility="private")
    gr.api(compose, api_name="compose")
    # gr.api takes no validator in Gradio 6.31; the event it makes does: set it there.
    next(fn for fn in demo.fns.values() if fn.api_name == "compose").validator = check_api
    gr.api(engine_info, api_name="engine", queue=False)

# Gradio keeps a record of the latest events in memory for its queue estimates (10,000 by default,
# about 0.5 kB each): the latest ANALYTICS_EVENTS_KEPT are plenty for estimates and keep memory flat.
ANALYTICS_EVENTS_KEPT = 500
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", str(ANALYTICS_EVENTS_KEPT))  # read by demo.queue()
# Every stream is a row of the one composer: let as many run as it steps together.
# api_open=False: /gradio_api/run/... (which skips the queue and its validators, and answers a
# stream with its first update only) is closed; gradio_client, /call and MCP go through the queue.
demo.queue(default_concurrency_limit=composer.max_rows, max_size=4 * composer.max_rows, api_open=False)

if __name__ == "__main__":
    demo.launch(theme=gr.themes.Soft(), **LAUNCH_OPTIONS)
