"""Training tunes moved to neighbouring keys (train/transpose.py): every pitch moves alike, the
round trip is exact, only keys the corpus uses, and the validation tunes are never moved."""
import re
from fractions import Fraction

from judge.form import TOKEN, key_of, pitch_of
from train.transpose import transpose, transposed_copies
from tunesmith.strict_abc import KEYS

TUNE = "X:1\nT:T\nM:C|\nL:1/8\nK:D Major\nFA|d2=cd A2FA|^G2AB c2dc|defg a2f2|d4 d2:|!\n"


def pitch_classes(tune: str) -> list[int]:
    """Every note's pitch class, read by the form judge's own parser (independent of transpose.py)."""
    _, _, signature = key_of(re.search(r"^K:(.*)$", tune, re.M).group(1))
    body = tune.split("\nK:", 1)[1].partition("\n")[2]
    classes, bar = [], {}
    for match in TOKEN.finditer(body):
        if match.group("bar"):
            bar.clear()
        elif match.group("note") and match.group("letter") != "z":
            classes.append(pitch_of(match, signature, bar))
    return classes


def test_a_tune_moves_a_step_round_the_circle_with_its_accidentals():
    up = transpose(TUNE, 1)
    assert "\nK:A Major\n" in up and "A2=GA" in up  # D major's C natural is A major's G natural, a fourth down
    down = transpose(TUNE, -1)
    assert "\nK:G Major\n" in down
    before = pitch_classes(TUNE)
    assert [(p - q) % 12 for p, q in zip(pitch_classes(up), before)] == [7] * len(before)
    assert [(p - q) % 12 for p, q in zip(pitch_classes(down), before)] == [5] * len(before)
    assert transpose(up, -1) == TUNE and transpose(down, 1) == TUNE


def test_the_corpus_moves_exactly_and_only_into_keys_it_uses(tunes):
    moved = [(t, transpose(t, 1)) for t in tunes]
    moved = [(t, m) for t, m in moved if m is not None]
    assert len(moved) > 0.9 * len(tunes)
    assert all(transpose(m, -1) == t for t, m in moved)
    for tune, up in moved[:200]:
        assert re.search(r"^K:(.*)$", up, re.M).group(1) in KEYS
        before, after = pitch_classes(tune), pitch_classes(up)
        assert len(before) == len(after) and {(p - q) % 12 for p, q in zip(after, before)} <= {7}
    assert transpose(TUNE.replace("K:D Major", "K:F# Minor"), 1) is None  # C# minor: not a corpus key


def test_training_data_gets_the_copies_and_validation_stays_as_it_is(split):
    from train.__main__ import load_training_data
    from train.data import DEFAULT_CORPUS
    vocab, plain, _ = load_training_data(str(DEFAULT_CORPUS), "")
    _, more, provenance = load_training_data(str(DEFAULT_CORPUS), "", transpose=2)
    assert more.validation == plain.validation == split.validation
    assert len(more.train) == len(plain.train) + provenance["transposed_tunes"]
    assert provenance["transposed_tunes"] == len(transposed_copies(plain.train, 2)) > 1.5 * len(plain.train)
    assert not vocab.unknown_chars("\n\n".join(more.train))
    assert Fraction(len(set(more.train)), len(more.train)) > Fraction(9, 10)  # copies, not repeats


def test_four_copies_add_two_steps_each_way_from_the_first_copies():
    copies = transposed_copies([TUNE], 4)
    keys = [re.search(r"^K:(.*)$", c, re.M).group(1) for c in copies]
    assert keys == ["A Major", "G Major", "E Major", "C Major"]  # D: a step each way, then two
    before = pitch_classes(TUNE)
    for copy, shift in zip(copies, (7, 5, 2, 10)):
        assert [(p - q) % 12 for p, q in zip(pitch_classes(copy), before)] == [shift] * len(before)
    assert transpose(transpose(copies[2], -1), -1) == TUNE and transpose(transpose(copies[3], 1), 1) == TUNE
    assert transposed_copies([TUNE], 2) == copies[:2] and transposed_copies([TUNE], 3) == copies[:3]
