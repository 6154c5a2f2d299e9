// Every layer of the map, each described once, in two tables: SOURCES says what the page asks
// the service for (a layer of /api/v1/layers/ and its query for the current selection), LAYERS
// how MapLibre draws it, which checkbox (TOGGLES) shows it, what the test hook counts it as,
// what a click on it shows and how the legend names it. The checkboxes and the legend are made
// from these tables, so a new layer is a row here (and its strings in i18n.js).
import { state, $ } from './state.js';
import * as popup from './popups.js';

/** An empty GeoJSON layer. */
export const EMPTY = { type: 'FeatureCollection', features: [] };

// The colour of a grid is its place between the lowest and the highest coverage of the grids
// shown (`cov_t`, 0..1, set by scaleCoverage in weakest.js): real coverages often all sit above
// 95 %, where a fixed 0-100 % ramp paints every grid the same green. The legend prints the ends.
const RAMP = ['#d73027', '#fc8d59', '#fee08b', '#91cf60', '#1a9850'];
const COVERAGE_COLOUR = ['case', ['==', ['typeof', ['get', 'cov_t']], 'number'],
  ['interpolate', ['linear'], ['get', 'cov_t'], 0, RAMP[0], 0.25, RAMP[1], 0.5, RAMP[2], 0.75, RAMP[3],
    1, RAMP[4]],
  '#b8bec6'];
const WALK = ['==', ['get', 'kind'], 'walk'];
const GAP = ['==', ['get', 'kind'], 'gap'];
const NONE = ['in', ['get', 'code'], ['literal', []]]; // filters set later (weakest, assigned)
// A route piece's colour by its state over the period (the routes layer's `state`).
export const ROUTE_COLOURS = { met: '#1a9850', partial: '#f59f00', missed: '#d7301f', unscheduled: '#9aa5b1' };
const ROUTE_COLOUR = ['match', ['get', 'state'], 'met', ROUTE_COLOURS.met, 'partial', ROUTE_COLOURS.partial,
  'missed', ROUTE_COLOURS.missed, ROUTE_COLOURS.unscheduled];
// A vehicle track's colour by the reported work state (true, false, not reported).
const WORK_COLOUR = ['case', ['==', ['get', 'work'], true], '#0b7285',
  ['==', ['get', 'work'], false], '#868e96', '#b197fc'];
const IS_WORKER = ['has', 'worker'];
const IS_VEHICLE = ['has', 'vehicle'];

/** Tracks are drawn once a unit or a worker is chosen: the whole scope's tracks at city zoom
 * are a mat that hides the grids (a day is chosen in the replay, for one worker). */
export const tracksWanted = () => !!(state.unit || state.worker);

/** Vehicle tracks are drawn once a unit is chosen and no worker (a worker is not a vehicle). */
export const vehicleTracksWanted = () => !!state.unit && !state.worker;

/** Tracks are asked for simplified to about a pixel one zoom level deeper than the view (the
 * contract's `zoom`); zooming in two levels beyond that loads them again (data.js). */
export const tracksZoom = () => Math.min(20, Math.max(0, Math.ceil(state.map.getZoom()) + 1));

/** The service's layers the page loads, by source name: the query for the selection `s`, or
 * null for "not now" (drawn empty). `replay` is loaded by replay.js for one worker-day. */
export const SOURCES = {
  units: (s) => ({ month: s.month, unit: s.unit }),
  grids: (s) => ({ month: s.month, unit: s.unit }),
  coverage: (s) => ({ month: s.month, unit: s.unit, worker: s.worker }),
  tracks: (s) => (tracksWanted() ? { month: s.month, unit: s.unit, worker: s.worker, zoom: tracksZoom() } : null),
  stays: (s) => ({ month: s.month, unit: s.unit, worker: s.worker }),
  visits: (s) => ({ month: s.month, unit: s.unit, worker: s.worker }),
  checkpoints: (s) => ({ month: s.month, unit: s.unit }),
  positions: (s) => ({ unit: s.unit, worker: s.worker }),
  routes: (s) => ({ month: s.month, unit: s.unit }),
  vehicle_tracks: (s) => (vehicleTracksWanted() ? { month: s.month, unit: s.unit, zoom: tracksZoom() } : null),
  replay: null,
};

