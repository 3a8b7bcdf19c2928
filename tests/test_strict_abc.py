"""Strict meter: the tracker on the real corpus, hand-made invalid continuations, abcjs verdicts."""
import collections
import re

import numpy as np
import pytest

from judge import judge_tunes
from tunesmith.request import parse_request
from tunesmith.strict_abc import HeaderSpec, TuneState, TuneTracker, advance, explain
from .test_oneills import COMMITTED

HEAD_68 = "X:1\nT:Test\nM:6/8\nL:1/8\nK:D Major\n"
KNOWN_GAPS = {  # what the tracker does not support, by design or because the tune is irregular
    "key change in the body", "meter change in the body", "tie", "annotation, chord or grace note",
    "a short bar where a full bar belongs", "a bar that overflows the meter",
    "a line that does not end in a bar line and !", "a tune shorter than 8 bars",
    "a note length outside the supported set", "an ending out of order",
}


def state_after(text):
    state = TuneState()
    for char in text:
        state = advance(state, char)
        assert state is not None, f"refused {char!r} in {text!r}"
    return state


def allowed(text):
    state = state_after(text)
    return {c for c in map(chr, range(32, 127)) if advance(state, c) is not None} | (
        {"\n"} if advance(state, "\n") else set())


def corpus_report(tunes):
    report = collections.Counter()
    for tune in tunes:
        reason = explain(tune)
        report["accepted" if reason is None else re.sub(r" \(character.*", "", reason)] += 1
    return report


@pytest.mark.parametrize("source, floor", [("irish", 720), ("oneills", 1400)])
def test_tracker_accepts_real_tunes_and_names_what_it_does_not(source, floor, tunes):
    corpus = tunes if source == "irish" else [t for t in COMMITTED.read_text().split("\n\n") if t.strip()]
    report = corpus_report(corpus)
    print(source, dict(report))  # the report: which real tunes it does not support, and why
    assert report["accepted"] >= floor
    header_gaps = {k for k in report if k.startswith("header ")}
    unexplained = set(report) - KNOWN_GAPS - header_gaps - {"accepted", "the character ' ' here",
                                                            "the character 's' here"}
    assert not unexplained, unexplained


def test_real_tunes_the_tracker_accepts_are_well_formed_by_abcjs(split):
    accepted = [t for t in split.validation if explain(t) is None]
    verdicts = judge_tunes(accepted)
    assert len(accepted) > 60 and all(v["ok"] for v in verdicts), [v for v in verdicts if not v["ok"]]


def test_a_full_bar_takes_no_more_notes():
    assert "g" not in allowed(HEAD_68 + "ABc def")
    assert "4" not in allowed(HEAD_68 + "ABc de") and "2" in allowed(HEAD_68 + "ABc de")  # e4 overflows
    assert {"|", ":"} <= allowed(HEAD_68 + "ABc def")


def test_a_short_bar_may_not_close_mid_tune():
    assert "|" not in allowed(HEAD_68 + "ABc def|ABc d")
    assert "|" in allowed(HEAD_68 + "A|")  # the pickup
    # After a pickup of one unit, the bar before a repeat may hold the complement (5 units).
    assert ":" in allowed(HEAD_68 + "A|ABc def|ABc de")
    assert ":" not in allowed(HEAD_68 + "A|ABc def|ABc d")


def test_tuplets_and_broken_rhythm_must_close():
    text = HEAD_68 + "(3AB"
    assert "|" not in allowed(text) and ">" not in allowed(text)
    assert "2" not in allowed(text + "c")  # every note of a tuplet has the first one's length
    assert "|" not in allowed(HEAD_68 + "ABc d>")
    assert "2" not in allowed(HEAD_68 + "ABc d>e")  # a pair has one length on both sides


def test_headers_take_only_values_the_corpus_uses():
    assert "7" not in allowed("X:1\nT:Test\nM:")
    assert "H" not in allowed("X:1\nT:Test\nM:6/8\nL:1/8\nK:")
    assert "\n" not in allowed("X:1\nT:Test\nM:6/8\nL:1/8\nK:D Maj")
    assert "|" not in allowed("X:1\nT:Te")  # nothing in a title reads as music
    assert {"Z", "M"} == allowed("X:1\nT:Test\n") & {"Z", "M", "K", "L"}


def test_endings_come_in_order_and_tunes_have_eight_bars():
    bar = "ABc def|"
    assert "\n" not in allowed(HEAD_68 + bar * 3 + "!\n")
    assert "\n" in allowed(HEAD_68 + bar * 8 + "!\n")
    assert "2" not in allowed(HEAD_68 + bar + "[")
    assert "2" in allowed(HEAD_68 + bar + "[1 ABc def:|[")


