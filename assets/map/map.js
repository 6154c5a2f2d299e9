// gridbeat map page: grids coloured by coverage, tracks, stays, visits, checkpoints, the
// latest positions and a day replay, drawn with MapLibre GL JS from the service's GeoJSON
// layer endpoints (/api/v1/layers/{layer}). Plain JS, no build step, no external requests:
// no glyphs or sprites (labels are HTML markers), an optional basemap only from config.json.
//
// Test hook: window.gridbeat = {ready, error, counts, rendered(), ...} (see the bottom).
(function () {
  'use strict';

  // ---------------------------------------------------------------- strings (one dictionary)
  const I18N = {
    zh: {
      title: '网格巡查地图', help: '帮助', close: '关闭', controls: '控制面板',
      month: '月份', unit: '单位', worker: '网格员', all_units: '全部单位', all_workers: '全部网格员',
      layers: '图层', layer_grids: '网格覆盖率', layer_uncovered: '未覆盖区域', layer_tracks: '轨迹',
      layer_stays: '停留', layer_visits: '到访', layer_checkpoints: '巡查点',
      layer_positions: '最新位置', layer_labels: '网格名称',
      replay: '轨迹回放', day: '日期', play: '播放', pause: '暂停',
      replay_pick_worker: '请先选择一名网格员', replay_pick_day: '请选择日期',
      replay_no_days: '本月没有该网格员的轨迹', replay_no_walk: '当天没有轨迹',
      legend: '图例', legend_coverage: '网格覆盖率（所选月份，团队）：颜色从所示网格的最低值（红）到最高值（绿）',
      weakest: '最需关注', weak_grids: '覆盖率最低的网格', weak_workers: '得分最低的网格员', points: '分',
      tracks_hint: '选择单位或网格员后显示轨迹', legend_walk: '巡查轨迹',
      legend_gap: '信号中断（直线连接）', legend_in_grid: '网格员（在责任网格内）',
      legend_out_grid: '网格员（不在责任网格内）',
      token_title: '需要访问令牌', token_prompt: '请输入管理员发放的访问令牌。',
      token_rejected: '令牌无效或已过期，请重新输入。', token_submit: '确定',
      loading: '加载中…', loaded: '已加载：{grids} 个网格，{walks} 条轨迹，{positions} 个位置',
      updated: '位置更新于 {time}', error: '出错：{msg}',
      code: '编码', name: '名称', community: '社区', coverage: '覆盖率', covered_m2: '已覆盖面积',
      area_m2: '网格面积', attainable: '可达覆盖率上限', score: '平均得分', workers: '网格员',
      patrol: '巡查时长', report_rows: '本月考核（与报表一致）', score_col: '得分',
      days_active: '出勤天数', distance: '里程', patrol_h: '巡查小时',
      ts: '定位时间', age: '距今', accuracy: '精度', grid: '所在网格', assigned: '责任网格',
      in_grid: '在责任网格内', yes: '是', no: '否', none: '无', kind: '类型',
      walk: '巡查轨迹', gap: '信号中断', length: '长度', segments: '段数', start: '开始', end: '结束',
      duration: '时长', pings: '定位点数', checkpoint: '巡查点', via: '方式', via_dwell: '停留',
      via_checkin: '签到', visits_per_month: '每月应到访', visits: '本月到访', compliance: '完成率',
      gap_m: '中断距离', stay: '停留', visit: '到访',
      help_html:
        '<p>地图按所选<b>月份</b>与<b>单位</b>显示各网格的团队覆盖率（颜色从所示网格中最低的红色到最高的绿色，图例标出两端的数值），' +
        '红色虚线框出覆盖率最低的网格；' +
        '灰色斜线为未覆盖区域；选择<b>单位</b>或<b>网格员</b>后显示轨迹，选择网格员后只显示其轨迹、停留与到访。</p>' +
        '<p>蓝线为巡查轨迹；紫色虚线连接两段轨迹之间的信号中断，不代表实际走过的路线。' +
        '橙色圆点为停留，青色圆点为巡查点到访，白心圆圈为巡查点。</p>' +
        '<p>圆形标记为各网格员的最新位置，每 10 秒刷新：绿色在责任网格内，橙色不在。</p>' +
        '<p>点击网格查看覆盖率、面积、得分等数据（与月度报表同一算法、同一数字），' +
        '点击网格员位置查看其本月考核数据。</p>' +
        '<p><b>轨迹回放</b>：选择网格员与日期，拖动滑块或点“播放”。标记按当天轨迹的开始与结束时间，' +
        '<b>按累计长度匀速</b>沿轨迹移动：时间过半即走完轨迹总长度的一半。' +
        '信号中断的时间不计，标记直接跳到下一段的起点，因此显示的位置是估计值，不是实际定位。</p>' +
        '<p>地图不需要底图，网格与名称即可定位；重名的网格前加社区名；放大后显示全部网格员姓名。右上角按钮切换中文/English。</p>',
    },
    en: {
      title: 'Grid patrol map', help: 'Help', close: 'Close', controls: 'Controls',
      month: 'Month', unit: 'Unit', worker: 'Grid worker', all_units: 'All units', all_workers: 'All workers',
      layers: 'Layers', layer_grids: 'Grid coverage', layer_uncovered: 'Uncovered parts', layer_tracks: 'Tracks',
      layer_stays: 'Stays', layer_visits: 'Visits', layer_checkpoints: 'Checkpoints',
      layer_positions: 'Latest positions', layer_labels: 'Grid names',
      replay: 'Replay a day', day: 'Day', play: 'Play', pause: 'Pause',
      replay_pick_worker: 'Pick a worker first', replay_pick_day: 'Pick a day',
      replay_no_days: 'No tracks of this worker this month', replay_no_walk: 'No track that day',
      legend: 'Legend', legend_coverage: 'Grid coverage (selected month, team): from the lowest of the grids shown (red) to the highest (green)',
      weakest: 'Needs attention', weak_grids: 'Grids with the lowest coverage', weak_workers: 'Workers with the lowest score', points: 'pts',
      tracks_hint: 'Tracks are drawn once a unit or a worker is chosen', legend_walk: 'Patrol track',
      legend_gap: 'Signal gap (straight connector)', legend_in_grid: 'Worker (in an assigned grid)',
      legend_out_grid: 'Worker (outside the assigned grids)',
      token_title: 'Access token needed', token_prompt: 'Enter the access token you were given.',
      token_rejected: 'The token was refused; enter it again.', token_submit: 'OK',
      loading: 'Loading…', loaded: 'Loaded: {grids} grids, {walks} tracks, {positions} positions',
      updated: 'Positions updated at {time}', error: 'Error: {msg}',
      code: 'Code', name: 'Name', community: 'Community', coverage: 'Coverage', covered_m2: 'Covered area',
      area_m2: 'Grid area', attainable: 'Attainable ceiling', score: 'Mean score', workers: 'Workers',
      patrol: 'Patrol time', report_rows: 'This month (as in the report)', score_col: 'Score',
      days_active: 'Days active', distance: 'Distance', patrol_h: 'Patrol hours',
      ts: 'Fix time', age: 'Age', accuracy: 'Accuracy', grid: 'In grid', assigned: 'Assigned grids',
      in_grid: 'In an assigned grid', yes: 'yes', no: 'no', none: 'none', kind: 'Kind',
      walk: 'Patrol track', gap: 'Signal gap', length: 'Length', segments: 'Segments', start: 'Start', end: 'End',
      duration: 'Duration', pings: 'Pings', checkpoint: 'Checkpoint', via: 'Via', via_dwell: 'dwell',
      via_checkin: 'check-in', visits_per_month: 'Visits due per month', visits: 'Visits this month',
      compliance: 'Compliance', gap_m: 'Gap length', stay: 'Stay', visit: 'Visit',
      help_html:
        '<p>The map shows each grid\'s team coverage for the chosen <b>month</b> and <b>unit</b> ' +
        '(from the lowest of the grids shown in red to the highest in green; the legend gives both ' +
        'figures); dashed red outlines mark the grids with the lowest coverage; grey hatching marks ' +
        'the uncovered parts. Tracks are drawn once a <b>unit</b> or a <b>worker</b> is chosen; a ' +
        'worker narrows tracks, stays and visits to that worker.</p>' +
        '<p>Blue lines are patrol tracks; dashed purple lines join two pieces of a track across a ' +
        'signal gap and are not a walked route. Orange dots are stays, teal dots visits to ' +
        'checkpoints, white rings the checkpoints.</p>' +
        '<p>Round markers are the workers\' latest positions, refreshed every 10 s: green inside an ' +
        'assigned grid, orange outside.</p>' +
        '<p>Click a grid for its coverage, area and score (the same figures as the monthly report); ' +
        'click a worker\'s position for the worker\'s figures of the month.</p>' +
        '<p><b>Replay</b>: pick a worker and a day, then drag the slider or press Play. The marker ' +
        'moves along the day\'s track <b>at a uniform pace by cumulative length</b> between the ' +
        'track\'s start and end times: halfway through the time it has covered half the length. ' +
        'Time spent in signal gaps is not modelled (the marker jumps to the next piece), so the ' +
        'position shown is an estimate, not a recorded fix.</p>' +
        '<p>No basemap is needed: grids and their names give the orientation (a grid name that ' +
        'repeats carries its community\'s); zoom in to see every worker\'s name. The button at the top switches between 中文 and English.</p>',
    },
  };

  // ---------------------------------------------------------------- state and test hook
  const TOKEN_KEY = 'gridbeat.token';
  const LANG_KEY = 'gridbeat.lang';
  const POSITIONS_EVERY_MS = 10000;
  const WORKER_LABEL_ZOOM = 16;
  const MAX_LABELS = 300;

  const state = {
    config: null, lang: 'zh', token: null, crs: null,
    units: [], unitByCode: new Map(), workers: [], workerById: new Map(),
    month: null, unit: '', worker: '', day: '',
    data: {}, gridByCode: new Map(), positionByWorker: new Map(),
    reports: new Map(), tracksZoom: null, replay: null, playing: false, loadSeq: 0,
    labels: [], weakGrids: [], weakWorkers: new Map(), coverageRange: null, repeatedNames: null,
    replayMarker: null, popup: null, lastUpdate: null,
  };
  let map = null;

  // Layers counted by rendered(): layer id -> name in the result.
  const RENDERED = {
    'grids-fill': 'grids', 'units-line': 'units', 'uncovered-fill': 'uncovered',
    'tracks-walk': 'tracks', 'tracks-gap': 'gaps', 'stays-circle': 'stays',
    'visits-circle': 'visits', 'checkpoints-circle': 'checkpoints',
    'positions-circle': 'positions', 'replay-walk': 'replay',
  };

  const gb = {
    ready: false,
    error: null,
    loading: false,
    counts: {},
    /** Features drawn now, per layer, from map.queryRenderedFeatures (deduplicated across tiles). */
    rendered() {
      const out = {};
      if (!map) return out;
      for (const [layer, name] of Object.entries(RENDERED)) {
        if (!map.getLayer(layer)) { out[name] = 0; continue; }
        const seen = new Set();
        for (const f of map.queryRenderedFeatures({ layers: [layer] })) {
          seen.add(JSON.stringify(f.properties));
        }
        out[name] = seen.size;
      }
      return out;
    },
    /** The labels on the map now: their text, class and box on the screen. */
    labels() {
      return state.labels.map((m) => {
        const el = m.getElement(), r = el.getBoundingClientRect();
        return { text: el.textContent, cls: el.className, box: [r.left, r.top, r.right, r.bottom] };
      });
    },
    state,
    get map() { return map; },
  };
  window.gridbeat = gb;

  // ---------------------------------------------------------------- small helpers
  const $ = (id) => document.getElementById(id);
  function t(key, vars) {
    let s = (I18N[state.lang] && I18N[state.lang][key]) || I18N.zh[key] || key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.split('{' + k + '}').join(String(v));
    return s;
  }
  function esc(v) {
    return String(v == null ? '' : v).replace(/[&<>"']/g,
      (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }
  const numberFmt = (d) => new Intl.NumberFormat(state.lang === 'zh' ? 'zh-CN' : 'en-GB',
    { maximumFractionDigits: d, minimumFractionDigits: 0 });
  function pct(x) { return x == null ? t('none') : numberFmt(1).format(x * 100) + ' %'; }
  function area(m2) {
    if (m2 == null) return t('none');
    return m2 >= 10000 ? numberFmt(2).format(m2 / 10000) + (state.lang === 'zh' ? ' 公顷' : ' ha')
      : numberFmt(0).format(m2) + ' m²';
  }
  function metres(m) {
    if (m == null) return t('none');
    return m >= 1000 ? numberFmt(2).format(m / 1000) + ' km' : numberFmt(0).format(m) + ' m';
  }
  function duration(s) {
    if (s == null) return t('none');
    const h = Math.floor(s / 3600), m = Math.round((s % 3600) / 60);
    if (state.lang === 'zh') return (h ? h + ' 小时 ' : '') + m + ' 分';
    return (h ? h + ' h ' : '') + m + ' min';
  }
  function time(iso, withDate) {
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
  function table(rows) {
    return '<table>' + rows.map(([k, v]) => `<tr><th>${esc(t(k))}</th><td>${v}</td></tr>`).join('') +
      '</table>';
  }
  function workerName(id) {
    const w = state.workerById.get(id);
    return w && w.name ? `${esc(w.name)} <span class="hint">${esc(id)}</span>` : esc(id);
  }
  const isNarrow = () => window.matchMedia('(max-width: 700px)').matches;

  function setStatus(msg, isError) {
    const el = $('status');
    el.textContent = msg || '';
    el.classList.toggle('error', !!isError);
  }
  function fail(err) {
    const msg = err && err.message ? err.message : String(err);
    gb.error = msg;
    setStatus(t('error', { msg }), true);
    console.error('gridbeat map:', msg);
  }

  // ---------------------------------------------------------------- API with bearer tokens
  class AuthError extends Error {}

  async function api(path, params) {
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

  function askToken(rejected) {
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
  async function withAuth(fn) {
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

  // ---------------------------------------------------------------- the map and its layers
  const EMPTY = { type: 'FeatureCollection', features: [] };
  // The colour of a grid is its place between the lowest and the highest coverage of the grids
  // shown (`cov_t`, 0..1, set by scaleCoverage): real coverages often all sit above 95 %, where
  // a fixed 0-100 % ramp paints every grid the same green. The legend prints the two ends.
  const RAMP = ['#d73027', '#fc8d59', '#fee08b', '#91cf60', '#1a9850'];
  const COVERAGE_COLOUR = ['case', ['==', ['typeof', ['get', 'cov_t']], 'number'],
    ['interpolate', ['linear'], ['get', 'cov_t'], 0, RAMP[0], 0.25, RAMP[1], 0.5, RAMP[2], 0.75, RAMP[3],
      1, RAMP[4]],
    '#b8bec6'];
  const WEAKEST = 3; // grids and workers called out in the panel and on the map

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

  function addLayers() {
    for (const id of ['units', 'grids', 'coverage', 'tracks', 'stays', 'visits', 'checkpoints',
      'positions', 'replay']) {
      map.addSource(id, { type: 'geojson', data: EMPTY });
    }
    map.addImage('hatch', hatchImage());
    const walk = ['==', ['get', 'kind'], 'walk'], gap = ['==', ['get', 'kind'], 'gap'];
    const layers = [
      { id: 'grids-fill', type: 'fill', source: 'grids',
        paint: { 'fill-color': COVERAGE_COLOUR, 'fill-opacity': 0.75 } },
      { id: 'uncovered-fill', type: 'fill', source: 'coverage',
        filter: ['==', ['get', 'kind'], 'uncovered'], paint: { 'fill-pattern': 'hatch' } },
      { id: 'grids-line', type: 'line', source: 'grids',
        paint: { 'line-color': '#ffffff', 'line-width': 2 } },
      { id: 'grids-assigned', type: 'line', source: 'grids', filter: ['in', ['get', 'code'], ['literal', []]],
        paint: { 'line-color': '#1d5fbf', 'line-width': 3 } },
      { id: 'units-line', type: 'line', source: 'units',
        paint: { 'line-color': '#1f2933', 'line-width': 2.5, 'line-opacity': 0.85 } },
      { id: 'grids-weak', type: 'line', source: 'grids', filter: ['in', ['get', 'code'], ['literal', []]],
        paint: { 'line-color': '#b42318', 'line-width': 3, 'line-dasharray': [2, 1] } },
      { id: 'tracks-walk', type: 'line', source: 'tracks', filter: walk,
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        // Thin at city scale, where a month of everyone's tracks overlaps; full width close up.
        paint: { 'line-color': '#2b59c3',
          'line-opacity': ['interpolate', ['linear'], ['zoom'], 13, 0.35, 16, 0.8],
          'line-width': ['interpolate', ['linear'], ['zoom'], 13, 0.6, 16, 2.5] } },
      { id: 'tracks-gap', type: 'line', source: 'tracks', filter: gap,
        paint: { 'line-color': '#8e44ad', 'line-dasharray': [2, 2],
          'line-width': ['interpolate', ['linear'], ['zoom'], 13, 1, 16, 2.5] } },
      { id: 'replay-walk', type: 'line', source: 'replay', filter: walk,
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: { 'line-color': '#0b2e83', 'line-width': 5, 'line-opacity': 0.9 } },
      { id: 'replay-gap', type: 'line', source: 'replay', filter: gap,
        paint: { 'line-color': '#8e44ad', 'line-width': 3, 'line-dasharray': [1.5, 1.5] } },
      { id: 'checkpoints-circle', type: 'circle', source: 'checkpoints', minzoom: 16,
        paint: { 'circle-radius': 6, 'circle-color': '#ffffff', 'circle-stroke-color': '#0fa3b1',
          'circle-stroke-width': 2.5 } },
      { id: 'stays-circle', type: 'circle', source: 'stays',
        paint: { 'circle-radius': ['interpolate', ['linear'], ['get', 'duration_s'], 300, 4, 3600, 10],
          'circle-color': '#ff9f1c', 'circle-stroke-color': '#7a4a00', 'circle-stroke-width': 1,
          'circle-opacity': 0.9 } },
      { id: 'visits-circle', type: 'circle', source: 'visits',
        paint: { 'circle-radius': 4, 'circle-color': '#0fa3b1', 'circle-stroke-color': '#064e55',
          'circle-stroke-width': 1 } },
      { id: 'positions-circle', type: 'circle', source: 'positions',
        paint: { 'circle-radius': 8,
          'circle-color': ['case', ['==', ['get', 'in_grid'], true], '#1a9850', '#e8590c'],
          'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2.5 } },
    ];
    for (const l of layers) map.addLayer(l);
  }

  // Which toggle controls which map layers.
  const TOGGLES = {
    grids: ['grids-fill', 'grids-line', 'grids-weak', 'grids-assigned', 'units-line'],
    uncovered: ['uncovered-fill'],
    tracks: ['tracks-walk', 'tracks-gap'],
    stays: ['stays-circle'],
    visits: ['visits-circle'],
    checkpoints: ['checkpoints-circle'],
    positions: ['positions-circle'],
    labels: [],
  };
  function toggled(name) {
    const box = document.querySelector(`#layers input[data-layer="${name}"]`);
    return !box || box.checked;
  }
  function applyToggles() {
    for (const [name, ids] of Object.entries(TOGGLES)) {
      for (const id of ids) {
        if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', toggled(name) ? 'visible' : 'none');
      }
    }
    updateGridLabels();
    updateWorkerLabels();
  }

  function setSource(name, fc) {
    state.data[name] = fc;
    gb.counts[name] = fc.features.length;
    const src = map.getSource(name);
    if (src) src.setData(fc);
  }

  function layerParams(extra) {
    const p = Object.assign({}, extra);
    if (state.crs) p.crs = state.crs;
    return p;
  }

  /** Loads every layer for the current month, unit and worker. */
  async function loadLayers() {
    const seq = ++state.loadSeq;
    gb.loading = true;
    setStatus(t('loading'));
    const m = state.month, u = state.unit, w = state.worker;
    const names = ['grids', 'units', 'coverage', 'tracks', 'stays', 'visits', 'checkpoints',
      'positions'];
    const params = {
      grids: { month: m, unit: u },
      units: { month: m, unit: u },
      coverage: { month: m, unit: u, worker: w },
      tracks: { month: m, unit: u, worker: w, zoom: tracksZoom() },
      stays: { month: m, unit: u, worker: w },
      visits: { month: m, unit: u, worker: w },
      checkpoints: { month: m, unit: u },
      positions: { unit: u, worker: w },
    };
    // The whole scope's tracks at city zoom are a mat that hides the grids: they are drawn once
    // a unit or a worker is chosen (a day is chosen in the replay, for one worker).
    const results = await Promise.all(names.map((n) => n === 'tracks' && !tracksWanted()
      ? Promise.resolve(EMPTY)
      : api('/api/v1/layers/' + n, layerParams(params[n]))));
    if (seq !== state.loadSeq) return false; // a newer selection took over
    scaleCoverage(results[names.indexOf('grids')]);
    names.forEach((n, i) => setSource(n, results[i]));
    state.tracksZoom = tracksWanted() ? params.tracks.zoom : null;
    $('tracks-hint').hidden = tracksWanted();
    indexGrids();
    await callOutWeakest(seq);
    if (seq !== state.loadSeq) return false;
    indexPositions();
    highlightAssigned();
    updateGridLabels();
    updateWorkerLabels();
    state.lastUpdate = new Date();
    gb.loading = false;
    setStatus(t('loaded', {
      grids: gb.counts.grids,
      walks: state.data.tracks.features.filter((f) => f.properties.kind === 'walk').length,
      positions: gb.counts.positions,
    }));
    return true;
  }

  function tracksWanted() { return !!(state.unit || state.worker); }

  /** Sets each grid's `cov_t` (its coverage between the lowest and highest shown) and the legend. */
  function scaleCoverage(fc) {
    const covs = fc.features.map((f) => f.properties.coverage).filter((c) => typeof c === 'number');
    const lo = covs.length ? Math.min(...covs) : 0, hi = covs.length ? Math.max(...covs) : 1;
    for (const f of fc.features) {
      const c = f.properties.coverage;
      if (typeof c === 'number') f.properties.cov_t = hi > lo ? (c - lo) / (hi - lo) : 1;
    }
    state.coverageRange = covs.length ? [lo, hi] : null;
    showLegendScale();
  }

  function showLegendScale() {
    const r = state.coverageRange;
    const ends = $('legend').querySelectorAll('.legend-scale span');
    ends[0].textContent = r ? pct(r[0]) : '';
    ends[1].textContent = r ? pct((r[0] + r[1]) / 2) : '';
    ends[2].textContent = r ? pct(r[1]) : '';
  }

  /** The grids with the lowest coverage and the workers with the lowest score, from the same
   * figures as the monthly report: listed in the panel, outlined and labelled on the map. */
  async function callOutWeakest(seq) {
    const grids = state.data.grids.features.filter((f) => typeof f.properties.coverage === 'number')
      .sort((a, b) => a.properties.coverage - b.properties.coverage).slice(0, WEAKEST);
    let rows = [];
    try {
      const r = await report();
      rows = r.workers.filter((w) => !state.worker || w.worker === state.worker)
        .slice().sort((a, b) => a.score - b.score).slice(0, WEAKEST);
    } catch (e) {
      if (e instanceof AuthError) throw e;
      fail(e);
    }
    if (seq !== state.loadSeq) return;
    state.weakGrids = grids.map((f) => f.properties.code);
    state.weakWorkers = new Map(rows.map((w) => [w.worker, w]));
    map.setFilter('grids-weak', ['in', ['get', 'code'], ['literal', state.weakGrids]]);
    state.weakLists = { grids, rows };
    renderWeakest();
  }

  function renderWeakest() {
    if (!state.weakLists) return;
    const { grids, rows } = state.weakLists;
    const gl = $('weak-grids'), wl = $('weak-workers');
    gl.innerHTML = '';
    wl.innerHTML = '';
    for (const f of grids) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = gridLabel(f.properties) + ' · ' + pct(f.properties.coverage);
      b.onclick = () => { fitTo(bboxOf(f.geometry)); if (isNarrow()) document.body.classList.remove('drawer-open'); };
      li.append(b);
      gl.append(li);
    }
    for (const w of rows) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = `${w.name || w.worker} · ${numberFmt(1).format(w.score)} ${t('points')}`;
      b.onclick = () => { $('worker').value = w.worker; $('worker').dispatchEvent(new Event('change')); };
      li.append(b);
      wl.append(li);
    }
  }

  function bboxOf(geom) {
    const b = [Infinity, Infinity, -Infinity, -Infinity];
    const walk = (c) => {
      if (typeof c[0] === 'number') {
        b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]);
        b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
      } else c.forEach(walk);
    };
    walk(geom.coordinates);
    return b;
  }

  /** A grid's name, with its community's where another grid shown has the same name (on the
   * map without the "社区" every community's name ends with, to keep the label short). */
  function gridLabel(p, short) {
    const name = p.name || p.code;
    if (!(state.repeatedNames && state.repeatedNames.has(name) && p.parent_name)) return name;
    const community = short ? p.parent_name.replace(/社区$/, '') : p.parent_name;
    return community + ' ' + name;
  }

  // Tracks are asked for simplified to about a pixel one zoom level deeper than the view
  // (the contract's `zoom`); zooming in two levels beyond that loads them again.
  function tracksZoom() {
    return Math.min(20, Math.max(0, Math.ceil(map.getZoom()) + 1));
  }

  async function reloadTracksIfCoarse() {
    if (!tracksWanted() || state.tracksZoom == null || tracksZoom() < state.tracksZoom + 2 || gb.loading) return;
    const zoom = tracksZoom(), seq = state.loadSeq;
    try {
      const fc = await withAuth(() => api('/api/v1/layers/tracks', layerParams(
        { month: state.month, unit: state.unit, worker: state.worker, zoom })));
      if (seq !== state.loadSeq) return;
      state.tracksZoom = zoom;
      setSource('tracks', fc);
    } catch (e) {
      fail(e);
    }
  }

  async function refreshPositions() {
    if (!map || document.hidden || !state.data.positions) return;
    try {
      const fc = await withAuth(() => api('/api/v1/layers/positions',
        layerParams({ unit: state.unit, worker: state.worker })));
      setSource('positions', fc);
      indexPositions();
      updateWorkerLabels();
      state.lastUpdate = new Date();
      setStatus(t('updated', { time: time(state.lastUpdate.toISOString()) }));
    } catch (e) {
      fail(e);
    }
  }

  // ---------------------------------------------------------------- labels as HTML markers
  function labelPoint(geom) {
    // The area centroid of the largest exterior ring (good enough for grid-sized polygons).
    const polys = geom.type === 'Polygon' ? [geom.coordinates]
      : geom.type === 'MultiPolygon' ? geom.coordinates : [];
    let best = null, bestA = -1;
    for (const poly of polys) {
      const ring = poly[0];
      let a = 0, cx = 0, cy = 0;
      for (let i = 0; i < ring.length - 1; i++) {
        const [x0, y0] = ring[i], [x1, y1] = ring[i + 1];
        const c = x0 * y1 - x1 * y0;
        a += c; cx += (x0 + x1) * c; cy += (y0 + y1) * c;
      }
      if (Math.abs(a) > bestA && a !== 0) { bestA = Math.abs(a); best = [cx / (3 * a), cy / (3 * a)]; }
    }
    return best;
  }

  function indexGrids() {
    state.gridByCode = new Map();
    const seen = new Set();
    state.repeatedNames = new Set();
    for (const f of state.data.grids.features) {
      const n = f.properties.name || f.properties.code;
      if (seen.has(n)) state.repeatedNames.add(n);
      seen.add(n);
    }
    for (const f of state.data.grids.features) {
      f.labelAt = labelPoint(f.geometry);
      state.gridByCode.set(f.properties.code, f);
    }
  }
  function indexPositions() {
    state.positionByWorker = new Map(state.data.positions.features.map((f) => [f.properties.worker, f]));
  }

  // Labels are placed in order of importance and one that would overlap a placed one is left
  // out: grid names first (the weakest grids first), then the weakest workers, then the other
  // workers' names from WORKER_LABEL_ZOOM on.
  function updateLabels() {
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
      const weak = state.weakGrids || [];
      const grids = state.data.grids.features.filter((f) => f.labelAt && b.contains(f.labelAt))
        .sort((x, y) => rankOf(weak, x.properties.code) - rankOf(weak, y.properties.code));
      for (const f of grids.slice(0, MAX_LABELS)) {
        const cls = 'grid-label' + (weak.includes(f.properties.code) ? ' weak' : '');
        place(gridLabel(f.properties, true) + '\n' + pct(f.properties.coverage), f.labelAt, cls);
      }
    }
    if (state.data.positions && toggled('positions')) {
      const weak = state.weakWorkers || new Map();
      const all = map.getZoom() >= WORKER_LABEL_ZOOM;
      const feats = state.data.positions.features
        .filter((f) => (all || weak.has(f.properties.worker)) && b.contains(f.geometry.coordinates))
        .sort((x, y) => (weak.has(y.properties.worker) ? 1 : 0) - (weak.has(x.properties.worker) ? 1 : 0));
      for (const f of feats.slice(0, MAX_LABELS)) {
        const w = weak.get(f.properties.worker);
        const name = f.properties.name || f.properties.worker;
        place(w ? `${name} ${numberFmt(1).format(w.score)} ${t('points')}` : name,
          f.geometry.coordinates, 'worker-label' + (w ? ' weak' : ''), [0, -10]);
      }
    }
  }
  const rankOf = (list, x) => { const i = list.indexOf(x); return i < 0 ? list.length : i; };
  const updateGridLabels = updateLabels;
  const updateWorkerLabels = updateLabels;

  function highlightAssigned() {
    const w = state.workerById.get(state.worker);
    map.setFilter('grids-assigned', ['in', ['get', 'code'], ['literal', w ? w.grids : []]]);
  }

  // ---------------------------------------------------------------- pop-ups
  async function report() {
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

  function gridHtml(code) {
    const f = state.gridByCode.get(code);
    if (!f) return null;
    const p = f.properties;
    const workers = (p.workers || []).map(workerName).join('、') || t('none');
    return `<div class="popup"><h3>${esc(p.name)}</h3>` + table([
      ['code', esc(p.code)],
      ['community', esc(p.parent_name || p.parent)],
      ['coverage', pct(p.coverage)],
      ['covered_m2', area(p.covered_m2)],
      ['area_m2', area(p.area_m2)],
      ['attainable', pct(p.attainable)],
      ['score', p.score == null ? t('none') : numberFmt(1).format(p.score)],
      ['patrol', duration(p.patrol_s)],
      ['workers', workers],
    ]) + '<div class="report-rows"></div></div>';
  }

  function workerRowsHtml(rows) {
    if (!rows.length) return '';
    return `<p class="sub">${esc(t('report_rows'))}</p><table class="rows"><tr>` +
      ['worker', 'coverage', 'patrol_h', 'score_col'].map((k) => `<th>${esc(t(k))}</th>`).join('') +
      '</tr>' + rows.map((r) => `<tr><td>${esc(r.name || r.worker)}</td><td>${pct(r.coverage)}</td>` +
        `<td>${numberFmt(1).format(r.patrol_h)}</td><td>${numberFmt(1).format(r.score)}</td></tr>`).join('') +
      '</table>';
  }

  function positionHtml(id) {
    const f = state.positionByWorker.get(id);
    if (!f) return null;
    const p = f.properties;
    const gridName = (c) => {
      const g = state.gridByCode.get(c);
      return g ? `${esc(g.properties.name)} <span class="hint">${esc(c)}</span>` : esc(c);
    };
    return `<div class="popup"><h3>${esc(p.name || p.worker)} <span class="hint">${esc(p.worker)}</span></h3>` +
      table([
        ['ts', time(p.ts, true)],
        ['age', duration(p.age_s)],
        ['accuracy', p.acc_m == null ? t('none') : numberFmt(0).format(p.acc_m) + ' m'],
        ['grid', p.grid ? gridName(p.grid) : t('none')],
        ['assigned', (p.assigned || []).map(gridName).join('、') || t('none')],
        ['in_grid', t(p.in_grid ? 'yes' : 'no')],
      ]) + '<div class="report-rows"></div></div>';
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

  function simpleHtml(layer, p) {
    if (layer === 'tracks-walk' || layer === 'replay-walk') {
      return `<div class="popup"><h3>${esc(t('walk'))} · ${workerName(p.worker)}</h3>` + table([
        ['day', esc(p.day)], ['start', time(p.start)], ['end', time(p.end)],
        ['length', metres(p.length_m)], ['patrol', duration(p.patrol_s)], ['segments', esc(p.segments)],
      ]) + '</div>';
    }
    if (layer === 'tracks-gap' || layer === 'replay-gap') {
      return `<div class="popup"><h3>${esc(t('gap'))} · ${workerName(p.worker)}</h3>` +
        table([['day', esc(p.day)], ['gap_m', metres(p.gap_m)]]) + '</div>';
    }
    if (layer === 'stays-circle') {
      return `<div class="popup"><h3>${esc(t('stay'))} · ${workerName(p.worker)}</h3>` + table([
        ['start', time(p.start, true)], ['end', time(p.end)], ['duration', duration(p.duration_s)],
        ['pings', esc(p.pings)], ['grid', esc(p.grid || t('none'))],
      ]) + '</div>';
    }
    if (layer === 'visits-circle') {
      return `<div class="popup"><h3>${esc(t('visit'))} · ${esc(p.name)}</h3>` + table([
        ['worker', workerName(p.worker)], ['start', time(p.start, true)], ['end', time(p.end)],
        ['duration', duration(p.duration_s)], ['via', esc(t('via_' + p.via))],
      ]) + '</div>';
    }
    if (layer === 'checkpoints-circle') {
      return `<div class="popup"><h3>${esc(t('checkpoint'))} · ${esc(p.name)}</h3>` + table([
        ['code', esc(p.code)], ['kind', esc(p.kind)], ['grid', esc(p.grid)],
        ['visits_per_month', esc(p.visits_per_month)], ['visits', esc(p.visits)],
        ['compliance', pct(p.compliance)],
      ]) + '</div>';
    }
    return null;
  }

  const CLICK_ORDER = ['positions-circle', 'visits-circle', 'stays-circle', 'checkpoints-circle',
    'replay-walk', 'replay-gap', 'tracks-gap', 'tracks-walk', 'grids-fill'];

  function onClick(ev) {
    if (isNarrow()) document.body.classList.remove('drawer-open');
    const layers = CLICK_ORDER.filter((id) => map.getLayer(id) &&
      map.getLayoutProperty(id, 'visibility') !== 'none');
    const pad = 6;
    const hits = map.queryRenderedFeatures(
      [[ev.point.x - pad, ev.point.y - pad], [ev.point.x + pad, ev.point.y + pad]], { layers });
    if (!hits.length) return;
    hits.sort((a, b) => CLICK_ORDER.indexOf(a.layer.id) - CLICK_ORDER.indexOf(b.layer.id));
    const f = hits[0], id = f.layer.id, p = f.properties;
    let html = null, after = null;
    if (id === 'grids-fill') {
      html = gridHtml(p.code);
      const g = state.gridByCode.get(p.code);
      const mine = new Set((g && g.properties.workers) || []);
      after = (r) => workerRowsHtml(r.workers.filter((w) => mine.has(w.worker) ||
        String(w.grid || '').split('+').includes(p.code)));
    } else if (id === 'positions-circle') {
      html = positionHtml(p.worker);
      after = (r) => workerFiguresHtml(r.workers.find((w) => w.worker === p.worker));
    } else {
      html = simpleHtml(id, p);
    }
    if (!html) return;
    if (state.popup) state.popup.remove();
    state.popup = new maplibregl.Popup({ maxWidth: '360px' }).setLngLat(ev.lngLat).setHTML(html).addTo(map);
    const popup = state.popup;
    if (after) {
      report().then((r) => {
        const el = popup.getElement() && popup.getElement().querySelector('.report-rows');
        if (el) el.innerHTML = after(r);
      }).catch((e) => fail(e));
    }
  }

  // ---------------------------------------------------------------- replay of a worker-day
  function metresBetween(a, b) {
    const R = 6371008.8, rad = Math.PI / 180;
    const dLat = (b[1] - a[1]) * rad, dLon = (b[0] - a[0]) * rad;
    const h = Math.sin(dLat / 2) ** 2 +
      Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
    return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  /** The walk's lines with cumulative lengths (metres), gaps between lines not counted. */
  function measure(walk) {
    const g = walk.geometry;
    const lines = g.type === 'MultiLineString' ? g.coordinates : g.type === 'LineString' ? [g.coordinates] : [];
    const steps = []; // [from, to, cumStart, length]
    let total = 0;
    for (const line of lines) {
      if (line.length === 1) steps.push([line[0], line[0], total, 0]);
      for (let i = 0; i + 1 < line.length; i++) {
        const d = metresBetween(line[i], line[i + 1]);
        steps.push([line[i], line[i + 1], total, d]);
        total += d;
      }
    }
    return { steps, total };
  }

  /** Where the marker is at fraction f (0..1) of the time between start and end. */
  function pointAt(m, f) {
    if (!m.steps.length) return null;
    const target = Math.max(0, Math.min(1, f)) * m.total;
    let lo = 0, hi = m.steps.length - 1;
    while (lo < hi) { // last step starting at or before target
      const mid = (lo + hi + 1) >> 1;
      if (m.steps[mid][2] <= target) lo = mid; else hi = mid - 1;
    }
    const [a, b, c0, d] = m.steps[lo];
    const k = d > 0 ? Math.min(1, (target - c0) / d) : 0;
    return [a[0] + (b[0] - a[0]) * k, a[1] + (b[1] - a[1]) * k];
  }

  function setReplayControls(enabled) {
    $('play').disabled = !enabled;
    $('slider').disabled = !enabled;
    if (!enabled) { stopPlaying(); $('replay-time').textContent = ''; }
  }

  function clearReplay() {
    state.replay = null;
    setReplayControls(false);
    if (state.replayMarker) { state.replayMarker.remove(); state.replayMarker = null; }
    if (map && map.getSource('replay')) setSource('replay', EMPTY);
  }

  async function loadDays() {
    const sel = $('day');
    sel.innerHTML = '';
    clearReplay();
    const hint = $('replay-hint');
    if (!state.worker) {
      sel.disabled = true;
      hint.dataset.i18n = 'replay_pick_worker';
      hint.textContent = t('replay_pick_worker');
      return;
    }
    const w = await withAuth(() => api('/api/v1/workers/' + encodeURIComponent(state.worker)));
    const days = (w.days || []).filter((d) => d.startsWith(state.month)).sort();
    if (!days.length) {
      sel.disabled = true;
      hint.dataset.i18n = 'replay_no_days';
      hint.textContent = t('replay_no_days');
      return;
    }
    sel.disabled = false;
    hint.dataset.i18n = 'replay_pick_day';
    hint.textContent = t('replay_pick_day');
    sel.append(new Option('—', ''));
    for (const d of days) sel.append(new Option(d, d));
  }

  async function loadReplay() {
    clearReplay();
    state.day = $('day').value;
    if (!state.day || !state.worker) return;
    const fc = await withAuth(() => api('/api/v1/layers/tracks',
      layerParams({ day: state.day, worker: state.worker })));
    setSource('replay', fc);
    const walk = fc.features.find((f) => f.properties.kind === 'walk');
    if (!walk) {
      $('replay-time').textContent = t('replay_no_walk');
      return;
    }
    const start = Date.parse(walk.properties.start), end = Date.parse(walk.properties.end);
    state.replay = { walk, m: measure(walk), start, end };
    const el = document.createElement('div');
    el.className = 'replay-marker';
    state.replayMarker = new maplibregl.Marker({ element: el });
    setReplayControls(true);
    $('slider').value = 0;
    showReplay();
    state.replayMarker.addTo(map);
    if (fc.bbox) map.fitBounds([[fc.bbox[0], fc.bbox[1]], [fc.bbox[2], fc.bbox[3]]], { padding: 60, maxZoom: 17 });
  }

  function showReplay() {
    const r = state.replay;
    if (!r) return;
    const f = Number($('slider').value) / 1000;
    const at = pointAt(r.m, f);
    if (at) state.replayMarker.setLngLat(at);
    const when = isFinite(r.start) && isFinite(r.end) ? new Date(r.start + f * (r.end - r.start)) : null;
    $('replay-time').textContent = (when ? time(when.toISOString()) + ' · ' : '') +
      metres(f * r.m.total) + ' / ' + metres(r.m.total);
  }

  function stopPlaying() {
    state.playing = false;
    $('play').textContent = t('play');
  }

  function togglePlay() {
    if (state.playing) { stopPlaying(); return; }
    if (!state.replay) return;
    const slider = $('slider');
    if (Number(slider.value) >= 1000) slider.value = 0;
    state.playing = true;
    $('play').textContent = t('pause');
    const runMs = 30000; // the whole day in 30 s
    let last = performance.now();
    const step = (now) => {
      if (!state.playing) return;
      const v = Math.min(1000, Number(slider.value) + ((now - last) / runMs) * 1000);
      last = now;
      slider.value = v;
      showReplay();
      if (v >= 1000) { stopPlaying(); return; }
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  // ---------------------------------------------------------------- controls
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

  function fillMonths() {
    const sel = $('month');
    sel.innerHTML = '';
    for (const m of state.config.months.slice().reverse()) sel.append(new Option(m, m));
    sel.value = state.month;
  }

  function fillUnits() {
    const sel = $('unit');
    sel.innerHTML = '';
    sel.append(new Option(t('all_units'), ''));
    for (const [u, depth] of unitOrder()) {
      sel.append(new Option('\u3000'.repeat(depth) + u.name, u.code));
    }
    sel.value = state.unit;
  }

  function fillWorkers() {
    const sel = $('worker');
    sel.innerHTML = '';
    sel.append(new Option(t('all_workers'), ''));
    const grids = state.unit ? subtreeGrids(state.unit) : null;
    const list = state.workers.filter((w) => !grids || (w.grids || []).some((g) => grids.has(g)));
    for (const w of list) sel.append(new Option(`${w.name} (${w.id})`, w.id));
    if (!list.some((w) => w.id === state.worker)) state.worker = '';
    sel.value = state.worker;
  }

  function applyI18n() {
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
    if (map) { showLegendScale(); renderWeakest(); updateLabels(); }
  }

  function fitTo(bbox) {
    if (bbox && bbox.length === 4 && bbox.every(isFinite)) {
      map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 40, maxZoom: 17, duration: 0 });
    }
  }

  function bindControls() {
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
    for (const box of document.querySelectorAll('#layers input')) box.onchange = applyToggles;

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

  // ---------------------------------------------------------------- start
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
      opts.fitBoundsOptions = { padding: 30 };
    } else {
      opts.center = Array.isArray(cfg.center) ? cfg.center : [112.98, 28.2];
      opts.zoom = 12;
    }
    map = new maplibregl.Map(opts);
    map.touchZoomRotate.disableRotation();
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
    map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
    map.on('error', (e) => fail(e.error || e));
    await new Promise((resolve) => map.once('load', resolve));
    addLayers();
    applyToggles();
    map.on('click', onClick);
    for (const id of CLICK_ORDER) {
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
})();