/** The checkboxes, in panel order: [name, checked at first, hint shown under it (id, key)]. */
const TOGGLES = [
  ['grids', true], ['uncovered', true], ['tracks', true, ['tracks-hint', 'tracks_hint']],
  ['stays', false], ['visits', false], ['checkpoints', true], ['positions', true],
  ['routes', true], ['vehicles', true], // the vehicles' routes; their tracks and positions
  ['labels', true], // the grid and worker names (labels.js)
];

/** The map layers, bottom to top. Besides MapLibre's own keys: `toggle` (the checkbox that
 * shows it), `count` (its name in gridbeat.rendered()), `click` (what a click shows, tried in
 * `clickRank` order, lowest first), `legend` ([swatch class, string key] rows) and
 * `paintBySelection` (paint that depends on the selection). */
export const LAYERS = [
  { id: 'grids-fill', type: 'fill', source: 'grids', toggle: 'grids', count: 'grids',
    click: popup.grid, clickRank: 9,
    paint: { 'fill-color': COVERAGE_COLOUR, 'fill-opacity': 0.75 } },
  { id: 'uncovered-fill', type: 'fill', source: 'coverage', toggle: 'uncovered', count: 'uncovered',
    filter: ['==', ['get', 'kind'], 'uncovered'], paint: { 'fill-pattern': 'hatch' },
    legend: [['sw-uncovered', 'layer_uncovered']] },
  { id: 'grids-line', type: 'line', source: 'grids', toggle: 'grids',
    paint: { 'line-color': '#ffffff', 'line-width': 2 } },
  { id: 'grids-assigned', type: 'line', source: 'grids', toggle: 'grids', filter: NONE,
    paint: { 'line-color': '#1d5fbf', 'line-width': 3 } },
  { id: 'units-line', type: 'line', source: 'units', toggle: 'grids', count: 'units',
    paint: { 'line-color': '#1f2933', 'line-width': 2.5, 'line-opacity': 0.85 } },
  { id: 'grids-weak', type: 'line', source: 'grids', toggle: 'grids', filter: NONE,
    paint: { 'line-color': '#b42318', 'line-width': 3, 'line-dasharray': [2, 1] } },
  { id: 'routes-line', type: 'line', source: 'routes', toggle: 'routes', count: 'routes',
    click: popup.route, clickRank: 8.5,
    layout: { 'line-join': 'round', 'line-cap': 'round' },
    paint: { 'line-color': ROUTE_COLOUR, 'line-opacity': 0.9,
      'line-width': ['interpolate', ['linear'], ['zoom'], 12, 2, 16, 6, 19, 12] },
    legend: [['sw-route-met', 'legend_route_met'], ['sw-route-partial', 'legend_route_partial'],
      ['sw-route-missed', 'legend_route_missed'], ['sw-route-unscheduled', 'legend_route_unscheduled']] },
  { id: 'tracks-walk', type: 'line', source: 'tracks', toggle: 'tracks', count: 'tracks', filter: WALK,
    click: popup.walk, clickRank: 8,
    layout: { 'line-join': 'round', 'line-cap': 'round' },
    // Thin and faint at city scale, where many tracks overlap; full width close up. A unit's
    // workers together stay faint enough for the grids' colours to show through.
    paint: { 'line-color': '#2b59c3',
      'line-opacity': ['interpolate', ['linear'], ['zoom'], 13, 0.35, 16, 0.8],
      'line-width': ['interpolate', ['linear'], ['zoom'], 13, 0.6, 16, 2.5] },
    paintBySelection: (s) => (s.worker ? {} : {
      'line-opacity': ['interpolate', ['linear'], ['zoom'], 13, 0.12, 17, 0.45],
      'line-width': ['interpolate', ['linear'], ['zoom'], 13, 0.5, 17, 1.5] }),
    legend: [['sw-walk', 'legend_walk']] },
  { id: 'tracks-gap', type: 'line', source: 'tracks', toggle: 'tracks', count: 'gaps', filter: GAP,
    click: popup.gap, clickRank: 7,
    paint: { 'line-color': '#8e44ad', 'line-dasharray': [2, 2],
      'line-width': ['interpolate', ['linear'], ['zoom'], 13, 1, 16, 2.5] },
    legend: [['sw-gap', 'legend_gap']] },
  { id: 'vehicle-tracks-line', type: 'line', source: 'vehicle_tracks', toggle: 'vehicles',
    count: 'vehicle_tracks', click: popup.vehicleTrack, clickRank: 7.5,
    layout: { 'line-join': 'round', 'line-cap': 'round' },
    paint: { 'line-color': WORK_COLOUR, 'line-opacity': 0.85,
      'line-width': ['interpolate', ['linear'], ['zoom'], 13, 1, 17, 3] },
    legend: [['sw-vehicle-work', 'legend_vehicle_work'], ['sw-vehicle-idle', 'legend_vehicle_idle']] },
  { id: 'replay-walk', type: 'line', source: 'replay', count: 'replay', filter: WALK,
    click: popup.walk, clickRank: 5,
    layout: { 'line-join': 'round', 'line-cap': 'round' },
    paint: { 'line-color': '#0b2e83', 'line-width': 5, 'line-opacity': 0.9 } },
  { id: 'replay-gap', type: 'line', source: 'replay', filter: GAP, click: popup.gap, clickRank: 6,
    paint: { 'line-color': '#8e44ad', 'line-width': 3, 'line-dasharray': [1.5, 1.5] } },
  { id: 'checkpoints-circle', type: 'circle', source: 'checkpoints', toggle: 'checkpoints',
    count: 'checkpoints', click: popup.checkpoint, clickRank: 4, minzoom: 16,
    paint: { 'circle-radius': 6, 'circle-color': '#ffffff', 'circle-stroke-color': '#0fa3b1',
      'circle-stroke-width': 2.5 },
    legend: [['sw-checkpoint', 'layer_checkpoints']] },
  { id: 'stays-circle', type: 'circle', source: 'stays', toggle: 'stays', count: 'stays',
    click: popup.stay, clickRank: 3,
    paint: { 'circle-radius': ['interpolate', ['linear'], ['get', 'duration_s'], 300, 4, 3600, 10],
      'circle-color': '#ff9f1c', 'circle-stroke-color': '#7a4a00', 'circle-stroke-width': 1,
      'circle-opacity': 0.9 },
    legend: [['sw-stay', 'layer_stays']] },
  { id: 'visits-circle', type: 'circle', source: 'visits', toggle: 'visits', count: 'visits',
    click: popup.visit, clickRank: 2,
    paint: { 'circle-radius': 4, 'circle-color': '#0fa3b1', 'circle-stroke-color': '#064e55',
      'circle-stroke-width': 1 },
    legend: [['sw-visit', 'layer_visits']] },
  { id: 'vehicles-circle', type: 'circle', source: 'positions', toggle: 'vehicles', filter: IS_VEHICLE,
    count: 'vehicles', click: popup.vehicle, clickRank: 1.5,
    paint: { 'circle-radius': 7, 'circle-color': '#0b7285', 'circle-stroke-color': '#ffd43b',
      'circle-stroke-width': 3 },
    legend: [['sw-vehicle', 'legend_vehicle']] },
  { id: 'positions-circle', type: 'circle', source: 'positions', toggle: 'positions', filter: IS_WORKER,
    count: 'positions', click: popup.position, clickRank: 1,
    paint: { 'circle-radius': 8,
      'circle-color': ['case', ['==', ['get', 'in_grid'], true], '#1a9850', '#e8590c'],
      'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2.5 },
    legend: [['sw-in', 'legend_in_grid'], ['sw-out', 'legend_out_grid']] },
];

/** The clickable layers, the one a click tries first first. */
export const CLICKABLE = LAYERS.filter((l) => l.click).sort((a, b) => a.clickRank - b.clickRank);

/** The page's own keys of a LAYERS row, which MapLibre must not see. */
const OURS = new Set(['toggle', 'count', 'click', 'clickRank', 'legend', 'paintBySelection']);

/** Paints the layers whose look depends on the selection (`paintBySelection`: the paint
 * properties that differ from the row's `paint` for the selection `s`). */
export function paintForSelection() {
  const map = state.map;
  for (const l of LAYERS.filter((x) => x.paintBySelection)) {
    const over = l.paintBySelection(state);
    for (const [k, v] of Object.entries(l.paint)) map.setPaintProperty(l.id, k, k in over ? over[k] : v);
  }
}

function hatchImage() {
  const n = 8, data = new Uint8Array(n * n * 4);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const on = (x + y) % n < 3;
      data.set(on ? [55, 60, 70, 170] : [55, 60, 70, 45], (y * n + x) * 4);
    }
  }
  return { width: n, height: n, data };
}

