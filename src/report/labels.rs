//! Every label of every format in one place: the columns of the three tables (key, Chinese and
//! English header, kind of value, how to read it from a row) and the page/sheet texts.
//! The CSV, XLSX and HTML writers all read these tables, so a column has the same header and
//! the same value in each format.

use super::model::{
    GridRow, Lang, NamedValue, RouteRow, UnitRow, VehicleRow, VehicleUnitRow, WorkerRow,
};

/// What a column holds; decides number formats and CSV precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Free text (codes, names, lists).
    Text,
    /// A whole number (days, counts, ranks).
    Count,
    /// Hours.
    Hours,
    /// Kilometres.
    Km,
    /// Minutes.
    Minutes,
    /// Square metres.
    Area,
    /// A share 0..1 (shown as a percentage in XLSX and HTML).
    Share,
    /// A score 0..100.
    Score,
    /// Yes/no.
    Flag,
}

/// One cell's value, before any formatting.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    /// Text.
    Text(String),
    /// A number in the column's unit.
    Num(f64),
    /// Yes/no.
    Flag(bool),
    /// No value (e.g. no checkpoints).
    Missing,
}

/// One column of a table.
pub(crate) struct Column<R> {
    /// The field name in the model.
    pub key: &'static str,
    /// The Chinese header.
    pub zh: &'static str,
    /// The English header.
    pub en: &'static str,
    /// What the column holds.
    pub kind: Kind,
    /// Reads the cell from a row.
    pub get: fn(&R) -> Cell,
}

impl<R> Column<R> {
    /// The header in `lang`.
    pub fn label(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.zh,
            Lang::En => self.en,
        }
    }
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

fn opt(v: Option<f64>) -> Cell {
    v.map_or(Cell::Missing, Cell::Num)
}

