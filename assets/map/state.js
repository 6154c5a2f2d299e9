// What the page knows and shows now: one object every module reads and writes, the map among
// it (`state.map`, null until it is made), plus the status line and the error path.

/** The page's state: configuration, selection, loaded layers and what is drawn. */
export const state = {
  map: null,
  config: null, lang: 'zh', token: null, crs: null,
  units: [], unitByCode: new Map(), workers: [], workerById: new Map(),
  // The selection: '' is "all".
  month: null, unit: '', worker: '', day: '',
  // Loaded layers (GeoJSON by source name), their feature counts, the loading flag, the error.
  data: {}, counts: {}, loading: false, error: null, loadSeq: 0,
  gridByCode: new Map(), positionByWorker: new Map(), repeatedNames: new Set(),
  reports: new Map(), tracksZoom: null, coverageRange: null,
  weakGrids: [], weakWorkers: new Map(), weakLists: null,
  replay: null, playing: false, replayMarker: null,
  labels: [], popup: null, lastUpdate: null,
};

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** True on a phone-sized screen, where the controls are a drawer. */
export const isNarrow = () => window.matchMedia('(max-width: 700px)').matches;

/** Shows msg in the panel's status line, red when it is an error. */
export function setStatus(msg, isError) {
  const el = $('status');
  el.textContent = msg || '';
  el.classList.toggle('error', !!isError);
}
