"""Form-aware decoding (tunesmith/form.py): its rules on hand-made tunes, no dead ends for any meter
and pickup, and composed tunes judged by the independent form judge."""
import random

import numpy as np
import pytest

from judge.form import read_form
from tunesmith.form import FIRST_ENDING_BARS
from tunesmith.request import parse_request
from tunesmith.strict_abc import METERS, QUANTUM, UNIT, TuneTracker

HEAD = "X:1\nT:Test\nM:{meter}\nL:1/8\nK:{key}\n"
BAR = "d2fd A2FA|"  # a full C| bar ending on A (not D major's tonic)
HOME_BAR = "d2fd A2D2|"  # ... ending on D
PART_A = BAR * 7 + "BcdB A2FA:|"  # 8 bars, ending away from home: a first part may


@pytest.fixture(scope="module")
def vocab(shipped_engine):
    return shipped_engine.description.vocab


def tracker_after(vocab, text, key="D Major", meter="C|", triad=False):
    tracker = TuneTracker(vocab, max_chars=3000, form=True, home_triad=triad)
    for char in HEAD.format(meter=meter, key=key) + text:
        tracker.push(char)
    return tracker


def may(tracker, text) -> bool:
    """Whether the tracker accepts `text` next (without changing it)."""
    twin = tracker.copy()
    try:
        for char in text:
            twin.push(char)
    except ValueError:
        return False
    return True


def test_a_part_ends_only_after_4_8_or_16_bars_and_must_end_at_16(vocab):
    five = tracker_after(vocab, BAR * 4 + "d2fd A2FA")
    assert may(five, "|") and not may(five, ":|") and not may(five, "||") and not may(five, "|]")
    eight = tracker_after(vocab, BAR * 7 + "d2fd A2FA")
    assert may(eight, ":|") and may(eight, "||") and may(eight, "|")
    sixteen = tracker_after(vocab, BAR * 15 + "d2fd A2FA")
    assert not may(sixteen, "| ") and not may(sixteen, "|d") and may(sixteen, "||")


def test_a_pickup_and_its_completing_bar_count_as_one(vocab):
    tracker = tracker_after(vocab, "FA|" + BAR * 7 + "d2fd A2")  # a short 8th bar completes the pickup
    assert may(tracker, ":|") and tracker.form.part_bars == 7 and tracker.form.pickup_seen


def test_the_first_ending_closes_with_its_repeat_then_the_second_as_long_ends_the_part(vocab):
    tracker = tracker_after(vocab, PART_A + "!\n" + BAR * 6 + "[1 " + BAR + "d2fd A2FA")
    assert may(tracker, ":|") and not may(tracker, "||") and not may(tracker, "|]")
    closed = tracker_after(vocab, PART_A + "!\n" + BAR * 6 + "[1 " + BAR + "d2fd A2FA:|")
    assert may(closed, "[2") and may(closed, "!\n[2") and not may(closed, " d") and not may(closed, "!\n\n")
    second = tracker_after(vocab, PART_A + "!\n" + BAR * 6 + "[1 " + BAR + "d2fd A2FA:|[2 " + BAR + "d2fd A2D2")
    assert may(second, "||") and may(second, ":|") and not may(second, "| ")  # two bars, like the [1
    short = tracker_after(vocab, PART_A + "!\n" + BAR * 6 + "[1 " + BAR + "d2fd A2FA:|[2 d2fd A2FA")
    assert not may(short, "||") and may(short, "|")


def test_a_first_ending_opens_only_where_it_reaches_a_regular_count_in_a_few_bars(vocab):
    start = tracker_after(vocab, PART_A + "!\n")
    assert not may(start, "[1")  # an ending is the end of a part, not its start
    assert may(tracker_after(vocab, PART_A + "!\n" + BAR * 6), "[1")
    # After 8 bars a [1 would need 8 more to reach 16, more than FIRST_ENDING_BARS.
    assert FIRST_ENDING_BARS < 8 and not may(tracker_after(vocab, PART_A + "!\n" + BAR * 7 + HOME_BAR), "[1")


