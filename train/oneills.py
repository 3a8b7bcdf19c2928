#!/usr/bin/env python3
"""Normalise music21's O'Neill's 1850 tunes into the seed corpus's form, minus validation copies.

    pip download --no-deps music21==10.5.1 -d /tmp/m21
    python -m train.oneills /tmp/m21/music21-10.5.1-py3-none-any.whl --out data/oneills1850.abc

The seed (data/irish.abc) is a deliberately small ABC dialect: header lines X, T, Z (id), M,
L:1/8, K:<Tonic> <Mode>; body lines ending in `|!`; no decorations, slurs, grace notes, chords or
`|:` start-repeats. A character model learns whatever characters it sees, so anything outside that
dialect is rewritten into it exactly or the tune is dropped, with a reason. Tunes that copy a
validation tune of irish.abc (same title, or the same notes: train/dedup.py) are dropped too.
"""
import argparse
import re
import zipfile
from collections import Counter
from fractions import Fraction
from pathlib import Path

from .data import DEFAULT_CORPUS, fixed_split, read_corpus, split_tunes
from .dedup import TuneIndex

COLLECTION = "music21/corpus/oneills1850/"
DEFAULT_OUT = DEFAULT_CORPUS.parent / "oneills1850.abc"

# Meters that occur in the seed's headers.
SEED_METERS = {"C", "C|", "2/4", "3/4", "4/4", "6/8", "9/8"}
# Only these four modes occur in the seed; accept full names and 3-letter abbreviations.
MODES = {"": "Major", "maj": "Major", "major": "Major", "ion": "Major", "ionian": "Major",
         "m": "Minor", "min": "Minor", "minor": "Minor", "aeo": "Minor", "aeolian": "Minor",
         "dor": "Dorian", "dorian": "Dorian",
         "mix": "Mixolydian", "mixolydian": "Mixolydian"}
# Every character the seed's (non-header) body lines use once quoted text is ignored.
BODY_VOCAB = set("ABCDEFGabcdefgz,'^=_0123456789/<>(|:[] !")
# ABC decoration shortcuts (standard set plus `k`, a transcriber's ornament mark here).
DECORATIONS = set("~.HLMOPSTuvk")


class Drop(Exception):
    """Raised with a short, countable reason when a tune can't be expressed exactly."""


# ---------------------------------------------------------------- header helpers
def parse_key(value):
    """`Gm` -> `G Minor`, `Ador` -> `A Dorian`, `D` -> `D Major`."""
    m = re.fullmatch(r"([A-G][#b]?)\s*([A-Za-z]*)", value.strip())
    if not m or m.group(2).lower() not in MODES:
        raise Drop("key not expressible (%s)" % value.strip() if m is None else "mode not in seed")
    return "%s %s" % (m.group(1), MODES[m.group(2).lower()])


def parse_len(text):
    """ABC note-length suffix -> Fraction of L.  '' = 1, '/' = 1/2, '//' = 1/4, '3/2' = 3/2."""
    m = re.fullmatch(r"(\d*)(/*)(\d*)", text)
    if not m or (m.group(3) and len(m.group(2)) != 1):
        raise Drop("unparseable note length")
    num = int(m.group(1) or 1)
    den = int(m.group(3)) if m.group(3) else 2 ** len(m.group(2))
    return Fraction(num, den)


def fmt_len(f):
    """Fraction -> the seed's spelling: '' for 1, '2', '/' for 1/2 (seed never writes /2), '3/2'."""
    if f == 1:
        return ""
    if f.denominator == 1:
        return str(f.numerator)
    if f == Fraction(1, 2):
        return "/"
    return ("%d/%d" % (f.numerator, f.denominator)) if f.numerator != 1 else "/%d" % f.denominator


