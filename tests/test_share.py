"""Share links: every request setting survives the URL query; a bad link names its parameter."""
from urllib.parse import parse_qsl, urlsplit

import pytest

from tunesmith.form import FORM_BY_DEFAULT, HOME_BY_DEFAULT
from tunesmith.model import load_description
from tunesmith.request import parse_request
from tunesmith.share import LinkError, from_query, to_query

from .conftest import SHIPPED_ARTIFACTS

MODEL = load_description(SHIPPED_ARTIFACTS)


def params(query: str) -> dict:
    return dict(parse_qsl(urlsplit(query).query, keep_blank_values=True))


@pytest.mark.parametrize("values", [
    {},
    {"seed": 42, "temperature": 0.85, "tune_type": "slip jig", "meter": "9/8", "key": "A", "mode": "Dorian"},
    {"seed": 2147483647, "tune_type": "O'Carolan", "title": "Sheebeg and Sheemore", "strict": False},
    {"seed": 7, "meter": "C|", "opening": "GA|B2d dBG|", "max_chars": 1200, "title": "Tom's (2nd) reel, in G."},
])
def test_a_request_survives_its_link(values):
    request = parse_request(values, MODEL)
    query = to_query(request, "abcdef123456")
    assert query.startswith("?") and "\n" not in query and " " not in query
    again, model_hash = from_query(params(query), MODEL)
    assert again == request and model_hash == "abcdef123456"


@pytest.mark.parametrize("query, param", [
    ("?seed=abc", "seed"), ("?seed=1.5", "seed"), ("?seed=-3", "seed"), ("?seed=99999999999", "seed"),
    ("?temperature=nan", "temperature"), ("?temperature=9", "temperature"), ("?temperature=", "temperature"),
    ("?strict=maybe", "strict"), ("?length=20", "length"), ("?type=polka2", "type"), ("?colour=red", "colour"),
    ("?title=%00", "title"), ("?opening=ABc%20defg%7C&meter=6/8", "opening"), ("?key=" + "D" * 2000, "key"),
])
def test_a_bad_link_names_its_parameter(query, param):
    with pytest.raises(LinkError) as error:
        from_query(params(query), MODEL)
    assert error.value.field == param and str(error.value).startswith(f"{param}: ")


def test_a_link_without_a_model_hash_reads_as_none():
    request, model_hash = from_query({"seed": "5", "strict": "0"}, MODEL)
    assert (request.seed, request.strict, model_hash) == (5, False, None)



def test_continuations_survive_the_link_and_bad_ones_name_their_parameter():
    from tunesmith.share import continuations_from_query
    request = parse_request({"seed": 9}, MODEL)
    query = to_query(request, "abcdef123456", ((4, 77), (9, 3)))
    assert "bar=4%2C9" in query and "then=77%2C3" in query
    assert from_query(params(query), MODEL)[0] == request
    assert continuations_from_query(params(query)) == ((4, 77), (9, 3))
    assert continuations_from_query(params(to_query(request, "x"))) == ()
    for bad, param in (("?bar=4&then=x", "then"), ("?bar=0&then=1", "bar"), ("?bar=4,5&then=1", "then"),
                       ("?bar=4&then=99999999999", "then")):
        with pytest.raises(LinkError) as error:
            continuations_from_query(params(bad))
        assert error.value.field == param


def test_a_link_without_form_gets_the_default_and_one_with_it_keeps_it():
    request, _ = from_query({"seed": "3", "strict": "1"}, MODEL)  # a hand-written link, or the page's examples
    assert (request.form, request.home) == (FORM_BY_DEFAULT, HOME_BY_DEFAULT)
    request, _ = from_query({"seed": "3", "strict": "1", "form": "0"}, MODEL)
    assert request.form is False
    request, _ = from_query({"seed": "3", "strict": "1", "form": "1", "home": "tonic"}, MODEL)
    assert request.form is True and request.home == "tonic"
