"""The app launches, streams a tune to a gradio_client caller through the composer, refuses bad input."""
import pytest
from gradio_client import Client

from tunesmith.form import FORM_BY_DEFAULT, HOME_BY_DEFAULT

DEFAULTS = dict(temperature=1.0, seed=0, strict=True, tune_type="any", meter="any", key="any", mode="any",
                title="", opening="", max_chars=2000, form=FORM_BY_DEFAULT, home=HOME_BY_DEFAULT)


def args(**changes):
    return list({**DEFAULTS, **changes}.values())


@pytest.fixture(scope="module")
def client(served_app):
    _, url = served_app
    return Client(url, verbose=False)


def test_streamed_tune_arrives_in_growing_updates(client):
    job = client.submit(*args(seed=0), api_name="/compose")
    updates = list(job)
    final = updates[-1]
    assert final.startswith("X:1\nT:") and "|" in final
    assert all(b.startswith(a) for a, b in zip(updates, updates[1:]))
    assert job.outputs()[-1] == final


def test_the_api_takes_named_arguments_with_defaults(client):
    text = client.predict(seed=3, tune_type="polka", api_name="/compose")
    assert "Z: id:dc-polka-" in text
    assert client.predict(seed=3, tune_type="polka", max_chars=2000, strict=True, api_name="/compose") == text


def test_same_settings_same_tune_and_fixed_fields(client):
    first = client.predict(*args(temperature=0.8, seed=42, tune_type="jig", key="G"), api_name="/compose")
    assert client.predict(*args(temperature=0.8, seed=42, tune_type="jig", key="G"), api_name="/compose") == first
    assert "Z: id:dc-jig-" in first and "\nK:G " in first


@pytest.mark.parametrize("changes, field", [
    ({"seed": 3.5}, "seed"), ({"temperature": 9.0}, "temperature"), ({"title": "Caf\u00e9"}, "title"),
    ({"opening": "ABc defg|", "meter": "6/8"}, "opening"), ({"max_chars": 5}, "max_chars"),
])
def test_bad_input_gets_a_message_naming_the_field(client, changes, field):
    with pytest.raises(Exception) as error:
        client.predict(*args(**changes), api_name="/compose")
    assert f"{field}:" in str(error.value) or "maximum" in str(error.value)


def test_the_api_names_the_engine(client):
    info = client.predict(api_name="/engine")
    assert info["engine"] in ("CPU int8", "CPU fp32", "GPU (CUDA graphs)") and info["max_rows"] == 64
    assert len(info["model"]) == 12


def test_a_cancelled_job_frees_its_row_at_once(client):
    """The listener goes away mid-tune: the composer drops the stream, keeping what was written."""
    import time

    import app
    while app.composer.stats()["active"] or app.composer.stats()["waiting"]:
        time.sleep(0.05)  # the start-up warm-up
    step = app.engine.step

    def slow_step(tokens, state):  # a tune that takes seconds, so there is time to leave mid-way
        time.sleep(0.01)
        return step(tokens, state)

    app.engine.step = slow_step
    try:
        job = client.submit(*args(seed=5), api_name="/compose")
        deadline = time.monotonic() + 10
        while not app.composer._active and time.monotonic() < deadline:
            time.sleep(0.01)
        stream = app.composer._active[0]
        while len(stream.text) < 30:
            time.sleep(0.01)
        job.cancel()
        assert stream.wait(timeout=5) and stream.reason == "cancelled"
        assert 30 <= len(stream.text) < 200
    finally:
        app.engine.step = step


def test_the_pages_example_links_are_valid_links(served_app):
    from tunesmith.share import from_query
    app, _ = served_app
    assert len(app.EXAMPLES) >= 3
    for name, params in app.EXAMPLES:
        request, _ = from_query(params, app.description)
        assert request.seed == int(params["seed"]), name
        assert request.strict and request.form, name  # the examples show the default: strict meter and form


