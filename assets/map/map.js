// gridbeat map page, the entry module: grids coloured by coverage, tracks, stays, visits,
// checkpoints, the latest positions and a day replay, drawn with MapLibre GL JS (the global
// `maplibregl`, a classic script loaded before) from the service's GeoJSON layer endpoints
// (/api/v1/layers/{layer}). ES modules, no build step, no external requests: no glyphs or
// sprites (labels are HTML markers), an optional basemap only from config.json.
//
//   map.js       start: configuration, token, the map, the first load; the test hook
//   layers.js    every layer once: what is loaded (SOURCES), how it is drawn (LAYERS), toggles
//   data.js      loading the layers of the selection, refreshing positions, errors
//   weakest.js   the coverage colour scale and the weakest grids and workers called out
//   labels.js    grid and worker names, placed without overlap
//   popups.js    what a click shows
//   replay.js    a worker's day replayed
//   controls.js  the panel; i18n.js the strings; format.js figures; api.js the API and token;
//   geometry.js  small geometry; state.js the shared state
//
// Test hook: window.gridbeat = {ready, error, loading, counts, rendered(), labels(), state, map}.
import { state, $ } from './state.js';
import { api, askToken, withAuth, TOKEN_KEY } from './api.js';
import { addLayers, applyToggles, buildPanel, CLICKABLE, rendered } from './layers.js';
import { fail, loadLayers, refreshPositions, reloadTracksIfCoarse, POSITIONS_EVERY_MS } from './data.js';
import { updateLabels } from './labels.js';
import { onClick } from './popups.js';
import { applyI18n, bindControls, fillMonths, fillUnits, fillWorkers, LANG_KEY } from './controls.js';

const gb = {
  ready: false,
  get error() { return state.error; },
  get loading() { return state.loading; },
  get counts() { return state.counts; },
  /** Features drawn now, per layer (the `count` names of the LAYERS table). */
  rendered,
  /** The labels on the map now: their text, class and box on the screen. */
  labels() {
    return state.labels.map((m) => {
      const el = m.getElement(), r = el.getBoundingClientRect();
      return { text: el.textContent, cls: el.className, box: [r.left, r.top, r.right, r.bottom] };
    });
  },
  state,
  get map() { return state.map; },
};
window.gridbeat = gb;

function baseStyle() {
  const style = {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef1f4' } }],
  };
  const bm = state.config.basemap;
  if (bm && bm.url && bm.type === 'raster') {
    const url = bm.url.startsWith('/') ? window.location.origin + bm.url : bm.url;
    style.sources.basemap = { type: 'raster', tiles: [url], tileSize: 256 };
    style.layers.push({ id: 'basemap', type: 'raster', source: 'basemap',
      paint: { 'raster-opacity': 0.9 } });
  }
  return style;
}

async function vectorBaseStyle() {
  // A vector basemap is a MapLibre style URL; our layers go on top of its layers.
  const bm = state.config.basemap;
  const r = await fetch(new URL(bm.url, window.location.origin));
  if (!r.ok) throw new Error(`basemap style ${bm.url}: ${r.status}`);
  return r.json();
}

function currentMonth() {
  const tz = (state.config && state.config.tz) || undefined;
  try {
    const parts = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit' })
      .formatToParts(new Date());
    const get = (k) => parts.find((p) => p.type === k).value;
    return `${get('year')}-${get('month')}`;
  } catch (e) {
    return new Date().toISOString().slice(0, 7);
  }
}

async function start() {
  try { state.token = localStorage.getItem(TOKEN_KEY); } catch (e) { state.token = null; }
  // A link may carry a token (`/#token=…`, as the demo prints it): keep it, drop it from the
  // address bar so it is not bookmarked or shared by accident.
  const fromLink = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (fromLink) {
    state.token = decodeURIComponent(fromLink[1]);
    try { localStorage.setItem(TOKEN_KEY, state.token); } catch (e) { /* private mode */ }
    history.replaceState(null, '', location.pathname + location.search);
  }
  let saved = null;
  try { saved = localStorage.getItem(LANG_KEY); } catch (e) { /* ignore */ }
  state.lang = saved === 'en' || saved === 'zh' ? saved : 'zh';
  buildPanel(() => { applyToggles(); updateLabels(); });
  applyI18n();
  bindControls();

  state.config = await withAuth(() => api('/api/v1/config.json'));
  if (state.config.auth && !state.token) await askToken(false);
  // Without a token the server says only whether one is needed; with it, bounds and months.
  if (state.config.auth) state.config = await withAuth(() => api('/api/v1/config.json'));
  const cfg = state.config;
  if (!saved && (cfg.lang === 'en' || cfg.lang === 'zh')) { state.lang = cfg.lang; applyI18n(); }
  cfg.months = Array.isArray(cfg.months) && cfg.months.length ? cfg.months : [currentMonth()];
  state.month = cfg.months[cfg.months.length - 1];
  const bm = cfg.basemap || {};
  state.crs = bm.url && (bm.crs === 'gcj02' || bm.crs === 'bd09') ? bm.crs : null;

  const [units, workers] = await withAuth(() => Promise.all([
    api('/api/v1/units'), api('/api/v1/workers')]));
  state.units = units;
  state.unitByCode = new Map(units.map((u) => [u.code, u]));
  state.workers = workers;
  state.workerById = new Map(workers.map((w) => [w.id, w]));
  fillMonths();
  fillUnits();
  fillWorkers();

  const style = bm.url && bm.type === 'vector' ? await vectorBaseStyle() : baseStyle();
  const opts = { container: 'map', style, attributionControl: { compact: true }, maxPitch: 0,
    dragRotate: false };
  const b = cfg.bounds;
  if (Array.isArray(b) && b.length === 4 && b.every(isFinite)) {
    opts.bounds = [[b[0], b[1]], [b[2], b[3]]];
    // Room at the bottom for the coverage key.
    opts.fitBoundsOptions = { padding: { top: 30, left: 30, right: 30, bottom: 100 } };
  } else {
    opts.center = Array.isArray(cfg.center) ? cfg.center : [112.98, 28.2];
    opts.zoom = 12;
  }
  const map = new maplibregl.Map(opts);
  state.map = map;
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
  map.on('error', (e) => fail(e.error || e));
  await new Promise((resolve) => map.once('load', resolve));
  addLayers(map);
  applyToggles();
  map.on('click', onClick);
  for (const { id } of CLICKABLE) {
    map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
  }
  map.on('moveend', updateLabels);
  map.on('zoomend', reloadTracksIfCoarse);

  await withAuth(loadLayers);
  setInterval(refreshPositions, POSITIONS_EVERY_MS);
  await new Promise((resolve) => {
    map.once('idle', resolve);
    map.triggerRepaint();
  });
  gb.ready = true;
}

start().catch(fail);