# ---------------------------------------------------------------- body tokeniser
# Order matters: quoted strings / grace groups / inline fields / chords are
# recognised before the single-character rules so their contents are skipped whole.
TOKEN = re.compile(r"""
  (?P<quote>"[^"]*")
 |(?P<grace>\{[^}]*\})
 |(?P<deco>![^!\n]*!)
 |(?P<plus>\+[^+\n]*\+)
 |(?P<field>\[[A-Za-z]:[^\]]*\])
 |(?P<chord>\[[A-Ga-g^=_][^\]|]*\])
 |(?P<bar>[|:\[\]]*[|:]\]?)(?P<ending>\[?\d+(?:[,-]\d+)*)?
 |(?P<lone_ending>\[\d+)
 |(?P<tuplet>\((?P<p>\d+)(?::(?P<q>\d*))?(?::\d*)?)
 |(?P<note>(?P<acc>\^\^?|__?|=)?(?P<pitch>[A-Ga-gzx])(?P<oct>[,']*)(?P<len>[\d/]*))
 |(?P<broken>[<>]+)
 |(?P<space>[ \t]+)
 |(?P<nl>\n)
 |(?P<other>.)
""", re.X)


def bar_kind(s):
    """Map any ABC bar spelling onto the four the corpus uses: ':|', '||', '|]', '|'.

    Start-repeats are implicit in the seed: `|:` -> `|`, `::`/`:|:`/`|:|` -> `:|`. A section end
    `||`/`[|` stays `||`, and `|]` is the tune's end (render_tune moves any other to `||`).
    """
    core = s.rstrip(":")              # trailing colons are start-repeats: dropped
    if ":" in core or (core == "" and len(s) >= 2):
        return ":|"
    if core == "":
        raise Drop("stray ':'")
    if "]" in core:
        return "|]"
    if "||" in core or "[|" in core:
        return "||"
    return "|"


RANK = {"|": 0, "||": 1, "|]": 1, ":|": 2}


def tokenise(body, factor):
    """Body text -> list of (kind, text) with everything non-seed removed or rewritten."""
    toks = []
    for m in TOKEN.finditer(body):
        g = m.groupdict()
        if g["quote"] or g["grace"] or g["deco"]:
            continue                                   # annotations, grace notes, !decorations!
        if g["plus"] is not None:
            if re.fullmatch(r"\+[A-Za-z]{2,}\+", g["plus"]):
                continue                               # +trill+ style decoration
            raise Drop("old-style +chord+")
        if g["field"]:
            raise Drop("inline field [X:...]")
        if g["chord"]:
            raise Drop("chord [..]")
        if g["bar"] is not None:
            ending = g["ending"].lstrip("[") if g["ending"] else None
            toks.append(["bar", bar_kind(g["bar"]), ending])
        elif g["lone_ending"]:
            toks.append(["bar", None, g["lone_ending"][1:]])   # `[1` with no bar line
        elif g["tuplet"]:
            if g["p"] != "3" or g["q"] not in (None, "", "2"):
                raise Drop("tuplet other than (3")
            toks.append(["tuplet", "(3"])
        elif g["note"]:
            if g["pitch"] == "x":
                continue                               # invisible rest (mostly fermata holders `Hx`)
            toks.append(["note", (g["acc"] or "") + g["pitch"] + g["oct"], parse_len(g["len"]) * factor])
        elif g["broken"]:
            if g["broken"] not in (">", "<", ">>", "<<"):
                raise Drop("odd broken rhythm")
            toks.append(["broken", g["broken"]])
        elif g["space"]:
            toks.append(["space"])
        elif g["nl"]:
            toks.append(["nl"])
        else:
            c = g["other"]
            if c in "()-" or c in DECORATIONS:
                continue                               # slurs, ties, decoration shortcuts
            if c == "Z":
                raise Drop("multi-measure rest Z")
            raise Drop("character %r" % c)
    double_dots(toks)
    return toks


def double_dots(toks):
    """`A>>B` has no seed spelling: write the exact lengths out (7/4 and 1/4 of each)."""
    for i, t in enumerate(toks):
        if t[0] == "broken" and len(t[1]) == 2:
            prev = next((u for u in reversed(toks[:i]) if u[0] == "note"), None)
            nxt = next((u for u in toks[i + 1:] if u[0] == "note"), None)
            if prev is None or nxt is None:
                raise Drop("odd broken rhythm")
            a, b = (Fraction(7, 4), Fraction(1, 4)) if t[1] == ">>" else (Fraction(1, 4), Fraction(7, 4))
            prev[2] *= a
            nxt[2] *= b
            t[0] = "gone"


