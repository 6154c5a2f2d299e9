//! `report.html`: one self-contained printable page (inline CSS and SVG, no external assets):
//! title with month and scope, the score formula and weights, a table per level with weak rows
//! highlighted, and a small bar chart per unit. Every piece of user data is escaped.

use std::fmt::Write as _;

use super::labels::{self, Cell, Column, Kind, Texts};
use super::model::{Lang, Report, UnitRow};

/// The page's style sheet: screen and print (A4 landscape, header rows repeated, colours kept).
const CSS: &str = r#"
body { font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", system-ui, sans-serif;
       margin: 24px; color: #1f2328; font-size: 13px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 8px; border-bottom: 2px solid #4a86c5; padding-bottom: 2px; }
.meta { color: #57606a; margin: 0 0 12px; }
.formula { background: #f6f8fa; border: 1px solid #d0d7de; padding: 8px; white-space: pre-wrap; font-family: ui-monospace, Consolas, monospace; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 3px 6px; vertical-align: top; }
th { background: #ddebf7; font-weight: bold; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.weak td { background: #ffc7ce; }
.note { color: #57606a; font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; border: 1px solid #d0d7de; padding: 6px; }
figcaption { font-weight: bold; font-size: 12px; margin-bottom: 4px; }
svg text { font-size: 11px; fill: #1f2328; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { margin: 0; font-size: 10px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  thead { display: table-header-group; }
  tr, figure { break-inside: avoid; }
  h2 { break-after: avoid; }
  details { display: block; }
}
"#;

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
        month_l = t.month,
        scope_l = t.scope,
        gen_l = t.generated,
        generated = escape(&report.generated_at),
    );
    formula_section(&mut h, report, t);
    let _ = write!(
        h,
        "<section>\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n",
        t.workers, t.weak_note
    );
    table(
        &mut h,
        labels::WORKER_COLUMNS,
        &report.workers,
        |w| w.weak,
        lang,
    );
    let _ = write!(h, "</section>\n<section>\n<h2>{}</h2>\n", t.grids);
    table(
        &mut h,
        labels::GRID_COLUMNS,
        &report.grids,
        |g| g.weak,
        lang,
    );
    h.push_str("</section>\n");
    for (level, rows) in labels::units_by_level(report) {
        let _ = write!(
            h,
            "<section>\n<h2>{}</h2>\n",
            escape(labels::level_name(level, lang))
        );
        table(&mut h, labels::UNIT_COLUMNS, &rows, |_| false, lang);
        h.push_str("<div class=\"charts\">\n");
        for unit in &rows {
            unit_chart(&mut h, report, unit, t);
        }
        h.push_str("</div>\n</section>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
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

fn formula_section(h: &mut String, report: &Report, t: &Texts) {
    let _ = write!(
        h,
        "<section>\n<h2>{}</h2>\n<div class=\"formula\">{}</div>\n<table>\n<thead><tr>",
        t.formula,
        escape(&report.formula)
    );
    for label in t.weight_headers {
        let _ = write!(h, "<th>{label}</th>");
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for w in &report.weights {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&w.term),
            w.weight,
            w.target,
            escape(&w.description)
        );
    }
    let params = serde_json::to_string_pretty(&report.params).unwrap_or_default();
    let _ = write!(
        h,
        "</tbody>\n</table>\n<details open>\n<summary>{}</summary>\n<pre class=\"formula\">{}</pre>\n</details>\n</section>\n",
        t.params,
        escape(&params)
    );
}

/// A cell as display text.
fn display(kind: Kind, cell: Cell, t: &Texts) -> String {
    match cell {
        Cell::Text(s) => escape(&s),
        Cell::Missing => "–".to_string(),
        Cell::Flag(b) => if b { t.yes } else { "" }.to_string(),
        Cell::Num(x) => match kind {
            Kind::Count => format!("{x:.0}"),
            Kind::Area => format!("{x:.0}"),
            Kind::Share => format!("{:.1}%", x * 100.0),
            Kind::Hours | Kind::Km | Kind::Score | Kind::Text | Kind::Flag => format!("{x:.1}"),
        },
    }
}

fn table<R>(
    h: &mut String,
    columns: &[Column<R>],
    rows: &[R],
    is_weak: fn(&R) -> bool,
    lang: Lang,
) {
    let t = labels::texts(lang);
    h.push_str("<table>\n<thead><tr>");
    for c in columns {
        // The model's field name lets scripts find a column whatever the language.
        let _ = write!(
            h,
            "<th data-key=\"{}\">{}</th>",
            c.key,
            escape(c.label(lang))
        );
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        h.push_str(if is_weak(r) {
            "<tr class=\"weak\">"
        } else {
            "<tr>"
        });
        for c in columns {
            let class = if matches!(c.kind, Kind::Text | Kind::Flag) {
                ""
            } else {
                " class=\"num\""
            };
            let _ = write!(h, "<td{class}>{}</td>", display(c.kind, (c.get)(r), t));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
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

    #[test]
    fn escapes_all_five_metacharacters() {
        assert_eq!(escape("<b>&\"x'"), "&lt;b&gt;&amp;&quot;x&#39;");
    }

    #[test]
    fn page_has_formula_escaped_names_and_one_chart_per_unit() {
        let report = Report::sample();
        let html = to_html(&report, Lang::Zh);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<html lang=\"zh-CN\">"));
        assert!(html.contains(&escape(&report.formula)), "formula missing");
        assert!(html.contains("score = 100 × (0.15·min(1, days_active/22)"));
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
            "<h2>社区</h2>",
            "<h2>街道</h2>",
            "<h2>区</h2>",
            "<h2>市</h2>",
        ] {
            assert!(html.contains(heading), "{heading}");
        }
    }

    #[test]
    fn english_page() {
        let report = Report::sample();
        let html = to_html(&report, Lang::En);
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("<th data-key=\"worker\">Worker ID</th>"));
        assert!(html.contains("<h2>Communities</h2>"));
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
}
