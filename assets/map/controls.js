// The panel: month, unit and worker lists, the language and help buttons, the drawer on a
// phone, the replay controls; a change of selection loads the layers again.
import { state, $ } from './state.js';
import { t } from './i18n.js';
import { withAuth } from './api.js';
import { fitTo } from './geometry.js';
import { fail, loadLayers } from './data.js';
import { updateLabels } from './labels.js';
import { showLegendScale, renderWeakest } from './weakest.js';
import { loadDays, loadReplay, showReplay, stopPlaying, togglePlay } from './replay.js';

/** Where the chosen language is kept between visits. */
export const LANG_KEY = 'gridbeat.lang';

function unitOrder() {
  // Depth-first from the roots, children in the server's order; grids left out of the list.
  const byParent = new Map();
  for (const u of state.units) {
    const k = u.parent && state.unitByCode.has(u.parent) ? u.parent : null;
    if (!byParent.has(k)) byParent.set(k, []);
    byParent.get(k).push(u);
  }
  const out = [];
  const visit = (u, depth) => {
    if (u.level === 'grid') return;
    out.push([u, depth]);
    for (const c of byParent.get(u.code) || []) visit(c, depth + 1);
  };
  for (const root of byParent.get(null) || []) visit(root, 0);
  return out;
}

function subtreeGrids(code) {
  const out = new Set();
  const todo = [code];
  while (todo.length) {
    const u = state.unitByCode.get(todo.pop());
    if (!u) continue;
    if (u.level === 'grid') out.add(u.code);
    for (const c of u.children || []) todo.push(c);
  }
  return out;
}

/** The month list, newest first. */
export function fillMonths() {
  const sel = $('month');
  sel.innerHTML = '';
  for (const m of state.config.months.slice().reverse()) sel.append(new Option(m, m));
  sel.value = state.month;
}

/** The unit list as a tree (grids left out). */
export function fillUnits() {
  const sel = $('unit');
  sel.innerHTML = '';
  sel.append(new Option(t('all_units'), ''));
  for (const [u, depth] of unitOrder()) {
    sel.append(new Option('\u3000'.repeat(depth) + u.name, u.code));
  }
  sel.value = state.unit;
}

/** The workers of the chosen unit. */
export function fillWorkers() {
  const sel = $('worker');
  sel.innerHTML = '';
  sel.append(new Option(t('all_workers'), ''));
  const grids = state.unit ? subtreeGrids(state.unit) : null;
  const list = state.workers.filter((w) => !grids || (w.grids || []).some((g) => grids.has(g)));
  for (const w of list) sel.append(new Option(`${w.name} (${w.id})`, w.id));
  if (!list.some((w) => w.id === state.worker)) state.worker = '';
  sel.value = state.worker;
}

/** Puts every string of the page in the current language. */
export function applyI18n() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = 'gridbeat · ' + t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  $('lang-toggle').textContent = state.lang === 'zh' ? 'EN' : '中文';
  $('help-body').innerHTML = t('help_html');
  $('play').textContent = t(state.playing ? 'pause' : 'play');
  if (state.units.length) { fillUnits(); fillWorkers(); }
  if (state.replay) showReplay();
  if (state.popup) state.popup.remove();
  if (state.map) { showLegendScale(); renderWeakest(); updateLabels(); }
}

/** Wires the panel's controls to the map. */
export function bindControls() {
  $('lang-toggle').onclick = () => {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    try { localStorage.setItem(LANG_KEY, state.lang); } catch (e) { /* ignore */ }
    applyI18n();
  };
  $('help-toggle').onclick = () => { $('help').hidden = false; };
  $('help-close').onclick = () => { $('help').hidden = true; };
  $('help').onclick = (ev) => { if (ev.target === $('help')) $('help').hidden = true; };
  const drawer = (open) => {
    document.body.classList.toggle('drawer-open', open);
    $('drawer-toggle').setAttribute('aria-expanded', String(open));
  };
  $('drawer-toggle').onclick = () => drawer(!document.body.classList.contains('drawer-open'));
  $('drawer-close').onclick = () => drawer(false);

  const reload = (fit) => withAuth(loadLayers).then((fresh) => {
    if (fresh && fit) fitTo(state.data.grids.bbox);
  }).catch(fail);
  $('month').onchange = () => {
    state.month = $('month').value;
    state.reports.clear();
    reload(false);
    withAuth(loadDays).catch(fail);
  };
  $('unit').onchange = () => {
    state.unit = $('unit').value;
    const before = state.worker;
    fillWorkers();
    reload(true);
    if (before !== state.worker) withAuth(loadDays).catch(fail);
  };
  $('worker').onchange = () => {
    state.worker = $('worker').value;
    reload(false);
    withAuth(loadDays).catch(fail);
  };
  $('day').onchange = () => loadReplay().catch(fail);
  $('slider').oninput = () => { stopPlaying(); showReplay(); };
  $('play').onclick = togglePlay;
}
