"""The one request parser: good inputs become requests, bad ones name their field and rule."""
import pytest

from tunesmith.model import load_description
from tunesmith.request import MAX_CANDIDATES, MAX_SEED, RequestError, TuneRequest, parse_candidates, parse_request

from .conftest import SHIPPED_ARTIFACTS


@pytest.fixture(scope="module")
def model():
    return load_description(SHIPPED_ARTIFACTS)


def test_defaults_come_from_the_model(model):
    request = parse_request({}, model)
    assert request.temperature == model.inference.temperature and request.max_chars == model.inference.max_chars
    assert request.seed == 0 and request.strict and request.opening == "" and not request.fixes_header


@pytest.mark.parametrize("values, expected", [
    ({"temperature": 0.7, "seed": 12}, {"temperature": 0.7, "seed": 12}),
    ({"seed": 3.0}, {"seed": 3}),  # a whole number sent as a float (JSON, Gradio's Number)
    ({"tune_type": "Slip Jig"}, {"tune_type": "slipjig"}),
    ({"tune_type": "o'carolan", "meter": "3/4"}, {"tune_type": "ocarolan", "meter": "3/4"}),
    ({"tune_type": "any", "meter": "", "key": None, "mode": "ANY"}, {"tune_type": None, "meter": None}),
    ({"key": "bb", "mode": "dorian"}, {"key": "Bb", "mode": "Dorian"}),
    ({"title": "  The Rolling Wave "}, {"title": "The Rolling Wave"}),
    ({"title": ""}, {"title": None}),
    ({"opening": "GA|B2d dBG|", "meter": "6/8"}, {"opening": "GA|B2d dBG|"}),
    ({"strict": False, "max_chars": 300}, {"strict": False, "max_chars": 300}),
])
def test_good_inputs(model, values, expected):
    request = parse_request(values, model)
    for field, value in expected.items():
        assert getattr(request, field) == value


@pytest.mark.parametrize("values, field, words", [
    ({"temperature": "x"}, "temperature", "number from 0.1 to 2.0"),
    ({"temperature": "1.0"}, "temperature", "got str"),
    ({"temperature": None}, "temperature", "got NoneType"),
    ({"temperature": []}, "temperature", "number"),
    ({"temperature": float("nan")}, "temperature", "number"),
    ({"temperature": float("inf")}, "temperature", "number"),
    ({"temperature": 2.5}, "temperature", "from 0.1 to 2.0"),
    ({"temperature": True}, "temperature", "got bool"),
    ({"seed": 1.5}, "seed", "whole number"),
    ({"seed": "5"}, "seed", "not str"),
    ({"seed": -1}, "seed", f"from 0 to {MAX_SEED}"),
    ({"seed": 10**12}, "seed", f"from 0 to {MAX_SEED}"),
    ({"seed": float("nan")}, "seed", "whole number"),
    ({"seed": False}, "seed", "not bool"),
    ({"strict": None}, "strict", "true or false"),
    ({"strict": "false"}, "strict", "true or false"),
    ({"strict": 0}, "strict", "true or false"),
    ({"tune_type": "tango"}, "tune_type", "one of: reel, jig"),
    ({"tune_type": 3}, "tune_type", "text"),
    ({"meter": "5/4"}, "meter", "one of"),
    ({"key": "H"}, "key", "one of"),
    ({"mode": "Lydian"}, "mode", "one of"),
    ({"title": "A" * 81}, "title", "at most 80"),
    ({"title": "Tam\x00Lin"}, "title", "does not know"),
    ({"title": "Caf\u00e9"}, "title", "does not know"),
    ({"title": "Tam\ud800"}, "title", "lone surrogate"),
    ({"title": "A|B"}, "title", "letters, digits"),
    ({"opening": "x" * 601}, "opening", "at most 600"),
    ({"opening": "GA|B2d dBG|\n\n"}, "opening", "blank line"),
    ({"opening": "GA|B2d dBG|!\n\nAB", "strict": False}, "opening", "blank line"),
    ({"opening": {}}, "opening", "text"),
    ({"opening": 0}, "opening", "text"),
    ({"temperature": 10**400}, "temperature", "from 0.1 to 2.0"),
    ({"max_chars": 10}, "max_chars", "from 300"),
    ({"max_chars": 10**9}, "max_chars", "to 4000"),
    ({"max_chars": 300, "opening": "ABc def|" * 20, "meter": "6/8"}, "max_chars", "too little room"),
    ({"colour": "red"}, "colour", "not a request field"),
])
def test_bad_inputs_name_their_field(model, values, field, words):
    with pytest.raises(RequestError) as error:
        parse_request(values, model)
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ") and words in str(error.value)


def test_an_opening_that_breaks_the_meter_names_the_bar_and_character(model):
    with pytest.raises(RequestError, match=r"opening: bar 2, character 16 \('g'\): a bar that overflows the "
                                           r"meter, in M:6/8"):
        parse_request({"opening": "ABc def|ABc defg|", "meter": "6/8"}, model)
    # Without a fixed meter, the opening keeps the meters it fits.
    assert parse_request({"opening": "ABc def|"}, model).opening_meters == ("3/4", "6/8")
    # With strict meter off, the opening is written as it is.
    assert parse_request({"opening": "ABc defg|", "strict": False}, model).opening == "ABc defg|"


def test_a_request_round_trips_through_its_dict(model):
    request = parse_request({"temperature": 0.9, "seed": 7, "tune_type": "reel", "key": "D", "title": "Tam Lin",
                             "opening": "FA|d2fd", "max_chars": 900}, model)
    assert isinstance(request, TuneRequest)
    assert parse_request(request.to_dict(), model) == request


def test_candidate_count():
    assert parse_candidates(4) == 4
    for bad in (0, MAX_CANDIDATES + 1, 2.5, "3", None):
        with pytest.raises(RequestError, match="candidates"):
            parse_candidates(bad)
