"""The page in a real browser (headless Chromium driven by Playwright), against the app served here.

Screenshots of the finished page at desktop and phone widths are saved to tests/artifacts/.
"""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tunesmith.request import parse_request

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}
MIN_NOTEHEAD_PX = 7.0  # the height a note head keeps at phone width (a staff space of ~8 px)
VIEW = "#tune-view"


@pytest.fixture
def open_page(browser, served_app):
    """Opens the app (optionally with a query) in a fresh page that records console errors."""
    pages = []

    def open_(query: str = "", viewport=DESKTOP):
        context = browser.new_context(viewport=viewport, accept_downloads=True)
        page = context.new_page()
        page.errors = []
        page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(served_app[1] + query)
        page.wait_for_selector("#generate")
        pages.append(context)
        return page

    yield open_
    for context in pages:
        context.close()


@pytest.fixture
def slow_engine(served_app):
    """A tune that takes seconds to write, so a test can watch it stream and stop it."""
    app, _ = served_app
    step = app.engine.step

    def slow_step(tokens, state):
        time.sleep(0.006)
        return step(tokens, state)

    app.engine.step = slow_step
    yield
    app.engine.step = step


def abc_text(page) -> str:
    return page.inner_text(f"{VIEW} .abc-text")


def wait_until_idle(page, served_app, timeout=30.0):
    """Waits until the composer has nothing left to write and the page has shown the final text."""
    app, _ = served_app
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = app.composer.stats()
        if not stats["active"] and not stats["waiting"]:
            before = abc_text(page)
            time.sleep(0.4)
            if abc_text(page) == before and before:
                return before
        time.sleep(0.05)
    raise AssertionError("the page did not settle")


def generate(page, served_app) -> str:
    page.click("#generate")
    page.wait_for_selector(f"{VIEW} .score svg")
    return wait_until_idle(page, served_app)


def expected_tune(served_app, **values) -> str:
    app, _ = served_app
    return app.composer.submit(parse_request(values, app.description)).result().text