def test_the_final_bar_line_ends_the_tune_and_only_on_the_home_note(vocab):
    first = tracker_after(vocab, BAR * 7 + "d2fd A2D2")
    assert not may(first, "|]")  # one part is not a tune yet
    away = tracker_after(vocab, PART_A + "!\n" + BAR * 7 + "d2fd A2FA")
    assert not may(away, "|]") and not may(away, ":|!\n\n")  # away from home: the tune may not end here
    home = tracker_after(vocab, PART_A + "!\n" + BAR * 7 + "d2fd A2D2")
    assert may(home, "|]!\n\n") and may(home, ":|!\n\n") and not may(home, "|]!\nd")
    short = tracker_after(vocab, PART_A + "!\n" + BAR * 3 + "d2fd A2D2")  # 4 bars after a part of 8
    assert not may(short, "|]") and not may(short, "||!\n\n") and not may(short, ":|!\n\n") and may(short, "||")


def test_the_home_note_is_read_with_the_key_signature_and_the_bars_accidentals(vocab):
    prefix = PART_A + "!\n" + BAR * 7
    assert may(tracker_after(vocab, prefix + "d2fd A2F2", triad=True), ":|!\n\n")  # F# is in the triad
    assert not may(tracker_after(vocab, prefix + "d2fd A2=F", triad=True), "2:|!\n\n")  # F natural is not
    assert not may(tracker_after(vocab, prefix + "d2fd A2F"), "2:|!\n\n")  # nor is the third without triad
    # F# minor: the natural written earlier in the bar holds for its F; ^F is the tonic again.
    assert not may(tracker_after(vocab, prefix + "d2=Fd A2F", key="F# Minor"), "2:|!\n\n")
    assert may(tracker_after(vocab, prefix + "d2=Fd A2^F", key="F# Minor"), "2:|!\n\n")
    assert may(tracker_after(vocab, prefix + "d2fd D2z2"), ":|!\n\n")  # a rest: the D before it counts
    bflat = tracker_after(vocab, PART_A.replace("d2fd A2FA", "B2dB F2DF") + "!\n" + "B2dB F2DF|" * 7 + "B2dB F2B2",
                          key="Bb Major")
    assert may(bflat, ":|!\n\n")  # B is Bb with two flats


def test_a_part_that_ends_away_from_home_ends_and_another_part_follows(vocab):
    away = tracker_after(vocab, PART_A + "!\n" + BAR * 7 + "d2fd A2FA")
    assert may(away, ":|!\n") and may(away, "||") and not may(away, ":|!\n\n") and not may(away, "|]")
    # The notes are never steered: a note away from home may fill the bar that could end the tune.
    assert may(tracker_after(vocab, PART_A + "!\n" + BAR * 7 + "d2fd A2F"), "2")
    third = tracker_after(vocab, PART_A + "!\n" + BAR * 7 + "d2fd A2FA:|!\n" + BAR * 7 + "d2fd A2D2")
    assert may(third, ":|!\n\n") and third.form.parts == 2


