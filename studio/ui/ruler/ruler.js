// The Timeline tab's ruler (run by gr.HTML's js_on_load: `element`, `props` and `watch` are given).
// Draws keyframe thumbnails on a time ruler from props.value (JSON made by studio/ui/ruler/__init__.py), follows
// the frame scrubber with a playhead, and sends edits through the hidden #ruler-cmd textbox.
const PAD = 28;              // px left and right of the ruler, so the first and last thumbnails fit
const THUMB = 44;            // thumbnail width in px
const root = element.querySelector('.tl-ruler');
const track = element.querySelector('.tl-track');
let data = {keyframes: [], length: 0, fps: 24, frames: 1, beats: [], selected: -1};
let savedPrint = null;
const KEY = 'latent-studio-timeline';  // localStorage: the timeline, restored after a reload

function q(sel) { return document.querySelector(sel); }
function width() { return Math.max(200, track.clientWidth - 2 * PAD); }
// room after the last keyframe, so it can be dragged later
function span() { return Math.max(data.length * 1.2, data.length + 1, 1 / data.fps); }
function xOf(t) { return PAD + (t / span()) * width(); }
function tOf(x) { return Math.max(0, ((x - PAD) / width()) * span()); }
function snap(t) { return Math.round(t * data.fps) / data.fps; }

function send(cmd) {
  const box = q('#ruler-cmd textarea') || q('#ruler-cmd input');
  if (!box) return;
  cmd.nonce = Date.now() + Math.random();
  const proto = box.tagName === 'TEXTAREA' ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value').set.call(box, JSON.stringify(cmd));
  box.dispatchEvent(new Event('input', {bubbles: true}));
}

function click(id) { const b = q('#' + id); if (b) b.click(); }

function tickStep() {
  const pxPerSecond = width() / span();
  for (const s of [0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300]) if (s * pxPerSecond >= 60) return s;
  return 600;
}

function draw() {
  try { data = JSON.parse(props.value || '{}'); } catch (e) { return; }
  data.keyframes = data.keyframes || [];
  if (data.kept) { try { localStorage.setItem(KEY, JSON.stringify(data.kept)); } catch (e) { /* full */ } }
  if (data.saved || savedPrint === null) savedPrint = data.saved || !data.keyframes.length ? data.fingerprint : '';
  track.innerHTML = '';
  const ticks = document.createElement('div');
  ticks.className = 'tl-ticks';
  const framePx = width() / Math.max(1, span() * data.fps);
  if (framePx >= 4) {
    for (let f = 0; f <= data.frames; f++) {
      const m = document.createElement('span');
      m.className = 'tl-frame-tick';
      m.style.left = xOf(f / data.fps) + 'px';
      ticks.appendChild(m);
    }
  }
  const step = tickStep();
  for (let t = 0; t <= span() + 1e-9; t += step) {
    const m = document.createElement('span');
    m.className = 'tl-second-tick';
    m.style.left = xOf(t) + 'px';
    m.textContent = (Math.round(t * 100) / 100) + ' s · ' + Math.round(t * data.fps);
    ticks.appendChild(m);
  }
  for (const b of data.beats || []) {
    if (b > span()) break;
    const m = document.createElement('span');
    m.className = 'tl-beat';
    m.style.left = xOf(b) + 'px';
    ticks.appendChild(m);
  }
  track.appendChild(ticks);
  data.keyframes.forEach((kf, i) => {
    const k = document.createElement('div');
    k.className = 'tl-key' + (i === data.selected ? ' tl-selected' : '') + (kf.problem ? ' tl-problem' : '');
    k.dataset.index = i;
    k.style.left = (xOf(kf.t) - THUMB / 2) + 'px';
    k.title = `#${i} · ${kf.label} · ${kf.t} s` + (kf.problem ? '\n' + kf.problem : '');
    k.innerHTML = (kf.thumb ? `<img src="${kf.thumb}" draggable="false" alt="">` : '<div class="tl-nothumb">!</div>') +
      `<small>${i} · ${Math.round(kf.t * 1000) / 1000}s</small>`;
    k.addEventListener('pointerdown', ev => startDrag(ev, k, i));
    track.appendChild(k);
  });
  window.__studioRuler = {selected: data.selected,
                          unsaved: data.keyframes.length > 0 && data.fingerprint !== savedPrint};
  const head = document.createElement('div');
  head.className = 'tl-playhead';
  track.appendChild(head);
  playhead();
}

