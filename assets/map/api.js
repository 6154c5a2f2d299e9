// The service's API with a bearer token: the token comes from the link, localStorage or the
// token dialog, and a 401 asks for it again and retries.
import { state, $ } from './state.js';
import { t } from './i18n.js';

/** Where the token is kept between visits. */
export const TOKEN_KEY = 'gridbeat.token';

/** The service answered 401: the token is missing, wrong or expired. */
export class AuthError extends Error {}

/** GET path with the query params (empty ones left out) and the bearer token, as JSON. */
export async function api(path, params) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== '') url.searchParams.set(k, v);
  }
  const headers = { Accept: 'application/json, application/geo+json' };
  if (state.token) headers.Authorization = 'Bearer ' + state.token;
  const r = await fetch(url, { headers });
  if (r.status === 401) throw new AuthError(path);
  if (!r.ok) {
    let detail = r.statusText;
    try { const b = await r.json(); detail = `${b.code}: ${b.message}`; } catch (e) { /* not JSON */ }
    throw new Error(`${url.pathname} ${r.status} ${detail}`);
  }
  return r.json();
}

let tokenPrompt = null; // one dialog for all the requests that met a 401 at once

/** Asks for a token (the dialog); resolves once one is entered. */
export function askToken(rejected) {
  if (!tokenPrompt) tokenPrompt = showTokenDialog(rejected).finally(() => { tokenPrompt = null; });
  return tokenPrompt;
}

function showTokenDialog(rejected) {
  const box = $('token');
  $('token-msg').textContent = t(rejected ? 'token_rejected' : 'token_prompt');
  box.hidden = false;
  const input = $('token-input');
  input.value = '';
  input.focus();
  return new Promise((resolve) => {
    $('token-form').onsubmit = (ev) => {
      ev.preventDefault();
      const tok = input.value.trim();
      if (!tok) return;
      state.token = tok;
      try { localStorage.setItem(TOKEN_KEY, tok); } catch (e) { /* private mode */ }
      box.hidden = true;
      resolve();
    };
  });
}

/** Runs fn; on 401 asks for a token again and retries. */
export async function withAuth(fn) {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof AuthError)) throw e;
      state.token = null;
      try { localStorage.removeItem(TOKEN_KEY); } catch (x) { /* ignore */ }
      await askToken(true);
    }
  }
}

/** A layer query with the basemap's datum added when it needs one (`crs`). */
export function layerParams(extra) {
  const p = Object.assign({}, extra);
  if (state.crs) p.crs = state.crs;
  return p;
}
