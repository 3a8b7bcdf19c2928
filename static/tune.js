// The tune view: draws the score, plays it, offers downloads and the share link. Runs as the
// gr.HTML component's js_on_load: `element`, `props` (value: the ABC text; share: the link's
// query; soundfont: where the instrument samples are; model) and `watch` come from Gradio.
// Model-written text reaches the page only through abcjs (SVG text) and textContent.
const $ = (selector) => element.querySelector(selector);
const empty = $('.empty'), scoreEl = $('.score'), playback = $('.playback'), actions = $('.actions');
const abcLabel = $('.abc-label'), abcText = $('.abc-text'), statusEl = $('.status');
const problem = $('.audio-problem'), instrument = $('.instrument');
const SVG_NS = 'http://www.w3.org/2000/svg';
let visual = null;  // what abcjs drew last (the synth and the MIDI file read it)
let frame = null, synthTimer = null, drawnWidth = 0;

const currentAbc = () => (typeof props.value === 'string' ? props.value : '');

// The corpus's Z: line is a training-data id ("id:dc-reel-12"), which abcjs would print as a
// transcription credit. For the score only, it becomes a comment of the same length.
const forScore = (abc) => abc.replace(/^Z:/gm, '%Z');

function showStatus(text) {
  statusEl.textContent = text;
  clearTimeout(showStatus.timer);
  showStatus.timer = setTimeout(() => { statusEl.textContent = ''; }, 6000);
}

// ---- the score -------------------------------------------------------------------------------
function draw() {
  frame = null;
  const abc = currentAbc();
  const has = abc.length > 0;
  empty.hidden = has;
  for (const part of [scoreEl, playback, actions, abcLabel]) part.hidden = !has;
  abcText.textContent = abc;
  if (!has) { scoreEl.replaceChildren(); visual = null; return; }
  // A fixed staff size that wraps to the width (a phone gets more lines, not smaller notes).
  drawnWidth = scoreEl.clientWidth;
  visual = ABCJS.renderAbc(scoreEl, forScore(abc), {
    add_classes: true,
    staffwidth: Math.max(250, drawnWidth - 30),
    wrap: { minSpacing: 1.8, maxSpacing: 2.7, preferredMeasuresPerLine: 4 },
    clickListener: pickBar,
  })[0];
  scheduleSynth();
}
// Clicking a note picks its bar for "Continue from bar": abcjs numbers the drawn bars from 0
// across the whole tune (class abcjs-mm<N>), the app from 1 (a pickup is bar 1).
function pickBar(abcElem, tuneNumber, classes) {
  const match = /abcjs-mm(\d+)/.exec(classes || '');
  const input = document.querySelector('#from-bar input');
  if (!match || !input) return;
  input.value = String(Number(match[1]) + 1);
  input.dispatchEvent(new Event('input', { bubbles: true }));
  showStatus(`Bar ${input.value} picked: "Continue from this bar" keeps bars 1 to ${input.value} and writes the rest again.`);
}
const redraw = () => { if (frame === null) frame = requestAnimationFrame(draw); };
// Updates can arrive faster than the screen refreshes: draw at most once a frame.
watch('value', redraw);
new ResizeObserver(() => {
  if (currentAbc() && Math.abs(scoreEl.clientWidth - drawnWidth) > 24) redraw();
}).observe(element);

// ---- the share link --------------------------------------------------------------------------
const shareUrl = () => location.origin + location.pathname + (props.share || '');
const copyLink = $('.copy-link');
function onShare() {  // an edit has no link until it is continued
  copyLink.hidden = !props.share;
  if (props.share) history.replaceState(null, '', props.share);
}
watch('share', onShare);
onShare();

async function copy(text, done) {
  try {
    await navigator.clipboard.writeText(text);
    showStatus(done);
  } catch (error) {  // no clipboard (a plain-http page, a refused permission): show it to copy by hand
    showStatus(`Copy it from here: ${text}`);
  }
}
copyLink.addEventListener('click', () => copy(shareUrl(), 'Link copied.'));
$('.copy-abc').addEventListener('click', () => copy(currentAbc(), 'ABC copied.'));

// ---- downloads -------------------------------------------------------------------------------
function fileBase() {
  const title = (currentAbc().match(/^T:(.*)$/m) || [, 'tune'])[1];
  const slug = title.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'tune';
  const seed = new URLSearchParams(props.share || '').get('seed');
  return seed === null ? slug : `${slug}-seed-${seed}`;
}

function save(blob, name) {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.appendChild(link);
  link.click();
  setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
}

function svgFile() {
  const drawn = scoreEl.querySelector('svg');
  const svg = drawn.cloneNode(true);
  const box = drawn.viewBox && drawn.viewBox.baseVal;
  if (box && box.width) { svg.setAttribute('width', box.width); svg.setAttribute('height', box.height); }
  svg.setAttribute('style', 'color:#000;background:#fff');
  svg.querySelectorAll('.abcjs-note_playing, .abcjs-cursor').forEach((el) => {
    if (el.classList.contains('abcjs-cursor')) el.remove(); else el.classList.remove('abcjs-note_playing');
  });
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(svg);
}

