// The page's strings, Chinese and English, in one dictionary; t() looks one up in the
// current language and fills its {placeholders}.
import { state } from './state.js';

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
    legend: '图例', legend_coverage: '网格覆盖率（本月，团队）：所示网格最低（红）→ 最高（绿）',
    legend_weak: '覆盖率最低的网格', weakest: '最需关注', weak_grids: '覆盖率最低的网格', weak_workers: '得分最低的网格员', points: '分',
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
    layer_routes: '车辆作业线路', layer_vehicles: '作业车辆',
    legend_route_met: '线路：达到规定遍数', legend_route_partial: '线路：部分完成',
    legend_route_missed: '线路：未作业', legend_route_unscheduled: '线路：本期无排班',
    legend_vehicle_work: '车辆轨迹（作业中）', legend_vehicle_idle: '车辆轨迹（未作业）',
    legend_vehicle: '车辆最新位置',
    route_state: '状态', state_met: '达标', state_partial: '部分完成', state_missed: '未作业',
    state_unscheduled: '无排班', passes: '作业遍数 / 规定', met_share: '达标天数占比',
    piece_length: '本段长度', route_figures: '线路本期指标（与报表一致）', worked_share: '作业覆盖率',
    passes_met_share: '遍数达标率', on_schedule_share: '按时作业率', scheduled_days: '排班天数',
    fully_worked_days: '全线完成天数', route_length: '线路长度', route_unit: '责任单位',
    work_state: '作业状态', work_on: '作业中', work_off: '未作业', work_unknown: '未上报',
    help_html:
      '<p>地图按所选<b>月份</b>与<b>单位</b>显示各网格的团队覆盖率（颜色从所示网格中最低的红色到最高的绿色，图例标出两端的数值），' +
      '红色虚线框出覆盖率最低的网格；' +
      '灰色斜线为未覆盖区域；选择<b>单位</b>或<b>网格员</b>后显示轨迹，选择网格员后只显示其轨迹、停留与到访。</p>' +
      '<p>蓝线为巡查轨迹；紫色虚线连接两段轨迹之间的信号中断，不代表实际走过的路线。' +
      '橙色圆点为停留，青色圆点为巡查点到访，白心圆圈为巡查点。</p>' +
      '<p>圆形标记为各网格员的最新位置，每 10 秒刷新：绿色在责任网格内，橙色不在。</p>' +
      '<p>车辆作业线路按本期作业遍数着色：绿色达到规定遍数，橙色部分完成，红色未作业，灰色本期无排班；' +
      '点击线路查看该段遍数与线路的作业覆盖率、遍数达标率、按时作业率（与月度报表一致）。' +
      '选择单位后显示车辆轨迹（青色作业中，灰色未作业）；黄边圆点为车辆最新位置。</p>' +
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
    legend: 'Legend', legend_coverage: 'Grid coverage (month, team): lowest of the grids shown (red) to highest (green)',
    legend_weak: 'Grids with the lowest coverage', weakest: 'Needs attention', weak_grids: 'Grids with the lowest coverage', weak_workers: 'Workers with the lowest score', points: 'pts',
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
    layer_routes: 'Vehicle routes', layer_vehicles: 'Vehicles',
    legend_route_met: 'Route: passes met', legend_route_partial: 'Route: partly worked',
    legend_route_missed: 'Route: not worked', legend_route_unscheduled: 'Route: not scheduled',
    legend_vehicle_work: 'Vehicle track (working)', legend_vehicle_idle: 'Vehicle track (not working)',
    legend_vehicle: 'Vehicle (latest position)',
    route_state: 'State', state_met: 'met', state_partial: 'partly worked', state_missed: 'not worked',
    state_unscheduled: 'not scheduled', passes: 'Passes / required', met_share: 'Days with the passes',
    piece_length: 'This stretch', route_figures: 'The route this period (as in the report)',
    worked_share: 'Worked share', passes_met_share: 'Passes met share', on_schedule_share: 'On schedule',
    scheduled_days: 'Scheduled days', fully_worked_days: 'Days fully worked', route_length: 'Route length',
    route_unit: 'Unit', work_state: 'Work state', work_on: 'working', work_off: 'not working', work_unknown: 'not reported',
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
      '<p>Vehicle routes are coloured by the passes of the period: green where the required passes ' +
      'were made, orange partly worked, red not worked, grey not scheduled; click a route for the ' +
      'stretch\'s passes and the route\'s worked, passes-met and on-schedule shares (as in the monthly ' +
      'report). Vehicle tracks are drawn once a unit is chosen (teal working, grey not); ' +
      'yellow-ringed dots are the vehicles\' latest positions.</p>' +
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

/** The string `key` in the page's language (Chinese when missing), `{name}`s filled from vars. */
export function t(key, vars) {
  let s = (I18N[state.lang] && I18N[state.lang][key]) || I18N.zh[key] || key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.split('{' + k + '}').join(String(v));
  return s;
}
