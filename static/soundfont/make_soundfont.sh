#!/usr/bin/env bash
# make_soundfont.sh - rebuild the offline per-note samples that abcjs's synth plays.
#
# Run (from anywhere; it writes next to itself, into static/soundfont/):
#     bash static/soundfont/make_soundfont.sh
#
# Needs (Debian packages):
#     apt-get install -y fluidsynth fluid-soundfont-gm sox lame python3
# It reads /usr/share/sounds/sf2/FluidR3_GM.sf2 (from fluid-soundfont-gm; override with SF2=...).
#
# Deterministic: every note is rendered from a generated MIDI file by fluidsynth in non-realtime
# file mode with reverb and chorus off and 32-bit float output (so no dither), mixed to mono and
# gain-adjusted by sox with dither off, and encoded by lame as CBR mp3 without ID3 tags. No step
# uses randomness or timestamps, so the same package versions (FluidSynth 2.3.1, SoX 14.4.2,
# LAME 3.100 on Debian 12) give byte-identical files on every run.
#
# Layout written (exactly what abcjs 6.x requests when given options.soundFontUrl = ".../soundfont/";
# see src/synth/load-note.js, pitch-to-note-name.js and instrument-index-to-name.js in abcjs):
#     <soundFontUrl><instrument>-mp3/<NoteName>.mp3
# with <instrument> the abcjs name of the General MIDI program (0 acoustic_grand_piano,
# 21 accordion, 40 violin, 73 flute) and <NoteName> a flat-spelled pitch with MIDI octave
# numbering: 60 = C4, 61 = Db4, ..., 69 = A4 (never sharps).
#
# Each sample: note-on at t=0 with velocity 100, note-off at 1.7 s, cut at 2.0 s with a 0.25 s
# half-sine fade-out, mono 44.1 kHz, CBR mp3. abcjs plays a sample for the written note length
# and then fades it over options.fadeLength (default 200 ms), so a note held longer than ~1.75 s
# (plus the fade) ends with the sample. Every instrument gets one gain for all its notes (keeping
# the soundfont's own balance between notes), chosen so that its A4 has the same loudness (RMS of
# the first second) as the other instruments' A4, but never letting any of its notes peak above
# PEAK_CAP. A note that the soundfont leaves silent (FluidR3_GM's Violin has no sample for MIDI 94,
# Bb6) is rendered from the note a semitone below with a +1 semitone pitch bend.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SF2="${SF2:-/usr/share/sounds/sf2/FluidR3_GM.sf2}"

# "GM program (0-based)  abcjs instrument name  lowest MIDI note  highest MIDI note"
# The piano covers the whole keyboard because abcjs's default chord accompaniment (for chord
# symbols in the ABC) uses program 0 with bass notes from MIDI 28 and chord notes around 45-70.
# The others cover C2-E7 (36-100): the corpus's notes span 31-88 through abcjs, and a note with
# no sample stops a whole tune from playing (tune.js then says so).
INSTRUMENTS=(
  "0 acoustic_grand_piano 21 108"
  "21 accordion 36 100"
  "40 violin 36 100"
  "73 flute 36 100"
)
VELOCITY=100
NOTE_OFF_MS=1700     # note-off time
LENGTH_S=2.0         # sample length
FADE_S=0.25          # fade-out at the end of the sample
TARGET_RMS=0.15      # RMS of the first second of A4, every instrument (abcjs then scales by velocity/96)
PEAK_CAP=0.7         # no note of an instrument peaks above this (-3 dBFS), leaving headroom for overlaps
BITRATE=64           # kbit/s, mono CBR

for tool in fluidsynth sox lame python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y fluidsynth fluid-soundfont-gm sox lame python3)" >&2; exit 1; }
done
[ -r "$SF2" ] || { echo "missing $SF2 (apt-get install -y fluid-soundfont-gm)" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# abcjs's pitch-to-note-name table: flats, octave = floor(midi/12) - 1.
note_name() {
  local names=(C Db D Eb E F Gb G Ab A Bb B)
  echo "${names[$(( $1 % 12 ))]}$(( $1 / 12 - 1 ))"
}

# Write one single-track MIDI file: 1 tick = 1 ms (division 1000, tempo 1,000,000 us per quarter).
# bend is the 14-bit pitch-bend value sent before the note (8192 = none; the GM default bend range
# is +-2 semitones, so 12288 = +1 semitone).
write_midi() {  # program note velocity off_ms end_ms bend outfile
  python3 - "$@" <<'PY'
import struct, sys
prog, note, vel, off_ms, end_ms, bend = map(int, sys.argv[1:7])
out = sys.argv[7]
def vlq(n):
    b = [n & 0x7F]
    n >>= 7
    while n:
        b.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(b))
ev = vlq(0) + b"\xff\x51\x03" + (1000000).to_bytes(3, "big")
ev += vlq(0) + bytes([0xC0, prog])
ev += vlq(0) + bytes([0xE0, bend & 0x7F, bend >> 7])
ev += vlq(0) + bytes([0x90, note, vel])
ev += vlq(off_ms) + bytes([0x80, note, 0])
ev += vlq(end_ms - off_ms) + b"\xff\x2f\x00"
with open(out, "wb") as f:
    f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, 1000))
    f.write(b"MTrk" + struct.pack(">I", len(ev)) + ev)
