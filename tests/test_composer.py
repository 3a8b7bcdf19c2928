"""The batched composer: solo equals batched, join/leave/cancel, snapshots, fixed fields, candidates."""
import time

import numpy as np
import pytest

from judge import judge_tunes
from tunesmith.composer import Composer
from tunesmith.request import RequestError, parse_request
from tunesmith.strict_abc import explain

SEEDS = range(50)


@pytest.fixture(scope="module")
def solo_tunes(composer):
    """Each tune written alone: the composer runs one stream at a time."""
    request = parse_request({}, composer.description)
    return {seed: composer.submit(request.with_seed(seed)).result().text for seed in SEEDS}


def test_batched_tunes_equal_solo_tunes_with_streams_joining_at_different_steps(shipped_engine, solo_tunes):
    request = parse_request({}, shipped_engine.description)
    with Composer(shipped_engine) as composer:
        streams = []
        for seed in SEEDS:  # each joins a few characters after the one before: at a different step
            if streams:
                while len(streams[-1].text) < 4 and not streams[-1].done:
                    time.sleep(0.0005)
            streams.append(composer.submit(request.with_seed(seed)))
        batched = {seed: s.result().text for seed, s in zip(SEEDS, streams)}
        peak = composer.stats()["peak_rows"]
    diverged = [seed for seed in SEEDS if batched[seed] != solo_tunes[seed]]
    print(f"divergence batched vs solo: {len(diverged)} of {len(SEEDS)} tunes (peak {peak} rows together)")
    assert peak > 5  # they really shared steps
    assert not diverged  # rows are independent in the engine and in sampling, so exactly equal


def test_cancel_mid_run_stops_one_stream_and_leaves_the_others(composer, solo_tunes):
    request = parse_request({}, composer.description)
    streams = [composer.submit(request.with_seed(seed)) for seed in range(4)]
    while len(streams[1].text) < 40 and not streams[1].done:
        time.sleep(0.0005)
    streams[1].cancel()
    results = [s.result(timeout=30) for s in streams]
    assert results[1].reason == "cancelled"
    assert solo_tunes[1].startswith(results[1].text) and len(results[1].text) < len(solo_tunes[1])
    assert [r.text for i, r in enumerate(results) if i != 1] == [solo_tunes[i] for i in (0, 2, 3)]


def test_a_cancelled_waiting_stream_never_runs(shipped_engine):
    request = parse_request({}, shipped_engine.description)
    with Composer(shipped_engine, max_rows=1) as composer:
        first, second = composer.submit(request), composer.submit(request.with_seed(1))
        second.cancel()
        assert first.result(timeout=30).reason == "end"
        assert second.result(timeout=30).reason == "cancelled" and second.first_char_at is None  # never stepped


def test_rows_are_capped_and_every_stream_completes(shipped_engine):
    request = parse_request({"max_chars": 400}, shipped_engine.description)
    with Composer(shipped_engine, max_rows=3) as composer:
        results = composer.compose_all([request.with_seed(seed) for seed in range(7)])
        stats = composer.stats()
    assert stats["max_rows"] == 3 and stats["peak_rows"] == 3
    assert all(r.reason in ("end", "length") for r in results)


def test_continue_from_a_bar_reproduces_or_branches(composer):
    request = parse_request({"seed": 11}, composer.description)
    stream = composer.submit(request)
    original = stream.result().text
    assert len(stream.snapshots) >= 8
    snapshot = stream.snapshot(5)
    assert original.startswith(snapshot.text) and original[len(snapshot.text)] in "|:"
    assert snapshot.text.count("|") + snapshot.text.count("::") >= 4
    again = composer.continue_from(snapshot).result()
    assert again.text == original  # the same seed writes the same tune
    branches = [composer.continue_from(snapshot, seed=seed).result().text for seed in (101, 102, 103)]
    assert all(b.startswith(snapshot.text) for b in branches)  # the opening is kept exactly
    assert any(b != original for b in branches)
    assert all(explain(b) is None for b in branches)  # still strict, from the restored tracker
    with pytest.raises(ValueError, match="bar must be from 1"):
        stream.snapshot(len(stream.snapshots) + 1)
    # A continuation keeps the bar numbers of the tune it continues.
    continued = composer.continue_from(snapshot)
    continued.result()
    assert [s.text for s in continued.snapshots] == [s.text for s in stream.snapshots]
    assert continued.snapshot(3).text == stream.snapshot(3).text
    with pytest.raises(RequestError, match="seed"):
        composer.continue_from(snapshot, seed=-1)


