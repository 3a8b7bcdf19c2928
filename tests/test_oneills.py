"""O'Neill's 1850 normalisation into the seed's form, and the guard against validation copies."""
import re

import pytest

from train import oneills
from train.data import DEFAULT_CORPUS, split_tunes
from train.dedup import TuneIndex, containment, diatonic_steps, shingles, title_key

# Real tunes as music21 ships them (oneills1850/0001-0050.abc; transcribed by Norbert Paap).
LITTLE_HEATHY_HILL = """X: 3
T: The Little Heathy Hill
M: C
L: 1/8
B: "O'Neill's 3"
N: "Moderate" "collected by F. O'Neill"
Z: "Transcribed by Norbert Paap, norbertp@bdu.uva.nl"
K:Gm
B/2-c/2 | d2 d>-c B2 A-B | (GBAG) F2 D-F | (G>AG).F (D>CD).F | G2 G>-A B3 c |
(d>ed).c B2 A>-B | (GBAG) F2 D-F | (G>AG).F (D>CD).F | G2 G>A G3 ||
D | GABc d2 d=e | f2 =ed c>AF>>c | d>edc B2 AB | GFD=E F2 B-c |
(d>ed).c B2 A2 | (GBAG) F2 D-F | (G>AG).F (D>CD).F | G2 G>A G3 ||
"""
FARE_YOU_WELL = """X: 2
T: Fare You Well
M: 2/4
L: 1/16
B: "O'Neill's 2"
N: "Slow" "collected by F. O'Neill"
Z: "Transcribed by Norbert Paap, norbertp@bdu.uva.nl"
K:D
f-g | a3-b g3-a | f4 e3-d | d3-c A3-B | c4 d3-e |
d3-c (3(A2G2F2) | G4F2-G2 | A-d3 d3-e | d6 ||
A2 | d3-e f3-g | a4 a3-g | a3-b a3-f | g4 g3-g |
a3-b a3-g | {e}=f4 e3-c | d3-c A3-G | A6 f-g |
"""
SEED_HEADER = [r"X:\d+", r"T:\S.*", r"Z: id:oneills1850-\d+", r"M:(C\|?|\d+/\d+)", r"L:1/8",
               r"K:[A-G][#b]? (Major|Minor|Dorian|Mixolydian)"]
COMMITTED = DEFAULT_CORPUS.parent / "oneills1850.abc"


def norm(body, header="X:1\nT:t\nM:C|\nL:1/8\nK:D\n"):
    return oneills.normalise_tune(header + body, 1)


def body_lines(tune):
    return tune.split("\n")[6:]


def test_real_tune_before_and_after():
    # Slurs, ties, staccato dots, a `>>` double dot and K:Gm become the seed's dialect; the
    # section end `||` stays, and only the tune's last bar line is `|]`.
    assert oneills.normalise_tune(LITTLE_HEATHY_HILL, 3) == "\n".join([
        "X:3", "T:The Little Heathy Hill", "Z: id:oneills1850-3", "M:C", "L:1/8", "K:G Minor",
        "B/c/|d2 d>c B2 AB|GBAG F2 DF|G>AGF D>CDF|G2 G>A B3 c|!",
        "d>edc B2 A>B|GBAG F2 DF|G>AGF D>CDF|G2 G>A G3||!",
        "D|GABc d2 d=e|f2 =ed c>AF7/4c/4|d>edc B2 AB|GFD=E F2 Bc|!",
        "d>edc B2 A2|GBAG F2 DF|G>AGF D>CDF|G2 G>A G3|]!",
    ])


def test_sixteenth_unit_tune_is_halved_to_eighths():
    out = oneills.normalise_tune(FARE_YOU_WELL, 2)
    assert out.split("\n")[:8] == [
        "X:2", "T:Fare You Well", "Z: id:oneills1850-2", "M:2/4", "L:1/8", "K:D Major",
        "f/g/|a3/2b/ g3/2a/|f2 e3/2d/|d3/2c/ A3/2B/|c2 d3/2e/|!",
        "d3/2c/ (3AGF|G2FG|A/d3/2 d3/2e/|d3||!",  # a section end inside the tune
    ]


@pytest.mark.parametrize("src, want", [
    ("A2", "A"), ("A", "A/"), ("A3", "A3/2"), ("A4", "A2"), ("A/2", "A/4"),
    ("A>B", "A/>B/"), ("(3A2B2c2", "(3ABc"),
])
def test_halving_lengths(src, want):
    assert body_lines(norm(src + "|]\n", "X:1\nT:t\nM:C|\nL:1/16\nK:D\n")) == [want + "|]!"]


