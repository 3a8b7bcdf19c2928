"""The app launches, streams a tune to a gradio_client caller and refuses bad input."""
import pytest
from gradio_client import Client

from tunesmith.compose import parse_settings


@pytest.fixture(scope="module")
def client():
    import app
    app.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None, quiet=True)
    try:
        yield Client(app.demo.local_url, verbose=False)
    finally:
        app.demo.close()


def test_streamed_tune_arrives_character_by_character(client):
    job = client.submit(1.0, 0, api_name="/compose")
    updates = [text for text, _score in job]
    assert len(updates) > 50  # one update per character, not one final blob
    final = updates[-1]
    assert final.startswith("X:1\nT:") and "|" in final
    assert all(len(b) - len(a) == 1 and b.startswith(a) for a, b in zip(updates, updates[1:]))
    assert job.outputs()[-1][1] == final  # the score gets the same ABC text


def test_same_settings_same_tune(client):
    first = client.predict(0.8, 42, api_name="/compose")
    assert client.predict(0.8, 42, api_name="/compose") == first


@pytest.mark.parametrize("temperature, seed", [(9.0, 1), (1.0, -5), (1.0, 10**12)])
def test_bad_input_gets_a_clear_error(client, temperature, seed):
    with pytest.raises(Exception) as error:
        client.predict(temperature, seed, api_name="/compose")
    text = str(error.value).lower()
    assert "temperature" in text or "seed" in text or "maximum" in text or "minimum" in text


@pytest.mark.parametrize("temperature, seed, message", [
    ("warm", 1, "Temperature must be a number"), (float("inf"), 1, "Temperature must be between"),
    (0.0, 1, "between"), (1.0, "abc", "Seed must be a whole number"), (1.0, 2**40, "from 0 to"),
    (1.0, None, "Seed"),
])
def test_settings_checks(temperature, seed, message):
    with pytest.raises(ValueError, match=message):
        parse_settings(temperature, seed)
    assert parse_settings("1.2", 3.0) == (1.2, 3)