/// `kind:days;kind:days`, kinds in alphabetical order.
pub(crate) fn anomalies_text(w: &WorkerRow) -> String {
    w.anomalies
        .iter()
        .map(|(k, d)| format!("{k}:{d}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// `code:value;code:value` (the value rounded to 4 decimals).
pub(crate) fn named_values_text(values: &[NamedValue]) -> String {
    values
        .iter()
        .map(|v| format!("{}:{}", v.code, round(v.value, 4)))
        .collect::<Vec<_>>()
        .join(";")
}

/// Rounds half away from zero to `decimals` places.
pub(crate) fn round(x: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (x * p).round() / p
}

/// The columns of the worker table.
#[rustfmt::skip]
pub(crate) const WORKER_COLUMNS: &[Column<WorkerRow>] = &[
    Column { key: "worker", zh: "网格员编号", en: "Worker ID", kind: Kind::Text, get: |w| text(&w.worker) },
    Column { key: "name", zh: "姓名", en: "Name", kind: Kind::Text, get: |w| text(&w.name) },
    Column { key: "grid", zh: "网格", en: "Grid", kind: Kind::Text, get: |w| text(&w.grid) },
    Column { key: "community", zh: "社区编码", en: "Community code", kind: Kind::Text, get: |w| text(&w.community) },
    Column { key: "community_name", zh: "社区", en: "Community", kind: Kind::Text, get: |w| text(&w.community_name) },
    Column { key: "street", zh: "街道编码", en: "Street code", kind: Kind::Text, get: |w| text(&w.street) },
    Column { key: "street_name", zh: "街道", en: "Street", kind: Kind::Text, get: |w| text(&w.street_name) },
    Column { key: "days_active", zh: "出勤天数", en: "Days active", kind: Kind::Count, get: |w| Cell::Num(w.days_active.into()) },
    Column { key: "patrol_h", zh: "巡查时长(小时)", en: "Patrol time (h)", kind: Kind::Hours, get: |w| Cell::Num(w.patrol_h) },
    Column { key: "distance_km", zh: "巡查里程(公里)", en: "Distance (km)", kind: Kind::Km, get: |w| Cell::Num(w.distance_km) },
    Column { key: "coverage", zh: "覆盖率", en: "Coverage", kind: Kind::Share, get: |w| Cell::Num(w.coverage) },
    Column { key: "attainable_coverage", zh: "可达覆盖率", en: "Attainable coverage", kind: Kind::Share, get: |w| opt(w.attainable_coverage) },
    Column { key: "checkpoint_compliance", zh: "点位完成率", en: "Checkpoint compliance", kind: Kind::Share, get: |w| opt(w.checkpoint_compliance) },
    Column { key: "stays", zh: "停留次数", en: "Stays", kind: Kind::Count, get: |w| Cell::Num(w.stays.into()) },
    Column { key: "out_of_grid_h", zh: "网格外时长(小时)", en: "Out of grid (h)", kind: Kind::Hours, get: |w| Cell::Num(w.out_of_grid_h) },
    // Ping counts stay far below 2^53, so f64 holds them exactly.
    Column { key: "pings", zh: "定位点数", en: "Pings", kind: Kind::Count, get: |w| Cell::Num(w.pings as f64) },
    Column { key: "accepted_share", zh: "有效率", en: "Accepted share", kind: Kind::Share, get: |w| Cell::Num(w.accepted_share) },
    Column { key: "gap_h", zh: "信号中断时长(小时)", en: "Gaps (h)", kind: Kind::Hours, get: |w| Cell::Num(w.gap_h) },
    Column { key: "anomalies", zh: "异常", en: "Anomalies", kind: Kind::Text, get: |w| Cell::Text(anomalies_text(w)) },
    Column { key: "score", zh: "得分", en: "Score", kind: Kind::Score, get: |w| Cell::Num(w.score) },
    Column { key: "rank_community", zh: "社区排名", en: "Rank in community", kind: Kind::Count, get: |w| Cell::Num(w.rank_community.into()) },
    Column { key: "rank_street", zh: "街道排名", en: "Rank in street", kind: Kind::Count, get: |w| Cell::Num(w.rank_street.into()) },
    Column { key: "weak", zh: "重点关注", en: "Weak", kind: Kind::Flag, get: |w| Cell::Flag(w.weak) },
];

/// The columns of the grid table.
#[rustfmt::skip]
pub(crate) const GRID_COLUMNS: &[Column<GridRow>] = &[
    Column { key: "code", zh: "网格编码", en: "Grid code", kind: Kind::Text, get: |g| text(&g.code) },
    Column { key: "name", zh: "网格名称", en: "Grid", kind: Kind::Text, get: |g| text(&g.name) },
    Column { key: "community", zh: "社区编码", en: "Community code", kind: Kind::Text, get: |g| text(&g.community) },
    Column { key: "area_m2", zh: "面积(平方米)", en: "Area (m²)", kind: Kind::Area, get: |g| Cell::Num(g.area_m2) },
    Column { key: "workers", zh: "网格员", en: "Workers", kind: Kind::Text, get: |g| Cell::Text(g.workers.join("+")) },
    Column { key: "team_coverage", zh: "团队覆盖率", en: "Team coverage", kind: Kind::Share, get: |g| Cell::Num(g.team_coverage) },
    Column { key: "covered_m2", zh: "已覆盖面积(平方米)", en: "Covered (m²)", kind: Kind::Area, get: |g| Cell::Num(g.covered_m2) },
    Column { key: "attainable", zh: "可达覆盖率", en: "Attainable coverage", kind: Kind::Share, get: |g| opt(g.attainable) },
    Column { key: "weak", zh: "重点关注", en: "Weak", kind: Kind::Flag, get: |g| Cell::Flag(g.weak) },
];

/// The columns of the unit table (communities, streets, districts, city).
#[rustfmt::skip]
pub(crate) const UNIT_COLUMNS: &[Column<UnitRow>] = &[
    Column { key: "code", zh: "编码", en: "Code", kind: Kind::Text, get: |u| text(&u.code) },
    Column { key: "name", zh: "名称", en: "Name", kind: Kind::Text, get: |u| text(&u.name) },
    Column { key: "level", zh: "层级", en: "Level", kind: Kind::Text, get: |u| text(&u.level) },
    Column { key: "parent", zh: "上级编码", en: "Parent code", kind: Kind::Text, get: |u| u.parent.as_deref().map_or(Cell::Missing, text) },
    Column { key: "workers", zh: "网格员数", en: "Workers", kind: Kind::Count, get: |u| Cell::Num(u.workers.into()) },
    Column { key: "grids", zh: "网格数", en: "Grids", kind: Kind::Count, get: |u| Cell::Num(u.grids.into()) },
    Column { key: "team_coverage", zh: "团队覆盖率", en: "Team coverage", kind: Kind::Share, get: |u| Cell::Num(u.team_coverage) },
    Column { key: "mean_score", zh: "平均得分", en: "Mean score", kind: Kind::Score, get: |u| Cell::Num(u.mean_score) },
    Column { key: "weakest_grids", zh: "覆盖最弱网格", en: "Weakest grids", kind: Kind::Text, get: |u| Cell::Text(named_values_text(&u.weakest_grids)) },
    Column { key: "weakest_workers", zh: "得分最低网格员", en: "Weakest workers", kind: Kind::Text, get: |u| Cell::Text(named_values_text(&u.weakest_workers)) },
];

/// The columns of the vehicle table.
#[rustfmt::skip]
pub(crate) const VEHICLE_COLUMNS: &[Column<VehicleRow>] = &[
    Column { key: "vehicle", zh: "车辆编号", en: "Vehicle ID", kind: Kind::Text, get: |v| text(&v.vehicle) },
    Column { key: "plate", zh: "车牌号", en: "Plate", kind: Kind::Text, get: |v| text(&v.plate) },
    Column { key: "kind", zh: "车辆类型", en: "Kind", kind: Kind::Text, get: |v| text(&v.kind) },
    Column { key: "unit", zh: "单位编码", en: "Unit code", kind: Kind::Text, get: |v| text(&v.unit) },
    Column { key: "unit_name", zh: "责任单位", en: "Unit", kind: Kind::Text, get: |v| text(&v.unit_name) },
    Column { key: "routes", zh: "计划线路数", en: "Routes", kind: Kind::Count, get: |v| Cell::Num(v.routes.into()) },
    Column { key: "scheduled_route_days", zh: "计划线路天数", en: "Scheduled route-days", kind: Kind::Count, get: |v| Cell::Num(v.scheduled_route_days.into()) },
    Column { key: "fully_worked", zh: "全部完成", en: "Fully worked", kind: Kind::Count, get: |v| Cell::Num(v.fully_worked.into()) },
    Column { key: "partly_worked", zh: "部分完成", en: "Partly worked", kind: Kind::Count, get: |v| Cell::Num(v.partly_worked.into()) },
    Column { key: "not_worked", zh: "未作业", en: "Not worked", kind: Kind::Count, get: |v| Cell::Num(v.not_worked.into()) },
    Column { key: "worked_share", zh: "作业完成率", en: "Worked share", kind: Kind::Share, get: |v| opt(v.worked_share) },
    Column { key: "passes_met_share", zh: "遍数达标率", en: "Passes met", kind: Kind::Share, get: |v| opt(v.passes_met_share) },
    Column { key: "on_schedule_share", zh: "按时作业率", en: "On schedule", kind: Kind::Share, get: |v| opt(v.on_schedule_share) },
    Column { key: "work_on_route_h", zh: "线路内作业时长(小时)", en: "Working on route (h)", kind: Kind::Hours, get: |v| Cell::Num(v.work_on_route_h) },
    Column { key: "work_off_route_h", zh: "线路外作业时长(小时)", en: "Working off route (h)", kind: Kind::Hours, get: |v| Cell::Num(v.work_off_route_h) },
    Column { key: "work_on_route_km", zh: "线路内作业里程(公里)", en: "Working on route (km)", kind: Kind::Km, get: |v| Cell::Num(v.work_on_route_km) },
    Column { key: "work_off_route_km", zh: "线路外作业里程(公里)", en: "Working off route (km)", kind: Kind::Km, get: |v| Cell::Num(v.work_off_route_km) },
    Column { key: "over_speed_min", zh: "超速作业(分钟)", en: "Over working speed (min)", kind: Kind::Minutes, get: |v| Cell::Num(v.over_speed_min) },
    Column { key: "under_pressure_min", zh: "水压不足(分钟)", en: "Under pressure (min)", kind: Kind::Minutes, get: |v| Cell::Num(v.under_pressure_min) },
    Column { key: "gap_min", zh: "信号中断(分钟)", en: "Reporting gaps (min)", kind: Kind::Minutes, get: |v| Cell::Num(v.gap_min) },
];

/// The columns of the route table.
#[rustfmt::skip]
pub(crate) const ROUTE_COLUMNS: &[Column<RouteRow>] = &[
    Column { key: "code", zh: "线路编码", en: "Route code", kind: Kind::Text, get: |r| text(&r.code) },
    Column { key: "name", zh: "线路名称", en: "Route", kind: Kind::Text, get: |r| text(&r.name) },
    Column { key: "unit", zh: "单位编码", en: "Unit code", kind: Kind::Text, get: |r| text(&r.unit) },
    Column { key: "unit_name", zh: "责任单位", en: "Unit", kind: Kind::Text, get: |r| text(&r.unit_name) },
    Column { key: "kind", zh: "车辆类型", en: "Kind", kind: Kind::Text, get: |r| text(&r.kind) },
    Column { key: "passes", zh: "要求遍数", en: "Passes required", kind: Kind::Count, get: |r| Cell::Num(r.passes.into()) },
    Column { key: "length_km", zh: "线路长度(公里)", en: "Length (km)", kind: Kind::Km, get: |r| Cell::Num(r.length_km) },
    Column { key: "scheduled_days", zh: "计划天数", en: "Scheduled days", kind: Kind::Count, get: |r| Cell::Num(r.scheduled_days.into()) },
    Column { key: "worked_share", zh: "作业完成率", en: "Worked share", kind: Kind::Share, get: |r| opt(r.worked_share) },
    Column { key: "passes_met_share", zh: "遍数达标率", en: "Passes met", kind: Kind::Share, get: |r| opt(r.passes_met_share) },
    Column { key: "on_schedule_share", zh: "按时作业率", en: "On schedule", kind: Kind::Share, get: |r| opt(r.on_schedule_share) },
    Column { key: "fully_worked_days", zh: "全部完成天数", en: "Days fully worked", kind: Kind::Count, get: |r| Cell::Num(r.fully_worked_days.into()) },
    Column { key: "vehicles", zh: "作业车辆", en: "Vehicles", kind: Kind::Text, get: |r| Cell::Text(r.vehicles.join("+")) },
];

/// The columns of the vehicle unit table.
#[rustfmt::skip]
pub(crate) const VEHICLE_UNIT_COLUMNS: &[Column<VehicleUnitRow>] = &[
    Column { key: "code", zh: "编码", en: "Code", kind: Kind::Text, get: |u| text(&u.code) },
    Column { key: "name", zh: "名称", en: "Name", kind: Kind::Text, get: |u| text(&u.name) },
    Column { key: "level", zh: "层级", en: "Level", kind: Kind::Text, get: |u| text(&u.level) },
    Column { key: "parent", zh: "上级编码", en: "Parent code", kind: Kind::Text, get: |u| u.parent.as_deref().map_or(Cell::Missing, text) },
    Column { key: "vehicles", zh: "车辆数", en: "Vehicles", kind: Kind::Count, get: |u| Cell::Num(u.vehicles.into()) },
    Column { key: "routes", zh: "线路数", en: "Routes", kind: Kind::Count, get: |u| Cell::Num(u.routes.into()) },
    Column { key: "scheduled_route_days", zh: "计划线路天数", en: "Scheduled route-days", kind: Kind::Count, get: |u| Cell::Num(u.scheduled_route_days.into()) },
    Column { key: "length_km", zh: "线路总长(公里)", en: "Route length (km)", kind: Kind::Km, get: |u| Cell::Num(u.length_km) },
    Column { key: "worked_share", zh: "作业完成率", en: "Worked share", kind: Kind::Share, get: |u| opt(u.worked_share) },
    Column { key: "passes_met_share", zh: "遍数达标率", en: "Passes met", kind: Kind::Share, get: |u| opt(u.passes_met_share) },
];

/// The unit levels, top-down order reversed (as the tables are shown: closest to the worker
/// first), with their names.
pub(crate) const LEVELS: &[(&str, &str, &str)] = &[
    ("community", "社区", "Communities"),
    ("street", "街道", "Streets"),
    ("district", "区", "Districts"),
    ("city", "市", "City"),
];

/// The fixed texts of the sheets and the page.
pub(crate) struct Texts {
    /// The report's title (followed by month and scope).
    pub title: &'static str,
    /// "Scope".
    pub scope: &'static str,
    /// Shown when no `--unit` scope was given.
    pub all_units: &'static str,
    /// "Generated at".
    pub generated: &'static str,
    /// The heading of the formula section / the name of the formula sheet.
    pub formula: &'static str,
    /// "Term", "Weight", "Target", "Description".
    pub weight_headers: [&'static str; 4],
    /// "Parameters".
    pub params: &'static str,
    /// "Parameter", "Value".
    pub param_headers: [&'static str; 2],
    /// The workers sheet/section.
    pub workers: &'static str,
    /// The grids sheet/section.
    pub grids: &'static str,
    /// "yes" for flags.
    pub yes: &'static str,
    /// Caption of a community's chart (its workers' scores).
    pub chart_workers: &'static str,
    /// Caption of a higher unit's chart (its sub-units' mean scores).
    pub chart_units: &'static str,
    /// Shown in a chart with nothing to draw.
    pub no_data: &'static str,
    /// Legend for highlighted rows.
    pub weak_note: &'static str,
    /// "Month".
    pub month: &'static str,
    /// The summary section's heading.
    pub summary: &'static str,
    /// Key figures: workers, grids, mean score, team coverage, weak workers, weak grids.
    pub key_figures: [&'static str; 6],
    /// The heading of the ranked units.
    pub units_ranked: &'static str,
    /// "Rank".
    pub rank: &'static str,
    /// The heading of the weakest grids.
    pub weakest_grids: &'static str,
    /// The heading of the weakest workers.
    pub weakest_workers: &'static str,
    /// Said under a shortened list: "{shown} of {total} shown; see the table below".
    pub more_in_table: &'static str,
    /// The heading of all units (the per-level tables).
    pub units: &'static str,
    /// The header of a column holding a community's name.
    pub community: &'static str,
    /// The header of a column holding the parent unit's name.
    pub parent_unit: &'static str,
    /// The anomalies section's heading.
    pub anomalies: &'static str,
    /// Anomaly table headers: kind, what it means, workers (days flagged).
    pub anomaly_headers: [&'static str; 3],
    /// Shown when no worker was flagged.
    pub no_anomalies: &'static str,
    /// The localized score formula; `{penalty}` is replaced by the penalty sentence.
    pub formula_text: &'static str,
    /// The penalty sentence with the configured figures; `{pen}` and `{cap}` are replaced.
    pub penalty_text: &'static str,
    /// The penalty sentence when the report does not record the figures.
    pub penalty_text_unknown: &'static str,
    /// The label of the formula as the assessment recorded it (kept verbatim).
    pub formula_recorded: &'static str,
    /// Days, after a number.
    pub unit_days: &'static str,
    /// Hours, after a number.
    pub unit_hours: &'static str,
    /// The separator of the items of a list in running text.
    pub list_sep: &'static str,
    /// The vehicles section's heading and the vehicle sheet's name.
    pub vehicles: &'static str,
    /// The route table's heading and sheet name.
    pub routes: &'static str,
    /// The vehicle unit table's heading and sheet name.
    pub vehicle_units: &'static str,
    /// What the vehicle section's shares mean; `{full}` is replaced by the full share in %.
    pub vehicles_note: &'static str,
}

const ZH: Texts = Texts {
    title: "网格员月度考核报告",
    scope: "范围",
    all_units: "全部",
    generated: "生成时间",
    formula: "评分公式",
    weight_headers: ["指标", "权重", "目标值", "说明"],
    params: "计算参数",
    param_headers: ["参数", "值"],
    workers: "网格员",
    grids: "网格",
    yes: "是",
    chart_workers: "网格员得分",
    chart_units: "下级单位平均得分",
    no_data: "无数据",
    weak_note: "红底行为重点关注（最薄弱）的网格员或网格。",
    month: "月份",
    summary: "概况",
    key_figures: ["网格员", "网格", "平均得分", "团队覆盖率", "重点关注网格员", "重点关注网格"],
    units_ranked: "单位排名（按平均得分）",
    rank: "名次",
    weakest_grids: "覆盖最弱的网格",
    weakest_workers: "得分最低的网格员",
    more_in_table: "共 {total} 个，此处列出 {shown} 个，其余见下表。",
    units: "各级单位",
    community: "社区",
    parent_unit: "上级单位",
    anomalies: "异常说明",
    anomaly_headers: ["异常类型", "含义", "涉及网格员（异常天数）"],
    no_anomalies: "本月没有网格员被标记异常。",
    formula_text: "得分 = 100 × Σ（权重 × min(1, 实际值 ÷ 目标值)）÷ Σ权重 − 异常扣分，结果限定在 0 到 100 之间。\
                   某项没有数值时（如所辖网格没有点位），该项不计入分子和分母。{penalty}",
    penalty_text: "异常扣分：每个有异常标记的日子扣 {pen} 分，最多扣 {cap} 分；仅有模拟定位标记的日子不扣分。",
    penalty_text_unknown: "异常扣分：按有异常标记的天数扣分（分值见计算参数）；仅有模拟定位标记的日子不扣分。",
    formula_recorded: "公式原文（考核程序记录）",
    unit_days: "天",
    unit_hours: "小时",
    list_sep: "、",
    vehicles: "车辆",
    routes: "线路",
    vehicle_units: "单位车辆",
    vehicles_note: "作业完成率：计划线路长度中按时按要求作业过至少一遍的比例；遍数达标率：达到要求遍数的比例；\
                    按时作业率：作业过的长度中在计划时段内完成的比例。完成率不低于 {full} 的线路日记为全部完成。",
};

const EN: Texts = Texts {
    title: "Grid worker monthly assessment",
    scope: "Scope",
    all_units: "all units",
    generated: "Generated at",
    formula: "Score formula",
    weight_headers: ["Term", "Weight", "Target", "Description"],
    params: "Parameters",
    param_headers: ["Parameter", "Value"],
    workers: "Workers",
    grids: "Grids",
    yes: "yes",
    chart_workers: "Worker scores",
    chart_units: "Mean score of sub-units",
    no_data: "no data",
    weak_note: "Rows on red are the weakest workers or grids.",
    month: "Month",
    summary: "Summary",
    key_figures: [
        "Workers",
        "Grids",
        "Mean score",
        "Team coverage",
        "Weakest workers",
        "Weakest grids",
    ],
    units_ranked: "Units ranked by mean score",
    rank: "Rank",
    weakest_grids: "Grids with the lowest coverage",
    weakest_workers: "Workers with the lowest score",
    more_in_table: "{shown} of {total} shown; the rest are in the tables below.",
    units: "Units",
    community: "Community",
    parent_unit: "Parent unit",
    anomalies: "Anomalies explained",
    anomaly_headers: ["Anomaly", "What it means", "Workers (days flagged)"],
    no_anomalies: "No worker was flagged this month.",
    formula_text:
        "score = 100 × Σ (weight × min(1, value ÷ target)) ÷ Σ weight − anomaly penalty, \
                   kept within 0 to 100. A term without a value (e.g. no checkpoints in the \
                   worker's grids) is left out of both sums. {penalty}",
    penalty_text: "Anomaly penalty: {pen} points per day with a plausibility flag, at most {cap} \
                   points; days flagged only as mock location are not penalised.",
    penalty_text_unknown: "Anomaly penalty: points per day with a plausibility flag (see the \
                           parameters); days flagged only as mock location are not penalised.",
    formula_recorded: "The formula as recorded by the assessment",
    unit_days: "days",
    unit_hours: "h",
    list_sep: ", ",
    vehicles: "Vehicles",
    routes: "Routes",
    vehicle_units: "Vehicle units",
    vehicles_note:
        "Worked share: the share of the planned route length worked at least once in its \
                    window, at working speed and pressure; passes met: the share with the required \
                    passes; on schedule: the share of the worked length worked in its window. A \
                    route-day with a worked share of {full} or more counts as fully worked.",
};

/// The fixed texts in `lang`.
pub(crate) fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

/// The name of a level (`community` → 社区 / Communities) in `lang`; unknown levels as given.
pub(crate) fn level_name(level: &str, lang: Lang) -> &str {
    LEVELS
        .iter()
        .find(|(key, _, _)| *key == level)
        .map_or(level, |(_, zh, en)| match lang {
            Lang::Zh => zh,
            Lang::En => en,
        })
}

/// The name of one unit's level (`community` → 社区 / Community) in `lang`, singular, for
/// cells; unknown levels as given.
pub(crate) fn level_label(level: &str, lang: Lang) -> &str {
    const SINGULAR: &[(&str, &str, &str)] = &[
        ("city", "市", "City"),
        ("district", "区", "District"),
        ("street", "街道", "Street"),
        ("community", "社区", "Community"),
        ("grid", "网格", "Grid"),
    ];
    SINGULAR
        .iter()
        .find(|(key, _, _)| *key == level)
        .map_or(level, |(_, zh, en)| match lang {
            Lang::Zh => zh,
            Lang::En => en,
        })
}

/// One kind of anomaly flag: its key in [`WorkerRow::anomalies`], its name and what it means.
pub(crate) struct AnomalyLabel {
    /// The key the assessment writes (`crate::anomaly::Finding::kind`).
    pub key: &'static str,
    /// The Chinese name.
    pub zh: &'static str,
    /// The English name.
    pub en: &'static str,
    /// What it means, in Chinese.
    pub zh_meaning: &'static str,
    /// What it means, in English.
    pub en_meaning: &'static str,
}

/// Every anomaly kind the assessment produces (`src/anomaly.rs`, `FLAG_KINDS` in
/// `src/assess/month.rs`), in the order the page explains them.
#[rustfmt::skip]
pub(crate) const ANOMALIES: &[AnomalyLabel] = &[
    AnomalyLabel { key: "static_device", zh: "静止设备", en: "Static device",
        zh_meaning: "设备长时间停在一个小范围内却被记为巡查，可能是把手机放着不动。",
        en_meaning: "The device stayed inside a small circle for a long time while recording patrol; it may have been left lying." },
    AnomalyLabel { key: "replay", zh: "轨迹重放", en: "Replayed track",
        zh_meaning: "当天轨迹与本月另一天的轨迹几乎重合，可能是重复上传的旧轨迹。",
        en_meaning: "The day's track nearly repeats another day's track of the month; it may be an old track uploaded again." },
    AnomalyLabel { key: "mock_location", zh: "模拟定位", en: "Mock location",
        zh_meaning: "手机报告定位来自模拟定位程序（仅提示，不扣分）。",
        en_meaning: "The phone reported that its position came from a mock-location app (noted, never penalised)." },
    AnomalyLabel { key: "jumps", zh: "跳点", en: "Jumps",
        zh_meaning: "定位多次在短时间内跳到很远处，超出步行或骑行可能的速度。",
        en_meaning: "The position jumped far away several times, faster than walking or riding allows." },
    AnomalyLabel { key: "out_of_grid", zh: "离开网格", en: "Out of grid",
        zh_meaning: "巡查时段内长时间在所辖网格之外。",
        en_meaning: "A long time during patrol was spent outside the assigned grids." },
    AnomalyLabel { key: "future_timestamps", zh: "时间超前", en: "Future timestamps",
        zh_meaning: "定位时间晚于服务器收到的时间，手机时钟可能被调快。",
        en_meaning: "Pings were stamped later than they were received; the phone's clock may have been set ahead." },
];

/// The anomaly kind `key` (also the singular `future_timestamp`), if known.
pub(crate) fn anomaly(key: &str) -> Option<&'static AnomalyLabel> {
    let key = if key == "future_timestamp" {
        "future_timestamps"
    } else {
        key
    };
    ANOMALIES.iter().find(|a| a.key == key)
}

/// The name of anomaly kind `key` in `lang`; unknown kinds as given.
pub(crate) fn anomaly_name(key: &str, lang: Lang) -> &str {
    anomaly(key).map_or(key, |a| match lang {
        Lang::Zh => a.zh,
        Lang::En => a.en,
    })
}

/// A worker's anomalies in words, one item per kind with the days flagged, e.g.
/// `静止设备 ×6` (rather than the key `static_device:6`), kinds in alphabetical key order.
pub(crate) fn anomaly_items(w: &WorkerRow, lang: Lang) -> Vec<String> {
    w.anomalies
        .iter()
        .map(|(k, d)| format!("{} ×{d}", anomaly_name(k, lang)))
        .collect()
}

/// How a score term's target is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TermUnit {
    /// Days.
    Days,
    /// Hours.
    Hours,
    /// A share 0..1.
    Share,
}

/// One score term: the names it goes by, its label and description in both languages.
pub(crate) struct TermLabel {
    /// The names the term goes by ([`crate::config::ScoreConfig::terms`], the report fixture,
    /// the worker column it reads).
    pub keys: &'static [&'static str],
    /// The Chinese name.
    pub zh: &'static str,
    /// The English name.
    pub en: &'static str,
    /// What it measures, in Chinese.
    pub zh_description: &'static str,
    /// What it measures, in English.
    pub en_description: &'static str,
    /// The unit of its target.
    pub unit: TermUnit,
}

/// Every score term.
#[rustfmt::skip]
pub(crate) const TERMS: &[TermLabel] = &[
    TermLabel { keys: &["days", "days_active"], zh: "出勤天数", en: "Days active",
        zh_description: "巡查达到最短时长的天数", en_description: "days with at least the minimum patrol time",
        unit: TermUnit::Days },
    TermLabel { keys: &["hours", "patrol_h"], zh: "巡查时长", en: "Patrol hours",
        zh_description: "本月巡查小时数", en_description: "patrol hours in the month",
        unit: TermUnit::Hours },
    TermLabel { keys: &["coverage"], zh: "网格覆盖率", en: "Grid coverage",
        zh_description: "所辖网格被本月轨迹覆盖的面积比例（按面积加权）",
        en_description: "share of the assigned grids covered by the month's tracks (area-weighted)",
        unit: TermUnit::Share },
    TermLabel { keys: &["checkpoints", "checkpoint_compliance"], zh: "点位完成率", en: "Checkpoint compliance",
        zh_description: "各点位 min(1, 到访次数 ÷ 要求次数) 的平均值",
        en_description: "mean over checkpoints of min(1, visits ÷ required)",
        unit: TermUnit::Share },
    TermLabel { keys: &["quality", "data_quality", "accepted_share"], zh: "有效定位率", en: "Accepted share",
        zh_description: "收到的定位中通过清洗的比例", en_description: "share of received pings accepted by cleaning",
        unit: TermUnit::Share },
];

/// The score term named `term`, if known.
pub(crate) fn term(term: &str) -> Option<&'static TermLabel> {
    TERMS.iter().find(|t| t.keys.contains(&term))
}

/// The report's units grouped by level: the known levels in order, then any other level the
/// assessment produced (so no row is lost), each with at least one unit.
pub(crate) fn units_by_level(report: &super::Report) -> Vec<(&str, Vec<super::UnitRow>)> {
    let mut levels: Vec<&str> = LEVELS.iter().map(|(key, _, _)| *key).collect();
    for u in &report.units {
        if !levels.contains(&u.level.as_str()) {
            levels.push(&u.level);
        }
    }
    levels
        .into_iter()
        .map(|level| {
            let rows: Vec<super::UnitRow> = report
                .units
                .iter()
                .filter(|u| u.level == level)
                .cloned()
                .collect();
            (level, rows)
        })
        .filter(|(_, rows)| !rows.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::Report;
    use serde::Serialize;

    /// Every field of a row has exactly one column, named after it, in the model's order.
    fn assert_columns_match<R: Serialize>(columns: &[Column<R>], row: &R) {
        let v = serde_json::to_value(row).unwrap();
        let fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let keys: Vec<&str> = columns.iter().map(|c| c.key).collect();
        assert_eq!(keys, fields);
        for c in columns {
            let cjk = |s: &str| s.chars().any(|ch| ch >= '\u{2e80}');
            assert!(cjk(c.zh) && !cjk(c.en), "{}", c.key);
        }
    }

    #[test]
    fn columns_cover_every_field_of_the_model() {
        let r = Report::sample();
        assert_columns_match(WORKER_COLUMNS, &r.workers[0]);
        assert_columns_match(GRID_COLUMNS, &r.grids[0]);
        assert_columns_match(UNIT_COLUMNS, &r.units[0]);
        let v = crate::report::VehicleReport::sample();
        assert_columns_match(VEHICLE_COLUMNS, &v.vehicles[0]);
        assert_columns_match(ROUTE_COLUMNS, &v.routes[0]);
        assert_columns_match(VEHICLE_UNIT_COLUMNS, &v.units[0]);
    }

    #[test]
    fn every_anomaly_kind_and_term_has_both_languages() {
        let cjk = |s: &str| s.chars().any(|ch| ch >= '\u{2e80}');
        for a in ANOMALIES {
            assert!(cjk(a.zh) && cjk(a.zh_meaning), "{}", a.key);
            assert!(!cjk(a.en) && !cjk(a.en_meaning), "{}", a.key);
        }
        for t in TERMS {
            assert!(cjk(t.zh) && !cjk(t.en), "{}", t.keys[0]);
        }
        // The kinds the detector and the assessment write, and the singular spelling.
        for kind in [
            "jumps",
            "static_device",
            "replay",
            "mock_location",
            "future_timestamps",
            "future_timestamp",
            "out_of_grid",
        ] {
            assert!(anomaly(kind).is_some(), "{kind}");
        }
        assert_eq!(anomaly_name("static_device", Lang::Zh), "静止设备");
        assert_eq!(anomaly_name("teleport", Lang::Zh), "teleport");
        // The config's term names and the fixture's.
        for name in [
            "days",
            "hours",
            "coverage",
            "checkpoints",
            "quality",
            "data_quality",
        ] {
            assert!(term(name).is_some(), "{name}");
        }
    }

    #[test]
    fn anomalies_in_words() {
        let mut w = Report::sample().workers[0].clone();
        w.anomalies = [("static_device".to_string(), 6), ("replay".to_string(), 1)]
            .into_iter()
            .collect();
        assert_eq!(anomaly_items(&w, Lang::Zh), ["轨迹重放 ×1", "静止设备 ×6"]);
        assert_eq!(
            anomaly_items(&w, Lang::En),
            ["Replayed track ×1", "Static device ×6"]
        );
    }

    #[test]
    fn level_names() {
        assert_eq!(level_label("community", Lang::Zh), "社区");
        assert_eq!(level_label("grid", Lang::Zh), "网格");
        assert_eq!(level_label("city", Lang::En), "City");
        assert_eq!(level_name("street", Lang::Zh), "街道");
        assert_eq!(level_name("district", Lang::En), "Districts");
        assert_eq!(level_name("village", Lang::En), "village");
    }
}