/** Adds the sources (empty) and the layers to the map. */
export function addLayers(map) {
  for (const name of Object.keys(SOURCES)) map.addSource(name, { type: 'geojson', data: EMPTY });
  map.addImage('hatch', hatchImage());
  for (const l of LAYERS) {
    map.addLayer(Object.fromEntries(Object.entries(l).filter(([k]) => !OURS.has(k))));
  }
}

/** Makes the checkboxes and the legend's rows from the tables (strings by data-i18n). */
export function buildPanel(onToggle) {
  const box = $('layers');
  for (const [name, checked, hint] of TOGGLES) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.dataset.layer = name;
    input.checked = checked;
    input.onchange = onToggle;
    const span = document.createElement('span');
    span.dataset.i18n = 'layer_' + name;
    label.append(input, ' ', span);
    box.append(label);
    if (hint) {
      const p = document.createElement('p');
      p.id = hint[0];
      p.className = 'hint';
      p.dataset.i18n = hint[1];
      box.append(p);
    }
  }
  const legend = document.querySelector('#legend .legend-items');
  for (const [swatch, key] of LAYERS.flatMap((l) => l.legend || [])) {
    const li = document.createElement('li');
    const i = document.createElement('i');
    i.className = 'sw ' + swatch;
    const span = document.createElement('span');
    span.dataset.i18n = key;
    li.append(i, span);
    legend.append(li);
  }
}