function startDrag(ev, k, i) {
  ev.preventDefault();
  root.focus();
  const x0 = ev.clientX, left0 = parseFloat(k.style.left);
  let moved = false, t = data.keyframes[i].t;
  k.setPointerCapture(ev.pointerId);
  k.classList.add('tl-dragging');
  const move = e => {
    const dx = e.clientX - x0;
    if (Math.abs(dx) > 3) moved = true;
    if (!moved) return;
    t = snap(tOf(left0 + THUMB / 2 + dx));
    k.style.left = (xOf(t) - THUMB / 2) + 'px';
    k.querySelector('small').textContent = `${i} · ${t}s`;
  };
  const up = () => {
    k.removeEventListener('pointermove', move);
    k.removeEventListener('pointerup', up);
    k.classList.remove('tl-dragging');
    send(moved ? {op: 'move', index: i, time: t} : {op: 'select', index: i});
  };
  k.addEventListener('pointermove', move);
  k.addEventListener('pointerup', up);
}

function playhead() {
  const head = track.querySelector('.tl-playhead');
  const range = q('#scrubber input[type=range]');
  if (head && range) head.style.left = xOf((parseFloat(range.value) || 0) / data.fps) + 'px';
}

setInterval(playhead, 100);
window.addEventListener('resize', draw);

function typing(target) {
  return target && (target.closest('input, textarea, select, [contenteditable="true"], .cm-editor'));
}

if (!window.__studioRulerKeys) {
  window.__studioRulerKeys = true;
  document.addEventListener('keydown', ev => {
    const mod = ev.ctrlKey || ev.metaKey;
    if (mod && !typing(ev.target)) {
      const key = ev.key.toLowerCase();
      if (key === 'z' && !ev.shiftKey) { ev.preventDefault(); click('tl-undo'); }
      else if ((key === 'z' && ev.shiftKey) || key === 'y') { ev.preventDefault(); click('tl-redo'); }
      else if (ev.target.closest && ev.target.closest('.tl-ruler')) {
        if (key === 'c') { ev.preventDefault(); click('tl-copy'); }
        else if (key === 'v') { ev.preventDefault(); click('tl-paste'); }
        else if (key === 'd') { ev.preventDefault(); click('tl-duplicate'); }
      }
    } else if ((ev.key === 'Delete' || ev.key === 'Backspace') && ev.target.closest && ev.target.closest('.tl-ruler')) {
      ev.preventDefault(); click('kf-delete');
    }
  });
  // Ask before a click would discard work: Delete always, "Load a timeline" when there are unsaved changes.
  document.addEventListener('click', ev => {
    const del = ev.target.closest && ev.target.closest('#kf-delete');
    const load = ev.target.closest && ev.target.closest('#tl-load');
    const state = window.__studioRuler || {};
    let question = null;
    if (del && state.selected >= 0) question = `Delete keyframe ${state.selected}? (Undo brings it back.)`;
    if (load && state.unsaved) question = 'The timeline has unsaved changes. Load another one and replace it?';
    if (question && !window.confirm(question)) { ev.preventDefault(); ev.stopImmediatePropagation(); }
  }, true);
}

watch('value', draw);
draw();
// After a reload the session starts empty: send back the timeline this browser kept.
if (!data.keyframes.length) {
  const kept = localStorage.getItem(KEY);
  if (kept) setTimeout(() => { try { send({op: 'restore', data: JSON.parse(kept)}); } catch (e) { /* bad */ } }, 300);
}
