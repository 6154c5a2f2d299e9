// Replay of a worker's day: the marker moves along the day's walk at a uniform pace by
// cumulative length between the walk's start and end times (gaps not counted), driven by the
// slider or the play button.
import { state, $ } from './state.js';
import { t } from './i18n.js';
import { api, withAuth, layerParams } from './api.js';
import { metres, time } from './format.js';
import { EMPTY } from './layers.js';
import { metresBetween } from './geometry.js';
import { setSource } from './data.js';

/** The walk's lines with cumulative lengths (metres), gaps between lines not counted. */
function measure(walk) {
  const g = walk.geometry;
  const lines = g.type === 'MultiLineString' ? g.coordinates : g.type === 'LineString' ? [g.coordinates] : [];
  const steps = []; // [from, to, cumStart, length]
  let total = 0;
  for (const line of lines) {
    if (line.length === 1) steps.push([line[0], line[0], total, 0]);
    for (let i = 0; i + 1 < line.length; i++) {
      const d = metresBetween(line[i], line[i + 1]);
      steps.push([line[i], line[i + 1], total, d]);
      total += d;
    }
  }
  return { steps, total };
}

/** Where the marker is at fraction f (0..1) of the time between start and end. */
function pointAt(m, f) {
  if (!m.steps.length) return null;
  const target = Math.max(0, Math.min(1, f)) * m.total;
  let lo = 0, hi = m.steps.length - 1;
  while (lo < hi) { // last step starting at or before target
    const mid = (lo + hi + 1) >> 1;
    if (m.steps[mid][2] <= target) lo = mid; else hi = mid - 1;
  }
  const [a, b, c0, d] = m.steps[lo];
  const k = d > 0 ? Math.min(1, (target - c0) / d) : 0;
  return [a[0] + (b[0] - a[0]) * k, a[1] + (b[1] - a[1]) * k];
}

function setReplayControls(enabled) {
  $('play').disabled = !enabled;
  $('slider').disabled = !enabled;
  if (!enabled) { stopPlaying(); $('replay-time').textContent = ''; }
}

/** Forgets the replayed day: no marker, no walk, controls off. */
function clearReplay() {
  state.replay = null;
  setReplayControls(false);
  if (state.replayMarker) { state.replayMarker.remove(); state.replayMarker = null; }
  if (state.map && state.map.getSource('replay')) setSource('replay', EMPTY);
}

/** Fills the day list with the chosen worker's days of the month. */
export async function loadDays() {
  const sel = $('day');
  sel.innerHTML = '';
  clearReplay();
  const hint = $('replay-hint');
  if (!state.worker) {
    sel.disabled = true;
    hint.dataset.i18n = 'replay_pick_worker';
    hint.textContent = t('replay_pick_worker');
    return;
  }
  const w = await withAuth(() => api('/api/v1/workers/' + encodeURIComponent(state.worker)));
  const days = (w.days || []).filter((d) => d.startsWith(state.month)).sort();
  if (!days.length) {
    sel.disabled = true;
    hint.dataset.i18n = 'replay_no_days';
    hint.textContent = t('replay_no_days');
    return;
  }
  sel.disabled = false;
  hint.dataset.i18n = 'replay_pick_day';
  hint.textContent = t('replay_pick_day');
  sel.append(new Option('—', ''));
  for (const d of days) sel.append(new Option(d, d));
}

/** Loads the chosen day's walk and puts the marker at its start. */
export async function loadReplay() {
  clearReplay();
  state.day = $('day').value;
  if (!state.day || !state.worker) return;
  const fc = await withAuth(() => api('/api/v1/layers/tracks',
    layerParams({ day: state.day, worker: state.worker })));
  setSource('replay', fc);
  const walk = fc.features.find((f) => f.properties.kind === 'walk');
  if (!walk) {
    $('replay-time').textContent = t('replay_no_walk');
    return;
  }
  const start = Date.parse(walk.properties.start), end = Date.parse(walk.properties.end);
  state.replay = { walk, m: measure(walk), start, end };
  const el = document.createElement('div');
  el.className = 'replay-marker';
  state.replayMarker = new maplibregl.Marker({ element: el });
  setReplayControls(true);
  $('slider').value = 0;
  showReplay();
  state.replayMarker.addTo(state.map);
  if (fc.bbox) state.map.fitBounds([[fc.bbox[0], fc.bbox[1]], [fc.bbox[2], fc.bbox[3]]], { padding: 60, maxZoom: 17 });
}

/** Puts the marker where the slider says. */
export function showReplay() {
  const r = state.replay;
  if (!r) return;
  const f = Number($('slider').value) / 1000;
  const at = pointAt(r.m, f);
  if (at) state.replayMarker.setLngLat(at);
  const when = isFinite(r.start) && isFinite(r.end) ? new Date(r.start + f * (r.end - r.start)) : null;
  $('replay-time').textContent = (when ? time(when.toISOString()) + ' · ' : '') +
    metres(f * r.m.total) + ' / ' + metres(r.m.total);
}

/** Stops playing. */
export function stopPlaying() {
  state.playing = false;
  $('play').textContent = t('play');
}

/** Plays the day in 30 s, or pauses. */
export function togglePlay() {
  if (state.playing) { stopPlaying(); return; }
  if (!state.replay) return;
  const slider = $('slider');
  if (Number(slider.value) >= 1000) slider.value = 0;
  state.playing = true;
  $('play').textContent = t('pause');
  const runMs = 30000; // the whole day in 30 s
  let last = performance.now();
  const step = (now) => {
    if (!state.playing) return;
    const v = Math.min(1000, Number(slider.value) + ((now - last) / runMs) * 1000);
    last = now;
    slider.value = v;
    showReplay();
    if (v >= 1000) { stopPlaying(); return; }
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
}
