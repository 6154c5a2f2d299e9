// Grid and worker names on the map as HTML markers (no glyph server needed), placed in order of
// importance; a label that would overlap one already placed is left out.
import { state } from './state.js';
import { t } from './i18n.js';
import { numberFmt, pct } from './format.js';
import { toggled } from './layers.js';
import { labelPoint } from './geometry.js';

/** Every worker's name from this zoom on; below it only the weakest workers'. */
const WORKER_LABEL_ZOOM = 16;
const MAX_LABELS = 300;

/** Indexes the grids by code, with their label points and the names that repeat. */
export function indexGrids() {
  state.gridByCode = new Map();
  const seen = new Set();
  state.repeatedNames = new Set();
  for (const f of state.data.grids.features) {
    const n = f.properties.name || f.properties.code;
    if (seen.has(n)) state.repeatedNames.add(n);
    seen.add(n);
    f.labelAt = labelPoint(f.geometry);
    state.gridByCode.set(f.properties.code, f);
  }
}

/** Indexes the latest positions by worker. */
export function indexPositions() {
  // Vehicles (`vehicle` instead of `worker`) are drawn beside workers, not named here.
  state.positionByWorker = new Map(state.data.positions.features
    .filter((f) => f.properties.worker).map((f) => [f.properties.worker, f]));
}

/** A grid's name, with its community's where another grid shown has the same name (`short`:
 * without the "社区" every community's name ends with, to keep a map label short). */
export function gridLabel(p, short) {
  const name = p.name || p.code;
  if (!(state.repeatedNames.has(name) && p.parent_name)) return name;
  const community = short ? p.parent_name.replace(/社区$/, '') : p.parent_name;
  return community + ' ' + name;
}

const rankOf = (list, x) => { const i = list.indexOf(x); return i < 0 ? list.length : i; };

/** Places the labels for the view: grid names first (the weakest grids first), then the
 * weakest workers, then the other workers' names from WORKER_LABEL_ZOOM on. */
export function updateLabels() {
  const map = state.map;
  for (const m of state.labels) m.remove();
  state.labels = [];
  if (!map) return;
  const placed = [];
  const place = (text, at, cls, offset) => {
    const el = document.createElement('div');
    el.className = cls;
    el.textContent = text;
    const m = new maplibregl.Marker({ element: el, anchor: offset ? 'bottom' : 'center', offset })
      .setLngLat(at).addTo(map);
    const r = el.getBoundingClientRect();
    if (placed.some((o) => r.left < o.right + 2 && o.left < r.right + 2 &&
      r.top < o.bottom + 1 && o.top < r.bottom + 1)) {
      m.remove();
      return;
    }
    placed.push(r);
    state.labels.push(m);
  };
  const b = map.getBounds();
  if (state.data.grids && toggled('labels')) {
    const weak = state.weakGrids;
    const grids = state.data.grids.features.filter((f) => f.labelAt && b.contains(f.labelAt))
      .sort((x, y) => rankOf(weak, x.properties.code) - rankOf(weak, y.properties.code));
    for (const f of grids.slice(0, MAX_LABELS)) {
      const cls = 'grid-label' + (weak.includes(f.properties.code) ? ' weak' : '');
      place(gridLabel(f.properties, true) + '\n' + pct(f.properties.coverage), f.labelAt, cls);
    }
  }
  if (state.data.positions && toggled('positions') && toggled('labels')) {
    const weak = state.weakWorkers;
    const all = map.getZoom() >= WORKER_LABEL_ZOOM;
    const feats = state.data.positions.features
      .filter((f) => f.properties.worker && (all || weak.has(f.properties.worker)) &&
        b.contains(f.geometry.coordinates))
      .sort((x, y) => (weak.has(y.properties.worker) ? 1 : 0) - (weak.has(x.properties.worker) ? 1 : 0));
    for (const f of feats.slice(0, MAX_LABELS)) {
      const w = weak.get(f.properties.worker);
      const name = f.properties.name || f.properties.worker;
      place(w ? `${name} ${numberFmt(1).format(w.score)} ${t('points')}` : name,
        f.geometry.coordinates, 'worker-label' + (w ? ' weak' : ''), [0, -10]);
    }
  }
}
