// Loading the layers of the selection (SOURCES in layers.js) into the map's sources, the
// positions' 10-second refresh, finer tracks on zooming in, and the error path.
import { state, $, setStatus } from './state.js';
import { t } from './i18n.js';
import { api, withAuth, layerParams } from './api.js';
import { time } from './format.js';
import { EMPTY, SOURCES, tracksWanted, tracksZoom, highlightAssigned, paintForSelection } from './layers.js';
import { indexGrids, indexPositions, updateLabels } from './labels.js';
import { scaleCoverage, callOutWeakest } from './weakest.js';

/** How often the latest positions are asked for again. */
export const POSITIONS_EVERY_MS = 10000;

/** Shows an error in the status line and the console (the browser check fails on it). */
export function fail(err) {
  const msg = err && err.message ? err.message : String(err);
  state.error = msg;
  setStatus(t('error', { msg }), true);
  console.error('gridbeat map:', msg);
}

/** Puts a layer into its map source and the state. */
export function setSource(name, fc) {
  state.data[name] = fc;
  state.counts[name] = fc.features.length;
  const src = state.map && state.map.getSource(name);
  if (src) src.setData(fc);
}

/** Loads every layer for the current month, unit and worker; false when a newer selection
 * took over meanwhile. */
export async function loadLayers() {
  const seq = ++state.loadSeq;
  state.loading = true;
  setStatus(t('loading'));
  const names = Object.keys(SOURCES).filter((n) => SOURCES[n]);
  const queries = names.map((n) => SOURCES[n](state));
  const results = await Promise.all(names.map((n, i) => queries[i] === null
    ? Promise.resolve(EMPTY)
    : api('/api/v1/layers/' + n, layerParams(queries[i]))));
  if (seq !== state.loadSeq) return false;
  scaleCoverage(results[names.indexOf('grids')]);
  names.forEach((n, i) => setSource(n, results[i]));
  const tracks = queries[names.indexOf('tracks')];
  state.tracksZoom = tracks ? tracks.zoom : null;
  $('tracks-hint').hidden = tracksWanted();
  indexGrids();
  await callOutWeakest(seq);
  if (seq !== state.loadSeq) return false;
  indexPositions();
  highlightAssigned();
  paintForSelection();
  updateLabels();
  state.lastUpdate = new Date();
  state.loading = false;
  setStatus(t('loaded', {
    grids: state.counts.grids,
    walks: state.data.tracks.features.filter((f) => f.properties.kind === 'walk').length,
    positions: state.counts.positions,
  }));
  return true;
}

/** Loads the tracks again, finer, once the view is two zoom levels deeper than they were. */
export async function reloadTracksIfCoarse() {
  if (!tracksWanted() || state.tracksZoom == null || tracksZoom() < state.tracksZoom + 2 ||
    state.loading) return;
  const query = SOURCES.tracks(state), seq = state.loadSeq;
  try {
    const fc = await withAuth(() => api('/api/v1/layers/tracks', layerParams(query)));
    if (seq !== state.loadSeq) return;
    state.tracksZoom = query.zoom;
    setSource('tracks', fc);
  } catch (e) {
    fail(e);
  }
}

/** Asks for the latest positions again (while the page is visible). */
export async function refreshPositions() {
  if (!state.map || document.hidden || !state.data.positions) return;
  try {
    const fc = await withAuth(() => api('/api/v1/layers/positions',
      layerParams(SOURCES.positions(state))));
    setSource('positions', fc);
    indexPositions();
    updateLabels();
    state.lastUpdate = new Date();
    setStatus(t('updated', { time: time(state.lastUpdate.toISOString()) }));
  } catch (e) {
    fail(e);
  }
}