def merge_bars(ln):
    """Collapse bar tokens separated only by spaces (`:| |:`, `| |`) into one,
    keeping the strongest kind and the later ending number."""
    out = []
    for t in ln:
        if t[0] == "bar" and t[1] is not None:
            j = len(out) - 1
            while j >= 0 and out[j][0] == "space":
                j -= 1
            if j >= 0 and out[j][0] == "bar" and out[j][1] is not None and not out[j][2]:
                del out[j + 1:]
                if RANK[t[1]] > RANK[out[j][1]]:
                    out[j][1] = t[1]
                out[j][2] = t[2]
                continue
        out.append(t)
    while out and out[0][0] == "space":
        out.pop(0)
    return out


def ends_with_bar(ln):
    real = [t for t in ln if t[0] != "space"]
    return bool(real) and real[-1][0] == "bar" and real[-1][1] is not None and not real[-1][2]


def render_lines(toks):
    """Tokens -> seed-shaped body lines (strings without the trailing `!`)."""
    lines, cur = [], []
    for t in toks:
        if t[0] == "nl":
            lines.append(cur)
            cur = []
        elif t[0] != "gone":
            cur.append(t)
    lines.append(cur)

    out = []
    for ln in lines:
        ln = merge_bars(ln)
        if not ln:
            continue
        # A bar opening a line belongs with the previous line's end bar: O'Neill's
        # writes `... :|` / `|: ...`, the seed `...:|!` / `...`.  Its ending number
        # (`|1`, `:|2`) stays at the start of this line, as `[1 ` does in the seed.
        if ln[0][0] == "bar" and ln[0][1] is not None:
            lead = ln.pop(0)
            if out:
                if ends_with_bar(out[-1]):
                    out[-1] = merge_bars(out[-1] + [["bar", lead[1], None]])
                else:
                    out[-1].append(["bar", lead[1], None])
            if lead[2]:
                ln.insert(0, ["bar", None, lead[2]])
        if not ln:
            continue
        if out and not ends_with_bar(out[-1]):
            out[-1] += [["space"]] + ln        # line broke mid-bar: join, seed lines end in bars
        else:
            out.append(ln)

    result = []
    for ln in out:
        s = ""
        for t in ln:
            if t[0] == "note":
                s += t[1] + fmt_len(t[2])
            elif t[0] in ("tuplet", "broken"):
                s += t[1]
            elif t[0] == "space":
                s += " "
            elif t[0] == "bar":
                s = s.rstrip(" ") + (t[1] or "") + ("[%s " % t[2] if t[2] else "")
        # seed spacing: no spaces next to bar lines, single spaces elsewhere, `[1 x`
        s = re.sub(r" +", " ", s)
        s = re.sub(r" ?(:\||\|\]|\|) ?", r"\1", s)
        s = re.sub(r"(\[\d+(?:[,-]\d+)*)(?=\S)", r"\1 ", s).strip()
        if s:
            result.append(s)
    return reshape(result)


BAR = re.compile(r":\||\|\]|\|")


