//! Every label of every format in one place: the columns of the three tables (key, Chinese and
//! English header, kind of value, how to read it from a row) and the page/sheet texts.
//! The CSV, XLSX and HTML writers all read these tables, so a column has the same header and
//! the same value in each format.

use super::model::{GridRow, Lang, NamedValue, UnitRow, WorkerRow};

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
    }

    #[test]
    fn level_names() {
        assert_eq!(level_name("street", Lang::Zh), "街道");
        assert_eq!(level_name("district", Lang::En), "Districts");
        assert_eq!(level_name("village", Lang::En), "village");
    }
}
