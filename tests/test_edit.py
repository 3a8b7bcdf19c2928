"""Continuing an edited tune: its header fixed, its body up to bar N kept, strict meter checked."""
import pytest

from tunesmith.edit import EditError, continuation_request, end_of_bar, split_tune
from tunesmith.request import parse_request

TUNE = "X:1\nT:The Test\nZ: id:dc-jig-7\nM:6/8\nL:1/8\nK:G Major\nGAB dBG|cBA BGE|DEG AGA|B3 A2!\nBdd e2d|gfg edB:|!\n"


def test_bars_are_counted_as_the_score_draws_them():
    _, body = split_tune(TUNE)
    assert body[:end_of_bar(body, 1)] == "GAB dBG|"
    assert body[:end_of_bar(body, 4)].endswith("B3 A2!\nBdd e2d|")  # a line break is not a bar
    assert body[:end_of_bar(body, 5)].endswith("gfg edB:|")
    with pytest.raises(EditError, match="5 complete bars"):
        end_of_bar(body, 6)


def test_an_edited_tune_continues_from_its_bar_with_its_header_fixed(composer):
    edited = TUNE.replace("cBA BGE", "cAF DFA")
    request = continuation_request(edited, 2, 77, composer.description)
    assert (request.title, request.tune_type, request.meter, request.key, request.mode, request.seed) == \
        ("The Test", "jig", "6/8", "G", "Major", 77)
    assert request.opening == "GAB dBG|cAF DFA|"
    text = composer.submit(request).result().text
    assert text.startswith("X:1\nT:The Test\nZ: id:dc-jig-") and "\nM:6/8\n" in text and "\nK:G Major\n" in text
    assert "\nGAB dBG|cAF DFA|" in text


def test_an_edit_that_breaks_strict_meter_is_refused_naming_the_bar(composer):
    broken = TUNE.replace("cBA BGE", "cBA BGEF")  # bar 2 overflows 6/8
    with pytest.raises(EditError) as error:
        continuation_request(broken, 3, 1, composer.description)
    assert error.value.field == "edit" and "bar 2" in str(error.value) and "overflows" in str(error.value)
    with pytest.raises(EditError, match="K:"):
        continuation_request("X:1\nT:A\nM:6/8\nGAB dBG|\n", 1, 1, composer.description)
    with pytest.raises(EditError, match="M:"):
        continuation_request(TUNE.replace("M:6/8", "M:7/8"), 1, 1, composer.description)


def test_a_composed_tune_continued_from_its_own_text_keeps_it_exactly(composer):
    original = composer.submit(parse_request({"seed": 11, "tune_type": "reel"}, composer.description)).result().text
    request = continuation_request(original, 4, 12, composer.description)
    continued = composer.submit(request).result().text
    _, body = split_tune(original)
    kept = body[:end_of_bar(body, 4)]
    assert request.opening == kept and continued.split("\nK:", 1)[1].split("\n", 1)[1].startswith(kept)
