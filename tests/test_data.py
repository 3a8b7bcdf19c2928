import pytest

from train.data import TUNE_SEPARATOR, fixed_split, join_tunes, read_corpus, sha256_of, split_tunes
from tunesmith.vocab import Vocabulary

CORPUS_SHA256 = "df3782d5f7b5a2f4c66aa7c13f13008d5f48757b3f5f51620cd6c1ceb2c53023"


def test_corpus_is_the_documented_file():
    from train.data import DEFAULT_CORPUS
    assert sha256_of(DEFAULT_CORPUS) == CORPUS_SHA256


def test_fixed_split_sizes_and_rule(tunes, split):
    assert len(tunes) == 806
    assert len(split.validation) == 81 and len(split.train) == 725
    assert split.validation[0] == tunes[0] and split.validation[1] == tunes[10]
    assert tunes[1] == split.train[0]
    assert not set(split.validation) & set(split.train)


def test_tunes_mostly_start_with_a_header(tunes):
    headed = [t for t in tunes if t.startswith("X:")]
    assert len(headed) == 804  # two chunks are second halves of tunes that hold a blank line


def test_joined_text_separates_tunes_by_a_blank_line(split):
    text = split.validation_text
    assert text.startswith("X:") and text.endswith(TUNE_SEPARATOR) and "\n\n\n" not in text
    assert split_tunes(text) == split.validation
    assert join_tunes(["a", "b"]) == "a\n\nb\n\n"


def test_vocabulary_round_trip_on_real_tunes(vocab, split, tmp_path):
    assert len(vocab) == 83
    for tune in split.validation[:20]:
        assert vocab.decode(vocab.encode(tune)) == tune
    vocab.save(tmp_path / "vocab.json")
    loaded = Vocabulary.load(tmp_path / "vocab.json")
    assert loaded.chars == vocab.chars
    assert loaded.decode(loaded.encode(split.train_text)) == split.train_text


def test_characters_outside_the_vocabulary_are_named(vocab):
    with pytest.raises(ValueError, match="outside the vocabulary.*'é'"):
        vocab.encode("X:1\nT:Café\n")


def test_missing_and_empty_corpus_files_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="corpus file not found"):
        read_corpus(tmp_path / "nope.abc")
    empty = tmp_path / "empty.abc"
    empty.write_text("\n\n  \n")
    with pytest.raises(ValueError, match="corpus file is empty"):
        read_corpus(empty)


def test_split_is_stable_under_extra_blank_lines():
    text = "X:1\nA\n\n\n\nX:2\nB\n\nX:3\nC\n"
    assert split_tunes(text) == ["X:1\nA", "X:2\nB", "X:3\nC"]
    s = fixed_split(split_tunes(text))
    assert s.validation == ["X:1\nA"] and s.train == ["X:2\nB", "X:3\nC"]