PY
}

# Peak of a whole file, and RMS of its first second (mono float input).
level() {  # wav -> "peak rms"
  local peak rms
  peak="$(sox "$1" -n stat 2>&1 | awk '/^Maximum amplitude/{a=$3} /^Minimum amplitude/{b=-$3} END{print (a>b)?a:b}')"
  rms="$(sox "$1" -n trim 0 1.0 stat 2>&1 | awk '/^RMS +amplitude/{print $3}')"
  echo "$peak $rms"
}

# Render one note to <out>.wav: mono 32-bit float, LENGTH_S long.
render() {  # program note bend out
  write_midi "$1" "$2" "$VELOCITY" "$NOTE_OFF_MS" 2500 "$3" "$4.mid"
  fluidsynth -n -i -q -R 0 -C 0 -g 1.0 -r 44100 -O float -T wav \
    -F "$4.stereo.wav" "$SF2" "$4.mid" >/dev/null
  # Stereo -> mono (average), cut to the sample length; still 32-bit float.
  sox -V1 -D "$4.stereo.wav" -e floating-point -b 32 "$4.wav" remix 1v0.5,2v0.5 trim 0 "$LENGTH_S"
}

declare -A GAIN
for spec in "${INSTRUMENTS[@]}"; do
  read -r prog name lo hi <<<"$spec"
  mkdir -p "$TMP/$name"
  maxpeak=0
  for ((n = lo; n <= hi; n++)); do
    nn="$(note_name "$n")"
    render "$prog" "$n" 8192 "$TMP/$name/$nn"
    read -r peak rms < <(level "$TMP/$name/$nn.wav")
    if python3 -c "import sys; sys.exit(0 if $peak < 1e-4 else 1)"; then
      # FluidR3_GM has a hole in a few key ranges (its Violin has no sample zone for MIDI 94,
      # Bb6): play the note a semitone below, bent up one semitone, instead.
      echo "$name $nn: silent in $(basename "$SF2"); rendered as $(note_name $((n - 1))) bent up a semitone"
      render "$prog" "$((n - 1))" 12288 "$TMP/$name/$nn"
      read -r peak rms < <(level "$TMP/$name/$nn.wav")
      if python3 -c "import sys; sys.exit(0 if $peak < 1e-4 else 1)"; then
        echo "$name $nn: still silent" >&2
        exit 1
      fi
    fi
    maxpeak="$(python3 -c "print(max($maxpeak, $peak))")"
    [ "$n" -eq 69 ] && refrms="$rms"
  done
  GAIN[$name]="$(python3 -c "print(round(min($TARGET_RMS / $refrms, $PEAK_CAP / $maxpeak), 4))")"
  echo "$name (program $prog): MIDI $lo-$hi, A4 rms $refrms, max peak $maxpeak -> gain ${GAIN[$name]}"
done

for spec in "${INSTRUMENTS[@]}"; do
  read -r prog name lo hi <<<"$spec"
  dest="$HERE/$name-mp3"
  rm -rf "$dest"
  mkdir -p "$dest"
  for ((n = lo; n <= hi; n++)); do
    nn="$(note_name "$n")"
    sox -D "$TMP/$name/$nn.wav" -e signed-integer -b 16 "$TMP/$name/$nn.s16.wav" \
      vol "${GAIN[$name]}" fade h 0 "$LENGTH_S" "$FADE_S"
    lame --quiet --noreplaygain -m m -b "$BITRATE" --cbr -q 2 \
      "$TMP/$name/$nn.s16.wav" "$dest/$nn.mp3"
  done
done

echo "wrote $(find "$HERE" -name '*.mp3' | wc -l) mp3 files, $(du -sh "$HERE" | cut -f1) in $HERE"