/** Whether the checkbox `name` is ticked. */
export function toggled(name) {
  const box = document.querySelector(`#layers input[data-layer="${name}"]`);
  return !box || box.checked;
}

/** Shows and hides the layers as their checkboxes say. */
export function applyToggles() {
  const map = state.map;
  if (!map) return;
  for (const l of LAYERS) {
    if (l.toggle && map.getLayer(l.id)) {
      map.setLayoutProperty(l.id, 'visibility', toggled(l.toggle) ? 'visible' : 'none');
    }
  }
}

/** Features drawn now per `count` name, from queryRenderedFeatures (deduplicated across tiles). */
export function rendered() {
  const out = {};
  const map = state.map;
  if (!map) return out;
  for (const l of LAYERS.filter((x) => x.count)) {
    if (!map.getLayer(l.id)) { out[l.count] = 0; continue; }
    const seen = new Set();
    for (const f of map.queryRenderedFeatures({ layers: [l.id] })) seen.add(JSON.stringify(f.properties));
    out[l.count] = seen.size;
  }
  return out;
}

/** Marks the chosen worker's grids. */
export function highlightAssigned() {
  const w = state.workerById.get(state.worker);
  state.map.setFilter('grids-assigned', ['in', ['get', 'code'], ['literal', w ? w.grids : []]]);
}
