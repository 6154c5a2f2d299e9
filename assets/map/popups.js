// What a click on the map shows: a pop-up with the figures of the feature under the pointer,
// and for a grid or a worker the monthly report's rows for it (the same figures as the report).
// The LAYERS table (layers.js) says which layer shows which pop-up.
import { state, isNarrow } from './state.js';
import { t } from './i18n.js';
import { api, withAuth } from './api.js';
import { esc, numberFmt, pct, area, metres, duration, time, table, workerName } from './format.js';
import { CLICKABLE } from './layers.js';
import { fail } from './data.js';

/** The month's report for the selected unit, asked for once per month and unit. */
export async function report() {
  const key = state.month + '|' + state.unit;
  if (!state.reports.has(key)) {
    state.reports.set(key, withAuth(() => api('/api/v1/reports/' + state.month,
      { format: 'json', unit: state.unit })).catch((e) => {
      state.reports.delete(key);
      throw e;
    }));
  }
  return state.reports.get(key);
}

// Each pop-up takes the feature's properties and returns { html, after }: `after(report)`
// fills the pop-up's `.report-rows` once the report is there.

/** A grid: its figures, then its workers' rows of the report. */
export function grid(p) {
  const f = state.gridByCode.get(p.code);
  if (!f) return null;
  const g = f.properties;
  const workers = (g.workers || []).map(workerName).join('、') || t('none');
  const html = `<div class="popup"><h3>${esc(g.name)}</h3>` + table([
    ['code', esc(g.code)],
    ['community', esc(g.parent_name || g.parent)],
    ['coverage', pct(g.coverage)],
    ['covered_m2', area(g.covered_m2)],
    ['area_m2', area(g.area_m2)],
    ['attainable', pct(g.attainable)],
    ['score', g.score == null ? t('none') : numberFmt(1).format(g.score)],
    ['patrol', duration(g.patrol_s)],
    ['workers', workers],
  ]) + '<div class="report-rows"></div></div>';
  const mine = new Set(g.workers || []);
  const after = (r) => workerRowsHtml(r.workers.filter((w) => mine.has(w.worker) ||
    String(w.grid || '').split('+').includes(g.code)));
  return { html, after };
}

function workerRowsHtml(rows) {
  if (!rows.length) return '';
  return `<p class="sub">${esc(t('report_rows'))}</p><table class="rows"><tr>` +
    ['worker', 'coverage', 'patrol_h', 'score_col'].map((k) => `<th>${esc(t(k))}</th>`).join('') +
    '</tr>' + rows.map((r) => `<tr><td>${esc(r.name || r.worker)}</td><td>${pct(r.coverage)}</td>` +
      `<td>${numberFmt(1).format(r.patrol_h)}</td><td>${numberFmt(1).format(r.score)}</td></tr>`).join('') +
    '</table>';
}

/** A worker's latest position, then the worker's figures of the month. */
export function position(props) {
  const f = state.positionByWorker.get(props.worker);
  if (!f) return null;
  const p = f.properties;
  const gridName = (c) => {
    const g = state.gridByCode.get(c);
    return g ? `${esc(g.properties.name)} <span class="hint">${esc(c)}</span>` : esc(c);
  };
  const html = `<div class="popup"><h3>${esc(p.name || p.worker)} <span class="hint">${esc(p.worker)}</span></h3>` +
    table([
      ['ts', time(p.ts, true)],
      ['age', duration(p.age_s)],
      ['accuracy', p.acc_m == null ? t('none') : numberFmt(0).format(p.acc_m) + ' m'],
      ['grid', p.grid ? gridName(p.grid) : t('none')],
      ['assigned', (p.assigned || []).map(gridName).join('、') || t('none')],
      ['in_grid', t(p.in_grid ? 'yes' : 'no')],
    ]) + '<div class="report-rows"></div></div>';
  return { html, after: (r) => workerFiguresHtml(r.workers.find((w) => w.worker === p.worker)) };
}

function workerFiguresHtml(r) {
  if (!r) return '';
  return `<p class="sub">${esc(t('report_rows'))}</p>` + table([
    ['score_col', numberFmt(1).format(r.score)],
    ['coverage', pct(r.coverage)],
    ['days_active', esc(r.days_active)],
    ['patrol_h', numberFmt(1).format(r.patrol_h)],
    ['distance', numberFmt(1).format(r.distance_km) + ' km'],
    ['compliance', pct(r.checkpoint_compliance)],
  ]);
}

/** A day's walk. */
export function walk(p) {
  return { html: `<div class="popup"><h3>${esc(t('walk'))} · ${workerName(p.worker)}</h3>` + table([
    ['day', esc(p.day)], ['start', time(p.start)], ['end', time(p.end)],
    ['length', metres(p.length_m)], ['patrol', duration(p.patrol_s)], ['segments', esc(p.segments)],
  ]) + '</div>' };
}

/** A signal gap between two pieces of a walk. */
export function gap(p) {
  return { html: `<div class="popup"><h3>${esc(t('gap'))} · ${workerName(p.worker)}</h3>` +
    table([['day', esc(p.day)], ['gap_m', metres(p.gap_m)]]) + '</div>' };
}

