// Figures as the page prints them, in the page's language: percentages, areas, lengths,
// durations, times in the service's time zone, and HTML escaping for everything from the API.
import { state } from './state.js';
import { t } from './i18n.js';

/** HTML-escaped text. */
export function esc(v) {
  return String(v == null ? '' : v).replace(/[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
/** A number format with at most d decimals. */
export const numberFmt = (d) => new Intl.NumberFormat(state.lang === 'zh' ? 'zh-CN' : 'en-GB',
  { maximumFractionDigits: d, minimumFractionDigits: 0 });
/** A share (0..1) as a percentage. */
export function pct(x) { return x == null ? t('none') : numberFmt(1).format(x * 100) + ' %'; }
/** Square metres, in hectares from 1 ha. */
export function area(m2) {
  if (m2 == null) return t('none');
  return m2 >= 10000 ? numberFmt(2).format(m2 / 10000) + (state.lang === 'zh' ? ' 公顷' : ' ha')
    : numberFmt(0).format(m2) + ' m²';
}
/** Metres, in km from 1 km. */
export function metres(m) {
  if (m == null) return t('none');
  return m >= 1000 ? numberFmt(2).format(m / 1000) + ' km' : numberFmt(0).format(m) + ' m';
}
/** Seconds as hours and minutes. */
export function duration(s) {
  if (s == null) return t('none');
  const h = Math.floor(s / 3600), m = Math.round((s % 3600) / 60);
  if (state.lang === 'zh') return (h ? h + ' 小时 ' : '') + m + ' 分';
  return (h ? h + ' h ' : '') + m + ' min';
}
/** An RFC 3339 time as a clock time (with the date when asked) in the service's time zone. */
export function time(iso, withDate) {
  if (!iso) return t('none');
  const d = new Date(iso);
  if (isNaN(d)) return esc(iso);
  const opts = { timeZone: (state.config && state.config.tz) || undefined, hour12: false,
    hour: '2-digit', minute: '2-digit', second: '2-digit' };
  if (withDate) { opts.month = '2-digit'; opts.day = '2-digit'; }
  try {
    return new Intl.DateTimeFormat(state.lang === 'zh' ? 'zh-CN' : 'en-GB', opts).format(d);
  } catch (e) {
    return d.toISOString();
  }
}
/** A two-column table of [string key, HTML value] rows. */
export function table(rows) {
  return '<table>' + rows.map(([k, v]) => `<tr><th>${esc(t(k))}</th><td>${v}</td></tr>`).join('') +
    '</table>';
}
/** A worker's name with the id beside it (HTML). */
export function workerName(id) {
  const w = state.workerById.get(id);
  return w && w.name ? `${esc(w.name)} <span class="hint">${esc(id)}</span>` : esc(id);
}
