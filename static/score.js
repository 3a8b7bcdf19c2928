// Draws the ABC text into the score with abcjs. Runs as the gr.HTML component's js_on_load:
// `element`, `props` and `watch` come from Gradio. The template stays static and abcjs draws
// into .score, so an update never wipes the drawing; the text reaches the page only through abcjs.
const target = element.querySelector('.score');
let frame = null;
function draw() {
  frame = null;
  const abc = typeof props.value === 'string' ? props.value : '';
  if (!abc) { target.replaceChildren(); return; }
  ABCJS.renderAbc(target, abc, { responsive: 'resize', add_classes: true });
}
// Updates can arrive faster than the screen refreshes: draw at most once a frame.
watch('value', () => { if (frame === null) frame = requestAnimationFrame(draw); });
draw();
