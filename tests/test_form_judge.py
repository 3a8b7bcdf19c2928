"""The form judge (judge/form.py) on hand-made tunes with known forms and on the corpus."""
from judge.form import main, read_form, split_book, table

HEAD = "X:1\nT:Test\nM:{meter}\nL:1/8\nK:{key}\n"
REEL_PART = "d2fd A2FA|d2fd e2ce|d2fd A2FA|BcdB A2FA|!\nd2fd A2FA|d2fd e2ce|d2fd A2FA|BcdB A2FE|!\n"


def tune(body: str, meter: str = "C|", key: str = "D Major") -> str:
    return HEAD.format(meter=meter, key=key) + body


def test_a_regular_two_part_reel_with_a_pickup():
    body = ("FA|d2fd A2FA|d2fd e2ce|d2fd A2FA|BcdB A2FA|!\nd2fd A2FA|d2fd e2ce|d2fd A2FA|BcdB d2:|!\n"
            "fg|afdf a2fa|gfed e2ce|d2fd A2FA|BcdB A2FA|!\nd2fd A2FA|d2fd e2ce|d2fd A2FA|BcdB d4:|!\n")
    form = read_form(tune(body))
    assert form.parts == [8, 8] and form.regular  # each pickup aside, its completing bar counted
    assert form.paired and form.final_only_at_end and form.last_note_tonic and form.last_note_triad


def test_parts_of_other_lengths_are_counted_as_written():
    form = read_form(tune(REEL_PART.replace("|BcdB A2FE|!\n", "|!\n").replace("A2FA|!\nd2fd", "A2FA|!\nd2fd", 1) + "d2fd A2FA||!\n"))
    assert form.parts == [8] and form.regular
    form = read_form(tune("d2fd A2FA|d2fd e2ce|d2fd A2FA|BcdB A2FA|d2fd A2FA:|!\n"))
    assert form.parts == [5] and not form.regular


def test_second_endings_replace_the_first_and_must_follow_it():
    paired = read_form(tune(REEL_PART.replace("BcdB A2FE|!", "[1 BcdB A2FE:|[2 BcdB d4|]!")))
    assert paired.parts == [8] and paired.endings == 1 and paired.paired and paired.equal_endings
    alone = read_form(tune(REEL_PART.replace("BcdB A2FE|!", "[1 BcdB A2FE:|!")))
    assert alone.endings == 1 and not alone.paired
    longer = read_form(tune(REEL_PART.replace("BcdB A2FE|!", "[1 BcdB A2FE:|[2 BcdB A2FE|d2fd d4|]!")))
    assert longer.paired and not longer.equal_endings


def test_a_line_that_opens_with_a_note_before_a_repeat_is_music_not_a_header_field():
    body = REEL_PART.replace("BcdB A2FE|!\n", "[1 BcdB A2F!\nE:|[2 BcdB d4|]!\n")  # "E:|" opens a line
    form = read_form(tune(body))
    assert form.parts == [8] and form.paired and form.equal_endings and form.last_note_tonic


def test_a_final_bar_line_with_music_after_it_is_reported():
    assert not read_form(tune(REEL_PART.replace("BcdB A2FA|!\n", "BcdB A2FA|]!\n", 1))).final_only_at_end
    assert read_form(tune(REEL_PART.replace("A2FE|!", "A2FE|]!"))).final_only_at_end


def test_the_last_note_is_read_with_the_key_signature_and_the_bars_accidentals():
    def last(ending, key="D Major", meter="C|"):
        form = read_form(tune(REEL_PART.replace("A2FE|!", ending + "|]!"), meter=meter, key=key))
        return form.last_note_tonic, form.last_note_triad
    assert last("A2D2") == (True, True)
    assert last("A2F2") == (False, True)  # F is F# in D major: the third
    assert last("A2=F2") == (False, False)  # F natural: not in D major's triad
    assert last("=F2F2") == (False, False)  # the natural holds for the rest of the bar
    assert last("A2A2") == (False, True)
    assert last("A2A2", key="A Dorian") == (True, True)
    assert last("A2c2", key="A Dorian") == (False, True)  # C: Dorian's minor third
    assert last("A2^c2", key="A Dorian") == (False, False)
    assert last("A2F2", key="F# Minor") == (True, True)  # F is F# with three sharps
    assert last("G2B2", key="Bb Major") == (True, True)  # B is Bb with two flats
    assert last("A2z2") == (False, True) and last("D2z2") == (True, True)  # a rest is not a note
    assert last("A2G2") == (False, False)


def test_tuplets_and_broken_rhythm_keep_bars_whole():
    body = "(3ABc|d>e f<g (3aba g2|" + "|".join(["d2fd A2FA"] * 6) + "|dfed d2:|!\n"
    assert read_form(tune(body)).parts == [8]


def test_the_corpus_reads_as_regular_tunes_and_the_cli_prints_a_column_per_book(capsys, tmp_path):
    from train.data import DEFAULT_CORPUS
    tunes = split_book(DEFAULT_CORPUS.read_text())
    forms = [read_form(t) for t in tunes]
    assert len(tunes) > 700
    assert sum(f.regular for f in forms) / len(forms) > 0.9
    assert all(f.paired for f in forms) and sum(len(f.parts) >= 2 for f in forms) / len(forms) > 0.95
    assert 0.6 < sum(bool(f.last_note_tonic) for f in forms) / len(forms) < 0.95
    other = tmp_path / "mine.abc"
    other.write_text(tune(REEL_PART.replace("A2FE|!", "[1 A2FE:|!")) + "\n")
    assert main([str(DEFAULT_CORPUS), str(other)]) == 0
    printed = capsys.readouterr().out
    assert f"{DEFAULT_CORPUS.name} ({len(tunes)})" in printed and "mine.abc (1)" in printed
    assert "| every [1 has its [2 | 100% | 0% |" in printed
    assert table({"a": []}).count("\n") == 10


def test_set_dances_and_ocarolan_tunes_are_marked_for_the_row_that_sets_them_aside():
    body = "d2fd A2FA|" * 5 + "d2fd A2D2:|!\n"
    plain = read_form(tune(body))
    setdance = read_form(tune(body).replace("L:1/8", "Z: id:dc-setdance-3\nL:1/8"))
    assert plain.parts == setdance.parts == [6] and not plain.regular and not setdance.regular
    assert setdance.free_type and not plain.free_type