def reshape(lines):
    """Mimic the seed's line shape.  The seed ends a line at every section end
    (`|]`, `:|`), starts the next section's line with its pickup (`AG|FAdA ...`),
    and has ~4 bars a line; O'Neill's often puts a pickup or a section's last bar
    on the wrong side of a line break and writes 8 bars a line."""
    out, carry = [], ""
    for ln in lines:
        cuts = [m.end() for m in BAR.finditer(ln)
                if m.group() != "|" and m.end() < len(ln) and ln[m.end()] != "["]
        segs = [ln[i:j] for i, j in zip([0] + cuts, cuts + [len(ln)])]
        segs[0] = carry + segs[0]
        carry = ""
        for n, seg in enumerate(segs):
            one_bar = len(BAR.findall(seg)) == 1
            if n == 0 and len(segs) > 1 and one_bar and out:
                out[-1] += seg                  # a section's last bar opening a line
            elif n == len(segs) - 1 and n > 0 and one_bar:
                carry = seg                     # pickup after a mid-line section end
            else:
                out.append(seg)
    if carry:
        out.append(carry)
    final = []
    for ln in out:
        bars = [m.end() for m in BAR.finditer(ln)]
        if len(bars) >= 8:                      # halve, keeping a leading pickup bar
            cut = bars[(len(bars) + 1) // 2 - 1]
            final += [ln[:cut], ln[cut:].lstrip()]
        else:
            final.append(ln)
    return final


# ---------------------------------------------------------------- one tune
def split_fields(raw):
    """Raw tune text -> (header fields list, body lines list).  Header ends at the first K:."""
    header, body, in_body = [], [], False
    for line in raw.splitlines():
        line = re.sub(r"(?<!\\)%.*", "", line).rstrip()     # comments
        if not line.strip():
            continue
        fm = re.match(r"^([A-Za-z]):(.*)$", line)
        if not in_body:
            if fm:
                header.append((fm.group(1), fm.group(2).strip()))
                in_body = fm.group(1) == "K"
            continue                                           # stray header text
        body.append(line)
    return header, body


def collection_number(raw):
    """The tune's number in the book: `B: O'Neill's <n>` when present (three X: fields
    in the music21 files are typos, e.g. X:800 for tune 700), else X."""
    b = re.search(r"^B:.*?O.Neill.s\s*(\d+)", raw, re.M)
    x = re.search(r"^X:\s*(\d+)", raw, re.M)
    return int(b.group(1)) if b else int(x.group(1)) if x else None


def normalise_tune(raw, number, drops=None):
    """Return the tune in seed form numbered `number`, or None (reason appended to `drops`)."""
    try:
        return _normalise(raw, number)
    except Drop as e:
        if drops is not None:
            drops.append(str(e))
        return None


def _normalise(raw, number):
    header, body = split_fields(raw)
    fields = {}
    for k, v in header:
        fields.setdefault(k, v)                  # first value wins (first title only)
    if "V" in fields or re.search(r"^V:|\[V:", raw, re.M):
        raise Drop("multi-voice (V:)")
    if "K" not in fields:
        raise Drop("no K: field")
    title = fields.get("T", "").strip().strip('"').strip()
    if not title:
        raise Drop("no title")
    meter = fields.get("M", "").replace(" ", "")
    if meter not in SEED_METERS:
        raise Drop("meter not in seed (%s)" % (meter or "none"))
    # ABC default unit length: 1/16 if the meter is below 3/4, else 1/8.
    if "L" in fields:
        unit = Fraction(fields["L"].replace(" ", ""))
    else:
        unit = Fraction(1, 8) if meter in ("C", "C|") or Fraction(meter) >= Fraction(3, 4) else Fraction(1, 16)
    factor = unit / Fraction(1, 8)               # 1/16 -> halve every length; 1/4 -> double
    key = parse_key(fields["K"])

    # Body: join `\` continuations; keep a whole-line K: change (the seed has three,
    # written `K:<Tonic> <Mode>` on their own line); any other mid-tune field that
    # changes the music (M, L, V, ...) can't be expressed, informational ones go.
    pieces, text = [], ""
    for line in body:
        fm = re.match(r"^([A-Za-z]):(.*)$", line)
        if fm:
            if fm.group(1) == "K":
                pieces.append(text)
                pieces.append(("K", parse_key(fm.group(2))))
                text = ""
            elif fm.group(1) in "MLVIU":
                raise Drop("mid-tune %s: change" % fm.group(1))
            continue                              # T:/N:/W:/w:/P:/Q: in body: drop
        line = line.rstrip()
        if line.endswith("\\"):
            text += line[:-1] + " "
        else:
            text += line + "\n"
    pieces.append(text)

    out_lines = []
    for piece in pieces:
        if isinstance(piece, tuple):
            if not out_lines or not out_lines[-1].endswith(("|", ":|", "|]")):
                raise Drop("key change mid-line")
            out_lines.append("K:" + piece[1])
            continue
        out_lines.extend(render_lines(tokenise(piece, factor)))

    music = [ln for ln in out_lines if not ln.startswith("K:")]
    if not music:
        raise Drop("empty body")
    if out_lines[0].startswith("K:") or out_lines[-1].startswith("K:"):
        raise Drop("key change at edge of tune")
    for ln in music:
        bad = set(ln) - BODY_VOCAB
        if bad:
            raise Drop("character %r" % sorted(bad)[0])
        if not re.search(r"[A-Ga-g]", ln):
            raise Drop("line without notes")
    # Every body line ends in a bar line; the tune ends in `:|` or `|]` as 801/804 seed tunes do.
    # `|]` ends the tune and nothing else: a section end inside it is `||` (an earlier version
    # wrote `|]` there, and a model trained on it wrote final bar lines with music after them).
    for i, ln in enumerate(out_lines):
        if ln.startswith("K:"):
            continue
        last = i == len(out_lines) - 1
        ln = ln.replace("|]", "||")
        if not ln.endswith("|"):
            if not last:
                raise Drop("line not ending in a bar line")
            ln += "|]"
        elif last and ln.endswith("||"):
            ln = ln[:-2] + "|]"
        elif last and not ln.endswith(":|"):
            ln += "]"
        out_lines[i] = ln + "!"

    head = ["X:%d" % number, "T:%s" % title, "Z: id:oneills1850-%d" % collection_number(raw),
            "M:%s" % meter, "L:1/8", "K:%s" % key]
    return "\n".join(head + out_lines)


# ---------------------------------------------------------------- driver
def read_collection(source: str | Path) -> list[str]:
    """Every raw tune of the collection, files in name order, from the music21 wheel or a folder."""
    source = Path(source)
    if source.is_dir():
        files = {p.name: p.read_bytes() for p in source.glob("*.abc")}
    else:
        with zipfile.ZipFile(source) as wheel:
            files = {Path(n).name: wheel.read(n) for n in wheel.namelist()
                     if n.startswith(COLLECTION) and n.endswith(".abc")}
    if not files:
        raise FileNotFoundError(f"no O'Neill's .abc files in {source}")
    tunes = []
    for name in sorted(files):
        text = files[name].decode("latin-1")
        tunes += re.split(r"(?m)^(?=X:)", text)[1:]
    return tunes


def build_corpus(raw_tunes: list[str], protected: list[str], alphabet: set[str]) -> tuple[list[str], Counter]:
    """Normalised tunes, one per book number, none copying a protected tune, none with a character
    outside alphabet (the seed's vocabulary: titles can hold others); and the drop counts."""
    index = TuneIndex(protected)
    kept, reasons, seen = [], Counter(), set()
    for raw in raw_tunes:
        drops = []
        tune = normalise_tune(raw, len(kept) + 1, drops)
        number = collection_number(raw)
        if tune is None:
            reasons[drops[0]] += 1
        elif set(tune) - alphabet:
            reasons["character outside the seed's vocabulary"] += 1
        elif (copy := index.copy_of(tune)) is not None:
            reasons[f"copy of a validation tune by {copy[1]}"] += 1
        elif number in seen:  # some numbers are transcribed twice: keep the first good one
            reasons["second transcription of a book number"] += 1
        else:
            seen.add(number)
            kept.append(tune)
    kept = [re.sub(r"^X:\d+", f"X:{i}", t, count=1) for i, t in enumerate(kept, 1)]
    return kept, reasons


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.oneills", description=__doc__.split("\n")[0])
    parser.add_argument("source", help="the music21 wheel, or a folder of its oneills1850 .abc files")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)
    raw = read_collection(args.source)
    seed_text = read_corpus(DEFAULT_CORPUS)
    validation = fixed_split(split_tunes(seed_text)).validation
    kept, reasons = build_corpus(raw, validation, set(seed_text))
    Path(args.out).write_text("\n\n".join(kept) + "\n", encoding="ascii")
    print(f"read {len(raw)}, kept {len(kept)}, dropped {sum(reasons.values())}:")
    for reason, count in reasons.most_common():
        print(f"  {count:5d}  {reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
