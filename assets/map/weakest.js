// What the first view calls out: the coverage colour scale over the grids shown (and its
// legend), the grids with the lowest coverage and the workers with the lowest score, in the
// panel and on the map. Every figure is the service's (the grids layer, the monthly report).
import { state, $, isNarrow } from './state.js';
import { t } from './i18n.js';
import { numberFmt, pct } from './format.js';
import { AuthError } from './api.js';
import { bboxOf, fitTo } from './geometry.js';
import { gridLabel } from './labels.js';
import { report } from './popups.js';
import { fail } from './data.js';

/** How many of n grids or workers are called out: the weakest third, at most three, none of
 * one (with three grids shown, outlining all three would say nothing). */
const calledOut = (n) => (n < 2 ? 0 : Math.min(3, Math.max(1, Math.floor(n / 3))));

/** Sets each grid's `cov_t`: its coverage between the lowest (0) and highest (1) shown. */
export function scaleCoverage(fc) {
  const covs = fc.features.map((f) => f.properties.coverage).filter((c) => typeof c === 'number');
  const lo = covs.length ? Math.min(...covs) : 0, hi = covs.length ? Math.max(...covs) : 1;
  for (const f of fc.features) {
    const c = f.properties.coverage;
    if (typeof c === 'number') f.properties.cov_t = hi > lo ? (c - lo) / (hi - lo) : 1;
  }
  state.coverageRange = covs.length ? [lo, hi] : null;
  showLegendScale();
}

/** The legend's figures under the colour ramp: lowest, middle, highest coverage shown. */
export function showLegendScale() {
  const r = state.coverageRange;
  const ends = $('coverage-key').querySelectorAll('.legend-scale span');
  ends[0].textContent = r ? pct(r[0]) : '';
  ends[1].textContent = r ? pct((r[0] + r[1]) / 2) : '';
  ends[2].textContent = r ? pct(r[1]) : '';
}

/** Finds the weakest grids and workers of the selection, outlines and lists them. */
export async function callOutWeakest(seq) {
  const measured = state.data.grids.features.filter((f) => typeof f.properties.coverage === 'number');
  const grids = measured.sort((a, b) => a.properties.coverage - b.properties.coverage)
    .slice(0, calledOut(measured.length));
  let rows = [];
  try {
    const r = await report();
    const shown = r.workers.filter((w) => !state.worker || w.worker === state.worker);
    rows = shown.slice().sort((a, b) => a.score - b.score).slice(0, calledOut(shown.length));
  } catch (e) {
    if (e instanceof AuthError) throw e;
    fail(e);
  }
  if (seq !== state.loadSeq) return;
  state.weakGrids = grids.map((f) => f.properties.code);
  state.weakWorkers = new Map(rows.map((w) => [w.worker, w]));
  state.map.setFilter('grids-weak', ['in', ['get', 'code'], ['literal', state.weakGrids]]);
  state.weakLists = { grids, rows };
  renderWeakest();
}

/** The panel's lists (again after a language change): a grid's button shows the grid, a
 * worker's chooses the worker. */
export function renderWeakest() {
  if (!state.weakLists) return;
  const { grids, rows } = state.weakLists;
  const button = (text, onclick) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.onclick = onclick;
    li.append(b);
    return li;
  };
  $('weak-grids').replaceChildren(...grids.map((f) => button(
    gridLabel(f.properties) + ' · ' + pct(f.properties.coverage), () => {
      fitTo(bboxOf(f.geometry));
      if (isNarrow()) document.body.classList.remove('drawer-open');
    })));
  $('weak-grids').previousElementSibling.hidden = !grids.length;
  $('weak-workers').previousElementSibling.hidden = !rows.length;
  $('weak-workers').replaceChildren(...rows.map((w) => button(
    `${w.name || w.worker} · ${numberFmt(1).format(w.score)} ${t('points')}`, () => {
      $('worker').value = w.worker;
      $('worker').dispatchEvent(new Event('change'));
    })));
}
