// Judges tunes with abcjs itself (the library the app draws with), as the strict-meter target says.
//
//   node judge/abcjs_judge.js < tunes.json      (a JSON list of ABC strings -> a JSON list of verdicts)
//
// A tune is well-formed when abcjs parses it with zero warnings; it has X:, T:, M:, L: and K:;
// it has at least 8 bars; every bar that is not the first, not the last and not next to a repeat
// sign, double bar or ending holds exactly the meter's length; nothing dangles after the last bar.
"use strict";
const path = require("path");
const ABCJS = require(path.join(__dirname, "..", "static", "abcjs", "abcjs-basic-min.js"));

const MIN_BARS = 8;
const EPSILON = 1e-6;
const PLAIN_BAR = "bar_thin";

function judge(abc) {
  const reasons = [];
  const tune = ABCJS.parseOnly(abc)[0];
  const warnings = (tune && tune.warnings) || [];
  if (warnings.length) reasons.push(`${warnings.length} parser warning(s)`);
  const header = abc.split("\n").filter((line) => /^[A-Za-z]:/.test(line)).map((line) => line[0]);
  for (const field of ["X", "T", "M", "L", "K"]) {
    if (!header.includes(field)) reasons.push(`no ${field}: field`);
  }
  if (!tune || !tune.lines) return { ok: false, reasons: reasons.concat(["no tune"]), bars: 0 };

  const meter = tune.getMeterFraction();
  const barLength = meter.num / meter.den;
  // Bars in order: {length, opens, closes}; opens/closes say whether the bar line on that side is
  // special (a repeat, double bar or ending).
  const bars = [];
  let length = 0;
  let notesSinceBar = 0;
  let openSpecial = false;
  let tripletLeft = 0;
  let tripletMultiplier = 1;
  for (const line of tune.lines) {
    if (!line.staff) continue;
    for (const staff of line.staff) {
      for (const voice of staff.voices) {
        for (const el of voice) {
          if (el.el_type === "note") {
            if (el.startTriplet) {
              tripletLeft = el.tripletR || el.startTriplet;
              tripletMultiplier = el.tripletMultiplier || 1;
            }
            const multiplier = tripletLeft > 0 ? tripletMultiplier : 1;
            if (tripletLeft > 0) tripletLeft -= 1;
            length += (el.duration || 0) * multiplier;
            notesSinceBar += 1;
          } else if (el.el_type === "bar") {
            const special = el.type !== PLAIN_BAR || Boolean(el.startEnding) || Boolean(el.endEnding);
            if (notesSinceBar === 0) {
              // A bar line with no notes before it (a line-leading "[2", "|:" after ":|"):
              // it only marks the next bar as next to something special.
              if (special && bars.length) bars[bars.length - 1].closes = true;
              openSpecial = openSpecial || special;
              continue;
            }
            bars.push({ length, opens: openSpecial, closes: special });
            length = 0;
            notesSinceBar = 0;
            openSpecial = special;
          }
        }
      }
    }
  }
  if (notesSinceBar > 0) reasons.push("notes after the last bar line");
  if (bars.length < MIN_BARS) reasons.push(`only ${bars.length} bars`);
  bars.forEach((bar, i) => {
    const exempt = i === 0 || i === bars.length - 1 || bar.opens || bar.closes;
    if (!exempt && Math.abs(bar.length - barLength) > EPSILON) {
      reasons.push(`bar ${i + 1} holds ${bar.length} of ${barLength}`);
    }
  });
  return { ok: reasons.length === 0, reasons, bars: bars.length };
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify(JSON.parse(input).map(judge)) + "\n");
});