/** A stay. */
export function stay(p) {
  return { html: `<div class="popup"><h3>${esc(t('stay'))} · ${workerName(p.worker)}</h3>` + table([
    ['start', time(p.start, true)], ['end', time(p.end)], ['duration', duration(p.duration_s)],
    ['pings', esc(p.pings)], ['grid', esc(p.grid || t('none'))],
  ]) + '</div>' };
}

/** A visit to a checkpoint. */
export function visit(p) {
  return { html: `<div class="popup"><h3>${esc(t('visit'))} · ${esc(p.name)}</h3>` + table([
    ['worker', workerName(p.worker)], ['start', time(p.start, true)], ['end', time(p.end)],
    ['duration', duration(p.duration_s)], ['via', esc(t('via_' + p.via))],
  ]) + '</div>' };
}

/** A checkpoint. */
export function checkpoint(p) {
  return { html: `<div class="popup"><h3>${esc(t('checkpoint'))} · ${esc(p.name)}</h3>` + table([
    ['code', esc(p.code)], ['kind', esc(p.kind)], ['grid', esc(p.grid)],
    ['visits_per_month', esc(p.visits_per_month)], ['visits', esc(p.visits)],
    ['compliance', pct(p.compliance)],
  ]) + '</div>' };
}

/** A run of route pieces: its passes against the required ones, then the route's figures over
 * the period (the same definitions as the report's route rows). */
export function route(p) {
  const passes = numberFmt(p.scheduled_days > 1 ? 2 : 0).format(p.passes);
  const stateText = `<span class="route-state ${esc(p.state)}">${esc(t('state_' + p.state))}</span>`;
  return { html: `<div class="popup route-popup"><h3>${esc(p.name)} <span class="hint">${esc(p.route)}</span></h3>` +
    table([
      ['route_unit', esc(unitName(p.unit))], ['kind', esc(p.kind || t('none'))],
      ['route_state', stateText],
      ['passes', `${passes} / ${esc(p.required)}`],
      ...(p.scheduled_days > 1 ? [['met_share', pct(p.met_share)]] : []),
      ['piece_length', metres(p.length_m)],
    ]) + `<p class="sub">${esc(t('route_figures'))}</p>` + table([
      ['worked_share', pct(p.worked_share)],
      ['passes_met_share', pct(p.passes_met_share)],
      ['on_schedule_share', pct(p.on_schedule_share)],
      ['scheduled_days', esc(p.scheduled_days)],
      ['fully_worked_days', esc(p.fully_worked_days)],
      ['route_length', metres(p.route_length_m)],
    ]) + '</div>' };
}

/** A vehicle's latest position. */
export function vehicle(p) {
  return { html: `<div class="popup"><h3>${esc(p.plate)} <span class="hint">${esc(p.vehicle)}</span></h3>` +
    table([
      ['kind', esc(p.kind)], ['route_unit', esc(unitName(p.unit))], ['ts', time(p.ts, true)],
      ['age', duration(p.age_s)], ['grid', esc(p.grid || t('none'))],
    ]) + '</div>' };
}

/** A run of a vehicle's track with one work state. */
export function vehicleTrack(p) {
  const work = p.work === true ? 'work_on' : p.work === false ? 'work_off' : 'work_unknown';
  return { html: `<div class="popup"><h3>${esc(p.plate)} <span class="hint">${esc(p.vehicle)}</span></h3>` +
    table([
      ['day', esc(p.day)], ['work_state', esc(t(work))], ['start', time(p.start)], ['end', time(p.end)],
      ['length', metres(p.length_m)],
    ]) + '</div>' };
}

function unitName(code) {
  const u = state.unitByCode.get(code);
  return u ? `${u.name} (${code})` : code;
}

/** A click on the map: the pop-up of the topmost clickable feature within 6 px. */
export function onClick(ev) {
  const map = state.map;
  if (isNarrow()) document.body.classList.remove('drawer-open');
  const shown = CLICKABLE.filter((l) => map.getLayer(l.id) &&
    map.getLayoutProperty(l.id, 'visibility') !== 'none');
  const pad = 6;
  const hits = map.queryRenderedFeatures(
    [[ev.point.x - pad, ev.point.y - pad], [ev.point.x + pad, ev.point.y + pad]],
    { layers: shown.map((l) => l.id) });
  if (!hits.length) return;
  const rank = (id) => shown.findIndex((l) => l.id === id);
  hits.sort((a, b) => rank(a.layer.id) - rank(b.layer.id));
  const f = hits[0];
  const shows = shown[rank(f.layer.id)].click(f.properties);
  if (!shows) return;
  if (state.popup) state.popup.remove();
  state.popup = new maplibregl.Popup({ maxWidth: '360px' }).setLngLat(ev.lngLat).setHTML(shows.html)
    .addTo(map);
  const pop = state.popup;
  if (shows.after) {
    report().then((r) => {
      const el = pop.getElement() && pop.getElement().querySelector('.report-rows');
      if (el) el.innerHTML = shows.after(r);
    }).catch((e) => fail(e));
  }
}