@pytest.mark.parametrize("key, want", [("Gm", "G Minor"), ("D", "D Major"), ("Ador", "A Dorian"),
                                       ("Dmix", "D Mixolydian"), ("F#m", "F# Minor")])
def test_keys_are_spelled_as_in_the_seed(key, want):
    assert oneills.parse_key(key) == want


@pytest.mark.parametrize("src, want", [
    ('"G"A{g}B~c .d (3(efg) TA uB vc !trill!d +fermata+e|]', "ABc d (3efg A B c d e|]"),
    ("(AB)-C D|]", "ABC D|]"),
    ("|:AB cd:|\n|:ef ga:|\n", "AB cd:|\nef ga:|"),
    ("AB|1 cd:|2 ef|]", "AB|[1 cd:|[2 ef|]"),
    ("AB|cd|\\\nef|ga|\n", "AB|cd|ef|ga|]"),
])
def test_body_rules(src, want):
    assert body_lines(norm(src)) == [line + "!" for line in want.split("\n")]


@pytest.mark.parametrize("header, body", [
    ("X:1\nT:t\nM:C\nL:1/8\nV:1\nK:D\n", "AB|]"),       # several voices
    ("X:1\nT:t\nM:3/8\nL:1/8\nK:D\n", "AB|]"),          # a meter the seed never uses
    ("X:1\nT:t\nM:C\nL:1/8\nK:D\n", "[DF]B|]"),         # a chord
    ("X:1\nT:t\nM:C\nL:1/8\nK:D\n", "AB|\nM:3/4\nAB|]"),  # a meter change
])
def test_inexpressible_tunes_are_dropped_with_a_reason(header, body):
    drops = []
    assert oneills.normalise_tune(header + body, 1, drops) is None and len(drops) == 1


def test_committed_corpus_is_in_the_seed_form(vocab):
    text = COMMITTED.read_text()
    tunes = split_tunes(text)
    assert len(tunes) > 1500 and "\n\n\n" not in text
    assert not vocab.unknown_chars(text)
    for tune in tunes:
        lines = tune.split("\n")
        assert all(re.fullmatch(p, line) for p, line in zip(SEED_HEADER, lines[:6])), lines[:6]
        assert all(line.endswith(("|!", "|]!")) or line.startswith("K:") for line in lines[6:]), tune
        assert "|]" not in tune.rstrip("\n")[:-3], tune  # the final bar line ends the tune, nothing else


def test_titles_and_notes_identify_copies():
    assert title_key("X:1\nT:Rose in the Heather, The\n") == title_key("X:9\nT:The  Rose in the heather\n")
    tune = "X:1\nT:A\nK:D Major\nAFD DFA|dAF DFA|Bcd ABG|FED E3|AFD DFA|dAF DFA|Bcd efg|fdd d3|]!"
    # The same notes a tone higher, other rhythm and ornaments: the diatonic steps are the same.
    moved = "X:2\nT:B\nK:E Major\nB>GE EGB|e2BG EGB|cde BcA|GFE F2|BGE EGB|eBG EGB|cde fga|gee e2|]!"
    assert diatonic_steps(tune) == diatonic_steps(moved)
    assert containment(shingles(tune), shingles(moved)) == 1.0
    other = "X:3\nT:C\nK:G Major\nGABc dedB|cBAG FGAF|GBdg fdcA|BGGF G4|]!"
    index = TuneIndex([tune])
    assert index.copy_of(moved) == (0, "notes")
    assert index.copy_of("X:4\nT:A\nK:D Major\nccc|]!") == (0, "title")
    assert index.copy_of(other) is None


def test_committed_corpus_holds_no_validation_tune(split):
    index = TuneIndex(split.validation)
    assert [t for t in split_tunes(COMMITTED.read_text()) if index.copy_of(t)] == []


def test_build_corpus_drops_validation_copies_and_second_transcriptions(split, corpus_text):
    copy = LITTLE_HEATHY_HILL.replace("The Little Heathy Hill", split.validation[0].split("\n")[1][2:])
    again = LITTLE_HEATHY_HILL
    kept, reasons = oneills.build_corpus([LITTLE_HEATHY_HILL, FARE_YOU_WELL, again, copy],
                                         split.validation, set(corpus_text))
    assert [t.split("\n")[:2] for t in kept] == [["X:1", "T:The Little Heathy Hill"], ["X:2", "T:Fare You Well"]]
    assert reasons["second transcription of a book number"] == 1
    assert reasons["copy of a validation tune by title"] == 1
