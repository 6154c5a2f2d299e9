//! `report.html`: one self-contained printable page (inline CSS and SVG, no script, no
//! external assets) for the person who opens the report in a browser, in the chosen language:
//!
//! 1. the title (month, scope, when it was made);
//! 2. a summary: key figures, the units ranked, the weakest grids and workers by name;
//! 3. the worker, grid and unit tables (weak rows highlighted, a bar chart per unit), and with
//!    a fleet the vehicle, route and vehicle-unit tables;
//! 4. the anomalies explained in words;
//! 5. the score formula and its weights;
//! 6. the parameters, collapsed.
//!
//! Printable on A4 landscape: header rows repeat on every page, each big table starts a page.
//! Every piece of report data is escaped.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use super::labels::{self, Cell, Column, Kind, TermUnit, Texts};
use super::model::{
    GridRow, Lang, Report, RouteRow, UnitRow, VehicleReport, VehicleRow, VehicleUnitRow, WorkerRow,
};

/// The page's style sheet: screen and print (A4 landscape, header rows repeated, colours kept).
const CSS: &str = r#"
body { font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", system-ui, sans-serif;
       margin: 24px; color: #1f2328; font-size: 13px; line-height: 1.4; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 8px; border-bottom: 2px solid #4a86c5; padding-bottom: 2px; }
h3 { font-size: 14px; margin: 16px 0 6px; }
.meta { color: #57606a; margin: 0 0 12px; }
.figures { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 12px; }
.figure { border: 1px solid #d0d7de; border-radius: 4px; padding: 6px 12px; min-width: 8em; }
.figure .v { display: block; font-size: 20px; font-weight: bold; font-variant-numeric: tabular-nums; }
.figure .k { color: #57606a; font-size: 12px; white-space: nowrap; }
.cols { display: flex; flex-wrap: wrap; gap: 0 24px; align-items: flex-start; }
.wide { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; table-layout: auto; margin: 6px 0; }
th, td { border: 1px solid #d0d7de; padding: 3px 6px; vertical-align: top; }
th { background: #ddebf7; font-weight: bold; text-align: left; min-width: 3em; }
th.num, td.num { text-align: right; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name, .nw { white-space: nowrap; }
td.code { font-family: ui-monospace, Consolas, "Courier New", monospace; font-size: 0.85em;
          color: #57606a; overflow-wrap: anywhere; min-width: 4ch; }
tbody tr:nth-child(even) td { background: #f6f8fa; }
tbody tr.weak td { background: #ffc7ce; }
.note { color: #57606a; font-size: 12px; }
.formula-text { max-width: 60em; }
pre.formula { background: #f6f8fa; border: 1px solid #d0d7de; padding: 8px; white-space: pre-wrap;
              font-family: ui-monospace, Consolas, monospace; font-size: 12px; }
details summary { cursor: pointer; font-weight: bold; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; border: 1px solid #d0d7de; padding: 6px; }
figcaption { font-weight: bold; font-size: 12px; margin-bottom: 4px; }
svg text { font-size: 11px; fill: #1f2328; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { margin: 0; font-size: 9pt; }
  h1 { font-size: 15pt; } h2 { font-size: 12pt; } h3 { font-size: 10pt; }
  table { font-size: 8pt; }
  th, td { padding: 1px 3px; }
  .wide { overflow: visible; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  thead { display: table-header-group; }
  tr, figure, .figure { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  section.break { break-before: page; }
}
"#;

/// How many weakest grids and workers the summary lists at most (the rest are in the tables).
const SUMMARY_ROWS: usize = 10;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The report as one HTML page.
pub fn to_html(report: &Report, lang: Lang) -> String {
    let t = labels::texts(lang);
    let names = Names::new(report);
    let scope = scope_text(report, t);
    let mut h = String::new();
    let html_lang = match lang {
        Lang::Zh => "zh-CN",
        Lang::En => "en",
    };
    // Writing to a String cannot fail; `let _ =` keeps that visible without unwrap.
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{html_lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} {month} · {scope}</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <header>\n<h1>{title} {month} · {scope}</h1>\n\
         <p class=\"meta\">{month_l}: {month} · {scope_l}: {scope} · {gen_l}: {generated}</p>\n\
         </header>\n",
        title = escape(t.title),
        month = escape(&report.month),
        scope = escape(&scope),
        month_l = escape(t.month),
        scope_l = escape(t.scope),
        gen_l = escape(t.generated),
        // RFC 3339 reads better with a space than a `T`.
        generated = escape(&report.generated_at.replacen('T', " ", 1)),
    );
    if let Some(f) = &report.freshness {
        // The service says how current the figures are (DESIGN.md §5.4).
        let newest = f
            .newest_ping
            .as_deref()
            .map_or_else(|| "-".to_string(), |n| n.replacen('T', " ", 1));
        let line = match lang {
            Lang::Zh => format!(
                "数据截至最新定位 {newest}；待重算的工作日 {}（最久已等 {:.0} 秒）",
                f.pending, f.lag_s
            ),
            Lang::En => format!(
                "Figures include pings up to {newest}; worker-days awaiting recomputation: {} (oldest waiting {:.0} s)",
                f.pending, f.lag_s
            ),
        };
        let _ = writeln!(h, "<p class=\"meta freshness\">{}</p>", escape(&line));
    }
    if !report.days_without_context.is_empty() {
        // A history lake without the adjacent month (DESIGN.md §6).
        let days = report.days_without_context.join(", ");
        let line = match lang {
            Lang::Zh => format!("以下日期缺少相邻月份的数据，按无前后文计算：{days}"),
            Lang::En => format!(
                "Summarised without the adjacent month's pings (no context across midnight): {days}"
            ),
        };
        let _ = writeln!(h, "<p class=\"meta context\">{}</p>", escape(&line));
    }
    summary_section(&mut h, report, &names, lang);
    workers_section(&mut h, report, &names, lang);
    grids_section(&mut h, report, &names, lang);
    units_section(&mut h, report, &names, lang);
    if let Some(v) = &report.vehicles {
        vehicles_section(&mut h, v, lang);
    }
    anomalies_section(&mut h, report, lang);
    formula_section(&mut h, report, lang);
    params_section(&mut h, report, t);
    h.push_str("</body>\n</html>\n");
    h
}

/// The names of the report's workers, grids and units by id or code, from its own rows.
struct Names<'a> {
    workers: HashMap<&'a str, &'a str>,
    grids: HashMap<&'a str, &'a str>,
    units: HashMap<&'a str, &'a str>,
}

impl<'a> Names<'a> {
    fn new(report: &'a Report) -> Names<'a> {
        Names {
            workers: report
                .workers
                .iter()
                .map(|w| (w.worker.as_str(), w.name.as_str()))
                .collect(),
            grids: report
                .grids
                .iter()
                .map(|g| (g.code.as_str(), g.name.as_str()))
                .collect(),
            units: report
                .units
                .iter()
                .map(|u| (u.code.as_str(), u.name.as_str()))
                .collect(),
        }
    }

    /// A worker's name, or the id when the report has no row for it.
    fn worker<'b>(&self, id: &'b str) -> &'b str
    where
        'a: 'b,
    {
        self.workers.get(id).copied().unwrap_or(id)
    }

    /// A grid's name, or its code.
    fn grid<'b>(&self, code: &'b str) -> &'b str
    where
        'a: 'b,
    {
        self.grids.get(code).copied().unwrap_or(code)
    }

    /// A unit's name, or its code.
    fn unit<'b>(&self, code: &'b str) -> &'b str
    where
        'a: 'b,
    {
        self.units.get(code).copied().unwrap_or(code)
    }
}

/// The scope as shown in the title: the unit's name and code, or "all units".
fn scope_text(report: &Report, t: &Texts) -> String {
    match &report.unit {
        None => t.all_units.to_string(),
        Some(code) => match report.units.iter().find(|u| &u.code == code) {
            Some(u) => format!("{} ({code})", u.name),
            None => code.clone(),
        },
    }
}

/// Names as HTML, each kept on one line, separated so the list itself may wrap.
fn name_list<'s>(names: impl IntoIterator<Item = &'s str>, t: &Texts) -> String {
    names
        .into_iter()
        .map(|n| format!("<span class=\"nw\">{}</span>", escape(n)))
        .collect::<Vec<_>>()
        .join(t.list_sep)
}

/// A number with thousands separators, rounded to a whole number.
fn whole(x: f64) -> String {
    let s = format!("{:.0}", x.abs());
    let mut out = String::with_capacity(s.len() + s.len() / 3 + 1);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 && out != "0" {
        out.insert(0, '-');
    }
    out
}

/// A share 0..1 as a percentage with one decimal, e.g. `96.7%`.
fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// A cell as display text (escaped).
fn display(kind: Kind, cell: Cell, t: &Texts) -> String {
    match cell {
        Cell::Text(s) => escape(&s),
        Cell::Missing => "–".to_string(),
        Cell::Flag(b) => {
            if b {
                escape(t.yes)
            } else {
                String::new()
            }
        }
        Cell::Num(x) => match kind {
            Kind::Count | Kind::Area => whole(x),
            Kind::Share => percent(x),
            Kind::Hours | Kind::Km | Kind::Minutes | Kind::Score | Kind::Text | Kind::Flag => {
                format!("{x:.1}")
            }
        },
    }
}

/// How one table of the page shows the columns of `labels.rs`.
struct Table<'a, R: 'static> {
    /// The columns, in order.
    columns: &'static [Column<R>],
    /// Columns left off the page (their values stay in CSV and XLSX).
    skip: &'a [&'a str],
    /// Columns of names: never wrapped.
    names: &'a [&'a str],
    /// Columns of codes: small monospace, allowed to wrap so names get the width.
    codes: &'a [&'a str],
    /// Headers that differ from the column's (the cell shows a name instead of a code).
    headers: &'a [(&'a str, &'a str)],
    /// Cells shown otherwise than by their column (already escaped), by key.
    cell: &'a dyn Fn(&str, &R) -> Option<String>,
    /// Highlighted rows.
    is_weak: fn(&R) -> bool,
}

impl<R: 'static> Table<'_, R> {
    fn class(&self, c: &Column<R>) -> &'static str {
        if self.names.contains(&c.key) {
            " class=\"name\""
        } else if self.codes.contains(&c.key) {
            " class=\"code\""
        } else if matches!(c.kind, Kind::Text | Kind::Flag) {
            ""
        } else {
            " class=\"num\""
        }
    }

    fn write(&self, h: &mut String, rows: &[R], lang: Lang) {
        let t = labels::texts(lang);
        let columns: Vec<&Column<R>> = self
            .columns
            .iter()
            .filter(|c| !self.skip.contains(&c.key))
            .collect();
        h.push_str("<div class=\"wide\">\n<table>\n<thead><tr>");
        for c in &columns {
            let label = self
                .headers
                .iter()
                .find(|(key, _)| *key == c.key)
                .map_or(c.label(lang), |(_, label)| label);
            let class = if self.class(c) == " class=\"num\"" {
                " class=\"num\""
            } else {
                ""
            };
            // The model's field name lets scripts find a column whatever the language.
            let _ = write!(
                h,
                "<th data-key=\"{}\"{class}>{}</th>",
                c.key,
                escape(label)
            );
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for r in rows {
            h.push_str(if (self.is_weak)(r) {
                "<tr class=\"weak\">"
            } else {
                "<tr>"
            });
            for c in &columns {
                let value = (self.cell)(c.key, r).unwrap_or_else(|| display(c.kind, (c.get)(r), t));
                let _ = write!(h, "<td{}>{value}</td>", self.class(c));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody>\n</table>\n</div>\n");
    }
}

/// The header of the column `key` of `columns` in `lang` (the key itself if there is none).
fn header<R>(columns: &'static [Column<R>], key: &'static str, lang: Lang) -> &'static str {
    columns
        .iter()
        .find(|c| c.key == key)
        .map_or(key, |c| c.label(lang))
}

/// Writes a small table: headers (right-aligned where `num`), then rows of (class, escaped
/// HTML) cells.
fn simple_table(h: &mut String, headers: &[(&str, bool)], rows: &[Vec<(&str, String)>]) {
    h.push_str("<table>\n<thead><tr>");
    for (label, num) in headers {
        let class = if *num { " class=\"num\"" } else { "" };
        let _ = write!(h, "<th{class}>{}</th>", escape(label));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        h.push_str("<tr>");
        for (class, cell) in row {
            if class.is_empty() {
                let _ = write!(h, "<td>{cell}</td>");
            } else {
                let _ = write!(h, "<td class=\"{class}\">{cell}</td>");
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
}

/// The unit the report is about: the `--unit` scope, else the top of the hierarchy, going
/// down while it has exactly one unit below it that has units of its own (ranking a city's
/// only district says nothing).
fn focus(report: &Report) -> Option<&UnitRow> {
    let children = |code: &str| -> Vec<&UnitRow> {
        report
            .units
            .iter()
            .filter(|u| u.parent.as_deref() == Some(code))
            .collect()
    };
    let scoped = report
        .unit
        .as_deref()
        .and_then(|code| report.units.iter().find(|u| u.code == code));
    let mut top = scoped.or_else(|| {
        let tops: Vec<&UnitRow> = report
            .units
            .iter()
            .filter(|u| {
                u.parent
                    .as_deref()
                    .is_none_or(|p| report.units.iter().all(|o| o.code != p))
            })
            .collect();
        (tops.len() == 1).then(|| tops[0])
    })?;
    // Bounded by the number of units, so a cycle in bad data cannot loop forever.
    for _ in 0..report.units.len() {
        match children(&top.code).as_slice() {
            [only] if !children(&only.code).is_empty() => top = only,
            _ => break,
        }
    }
    Some(top)
}

/// The units the summary ranks: those directly below the focus (or every unit when there is
/// no focus or it has none below), best mean score first.
fn ranked_units(report: &Report) -> Vec<&UnitRow> {
    let mut units: Vec<&UnitRow> = match focus(report) {
        Some(top) => report
            .units
            .iter()
            .filter(|u| u.parent.as_deref() == Some(top.code.as_str()))
            .collect(),
        None => Vec::new(),
    };
    if units.is_empty() {
        units = report.units.iter().collect();
    }
    units.sort_by(|a, b| {
        b.mean_score
            .total_cmp(&a.mean_score)
            .then(b.team_coverage.total_cmp(&a.team_coverage))
            .then(a.name.cmp(&b.name))
    });
    units
}

/// The weakest grids, lowest coverage first: those flagged weak, else those the focus unit
/// lists.
fn weakest_grids(report: &Report) -> Vec<&GridRow> {
    let mut grids: Vec<&GridRow> = report.grids.iter().filter(|g| g.weak).collect();
    if grids.is_empty() {
        if let Some(top) = focus(report) {
            grids = top
                .weakest_grids
                .iter()
                .filter_map(|v| report.grids.iter().find(|g| g.code == v.code))
                .collect();
        }
    }
    grids.sort_by(|a, b| a.team_coverage.total_cmp(&b.team_coverage));
    grids
}

/// The weakest workers, lowest score first: those flagged weak, else those the focus unit
/// lists.
fn weakest_workers(report: &Report) -> Vec<&WorkerRow> {
    let mut workers: Vec<&WorkerRow> = report.workers.iter().filter(|w| w.weak).collect();
    if workers.is_empty() {
        if let Some(top) = focus(report) {
            workers = top
                .weakest_workers
                .iter()
                .filter_map(|v| report.workers.iter().find(|w| w.worker == v.code))
                .collect();
        }
    }
    workers.sort_by(|a, b| a.score.total_cmp(&b.score));
    workers
}

/// The grid names of a worker's `+`-joined grid codes.
fn grid_names<'a>(grid: &'a str, names: &Names<'a>) -> Vec<&'a str> {
    grid.split('+')
        .filter(|c| !c.is_empty())
        .map(|c| names.grid(c))
        .collect()
}

fn summary_section(h: &mut String, report: &Report, names: &Names<'_>, lang: Lang) {
    let t = labels::texts(lang);
    let _ = write!(
        h,
        "<section id=\"summary\">\n<h2>{}</h2>\n<div class=\"figures\">\n",
        escape(t.summary)
    );
    let mean_score = if report.workers.is_empty() {
        "–".to_string()
    } else {
        let sum: f64 = report.workers.iter().map(|w| w.score).sum();
        format!("{:.1}", sum / report.workers.len() as f64)
    };
    // Team coverage of the whole: area-weighted over every grid, like a unit's.
    let area: f64 = report.grids.iter().map(|g| g.area_m2).sum();
    let covered: f64 = report.grids.iter().map(|g| g.covered_m2).sum();
    let coverage = if area > 0.0 {
        percent(covered / area)
    } else {
        focus(report).map_or("–".to_string(), |u| percent(u.team_coverage))
    };
    let figures = [
        whole(report.workers.len() as f64),
        whole(report.grids.len() as f64),
        mean_score,
        coverage,
        whole(report.workers.iter().filter(|w| w.weak).count() as f64),
        whole(report.grids.iter().filter(|g| g.weak).count() as f64),
    ];
    for (label, value) in t.key_figures.iter().zip(figures) {
        let _ = writeln!(
            h,
            "<div class=\"figure\"><span class=\"v\">{value}</span><span class=\"k\">{}</span></div>",
            escape(label)
        );
    }
    h.push_str("</div>\n");

    let units = ranked_units(report);
    if !units.is_empty() {
        let _ = writeln!(h, "<h3>{}</h3>", escape(t.units_ranked));
        let rows: Vec<Vec<(&str, String)>> = units
            .iter()
            .enumerate()
            .map(|(i, u)| {
                vec![
                    ("num", (i + 1).to_string()),
                    ("name", escape(&u.name)),
                    ("name", escape(labels::level_label(&u.level, lang))),
                    ("num", whole(u.workers.into())),
                    ("num", percent(u.team_coverage)),
                    ("num", format!("{:.1}", u.mean_score)),
                ]
            })
            .collect();
        let unit_header = |key: &'static str| header(labels::UNIT_COLUMNS, key, lang);
        simple_table(
            h,
            &[
                (t.rank, true),
                (unit_header("name"), false),
                (unit_header("level"), false),
                (unit_header("workers"), true),
                (unit_header("team_coverage"), true),
                (unit_header("mean_score"), true),
            ],
            &rows,
        );
    }

    h.push_str("<div class=\"cols\">\n<div>\n");
    let grids = weakest_grids(report);
    let _ = writeln!(h, "<h3>{}</h3>", escape(t.weakest_grids));
    let grid_header = |key: &'static str| header(labels::GRID_COLUMNS, key, lang);
    let rows: Vec<Vec<(&str, String)>> = grids
        .iter()
        .take(SUMMARY_ROWS)
        .map(|g| {
            vec![
                ("name", escape(&g.name)),
                ("name", escape(names.unit(&g.community))),
                ("num", percent(g.team_coverage)),
                ("", name_list(g.workers.iter().map(|w| names.worker(w)), t)),
            ]
        })
        .collect();
    simple_table(
        h,
        &[
            (grid_header("name"), false),
            (t.community, false),
            (grid_header("team_coverage"), true),
            (grid_header("workers"), false),
        ],
        &rows,
    );
    more_note(h, rows.len(), grids.len(), t);
    h.push_str("</div>\n<div>\n");

    let workers = weakest_workers(report);
    let _ = writeln!(h, "<h3>{}</h3>", escape(t.weakest_workers));
    let worker_header = |key: &'static str| header(labels::WORKER_COLUMNS, key, lang);
    let rows: Vec<Vec<(&str, String)>> = workers
        .iter()
        .take(SUMMARY_ROWS)
        .map(|w| {
            vec![
                ("name", escape(&w.name)),
                ("name", escape(&w.community_name)),
                ("", name_list(grid_names(&w.grid, names), t)),
                ("num", format!("{:.1}", w.score)),
                ("num", percent(w.coverage)),
            ]
        })
        .collect();
    simple_table(
        h,
        &[
            (worker_header("name"), false),
            (worker_header("community_name"), false),
            (worker_header("grid"), false),
            (worker_header("score"), true),
            (worker_header("coverage"), true),
        ],
        &rows,
    );
    more_note(h, rows.len(), workers.len(), t);
    h.push_str("</div>\n</div>\n</section>\n");
}

/// Says that a summary list shows `shown` of `total` rows, when it does not show them all.
fn more_note(h: &mut String, shown: usize, total: usize, t: &Texts) {
    if shown < total {
        let note = t
            .more_in_table
            .replace("{shown}", &shown.to_string())
            .replace("{total}", &total.to_string());
        let _ = writeln!(h, "<p class=\"note\">{}</p>", escape(&note));
    }
}

fn workers_section(h: &mut String, report: &Report, names: &Names<'_>, lang: Lang) {
    let t = labels::texts(lang);
    let _ = write!(
        h,
        "<section id=\"workers\" class=\"break\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n",
        escape(t.workers),
        escape(t.weak_note)
    );
    let cell = |key: &str, w: &WorkerRow| match key {
        "grid" => Some(name_list(grid_names(&w.grid, names), t)),
        "anomalies" => Some(name_list(
            labels::anomaly_items(w, lang).iter().map(String::as_str),
            t,
        )),
        _ => None,
    };
    Table {
        columns: labels::WORKER_COLUMNS,
        // The community and street names are shown; their codes are in CSV and XLSX.
        skip: &["community", "street"],
        names: &["name", "community_name", "street_name"],
        codes: &["worker"],
        headers: &[],
        cell: &cell,
        is_weak: |w| w.weak,
    }
    .write(h, &report.workers, lang);
    h.push_str("</section>\n");
}

fn grids_section(h: &mut String, report: &Report, names: &Names<'_>, lang: Lang) {
    let t = labels::texts(lang);
    let _ = write!(
        h,
        "<section id=\"grids\" class=\"break\">\n<h2>{}</h2>\n",
        escape(t.grids)
    );
    let cell = |key: &str, g: &GridRow| match key {
        "community" => Some(escape(names.unit(&g.community))),
        "workers" => Some(name_list(g.workers.iter().map(|w| names.worker(w)), t)),
        _ => None,
    };
    Table {
        columns: labels::GRID_COLUMNS,
        skip: &[],
        names: &["name", "community"],
        codes: &["code"],
        headers: &[("community", t.community)],
        cell: &cell,
        is_weak: |g| g.weak,
    }
    .write(h, &report.grids, lang);
    h.push_str("</section>\n");
}

fn units_section(h: &mut String, report: &Report, names: &Names<'_>, lang: Lang) {
    let t = labels::texts(lang);
    let _ = write!(
        h,
        "<section id=\"units\" class=\"break\">\n<h2>{}</h2>\n",
        escape(t.units)
    );
    let cell = |key: &str, u: &UnitRow| match key {
        "level" => Some(escape(labels::level_label(&u.level, lang))),
        "parent" => u.parent.as_deref().map(|p| escape(names.unit(p))),
        "weakest_grids" => Some(
            u.weakest_grids
                .iter()
                .map(|v| {
                    format!(
                        "<span class=\"nw\">{} {}</span>",
                        escape(names.grid(&v.code)),
                        percent(v.value)
                    )
                })
                .collect::<Vec<_>>()
                .join(t.list_sep),
        ),
        "weakest_workers" => Some(
            u.weakest_workers
                .iter()
                .map(|v| {
                    format!(
                        "<span class=\"nw\">{} {:.1}</span>",
                        escape(names.worker(&v.code)),
                        v.value
                    )
                })
                .collect::<Vec<_>>()
                .join(t.list_sep),
        ),
        _ => None,
    };
    for (level, rows) in labels::units_by_level(report) {
        let _ = writeln!(h, "<h3>{}</h3>", escape(labels::level_name(level, lang)));
        Table {
            columns: labels::UNIT_COLUMNS,
            skip: &[],
            names: &["name", "level", "parent"],
            codes: &["code"],
            headers: &[("parent", t.parent_unit)],
            cell: &cell,
            is_weak: |_| false,
        }
        .write(h, &rows, lang);
        h.push_str("<div class=\"charts\">\n");
        for unit in &rows {
            unit_chart(h, report, unit, t);
        }
        h.push_str("</div>\n");
    }
    h.push_str("</section>\n");
}

/// The vehicles, their routes and the units above them (a report with a fleet).
fn vehicles_section(h: &mut String, v: &VehicleReport, lang: Lang) {
    let t = labels::texts(lang);
    let note = t.vehicles_note.replace("{full}", &percent(v.full_share));
    let _ = write!(
        h,
        "<section id=\"vehicles\" class=\"break\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n",
        escape(t.vehicles),
        escape(&note)
    );
    let no_cell = |_: &str, _: &VehicleRow| None;
    Table {
        columns: labels::VEHICLE_COLUMNS,
        // The unit's name is shown; its code is in CSV and XLSX.
        skip: &["unit"],
        names: &["plate", "unit_name"],
        codes: &["vehicle"],
        headers: &[],
        cell: &no_cell,
        is_weak: |_| false,
    }
    .write(h, &v.vehicles, lang);
    let _ = writeln!(h, "<h3>{}</h3>", escape(t.routes));
    let route_cell = |key: &str, r: &RouteRow| {
        (key == "vehicles").then(|| name_list(r.vehicles.iter().map(String::as_str), t))
    };
    Table {
        columns: labels::ROUTE_COLUMNS,
        skip: &["unit"],
        names: &["name", "unit_name"],
        codes: &["code"],
        headers: &[],
        cell: &route_cell,
        is_weak: |_| false,
    }
    .write(h, &v.routes, lang);
    let _ = writeln!(h, "<h3>{}</h3>", escape(t.vehicle_units));
    let names: HashMap<&str, &str> = v
        .units
        .iter()
        .map(|u| (u.code.as_str(), u.name.as_str()))
        .collect();
    let unit_cell = |key: &str, u: &VehicleUnitRow| match key {
        "level" => Some(escape(labels::level_label(&u.level, lang))),
        "parent" => u
            .parent
            .as_deref()
            .map(|p| escape(names.get(p).copied().unwrap_or(p))),
        _ => None,
    };
    Table {
        columns: labels::VEHICLE_UNIT_COLUMNS,
        skip: &[],
        names: &["name", "level", "parent"],
        codes: &["code"],
        headers: &[("parent", t.parent_unit)],
        cell: &unit_cell,
        is_weak: |_| false,
    }
    .write(h, &v.units, lang);
    h.push_str("</section>\n");
}

fn anomalies_section(h: &mut String, report: &Report, lang: Lang) {
    let t = labels::texts(lang);
    let _ = write!(
        h,
        "<section id=\"anomalies\">\n<h2>{}</h2>\n",
        escape(t.anomalies)
    );
    // Kind → (worker name, days flagged); known kinds in the labels' order, then any other.
    let mut by_kind: BTreeMap<(usize, &str), Vec<(&str, u32)>> = BTreeMap::new();
    for w in &report.workers {
        for (kind, &days) in &w.anomalies {
            let order = labels::ANOMALIES
                .iter()
                .position(|a| Some(a.key) == labels::anomaly(kind).map(|k| k.key))
                .unwrap_or(labels::ANOMALIES.len());
            by_kind
                .entry((order, kind.as_str()))
                .or_default()
                .push((w.name.as_str(), days));
        }
    }
    if by_kind.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", escape(t.no_anomalies));
    } else {
        let rows: Vec<Vec<(&str, String)>> = by_kind
            .into_iter()
            .map(|((_, kind), mut workers)| {
                workers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                let meaning = labels::anomaly(kind).map_or("", |a| match lang {
                    Lang::Zh => a.zh_meaning,
                    Lang::En => a.en_meaning,
                });
                let who = workers
                    .iter()
                    .map(|(name, days)| {
                        format!("<span class=\"nw\">{} ×{days}</span>", escape(name))
                    })
                    .collect::<Vec<_>>()
                    .join(t.list_sep);
                vec![
                    ("name", escape(labels::anomaly_name(kind, lang))),
                    ("", escape(meaning)),
                    ("", who),
                ]
            })
            .collect();
        let [kind, meaning, who] = t.anomaly_headers;
        simple_table(h, &[(kind, false), (meaning, false), (who, false)], &rows);
    }
    h.push_str("</section>\n");
}

fn formula_section(h: &mut String, report: &Report, lang: Lang) {
    let t = labels::texts(lang);
    let figure = |key: &str| {
        report
            .params
            .pointer(&format!("/score/{key}"))
            .and_then(serde_json::Value::as_f64)
    };
    let penalty = match (figure("anomaly_penalty"), figure("anomaly_penalty_cap")) {
        (Some(pen), Some(cap)) => t
            .penalty_text
            .replace("{pen}", &pen.to_string())
            .replace("{cap}", &cap.to_string()),
        _ => t.penalty_text_unknown.to_string(),
    };
    let _ = write!(
        h,
        "<section id=\"formula\">\n<h2>{}</h2>\n<p class=\"formula-text\">{}</p>\n",
        escape(t.formula),
        escape(&t.formula_text.replace("{penalty}", &penalty))
    );
    let [term, weight, target, description] = t.weight_headers;
    let rows: Vec<Vec<(&str, String)>> = report
        .weights
        .iter()
        .map(|w| {
            let label = labels::term(&w.term);
            let name = label.map_or(w.term.as_str(), |l| match lang {
                Lang::Zh => l.zh,
                Lang::En => l.en,
            });
            let about = label.map_or(w.description.as_str(), |l| match lang {
                Lang::Zh => l.zh_description,
                Lang::En => l.en_description,
            });
            let target = match label.map(|l| l.unit) {
                Some(TermUnit::Days) => format!("{} {}", w.target, t.unit_days),
                Some(TermUnit::Hours) => format!("{} {}", w.target, t.unit_hours),
                Some(TermUnit::Share) => percent(w.target),
                None => w.target.to_string(),
            };
            vec![
                ("name", escape(name)),
                ("num", format!("{:.2}", w.weight)),
                ("num", escape(&target)),
                ("", escape(about)),
            ]
        })
        .collect();
    simple_table(
        h,
        &[
            (term, false),
            (weight, true),
            (target, true),
            (description, false),
        ],
        &rows,
    );
    h.push_str("</section>\n");
}

/// The parameters as `key.path = value` rows, in the record's order.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

fn params_section(h: &mut String, report: &Report, t: &Texts) {
    let _ = write!(
        h,
        "<section id=\"params\">\n<details>\n<summary>{}</summary>\n",
        escape(t.params)
    );
    let mut params = Vec::new();
    flatten("", &report.params, &mut params);
    let rows: Vec<Vec<(&str, String)>> = params
        .iter()
        .map(|(k, v)| vec![("code", escape(k)), ("", escape(v))])
        .collect();
    let [param, value] = t.param_headers;
    simple_table(h, &[(param, false), (value, false)], &rows);
    let _ = write!(
        h,
        "<p class=\"note\">{}</p>\n<pre class=\"formula\">{}</pre>\n</details>\n</section>\n",
        escape(t.formula_recorded),
        escape(&report.formula)
    );
}

/// One bar of a chart: label, value 0..100, highlighted.
struct Bar {
    label: String,
    value: f64,
    weak: bool,
}

/// The bars of a unit's chart: a community's workers' scores; for higher units the mean score
/// of the units directly below, or, if the report has none, the scores of its workers.
fn bars(report: &Report, unit: &UnitRow) -> Vec<Bar> {
    let workers = |pick: &dyn Fn(&super::model::WorkerRow) -> bool| -> Vec<Bar> {
        report
            .workers
            .iter()
            .filter(|w| pick(w))
            .map(|w| Bar {
                label: w.name.clone(),
                value: w.score,
                weak: w.weak,
            })
            .collect()
    };
    if unit.level == "community" {
        return workers(&|w| w.community == unit.code);
    }
    let children: Vec<Bar> = report
        .units
        .iter()
        .filter(|u| u.parent.as_deref() == Some(unit.code.as_str()))
        .map(|u| Bar {
            label: u.name.clone(),
            value: u.mean_score,
            weak: false,
        })
        .collect();
    if children.is_empty() {
        workers(&|w| w.street == unit.code || w.community == unit.code)
    } else {
        children
    }
}

/// A horizontal bar chart (0..100) as inline SVG, inside a captioned figure.
fn unit_chart(h: &mut String, report: &Report, unit: &UnitRow, t: &Texts) {
    const WIDTH: f64 = 340.0;
    const LABEL_W: f64 = 110.0;
    const VALUE_W: f64 = 36.0;
    const ROW: f64 = 18.0;
    let bars = bars(report, unit);
    let caption = if unit.level == "community" {
        t.chart_workers
    } else {
        t.chart_units
    };
    let height = if bars.is_empty() {
        ROW + 6.0
    } else {
        bars.len() as f64 * ROW + 6.0
    };
    let _ = write!(
        h,
        "<figure>\n<figcaption>{name} ({code}) · {caption}</figcaption>\n\
         <svg width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{name} {caption}\">\n",
        name = escape(&unit.name),
        code = escape(&unit.code),
    );
    if bars.is_empty() {
        let _ = writeln!(h, "<text x=\"4\" y=\"14\">{}</text>", t.no_data);
    }
    let plot_w = WIDTH - LABEL_W - VALUE_W;
    for (i, bar) in bars.iter().enumerate() {
        let y = i as f64 * ROW + 3.0;
        let w = (bar.value.clamp(0.0, 100.0) / 100.0 * plot_w).max(1.0);
        let fill = if bar.weak { "#d9534f" } else { "#4a86c5" };
        let label: String = bar.label.chars().take(8).collect();
        let _ = writeln!(
            h,
            "<text x=\"{lx}\" y=\"{ty:.1}\" text-anchor=\"end\">{label}</text>\
             <rect x=\"{LABEL_W}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bh}\" fill=\"{fill}\"><title>{full} {v:.1}</title></rect>\
             <text x=\"{vx:.1}\" y=\"{ty:.1}\">{v:.1}</text>",
            lx = LABEL_W - 4.0,
            ty = y + 11.0,
            label = escape(&label),
            bh = ROW - 5.0,
            full = escape(&bar.label),
            v = bar.value,
            vx = LABEL_W + w + 3.0,
        );
    }
    h.push_str("</svg>\n</figure>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{NamedValue, Weight};
    use serde_json::json;

    /// A hand-built report: one street, one community, two grids, three workers; the weak
    /// worker is named with markup and has a static device on six days.
    fn tiny() -> Report {
        let worker = |id: &str, name: &str, grid: &str, score: f64, weak: bool| WorkerRow {
            worker: id.into(),
            name: name.into(),
            grid: grid.into(),
            community: "110101001001".into(),
            community_name: "东华门社区".into(),
            street: "110101001".into(),
            street_name: "东华门街道".into(),
            days_active: 20,
            patrol_h: 80.26,
            distance_km: 120.0,
            coverage: 0.96666,
            attainable_coverage: None,
            checkpoint_compliance: Some(0.5),
            stays: 12,
            out_of_grid_h: 1.04,
            pings: 12_345,
            accepted_share: 0.9,
            gap_h: 0.0,
            anomalies: BTreeMap::new(),
            score,
            rank_community: 1,
            rank_street: 1,
            weak,
        };
        let mut weakest = worker("w-9", "<script>钱</script>", "110101001001002", 12.5, true);
        weakest.anomalies.insert("static_device".into(), 6);
        weakest.anomalies.insert("future_timestamps".into(), 1);
        let grid = |code: &str, name: &str, workers: &[&str], cov: f64, weak: bool| GridRow {
            code: code.into(),
            name: name.into(),
            community: "110101001001".into(),
            area_m2: 1_234_567.0,
            workers: workers.iter().map(|w| w.to_string()).collect(),
            team_coverage: cov,
            covered_m2: 1_234_567.0 * cov,
            attainable: None,
            weak,
        };
        let nv = |code: &str, value: f64| NamedValue {
            code: code.into(),
            name: String::new(),
            value,
        };
        let unit = |code: &str, name: &str, level: &str, parent: Option<&str>| UnitRow {
            code: code.into(),
            name: name.into(),
            level: level.into(),
            parent: parent.map(str::to_string),
            workers: 3,
            grids: 2,
            team_coverage: 0.8,
            mean_score: 55.0,
            weakest_grids: vec![nv("110101001001002", 0.9668)],
            weakest_workers: vec![nv("w-9", 12.5)],
        };
        Report {
            month: "2026-03".into(),
            unit: Some("110101001".into()),
            generated_at: "2026-04-01T09:30:00+08:00".into(),
            freshness: None,
            days_without_context: Vec::new(),
            params: json!({ "timezone": "Asia/Shanghai",
                            "score": { "anomaly_penalty": 5.0, "anomaly_penalty_cap": 30.0 } }),
            formula: "score = 100 × Σ wᵢ·min(1, xᵢ/targetᵢ) / Σ wᵢ".into(),
            weights: vec![
                Weight {
                    term: "days".into(),
                    weight: 0.4,
                    target: 22.0,
                    description: "days with at least min_active_minutes of patrol".into(),
                },
                Weight {
                    term: "coverage".into(),
                    weight: 0.6,
                    target: 0.9,
                    description: "coverage of the assigned grids".into(),
                },
            ],
            workers: vec![
                worker("w-1", "欧阳娜娜", "110101001001001", 88.0, false),
                worker(
                    "w-2",
                    "李四",
                    "110101001001001+110101001001002",
                    64.5,
                    false,
                ),
                weakest,
            ],
            grids: vec![
                grid(
                    "110101001001001",
                    "东华门一网格",
                    &["w-1", "w-2"],
                    0.95,
                    false,
                ),
                grid(
                    "110101001001002",
                    "东华门二网格",
                    &["w-2", "w-9"],
                    0.9668,
                    true,
                ),
            ],
            units: vec![
                unit("110101001001", "东华门社区", "community", Some("110101001")),
                unit("110101001", "东华门街道", "street", None),
            ],
            vehicles: None,
        }
    }

    /// The part of `html` from the section `from` up to the section `to`.
    fn between<'a>(html: &'a str, from: &str, to: &str) -> &'a str {
        let start = html.find(&format!("<section id=\"{from}\"")).unwrap();
        let end = html.find(&format!("<section id=\"{to}\"")).unwrap();
        &html[start..end]
    }

    #[test]
    fn the_vehicles_section_sits_between_units_and_anomalies_in_both_languages() {
        assert!(!to_html(&tiny(), Lang::Zh).contains("id=\"vehicles\""));
        let mut report = tiny();
        report.vehicles = Some(VehicleReport::sample());
        let zh = to_html(&report, Lang::Zh);
        let section = between(&zh, "vehicles", "anomalies");
        assert!(zh.find("id=\"units\"").unwrap() < zh.find("id=\"vehicles\"").unwrap());
        for text in [
            "<h2>车辆</h2>",
            "<h3>线路</h3>",
            "<h3>单位车辆</h3>",
            "作业完成率",
            "湘A·12345",
        ] {
            assert!(section.contains(text), "{text}");
        }
        assert!(section.contains("74.0%") && section.contains("95.0%"));
        assert!(
            section.contains("湘A·&lt;b&gt;&amp;&quot;6&#39;"),
            "plate escaped"
        );
        // Levels and parents in words.
        assert!(
            section.contains("<td class=\"name\">社区</td>") && !section.contains(">community<")
        );
        let en = to_html(&report, Lang::En);
        let section = between(&en, "vehicles", "anomalies");
        for text in [
            "<h2>Vehicles</h2>",
            "<h3>Routes</h3>",
            "<h3>Vehicle units</h3>",
            "Worked share",
        ] {
            assert!(section.contains(text), "{text}");
        }
    }

    #[test]
    fn escapes_all_five_metacharacters() {
        assert_eq!(escape("<b>&\"x'"), "&lt;b&gt;&amp;&quot;x&#39;");
    }

    #[test]
    fn zh_page_names_levels_and_anomalies_in_chinese_not_raw_keys() {
        let html = to_html(&tiny(), Lang::Zh);
        // The level cell of the community row, and of the ranked units.
        assert!(
            html.contains("<td class=\"name\">社区</td>"),
            "level not in Chinese"
        );
        assert!(!html.contains(">community<") && !html.contains(">street<"));
        assert!(html.contains("静止设备 ×6"), "anomaly not in words");
        assert!(html.contains("时间超前 ×1"));
        assert!(!html.contains("static_device") && !html.contains("future_timestamps"));
        // The weakest lists are names with figures, never `code:value` strings.
        assert!(!html.contains("110101001001002:0.9668"));
        assert!(html.contains("东华门二网格 96.7%"));
        // The formula's terms and the penalty read in Chinese.
        let formula = between(&html, "formula", "params");
        assert!(formula.contains("出勤天数") && formula.contains("网格覆盖率"));
        assert!(formula.contains("22 天") && formula.contains("90.0%"));
        assert!(
            formula.contains("<td class=\"num\">0.40</td>"),
            "weight with two decimals"
        );
        assert!(formula.contains("每个有异常标记的日子扣 5 分，最多扣 30 分"));
        assert!(!formula.contains("days with at least"));
    }

    #[test]
    fn sections_come_summary_workers_grids_units_anomalies_formula_params() {
        let html = to_html(&tiny(), Lang::Zh);
        let at = |id: &str| {
            html.find(&format!("<section id=\"{id}\""))
                .unwrap_or_else(|| panic!("no section {id}"))
        };
        let order = [
            "summary",
            "workers",
            "grids",
            "units",
            "anomalies",
            "formula",
            "params",
        ];
        for pair in order.windows(2) {
            assert!(at(pair[0]) < at(pair[1]), "{} after {}", pair[0], pair[1]);
        }
        assert!(html.find("<h1>").unwrap() < at("summary"));
        // Parameters are last and collapsed; the big tables start a printed page.
        assert!(html.contains("<section id=\"params\">\n<details>\n"));
        assert!(html.contains("<section id=\"workers\" class=\"break\">"));
        assert!(html.contains("@page { size: A4 landscape; margin: 12mm; }"));
        assert!(html.contains("thead { display: table-header-group; }"));
    }

    #[test]
    fn summary_lists_the_weakest_by_name_with_figures() {
        let html = to_html(&tiny(), Lang::Zh);
        let summary = between(&html, "summary", "workers");
        assert!(summary.contains("<td class=\"name\">&lt;script&gt;钱&lt;/script&gt;</td>"));
        assert!(
            summary.contains("<td class=\"num\">12.5</td>"),
            "weakest score"
        );
        assert!(summary.contains("<td class=\"name\">东华门二网格</td>"));
        assert!(
            summary.contains("<td class=\"num\">96.7%</td>"),
            "weakest grid coverage"
        );
        assert!(!summary.contains("w-9"), "a worker id in the summary");
        // Key figures: 3 workers, 2 grids, mean score (88 + 64.5 + 12.5) / 3 = 55.0.
        assert!(summary.contains("<span class=\"v\">3</span><span class=\"k\">网格员</span>"));
        assert!(summary.contains("<span class=\"v\">55.0</span><span class=\"k\">平均得分</span>"));
        // Team coverage of the whole: (0.95 + 0.9668) / 2 by equal areas.
        assert!(summary.contains("<span class=\"v\">95.8%</span>"));
        // The street is the scope, so its community is what is ranked.
        assert!(summary.contains("<td class=\"name\">东华门社区</td><td class=\"name\">社区</td>"));
    }

    #[test]
    fn worker_names_are_escaped_everywhere_and_kept_on_one_line() {
        let html = to_html(&tiny(), Lang::Zh);
        assert!(!html.contains("<script"), "unescaped worker name");
        assert!(html.contains("<td class=\"name\">&lt;script&gt;钱&lt;/script&gt;</td>"));
        // Names are nowrap; codes small monospace; figures right-aligned and formatted.
        assert!(html.contains("td.name, .nw { white-space: nowrap; }"));
        assert!(html.contains("<td class=\"code\">w-1</td><td class=\"name\">欧阳娜娜</td>"));
        assert!(
            html.contains("<td class=\"num\">80.3</td>"),
            "hours with one decimal"
        );
        assert!(html.contains("<td class=\"num\">96.7%</td>"));
        assert!(html.contains("<td class=\"num\">12,345</td>"));
        assert!(html.contains("<td class=\"num\">1,234,567</td>"));
        // A worker's grids by name.
        assert!(html.contains(
            "<span class=\"nw\">东华门一网格</span>、<span class=\"nw\">东华门二网格</span>"
        ));
    }

    #[test]
    fn a_served_report_says_how_current_it_is() {
        let mut r = tiny();
        assert!(!to_html(&r, Lang::Zh).contains("待重算"));
        r.freshness = Some(crate::report::Freshness {
            pending: 3,
            lag_s: 12.0,
            newest_ping: Some("2026-03-31T23:59:00Z".into()),
        });
        let zh = to_html(&r, Lang::Zh);
        assert!(zh.contains("待重算的工作日 3"), "{zh}");
        assert!(zh.contains("2026-03-31 23:59:00Z"));
        assert!(to_html(&r, Lang::En).contains("awaiting recomputation: 3"));
    }

    #[test]
    fn en_page_has_english_labels() {
        let html = to_html(&tiny(), Lang::En);
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("<h2>Summary</h2>"));
        assert!(html.contains("<td class=\"name\">Community</td>"));
        assert!(html.contains("Static device ×6"));
        assert!(html.contains("<td class=\"name\">Days active</td>"));
        assert!(html.contains("22 days"));
        assert!(html.contains("<th data-key=\"name\">Name</th>"));
        for zh in ["网格员", "静止设备", "得分", "出勤天数", "天"] {
            assert!(!html.contains(zh), "{zh} on the English page");
        }
    }

    #[test]
    fn page_without_anomalies_says_so() {
        let mut report = tiny();
        for w in &mut report.workers {
            w.anomalies.clear();
        }
        let html = to_html(&report, Lang::Zh);
        assert!(between(&html, "anomalies", "formula").contains("本月没有网格员被标记异常。"));
    }

    #[test]
    fn sample_page_has_formula_escaped_names_and_one_chart_per_unit() {
        let report = Report::sample();
        let html = to_html(&report, Lang::Zh);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<html lang=\"zh-CN\">"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        // The recorded formula is kept verbatim with the parameters.
        let params = &html[html.find("<section id=\"params\"").unwrap()..];
        assert!(params.contains(&escape(&report.formula)), "formula missing");
        for w in &report.workers {
            assert!(html.contains(&escape(&w.name)), "{} missing", w.name);
        }
        // The fixture's `<b>&` name must never reach the page unescaped.
        assert!(!html.contains("<b>"), "unescaped markup");
        assert!(!html.contains("赵<"));
        assert_eq!(html.matches("<svg").count(), report.units.len());
        assert_eq!(html.matches("<figure>").count(), report.units.len());
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<link") && !html.contains("<script") && !html.contains(" src="));
        assert!(html.contains("@media print"));
        // Two weak workers and one weak grid are highlighted.
        assert_eq!(html.matches("<tr class=\"weak\">").count(), 3);
        assert!(html.contains("<title>网格员月度考核报告 2026-10 · 望月湖街道 (430104001)</title>"));
        for heading in [
            "<h3>社区</h3>",
            "<h3>街道</h3>",
            "<h3>区</h3>",
            "<h3>市</h3>",
        ] {
            assert!(html.contains(heading), "{heading}");
        }
        // The sample's own term names (days_active, data_quality) are translated too.
        assert!(html.contains("<td class=\"name\">有效定位率</td>"));
    }

    #[test]
    fn english_sample_page() {
        let report = Report::sample();
        let html = to_html(&report, Lang::En);
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("<th data-key=\"worker\">Worker ID</th>"));
        assert!(html.contains("<h3>Communities</h3>"));
        assert!(!html.contains(">姓名</th>"));
    }

    #[test]
    fn community_chart_has_a_bar_per_worker_and_city_a_bar_per_district() {
        let report = Report::sample();
        assert_eq!(bars(&report, &report.units[0]).len(), 3);
        assert_eq!(bars(&report, &report.units[1]).len(), 2);
        let city = bars(&report, &report.units[4]);
        assert_eq!(city.len(), 1);
        assert_eq!(city[0].label, "岳麓区");
    }

    #[test]
    fn whole_numbers_group_thousands() {
        assert_eq!(whole(0.0), "0");
        assert_eq!(whole(999.4), "999");
        assert_eq!(whole(1000.0), "1,000");
        assert_eq!(whole(1_234_567.0), "1,234,567");
        assert_eq!(whole(-1234.0), "-1,234");
    }
}