def random_walk(vocab, meter: str, pickup_ticks: int, rng: random.Random, max_chars: int, lenient: int = 0):
    """Walks the masks at random from a tune with this pickup; returns the text; fails on a dead end."""
    tracker = TuneTracker(vocab, max_chars=max_chars, form=True)
    head = HEAD.format(meter=meter, key=rng.choice(["D Major", "A Dorian", "F# Minor", "Bb Major"]))
    pickup = "A/4" * (pickup_ticks // QUANTUM) + ("|" if pickup_ticks else "")
    text = head + pickup
    for char in text:
        tracker.push(char)
    while tracker.state.token != "done":
        allowed = np.flatnonzero(tracker.allowed())
        assert len(allowed), f"dead end after {text[-80:]!r}"
        index = int(rng.choice(allowed))
        tracker.push_index(index, enforce_form=len(text) >= len(head) + len(pickup) + lenient)
        text += vocab.chars[index]
        assert len(text) <= max_chars + 2, "the walk ran past the length cap"
    return text


@pytest.mark.parametrize("meter", sorted(METERS))
def test_no_dead_ends_for_any_meter_and_pickup(vocab, meter):
    bar = METERS[meter] * UNIT
    rng = random.Random(meter)
    finished = 0
    for pickup in range(0, bar // 2 + 1, QUANTUM):  # every pickup the tracker allows
        for walk in range(3):
            # The third walk starts with an opening of random length, unheld, as a person's may be.
            text = random_walk(vocab, meter, pickup, rng, max_chars=1200, lenient=rng.randint(1, 300) * (walk == 2))
            finished += text.endswith("\n\n")
    assert finished == 3 * len(range(0, bar // 2 + 1, QUANTUM))


@pytest.mark.parametrize("home", ["tonic", "triad"])
def test_composed_tunes_have_the_form_the_judge_looks_for(composer, home):
    request = parse_request({"seed": 0, "form": True, "home": home}, composer.description)
    tunes = composer.compose_all([request.with_seed(seed) for seed in range(24)])
    forms = [read_form(t.text) for t in tunes]
    assert all(t.reason == "end" for t in tunes)  # no dead end, no tune stopped at the cap
    assert all(f.paired and f.final_only_at_end and len(f.parts) >= 2 for f in forms)
    if home == "tonic":
        assert sum(bool(f.last_note_tonic) for f in forms) >= 22
        plain = composer.compose_all([parse_request({"seed": s, "form": False}, composer.description)
                                      for s in range(24)])
        assert sum(bool(read_form(t.text).last_note_tonic) for t in plain) < 20  # the form makes the difference
    else:
        assert all(f.last_note_triad for f in forms) and sum(bool(f.last_note_tonic) for f in forms) < 24


def test_the_form_is_on_by_default_with_strict_meter(composer):
    from tunesmith.form import FORM_BY_DEFAULT, HOME_BY_DEFAULT
    request = parse_request({"seed": 0}, composer.description)
    assert (request.form, request.home) == (FORM_BY_DEFAULT, HOME_BY_DEFAULT) == (True, "triad")


def test_an_openings_bars_are_counted_though_not_held(vocab):
    tracker = TuneTracker(vocab, max_chars=3000, form=True)
    for char in HEAD.format(meter="C|", key="D Major"):
        tracker.push(char)
    opening = BAR * 2 + "d2"
    for i, char in enumerate(opening):
        tracker.push(char, enforce_form=i == len(opening) - 1)
    assert tracker.form.part_bars == 2
    assert not may(tracker, "fd A2FA|" + BAR * 2 + "d2fd A2FA||")  # that part would have 6 bars


def test_after_a_second_ending_the_tune_may_end_with_any_final_bar_line(vocab):
    tune = PART_A + "!\n" + BAR * 6 + "[1 " + BAR + "d2fd A2FA:|[2 " + BAR + "d2fd A2D2"
    for ending in ("||!\n\n", ":|!\n\n", "|]!\n\n"):
        assert may(tracker_after(vocab, tune), ending)
    assert read_form(HEAD.format(meter="C|", key="D Major") + tune + "||!\n").parts == [8, 8]


def test_a_pickup_before_a_repeat_sign_starts_the_part_for_the_judge_too(vocab):
    tune = "FA|:" + BAR * 7 + "d2fd A2:|!\nFA|" + HOME_BAR * 7 + "d2fd D2||!\n"
    assert may(tracker_after(vocab, ""), tune + "\n")
    assert read_form(HEAD.format(meter="C|", key="D Major") + tune).parts == [8, 8]


def test_an_opening_that_stops_inside_a_first_ending_bar_line_can_be_finished(composer):
    # The person's bar line closes a short bar inside [1: only the form's grace lets the model
    # finish it (a plain | would leave the bar short; ||, |: or !\n[2 close the ending).
    opening = "FA|" + BAR * 6 + "[1 " + BAR + "FA|"
    request = parse_request({"opening": opening, "meter": "C|", "key": "D", "mode": "Major", "seed": 1},
                            composer.description)
    tune = composer.compose_all([request.with_seed(seed) for seed in range(4)])
    assert all(t.reason == "end" and opening in t.text for t in tune)