def test_compose_is_an_mcp_tool_with_every_parameter_described_and_it_writes_a_tune(served_app):
    """What an assistant sees: the tool list served by the app, then a call."""
    import asyncio
    import concurrent.futures
    import json
    import urllib.request

    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    from judge import judge_tunes
    app, url = served_app
    tools = json.loads(urllib.request.urlopen(f"{url}gradio_api/mcp/schema", timeout=30).read())
    compose = next(t for t in tools if t["name"] == "compose")
    properties = compose["inputSchema"]["properties"]
    assert set(properties) == {"temperature", "seed", "strict", "tune_type", "meter", "key", "mode", "title",
                               "opening", "max_chars", "form", "home"}
    assert all(len(p.get("description", "")) > 10 for p in properties.values())
    assert "ABC" in compose["description"]

    async def call() -> str:
        async with streamablehttp_client(f"{url}gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                listed = await session.list_tools()
                assert "compose" in [tool.name for tool in listed.tools]
                result = await session.call_tool("compose", {"seed": 3, "tune_type": "reel", "key": "D"})
                return result.content[0].text

    # In a thread of its own: Playwright's sync API (the browser tests) keeps an event loop in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        text = pool.submit(lambda: asyncio.run(call())).result(timeout=120)
    assert "\nZ: id:dc-reel-" in text and "\nK:D " in text
    assert judge_tunes([text])[0]["ok"]


NAN, INF = float("nan"), float("inf")
BAD_INPUTS = [  # (field, bad value): every field, every kind of wrong
    *[("temperature", v) for v in (None, "x", "1.0", [], True, NAN, INF, -INF, 9.0, 0.0, "")],
    *[("seed", v) for v in (None, "abc", "5", 1.5, -1, 2**31, True, NAN, {}, 3.7)],
    *[("strict", v) for v in (None, "false", "true", 1, 0, [])],
    *[("tune_type", v) for v in (5, "polka2", True)],
    *[("meter", v) for v in ("7/8", 3)],
    *[("key", v) for v in ("H", ["D"])],
    *[("mode", v) for v in ("Lydian", 1.0)],
    *[("title", v) for v in ("Caf\u00e9", "A\x00B", "\ud800", "A" * 81, 5, "<b>x</b>")],
    *[("opening", v) for v in ("GA\n\nB", "X" * 601, 5, "GAB\x00")],
    *[("max_chars", v) for v in (5, 1.5, "2000", None, 10**9, True)],
    *[("form", v) for v in (None, "true", 1, [])],
    *[("home", v) for v in ("fifth", None, 3, "")],
]


def call_data(field, value):
    values = {**DEFAULTS, field: value}
    return [values[name] for name in DEFAULTS]


@pytest.mark.parametrize("field, value", BAD_INPUTS, ids=[f"{f}={v!r}"[:40] for f, v in BAD_INPUTS])
def test_a_bad_input_is_refused_before_the_queue_naming_its_field(served_app, field, value):
    """Raw REST /call (what any script can send): refused with 422 and the app's message for that
    field, nothing generated."""
    import json
    import urllib.error
    import urllib.request
    app, url = served_app
    before = app.composer.stats()["rows_stepped"]
    body = json.dumps({"data": call_data(field, value)}, allow_nan=True).encode()
    request = urllib.request.Request(f"{url}gradio_api/call/compose", data=body,
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 422
    verdicts = json.loads(refused.value.read())["detail"]
    wrong = [v for v in verdicts if not v["is_valid"]]
    assert len(wrong) == 1 and wrong[0]["parameter_name"] == field and len(wrong[0]["message"]) > 10
    assert app.composer.stats()["rows_stepped"] == before  # nothing was written


def test_gradio_client_gets_the_field_and_the_rule(client):
    for field, value in (("seed", 1.5), ("strict", None), ("temperature", "x"), ("title", "Caf\u00e9")):
        with pytest.raises(Exception) as error:
            client.predict(**{field: value}, api_name="/compose")
        assert f"{field}:" in str(error.value) and "must" in str(error.value) or "holds" in str(error.value)


def test_run_is_closed_and_uploads_are_refused(served_app):
    import json
    import urllib.error
    import urllib.request
    _, url = served_app
    run = urllib.request.Request(f"{url}gradio_api/run/compose", data=json.dumps({"data": call_data("seed", 1)}).encode(),
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as closed:
        urllib.request.urlopen(run, timeout=30)
    assert closed.value.code in (403, 404) and b"queue" in closed.value.read()
    body = (b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\n' + b"A" * 5000 +
            b"\r\n--b--\r\n")
    upload = urllib.request.Request(f"{url}gradio_api/upload", data=body,
                                    headers={"Content-Type": "multipart/form-data; boundary=b"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(upload, timeout=30)
    assert refused.value.code == 413


def test_a_fault_while_writing_gives_that_listener_a_message_and_the_next_request_works(client, served_app):
    app, _ = served_app
    step = app.engine.step
    calls = {"n": 0}

    def failing_step(tokens, state):
        calls["n"] += 1
        if calls["n"] == 20:
            raise RuntimeError("simulated ONNX Runtime failure")
        return step(tokens, state)

    app.engine.step = failing_step
    try:
        with pytest.raises(Exception, match="composer failed"):
            client.predict(seed=8, api_name="/compose")
    finally:
        app.engine.step = step
    assert client.predict(seed=8, api_name="/compose").startswith("X:1\nT:")


def test_a_refusal_is_logged_as_one_line_without_a_traceback(served_app, caplog):
    import json
    import logging
    import urllib.error
    import urllib.request
    _, url = served_app
    caplog.set_level(logging.WARNING, logger="tunesmith.app")
    request = urllib.request.Request(f"{url}gradio_api/call/compose", data=json.dumps({"data": call_data("seed", "abc")}).encode(),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=30)
    records = [r for r in caplog.records if r.name == "tunesmith.app"]
    assert len(records) == 1 and records[0].exc_info is None and "\n" not in records[0].getMessage()
    assert "seed: must be a whole number" in records[0].getMessage()


def test_one_client_cannot_hold_more_than_its_share_of_jobs(client, served_app, monkeypatch):
    import json
    import time
    import urllib.error
    import urllib.request

    from tunesmith.fairness import ClientJobs
    app, url = served_app
    while app.composer.stats()["active"] or app.composer.stats()["waiting"]:
        time.sleep(0.05)  # the start-up warm-up
    monkeypatch.setattr(app, "client_jobs", ClientJobs(cap=1, ttl=60))
    step = app.engine.step
    monkeypatch.setattr(app.engine, "step", lambda tokens, state: (time.sleep(0.005), step(tokens, state))[1])
    first = client.submit(seed=21, api_name="/compose")  # holds this client's one job for a while
    deadline = time.monotonic() + 10
    while not (app.composer.stats()["active"] and app.client_jobs.clients()) and time.monotonic() < deadline:
        time.sleep(0.01)
    request = urllib.request.Request(f"{url}gradio_api/call/compose", data=json.dumps({"data": call_data("seed", 22)}).encode(),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 422 and b"busy: you already have 1 tunes" in refused.value.read()
    assert first.result().startswith("X:1\n")  # the first one finishes and frees the client's slot
    deadline = time.monotonic() + 5
    while app.client_jobs.count("127.0.0.1") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert client.predict(seed=23, api_name="/compose").startswith("X:1\n")


@pytest.mark.parametrize("data", [call_data("seed", 1) + [5], call_data("seed", 1)[:1], []])
def test_extra_or_missing_values_are_refused_not_dropped(served_app, data):
    import json
    import urllib.error
    import urllib.request
    app, url = served_app
    before = app.composer.stats()["rows_stepped"]
    request = urllib.request.Request(f"{url}gradio_api/call/compose", data=json.dumps({"data": data}).encode(),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 422
    assert "compose takes 12 values" in json.loads(refused.value.read())["detail"]
    assert app.composer.stats()["rows_stepped"] == before


def test_a_finished_api_call_leaves_no_session_behind_and_event_records_are_bounded(client, served_app):
    import time
    app, _ = served_app
    holder = app.demo.state_holder
    client.predict(seed=31, api_name="/compose")
    deadline = time.monotonic() + 5
    while client.session_hash in holder.session_data and time.monotonic() < deadline:
        time.sleep(0.02)
    # Gradio would keep a copy of the page's config for it (about 100 kB) until 300 newer sessions
    # pushed it out; page sessions keep their room.
    assert client.session_hash not in holder.session_data
    assert app.demo._queue.ANALYTICS_MAX_EVENTS == app.ANALYTICS_EVENTS_KEPT


def test_a_full_queue_answers_busy_at_once_and_writes_nothing(client, served_app, monkeypatch):
    import json
    import time
    import urllib.error
    import urllib.request

    app, url = served_app
    monkeypatch.setattr(app.demo._queue, "max_size", 0)  # as if 0 more fit: every request finds it full
    before = app.composer.stats()["rows_stepped"]
    request = urllib.request.Request(f"{url}gradio_api/call/compose", data=json.dumps({"data": call_data("seed", 5)}).encode(),
                                     headers={"Content-Type": "application/json"})
    started = time.monotonic()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 503 and "Queue is full" in json.loads(refused.value.read())["detail"]
    assert time.monotonic() - started < 1.0
    with pytest.raises(Exception, match="Please try again"):
        client.predict(seed=5, api_name="/compose")
    assert app.composer.stats()["rows_stepped"] == before
    monkeypatch.undo()
    assert client.predict(seed=5, api_name="/compose").startswith("X:1\n")  # room again: it runs


class FakeRequest:
    """What the validators read of a gr.Request: the peer and the headers."""

    def __init__(self, host, forwarded=None):
        self.client = type("Peer", (), {"host": host})()
        self.headers = {"x-forwarded-for": forwarded} if forwarded else {}


def test_page_events_take_the_same_per_client_slots_as_the_api(monkeypatch):
    import app

    from tunesmith.fairness import ClientJobs
    monkeypatch.setattr(app, "client_jobs", ClientJobs(cap=2, ttl=60))
    alice, bob = FakeRequest("10.0.0.1", "203.0.113.5"), FakeRequest("10.0.0.1", "203.0.113.6")
    page = (True, 1.0, 3, True, "any", "any", "any", "any", "", "", 2000, False, "tonic", 1)

    def refused(verdicts):
        return [v["message"] for v in verdicts if not v["is_valid"]]

    assert refused(app.check_page(*page, request=alice)) == []
    assert refused(app.check_continue("?seed=3", 2, "", False, "", True, 1.0, 2000, False, "tonic", request=alice)) == []
    busy = refused(app.check_linked("?seed=4", request=alice))
    assert len(busy) == 1 and busy[0].startswith("busy: you already have 2 tunes")
    assert refused(app.check_page(*page, request=bob)) == []  # another client is not affected
    assert refused(app.check_continue("?seed=3", "two", "", False, "", True, 1.0, 2000, False, "tonic", request=bob)) == \
        ["must be a bar number, 1 or more (click a note in the score to pick one)"]  # checked before any slot
    with app.holding_slot(alice):
        pass  # an event ends (however it ends): its slot is free again
    assert refused(app.check_linked("?seed=4", request=alice)) == []
    assert app.client_jobs.count("203.0.113.5") == 2 and app.client_jobs.count("203.0.113.6") == 1