def test_fixed_header_fields_appear_verbatim_and_tunes_are_well_formed(composer):
    cases = [
        {"tune_type": "jig", "key": "G", "mode": "Dorian", "title": "The Long Road"},
        {"tune_type": "reel", "meter": "C|", "key": "D"},
        {"tune_type": "polka", "mode": "Major", "temperature": 1.5},
        {"meter": "3/4", "key": "A", "mode": "Minor", "title": "Waltz for Anna"},
        {"tune_type": "hornpipe", "opening": "AG|FAdA FAdA|", "meter": "C|"},
    ]
    tunes = []
    for values in cases:
        request = parse_request(values, composer.description)
        tunes += [t.text for t in composer.compose_all([request.with_seed(seed) for seed in range(3)])]
    for i, text in enumerate(tunes):
        values = cases[i // 3]
        header = text.split("\n")
        if "title" in values:
            assert f"T:{values['title']}" in header
        if "tune_type" in values:
            assert any(line.startswith(f"Z: id:dc-{values['tune_type']}-") for line in header)
        if "meter" in values:
            assert f"M:{values['meter']}" in header
        key_line = next(line for line in header if line.startswith("K:"))
        assert key_line.startswith(f"K:{values.get('key', '')}")
        assert key_line.endswith(values.get("mode", ""))
        if "opening" in values:
            assert text.split(key_line + "\n", 1)[1].startswith(values["opening"])
    verdicts = judge_tunes(tunes)
    assert all(v["ok"] for v in verdicts), [(t, v["reasons"]) for t, v in zip(tunes, verdicts) if not v["ok"]]


def test_fixed_fields_are_forced_with_strict_meter_off(composer):
    request = parse_request({"strict": False, "title": "Tam Lin", "meter": "6/8"}, composer.description)
    tune = composer.submit(request).result().text
    assert tune.startswith("X:1\nT:Tam Lin\n") and "\nM:6/8\n" in tune


def test_same_request_same_tune_and_candidates_rank(composer):
    request = parse_request({"temperature": 0.9, "seed": 40}, composer.description)
    assert composer.submit(request).result().text == composer.submit(request).result().text
    streams = composer.candidates(request, 4)
    tunes = [s.result() for s in streams]
    assert [t.seed for t in tunes] == [40, 41, 42, 43]
    assert len({t.text for t in tunes}) == 4
    scores = [t.mean_log_likelihood for t in tunes]
    assert all(np.isfinite(scores)) and all(-3 < s < 0 for s in scores)


def test_updates_come_at_a_readable_pace_and_end_with_the_tune(composer):
    request = parse_request({"seed": 3}, composer.description)
    stream = composer.submit(request)
    updates = list(stream.updates(interval=0.01))
    assert updates[-1] == stream.result().text
    assert all(b.startswith(a) for a, b in zip(updates, updates[1:]))
    assert len(updates) < len(updates[-1]) / 2  # not one update per character


def test_a_fault_while_streams_join_ends_them_instead_of_leaving_them_waiting(shipped_engine):
    class FailingOnce:
        """The shipped engine, except that the first rows to join fail."""
        def __init__(self, engine):
            self.engine, self.failed = engine, False

        def __getattr__(self, name):
            return getattr(self.engine, name)

        def from_host(self, state):
            if not self.failed:
                self.failed = True
                raise RuntimeError("device lost")
            return self.engine.from_host(state)

    request = parse_request({"max_chars": 300}, shipped_engine.description)
    with Composer(FailingOnce(shipped_engine)) as composer:
        first = composer.submit(request)
        assert first.result(timeout=30).reason == "error: device lost"
        assert composer.submit(request).result(timeout=30).reason in ("end", "length")  # it recovers


def test_candidates_refuse_seeds_past_the_limit(composer):
    from tunesmith.request import MAX_SEED
    request = parse_request({"seed": MAX_SEED - 1}, composer.description)
    with pytest.raises(RequestError, match="seed"):
        composer.candidates(request, 3)


def test_updates_stop_at_their_timeout_when_the_tune_is_not_done(composer):
    import time

    from tunesmith.stream import Stream
    stream = Stream(parse_request({}, composer.description), composer.description)  # never driven
    started = time.monotonic()
    assert list(stream.updates(0.05, timeout=0.3)) == []
    assert 0.25 <= time.monotonic() - started < 2 and not stream.done


def test_a_chain_of_continuations_is_a_complete_description_of_a_tune(composer):
    from tunesmith.explore import ranked, shorten, write_chain
    request = parse_request({"seed": 31}, composer.description)
    original = composer.submit(request).result()
    assert write_chain(composer, request, ((3, 31),)).result().text == original.text  # its own seed
    once = write_chain(composer, request, ((3, 40),)).result().text
    twice = write_chain(composer, request, ((3, 40), (6, 41))).result().text
    stream = write_chain(composer, request, ((3, 40),))
    stream.wait()
    assert twice.startswith(stream.snapshot(6).text) and once.startswith(stream.snapshot(6).text)
    assert shorten(((3, 40), (6, 41)), 4, 9) == ((3, 40), (4, 9)) and shorten(((3, 40),), 2, 5) == ((2, 5),)
    with pytest.raises(RequestError, match="continue from bar 1 to"):
        write_chain(composer, request, ((999, 1),))
    tunes = composer.compose_all([request.with_seed(s) for s in (1, 2, 3)])
    scores = [t.mean_log_likelihood for t in ranked(tunes)]
    assert scores == sorted(scores, reverse=True)