const downloads = {
  abc: () => new Blob([currentAbc().replace(/\n*$/, '\n')], { type: 'text/vnd.abc;charset=utf-8' }),
  mid: () => {  // abcjs's own MIDI writer, with the instrument chosen for playback
    let bytes = ABCJS.synth.getMidiFile(visual, { midiOutputType: 'binary', program: Number(instrument.value) });
    if (Array.isArray(bytes)) bytes = bytes[0];
    return new Blob([bytes], { type: 'audio/midi' });
  },
  svg: () => new Blob([svgFile()], { type: 'image/svg+xml' }),
};
// Several candidates: the whole set as one tunebook (props.book, best first, X:1, X:2, ...).
const bookButton = $('.download-book');
const showBook = () => { bookButton.hidden = !props.book; };
watch('book', showBook);
showBook();
bookButton.addEventListener('click', () => {
  const name = `tunesmith-candidates-${fileBase()}.abc`;
  save(new Blob([props.book], { type: 'text/vnd.abc;charset=utf-8' }), name);
  showStatus(`Saved ${name}`);
});

element.querySelectorAll('.download').forEach((button) => {
  button.addEventListener('click', () => {
    const kind = button.dataset.kind;
    if (!currentAbc() || !visual) return;
    try {
      save(downloads[kind](), `${fileBase()}.${kind}`);
      showStatus(`Saved ${fileBase()}.${kind}`);
    } catch (error) {
      showStatus(`Could not make the .${kind} file: ${error.message || error}`);
    }
  });
});

// ---- playback --------------------------------------------------------------------------------
let synth = null;
function audioProblem(text) { problem.textContent = text; problem.hidden = false; }

// A cursor line that follows the notes, and the notes sounding drawn in colour.
const cursorControl = {
  line: null, lit: [],
  onStart() {
    const svg = scoreEl.querySelector('svg');
    if (!svg) return;
    this.line = document.createElementNS(SVG_NS, 'line');
    this.line.setAttribute('class', 'abcjs-cursor');
    svg.appendChild(this.line);
  },
  onEvent(event) {
    if (event.measureStart && event.left === null) return;
    this.lit.forEach((el) => el.classList.remove('abcjs-note_playing'));
    this.lit = (event.elements || []).flat();
    this.lit.forEach((el) => el.classList.add('abcjs-note_playing'));
    if (this.line) {
      const x = String(event.left - 2);
      this.line.setAttribute('x1', x); this.line.setAttribute('x2', x);
      this.line.setAttribute('y1', String(event.top)); this.line.setAttribute('y2', String(event.top + event.height));
    }
  },
  onFinished() {
    this.lit.forEach((el) => el.classList.remove('abcjs-note_playing'));
    this.lit = [];
    if (this.line) { this.line.remove(); this.line = null; }
  },
};

function scheduleSynth() {  // after the text stops changing: setting a tune is not free
  clearTimeout(synthTimer);
  synthTimer = setTimeout(setSynthTune, 300);
}

function setSynthTune() {
  if (!synth || !visual) return;
  // setTune(..., false) keeps the notes abcjs loaded for the previous tune or instrument: marking
  // it unloaded makes the next Play load this tune, on this instrument.
  synth.isLoaded = false;
  synth.setTune(visual, false, { soundFontUrl: props.soundfont, program: Number(instrument.value) })
    .catch((error) => audioProblem(`Playback could not start: ${error.message || error.status || error}`));
}

// abcjs loads the samples inside its own Play handler: a note outside the vendored range
// (static/soundfont) rejects there, out of reach of a catch, so it is caught here.
window.addEventListener('unhandledrejection', (event) => {
  const reason = String((event.reason && (event.reason.message || event.reason.status)) || event.reason);
  if (reason.includes("Can't load sound")) {
    audioProblem('This tune has a note outside the instrument samples shipped with the page, so it cannot be played; the downloads still work.');
    event.preventDefault();
  }
});

if (!(window.ABCJS && ABCJS.synth && ABCJS.synth.supportsAudio())) {
  audioProblem('This browser cannot play audio (no Web Audio), so playback is off; the downloads still work.');
} else {
  synth = new ABCJS.synth.SynthController();
  synth.load($('.synth-controls'), cursorControl,
             { displayLoop: true, displayRestart: true, displayPlay: true, displayProgress: true, displayWarp: true });
  instrument.addEventListener('change', setSynthTune);
  const tempo = element.querySelector('.abcjs-midi-tempo');
  if (tempo) {  // abcjs's warp box: a percentage of the tune's own tempo
    tempo.setAttribute('aria-label', "Tempo, in % of the tune's own speed");
    tempo.title = "Tempo, in % of the tune's own speed";
  }
  element.__tunesmith = { synth, cursorControl };  // for the browser tests
}
draw();