def test_the_page_loads_without_errors_and_says_what_to_do(open_page):
    page = open_page()
    page.wait_for_selector(f"{VIEW} .empty")
    page.wait_for_timeout(500)  # the load event (a link check) settles
    assert page.is_visible(f"{VIEW} .empty") and "Generate" in page.inner_text(f"{VIEW} .empty")
    for part in (".score", ".playback", ".actions", ".abc-label"):  # nothing dead in the empty state
        assert not page.is_visible(f"{VIEW} {part}"), part
    assert "Running on CPU" in page.inner_text("#provider") or "Running on GPU" in page.inner_text("#provider")
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
        .filter(el => el.offsetParent !== null && el.type !== 'hidden')
        .filter(el => !(el.getAttribute('aria-label') || (el.labels && el.labels.length && el.labels[0].textContent.trim())
                        || el.getAttribute('aria-labelledby') || el.textContent.trim() || el.title))
        .map(el => el.outerHTML.slice(0, 120))""")
    assert unlabelled == []  # every control a person can reach has a name
    for label in ("Seed", "Keep this seed", "Temperature", "Strict meter", "Tune type", "Meter", "Key", "Mode",
                  "Title", "Opening bars (ABC)", "Maximum length (characters)"):
        assert page.get_by_label(label).count() >= 1, label
    time.sleep(0.5)
    assert page.errors == []


def test_generate_streams_the_text_and_the_score_grows(open_page, served_app, slow_engine):
    page = open_page()
    page.click("#generate")
    texts, notes = [], []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = abc_text(page)
        if text and (not texts or text != texts[-1]):
            texts.append(text)
            notes.append(page.locator(f"{VIEW} .score .abcjs-note").count())
        if len(texts) >= 4 and not served_app[0].composer.stats()["active"]:
            break
        time.sleep(0.05)
    assert len(texts) >= 4, texts
    assert all(later.startswith(earlier) for earlier, later in zip(texts, texts[1:]))  # it grows
    assert notes[-1] > notes[0] and notes == sorted(notes)  # the score grows with it
    assert page.errors == []


def test_fixed_fields_appear_in_the_tune(open_page, served_app):
    page = open_page()
    for control, value in (("#tune-type", "jig"), ("#key", "G"), ("#mode", "Dorian")):
        page.click(f"{control} input")
        page.click(f"ul[role='listbox'] li:text-is('{value}')")
    page.fill("#title textarea, #title input", "The Test Tune")
    text = generate(page, served_app)
    assert "\nT:The Test Tune\n" in text and "\nZ: id:dc-jig-" in text and "\nK:G Dorian\n" in text
    # The score leaves out the training-data id that abcjs would print as a transcription credit.
    assert "id:dc" not in page.inner_text(f"{VIEW} .score") and "Transcription" not in page.inner_text(f"{VIEW} .score")


def test_the_seed_shown_is_always_the_seed_of_the_tune_shown(open_page, served_app):
    page = open_page()
    for _ in range(6):  # fast repeated clicks
        page.click("#generate")
        time.sleep(0.03)
    text = wait_until_idle(page, served_app)
    seed = int(page.input_value("#seed input"))
    assert text == expected_tune(served_app, seed=seed)
    page.check("#lock input")  # locked: Generate writes the same tune again
    assert generate(page, served_app) == text and int(page.input_value("#seed input")) == seed
    page.uncheck("#lock input")
    generate(page, served_app)
    new_seed = int(page.input_value("#seed input"))
    assert abc_text(page) == expected_tune(served_app, seed=new_seed)


@pytest.mark.parametrize("seed", ["3.7", "-5", "99999999999"])
def test_a_wrong_seed_gets_a_message_under_its_field_and_writes_nothing(open_page, served_app, seed):
    page = open_page()
    page.fill("#seed input", seed)  # typing a seed keeps it
    page.wait_for_function("document.querySelector('#lock input').checked")
    page.click("#generate")
    message = page.wait_for_selector("#seed .validation-error")
    assert "whole number from 0 to 2147483647" in message.inner_text()
    time.sleep(0.5)
    assert not page.is_visible(f"{VIEW} .score") and served_app[0].composer.stats()["active"] == 0


def test_a_typed_seed_is_the_seed_written(open_page, served_app):
    page = open_page()
    page.fill("#seed input", "4242")
    page.wait_for_function("document.querySelector('#lock input').checked")
    assert generate(page, served_app) == expected_tune(served_app, seed=4242)
    assert page.input_value("#seed input") == "4242"


def test_an_opening_is_checked_and_a_leading_repeat_sign_is_fine(open_page, served_app):
    page = open_page()
    page.click("#meter input")
    page.click("ul[role='listbox'] li:text-is('6/8')")
    page.fill("#opening textarea", "hello")
    page.click("#generate")
    message = page.wait_for_selector("#opening .validation-error")
    assert "bar 1, character 1" in message.inner_text() and "M:6/8" in message.inner_text()
    page.fill("#opening textarea", "|:GAB dBG|")
    text = generate(page, served_app)
    assert "\nGAB dBG|" in text and "M:6/8" in text


def midi_note_ons(data: bytes) -> list[int]:
    """The pitches of every note-on in a standard MIDI file (a reader for this test only)."""
    assert data[:4] == b"MThd"
    position, pitches = 8 + int.from_bytes(data[4:8], "big"), []
    while position < len(data):
        kind, length = data[position:position + 4], int.from_bytes(data[position + 4:position + 8], "big")
        body, position = data[position + 8:position + 8 + length], position + 8 + length
        if kind != b"MTrk":
            continue
        i, status = 0, 0
        while i < len(body):
            while body[i] & 0x80:  # delta time (variable length)
                i += 1
            i += 1
            if body[i] == 0xFF:  # meta event
                i += 2
                size = 0
                while True:
                    size = (size << 7) | (body[i] & 0x7F)
                    i += 1
                    if not body[i - 1] & 0x80:
                        break
                i += size
                continue
            if body[i] & 0x80:
                status, i = body[i], i + 1
            kind_nibble = status & 0xF0
            data_bytes = 1 if kind_nibble in (0xC0, 0xD0) else 2
            if kind_nibble == 0x90 and body[i + 1] > 0:
                pitches.append(body[i])
            i += data_bytes
    return pitches


def test_downloads_are_valid_abc_midi_and_svg_files(open_page, served_app, tmp_path):
    page = open_page()
    text = generate(page, served_app)
    files = {}
    for kind in ("abc", "mid", "svg"):
        with page.expect_download() as download:
            page.click(f"{VIEW} .download[data-kind='{kind}']")
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        files[kind] = path
        assert path.suffix == f".{kind}" and "-seed-" in path.name
    assert files["abc"].read_text() == text.rstrip("\n") + "\n"
    notes = page.locator(f"{VIEW} .score .abcjs-note").count()
    pitches = midi_note_ons(files["mid"].read_bytes())
    assert len(pitches) >= notes > 20  # every written note sounds (repeats add more)
    assert all(40 <= p <= 100 for p in pitches)  # a fiddle's range, not noise
    svg = ET.parse(files["svg"]).getroot()
    assert svg.tag.endswith("svg") and float(svg.get("width")) > 100
    assert len(svg.findall(".//{http://www.w3.org/2000/svg}path")) > notes


def test_the_share_link_writes_the_same_tune_in_a_fresh_page(open_page, served_app):
    page = open_page()
    text = generate(page, served_app)
    link = page.url
    query = parse_qs(urlsplit(link).query)
    assert query["seed"] == [page.input_value("#seed input")] and query["model"] == [served_app[0].MODEL_HASH]
    fresh = open_page(urlsplit(link).query and "?" + urlsplit(link).query)
    fresh.wait_for_selector(f"{VIEW} .score svg")
    assert wait_until_idle(fresh, served_app) == text
    assert not fresh.is_checked("#lock input")  # the link's tune is written; Generate then moves on
    assert not fresh.is_visible("#link-notice") or fresh.inner_text("#link-notice").strip() == ""


def test_a_link_from_another_model_or_a_bad_link_says_so(open_page, served_app):
    page = open_page("?seed=4&model=000000000000")
    page.wait_for_selector(f"{VIEW} .score svg")
    assert "000000000000" in page.inner_text("#link-notice") and served_app[0].MODEL_HASH in page.inner_text("#link-notice")
    bad = open_page("?seed=abc")
    notice = bad.wait_for_selector("#link-notice :text('cannot be read')")
    assert "seed:" in notice.inner_text() and not bad.is_visible(f"{VIEW} .score")


def test_playback_starts_and_the_cursor_moves(open_page, served_app):
    page = open_page()
    generate(page, served_app)
    requests = []
    page.on("requestfinished", lambda request: requests.append(request.url))
    page.click(f"{VIEW} .abcjs-midi-start")  # fiddle first
    page.wait_for_selector(f"{VIEW} .score line.abcjs-cursor[x1]", state="attached", timeout=20000)
    page.click(f"{VIEW} .abcjs-midi-start")  # pause
    assert any("/soundfont/violin-mp3/" in url for url in requests)
    generate(page, served_app)  # a new tune, and another instrument: Play must sound them, not the old ones
    page.select_option(f"{VIEW} .instrument", "73")
    page.wait_for_timeout(500)
    page.on("requestfinished", lambda request: requests.append(request.url))
    for button in ("start", "loop", "reset"):  # the controls can be seen, not only clicked
        size = page.eval_on_selector(f"{VIEW} .abcjs-midi-{button} svg", "svg => svg.getBoundingClientRect().width")
        assert size >= 12, button
    page.click(f"{VIEW} .abcjs-midi-start")
    cursor = page.wait_for_selector(f"{VIEW} .score line.abcjs-cursor[x1]", state="attached", timeout=20000)
    first = cursor.get_attribute("x1")
    page.wait_for_function(f"document.querySelector('{VIEW} .score line.abcjs-cursor')?.getAttribute('x1') !== '{first}'",
                           timeout=10000)
    assert page.locator(f"{VIEW} .score .abcjs-note_playing").count() >= 1
    assert any("/soundfont/flute-mp3/" in url for url in requests)
    assert not page.is_visible(f"{VIEW} .audio-problem")
    page.click(f"{VIEW} .abcjs-midi-start")  # pause


def test_stop_ends_the_stream_at_once_and_keeps_what_was_written(open_page, served_app, slow_engine):
    page = open_page()
    page.click("#generate")
    page.wait_for_function(f"document.querySelector('{VIEW} .abc-text').textContent.length > 60")
    page.click("#stop")
    time.sleep(1.0)
    kept = abc_text(page)
    app = served_app[0]
    assert app.composer.stats()["active"] == 0  # the row was freed
    time.sleep(0.5)
    assert abc_text(page) == kept and len(kept) > 60
    seed = int(page.input_value("#seed input"))
    assert expected_tune(served_app, seed=seed).startswith(kept) and len(expected_tune(served_app, seed=seed)) > len(kept)


@pytest.mark.parametrize("viewport, name", [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_the_score_stays_readable_at_phone_and_desktop_widths(open_page, served_app, viewport, name):
    page = open_page("?type=reel&key=D&mode=Major&seed=7", viewport=viewport)
    page.wait_for_selector(f"{VIEW} .score svg")
    wait_until_idle(page, served_app)
    heights = page.eval_on_selector_all(f"{VIEW} .score .abcjs-notehead",
                                        "heads => heads.map(h => h.getBoundingClientRect().height)")
    assert len(heights) > 20 and min(heights) >= MIN_NOTEHEAD_PX
    svg_width = page.eval_on_selector(f"{VIEW} .score svg", "svg => svg.getBoundingClientRect().width")
    assert svg_width <= viewport["width"]  # wrapped, not wider than the screen
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page-{name}.png"), full_page=True)
    assert page.errors == []


def test_the_keyboard_reaches_generate_and_the_abc_text(open_page, served_app):
    page = open_page()
    for _ in range(40):  # Tab from the top of the page until Generate has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "generate":
            break
    assert page.evaluate("document.activeElement.id") == "generate"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")  # the focus can be seen
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{VIEW} .score svg")
    text = wait_until_idle(page, served_app)
    page.focus(f"{VIEW} .abc-text")
    assert page.evaluate("document.activeElement.classList.contains('abc-text')")
    family = page.eval_on_selector(f"{VIEW} .abc-text", "el => getComputedStyle(el).fontFamily")
    assert "mono" in family.lower() and page.inner_text(f"{VIEW} .abc-text") == text


def test_a_browser_without_audio_is_told_so(browser, served_app):
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.add_init_script("delete window.AudioContext; delete window.webkitAudioContext;")
        page.goto(served_app[1])
        page.wait_for_selector("#generate")
        generate(page, served_app)
        assert page.is_visible(f"{VIEW} .audio-problem")
        assert "cannot play audio" in page.inner_text(f"{VIEW} .audio-problem")
        assert page.is_visible(f"{VIEW} .download[data-kind='mid']")  # the downloads still work
    finally:
        context.close()


def test_candidates_are_written_together_ranked_and_each_one_shown_with_its_seed(open_page, served_app, tmp_path):
    from tunesmith.abc import split_tunebook
    page = open_page()
    page.fill("#seed input", "500")
    page.wait_for_function("document.querySelector('#lock input').checked")
    page.fill("#candidates input[type='number']", "4")
    page.press("#candidates input[type='number']", "Enter")
    generate(page, served_app)
    page.wait_for_selector("#pick input[type='radio']")
    labels = page.eval_on_selector_all("#pick label", "ls => ls.map(l => l.textContent.trim())")
    assert len(labels) == 4
    scores = [float(label.rsplit("score ", 1)[1]) for label in labels]
    assert scores == sorted(scores, reverse=True)  # the model's likeliest first
    seeds = [int(label.split("seed ")[1].split(" ")[0]) for label in labels]
    assert sorted(seeds) == [500, 501, 502, 503]
    assert int(page.input_value("#seed input")) == seeds[0] and abc_text(page) == expected_tune(served_app, seed=seeds[0])
    page.click(f"#pick label:has-text('seed {seeds[2]} ')")  # another candidate: its own tune, seed and link
    page.wait_for_function(f"document.querySelector('#seed input').value === '{seeds[2]}'")
    page.wait_for_timeout(300)
    assert abc_text(page) == expected_tune(served_app, seed=seeds[2])
    assert f"seed={seeds[2]}" in page.url
    with page.expect_download() as download:  # the picked candidate downloads on its own
        page.click(f"{VIEW} .download[data-kind='abc']")
    alone = tmp_path / download.value.suggested_filename
    download.value.save_as(alone)
    assert f"-seed-{seeds[2]}" in alone.name and alone.read_text() == expected_tune(served_app, seed=seeds[2])
    with page.expect_download() as download:
        page.click(f"{VIEW} .download-book")
    path = tmp_path / "book.abc"
    download.value.save_as(path)
    book = split_tunebook(path.read_text())
    assert [tune.split("\n", 1)[1] for tune in book] == \
        [expected_tune(served_app, seed=s).strip("\n").split("\n", 1)[1] for s in seeds]


def test_continue_from_a_clicked_bar_keeps_the_opening_and_the_same_seed_writes_the_tune_again(
        open_page, served_app):
    app, _ = served_app
    page = open_page()
    page.fill("#seed input", "600")
    page.wait_for_function("document.querySelector('#lock input').checked")
    original = generate(page, served_app)
    # abcjs finds the nearest note itself (a staff line drawn over it takes the event): force the click
    page.click(f"{VIEW} .score .abcjs-note.abcjs-mm2", force=True)  # a note of the third drawn bar
    page.wait_for_function("document.querySelector('#from-bar input').value === '3'")
    page.fill("#then-seed input", "600")  # the tune's own seed: the same tune again
    page.click("#continue")
    page.wait_for_timeout(300)
    assert wait_until_idle(page, served_app) == original
    page.fill("#then-seed input", "601")  # another seed: bars 1-3 kept exactly, the rest new
    page.click("#continue")
    page.wait_for_timeout(300)
    continued = wait_until_idle(page, served_app)
    stream = app.composer.submit(parse_request({"seed": 600}, app.description))
    stream.wait()
    kept = stream.snapshot(3).text
    assert continued.startswith(kept) and continued != original
    assert continued == app.composer.continue_from(stream.snapshot(3), 601).result().text
    link = page.url
    assert "bar=3" in link and "then=601" in link
    fresh = open_page("?" + urlsplit(link).query)  # the continuation's own link writes it again
    fresh.wait_for_selector(f"{VIEW} .score svg")
    assert wait_until_idle(fresh, served_app) == continued


def test_continuing_past_the_last_bar_is_refused_with_the_bar_count(open_page, served_app):
    page = open_page()
    generate(page, served_app)
    before = abc_text(page)
    page.fill("#from-bar input", "999")
    page.click("#continue")
    toast = page.wait_for_selector(":text('continue from bar 1 to')", timeout=10000)
    assert "bar:" in toast.inner_text() or "this tune has" in toast.inner_text()
    assert abc_text(page) == before


def type_edit(page, text: str) -> None:
    """Puts `text` in the edit box as a person would: the last character typed (a filled value alone
    does not always reach Gradio as an input event)."""
    page.fill("#edit textarea", text[:-1])
    page.type("#edit textarea", text[-1])


def test_an_edit_redraws_the_score_and_can_be_continued_and_a_broken_one_is_refused(open_page, served_app):
    page = open_page()
    page.fill("#seed input", "700")
    page.wait_for_function("document.querySelector('#lock input').checked")
    page.click("#meter input")
    page.click("ul[role='listbox'] li:text-is('6/8')")
    original = generate(page, served_app)
    page.click("#edit-accordion button, #edit-accordion .label-wrap")
    assert page.input_value("#edit textarea") == original
    header, body = original.split("\nL:1/8\n", 1)
    key_line, music = body.split("\n", 1)
    first_bar, rest = music.split("|", 1)
    edited = f"{header}\nL:1/8\n{key_line}\nGAB dBG|{rest}"  # a new first bar, still 6/8
    type_edit(page, edited)
    page.wait_for_function(f"document.querySelector('{VIEW} .abc-text').textContent.includes('GAB dBG|')")
    assert not page.is_visible(f"{VIEW} .copy-link")  # an edit has no link until it is continued
    page.fill("#from-bar input", "2")
    page.fill("#then-seed input", "5")
    page.click("#continue")
    page.wait_for_timeout(300)
    continued = wait_until_idle(page, served_app)
    second_bar = rest.split("|", 1)[0]
    assert f"{key_line}\nGAB dBG|{second_bar}|" in continued  # the edit, kept up to bar 2
    assert page.is_visible(f"{VIEW} .copy-link") and "opening=" in page.url  # an ordinary link now
    type_edit(page, continued.replace("GAB dBG|", "GAB dBGA|", 1))  # bar 1 overflows 6/8
    page.fill("#from-bar input", "2")
    page.click("#continue")
    toast = page.wait_for_selector(":text('bar 1, character')", timeout=10000)
    assert "overflows" in toast.inner_text()


XSS = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>", "${alert(1)}",
       "<svg onload=alert(1)>", "javascript:alert(1)"]


@pytest.mark.parametrize("field", ["#title textarea, #title input", "#opening textarea"])
def test_nothing_typed_runs_as_script(open_page, served_app, field):
    page = open_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for payload in XSS:
        page.fill(field, payload)
        page.click("#generate")
        page.wait_for_timeout(700)
        assert page.locator("img[src='x'], svg[onload]").count() == 0
    assert dialogs == []


def test_nothing_in_a_link_runs_as_script(open_page, served_app):
    from urllib.parse import urlencode
    for param in ("title", "opening", "seed", "model", "colour"):
        for payload in XSS:
            page = open_page("?" + urlencode({param: payload}))
            dialogs = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.wait_for_timeout(600)
            assert page.locator("img[src='x'], svg[onload]").count() == 0 and dialogs == [], (param, payload)
            page.context.close()


def test_the_page_shows_no_server_path(open_page, served_app):
    import os
    page = open_page()
    generate(page, served_app)
    html = page.content()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    assert root not in html and "/gradio_api/file=static/" in html
    config = page.evaluate("fetch('/config').then(r => r.text())")  # what the page's scripts read
    assert root not in config and "/gradio_api/file=static/soundfont/" in config
    assert page.errors == []