def test_tracker_masks_and_forces_like_the_rules(composer):
    vocab = composer.description.vocab
    tracker = TuneTracker(vocab, 2000)
    for char in "X:1\nT:":
        tracker.push(char)
    free = tracker.allowed()
    assert free.sum() > 40 and not free[vocab.index["|"]]
    with pytest.raises(ValueError, match="not valid"):
        tracker.push("|")
    fixed = TuneTracker(vocab, 2000, HeaderSpec(title="Tam Lin"))
    for char in "X:1\nT:Tam":
        fixed.push(char)
    assert [vocab.chars[i] for i in np.flatnonzero(fixed.allowed())] == [" "]  # the fixed title, forced


def test_strict_tunes_are_well_formed_by_abcjs(composer):
    request = parse_request({"temperature": 1.0}, composer.description)
    tunes = composer.compose_all([request.with_seed(seed) for seed in range(8)])
    assert all(t.reason == "end" for t in tunes)
    verdicts = judge_tunes([t.text for t in tunes])
    assert all(v["ok"] for v in verdicts), [v["reasons"] for v in verdicts if not v["ok"]]
    assert all(explain(t.text) is None for t in tunes)


def test_strict_tunes_end_properly_at_the_length_cap(composer):
    request = parse_request({"temperature": 1.5, "seed": 4, "max_chars": 300}, composer.description)
    tune = composer.submit(request).result()
    assert len(tune.text) <= 300 and tune.text.endswith("!\n") and not tune.reason.startswith("error")
    assert judge_tunes([tune.text])[0]["ok"]


def test_judge_flags_what_it_should():
    good = HEAD_68 + "A|" + "ABc def|" * 8 + "!\n"
    verdicts = judge_tunes([good, good.replace("def|ABc", "de|ABc", 1), good + "ABc", "X:1\nT:t\nK:D\nABc|"])
    assert [v["ok"] for v in verdicts] == [True, False, False, False]
    assert "notes after the last bar line" in verdicts[2]["reasons"]
    assert "no M: field" in verdicts[3]["reasons"]


def test_body_masks_need_test_only_the_body_characters(split):
    """The automaton skips characters outside BODY_CHARS in the body: none is ever allowed there."""
    from tunesmith.strict_abc import BODY_CHARS
    others = [c for c in map(chr, range(32, 127)) if c not in BODY_CHARS]
    checked = 0
    for tune in split.validation[:20]:
        if explain(tune) is not None:
            continue
        state = TuneState()
        for char in tune:
            state = advance(state, char)
            if state.in_body:
                assert all(advance(state, c) is None for c in others)
                checked += 1
    assert checked > 1000


def test_the_shared_automaton_numbers_states_consistently_across_threads(vocab):
    import threading
    from tunesmith.strict_abc import Automaton
    automaton = Automaton(list(vocab.chars))
    specs = [HeaderSpec(title=f"Tune {i}") for i in range(200)]

    def number_all(offset):
        for i in range(len(specs)):
            spec = specs[(i + offset) % len(specs)]
            assert automaton.specs[automaton.number(TuneState(), spec)] == spec

    threads = [threading.Thread(target=number_all, args=(k * 37,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(automaton.states) == len(specs)
    assert all(automaton.specs[automaton.ids[(spec, TuneState())]] == spec for spec in specs)


def test_a_full_automaton_is_replaced_for_new_tunes_while_tunes_under_way_keep_theirs(vocab, split, monkeypatch):
    from tunesmith.strict_abc import Automaton
    monkeypatch.setattr(Automaton, "MAX_STATES", 40)
    monkeypatch.setattr(Automaton, "_current", {})
    tune = next(t for t in split.train if explain(t) is None and len(t) > 300).rstrip("\n") + "\n\n"
    under_way = TuneTracker(vocab, max_chars=2000)
    half = len(tune) // 2
    for char in tune[:half]:
        under_way.push(char)
    full = under_way.automaton
    assert len(full.states) >= Automaton.MAX_STATES
    fresh = TuneTracker(vocab, max_chars=2000)
    assert fresh.automaton is not full and len(fresh.automaton.states) == 1  # memory stays bounded
    twin = TuneTracker(vocab, max_chars=2000)
    for position, char in enumerate(tune):
        if position >= half:  # the tune under way goes on in its own automaton, past the cap
            assert np.array_equal(under_way.allowed(), twin.allowed())
            under_way.push(char)
        twin.push(char)
    assert under_way.automaton is full and len(full.states) > Automaton.MAX_STATES
    assert under_way.state == twin.state and under_way.state.token == "done"
