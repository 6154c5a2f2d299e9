//! `report.xlsx`: one sheet per level (workers, grids, communities, streets, districts, city;
//! empty unit levels are skipped), with a fleet the vehicles, routes and vehicle units, and a
//! sheet with the formula, weights and parameters.
//! Bold frozen header, column widths, number formats per unit, weak rows on light red,
//! autofilter.

use rust_xlsxwriter::{Color, Format as CellFormat, Workbook, Worksheet, XlsxError};
use serde_json::Value;

use super::labels::{self, Cell, Column, Kind};
use super::model::{Lang, Report};

/// The fill of weak rows (Excel's "light red").
const WEAK_FILL: u32 = 0xFFC7CE;
/// The fill of header rows.
const HEADER_FILL: u32 = 0xDDEBF7;

/// The workbook as the bytes of an `.xlsx` file.
///
/// # Errors
/// When rust_xlsxwriter rejects a sheet name or cannot assemble the file.
pub fn to_xlsx(report: &Report, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let t = labels::texts(lang);
    let mut book = Workbook::new();
    table_sheet(
        book.add_worksheet(),
        t.workers,
        labels::WORKER_COLUMNS,
        &report.workers,
        |w| w.weak,
        lang,
    )?;
    table_sheet(
        book.add_worksheet(),
        t.grids,
        labels::GRID_COLUMNS,
        &report.grids,
        |g| g.weak,
        lang,
    )?;
    for (level, rows) in labels::units_by_level(report) {
        let name = sheet_name(labels::level_name(level, lang));
        table_sheet(
            book.add_worksheet(),
            &name,
            labels::UNIT_COLUMNS,
            &rows,
            |_| false,
            lang,
        )?;
    }
    if let Some(v) = &report.vehicles {
        table_sheet(
            book.add_worksheet(),
            t.vehicles,
            labels::VEHICLE_COLUMNS,
            &v.vehicles,
            |_| false,
            lang,
        )?;
        table_sheet(
            book.add_worksheet(),
            t.routes,
            labels::ROUTE_COLUMNS,
            &v.routes,
            |_| false,
            lang,
        )?;
        table_sheet(
            book.add_worksheet(),
            t.vehicle_units,
            labels::VEHICLE_UNIT_COLUMNS,
            &v.units,
            |_| false,
            lang,
        )?;
    }
    formula_sheet(book.add_worksheet(), report, lang)?;
    book.save_to_buffer()
}

/// A sheet name Excel accepts: no `[]:*?/\`, at most 31 characters.
fn sheet_name(name: &str) -> String {
    name.chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect()
}

fn number_format(kind: Kind) -> &'static str {
    match kind {
        Kind::Count => "0",
        Kind::Hours | Kind::Km | Kind::Score | Kind::Minutes => "0.0",
        Kind::Area => "#,##0",
        Kind::Share => "0.0%",
        Kind::Text | Kind::Flag => "General",
    }
}

fn cell_format(kind: Kind, weak: bool) -> CellFormat {
    let f = CellFormat::new().set_num_format(number_format(kind));
    if weak {
        f.set_background_color(Color::RGB(WEAK_FILL))
    } else {
        f
    }
}

fn header_format() -> CellFormat {
    CellFormat::new()
        .set_bold()
        .set_background_color(Color::RGB(HEADER_FILL))
}

/// Display width of text in Excel's character units: CJK and full-width characters count two.
fn display_width(s: &str) -> usize {
    s.chars().map(|c| if c >= '\u{2e80}' { 2 } else { 1 }).sum()
}

fn table_sheet<R>(
    sheet: &mut Worksheet,
    name: &str,
    columns: &[Column<R>],
    rows: &[R],
    is_weak: fn(&R) -> bool,
    lang: Lang,
) -> Result<(), XlsxError> {
    sheet.set_name(name)?;
    let header = header_format();
    let yes = labels::texts(lang).yes;
    let mut widths: Vec<usize> = columns
        .iter()
        .map(|c| display_width(c.label(lang)))
        .collect();
    for (col, c) in (0u16..).zip(columns) {
        sheet.write_string_with_format(0, col, c.label(lang), &header)?;
    }
    for (row, r) in (1u32..).zip(rows) {
        let weak = is_weak(r);
        for ((col, c), width) in (0u16..).zip(columns).zip(widths.iter_mut()) {
            let format = cell_format(c.kind, weak);
            match (c.get)(r) {
                Cell::Text(s) => {
                    *width = (*width).max(display_width(&s));
                    sheet.write_string_with_format(row, col, &s, &format)?;
                }
                Cell::Num(x) => {
                    sheet.write_number_with_format(row, col, x, &format)?;
                }
                Cell::Flag(true) => {
                    sheet.write_string_with_format(row, col, yes, &format)?;
                }
                Cell::Flag(false) | Cell::Missing => {
                    sheet.write_blank(row, col, &format)?;
                }
            }
        }
    }
    for ((col, c), width) in (0u16..).zip(columns).zip(&widths) {
        // Room for the autofilter button; numbers never need more than ~14 characters.
        let max = if c.kind == Kind::Text { 48 } else { 16 };
        sheet.set_column_width(col, (*width + 3).clamp(8, max) as f64)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let last_row = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    let last_col = u16::try_from(columns.len().saturating_sub(1)).unwrap_or(u16::MAX);
    sheet.autofilter(0, 0, last_row, last_col)?;
    Ok(())
}

fn formula_sheet(sheet: &mut Worksheet, report: &Report, lang: Lang) -> Result<(), XlsxError> {
    let t = labels::texts(lang);
    sheet.set_name(sheet_name(t.formula))?;
    let bold = CellFormat::new().set_bold();
    let header = header_format();
    let scope = report.unit.as_deref().unwrap_or(t.all_units);
    let mut row = 0u32;
    for (label, value) in [
        (t.month, report.month.as_str()),
        (t.scope, scope),
        (t.generated, report.generated_at.as_str()),
    ] {
        sheet.write_string_with_format(row, 0, label, &bold)?;
        sheet.write_string(row, 1, value)?;
        row += 1;
    }
    row += 1;
    sheet.write_string_with_format(row, 0, t.formula, &bold)?;
    sheet.write_string(row + 1, 0, &report.formula)?;
    row += 3;
    for (col, h) in (0u16..).zip(t.weight_headers) {
        sheet.write_string_with_format(row, col, h, &header)?;
    }
    row += 1;
    for w in &report.weights {
        sheet.write_string(row, 0, &w.term)?;
        sheet.write_number(row, 1, w.weight)?;
        sheet.write_number(row, 2, w.target)?;
        sheet.write_string(row, 3, &w.description)?;
        row += 1;
    }
    row += 1;
    sheet.write_string_with_format(row, 0, t.params, &bold)?;
    row += 1;
    for (col, h) in (0u16..).zip(t.param_headers) {
        sheet.write_string_with_format(row, col, h, &header)?;
    }
    row += 1;
    let mut params = Vec::new();
    flatten("", &report.params, &mut params);
    for (key, value) in params {
        sheet.write_string(row, 0, &key)?;
        match value {
            Value::Number(n) => match n.as_f64() {
                Some(x) => sheet.write_number(row, 1, x)?,
                None => sheet.write_string(row, 1, n.to_string())?,
            },
            Value::String(s) => sheet.write_string(row, 1, s)?,
            other => sheet.write_string(row, 1, other.to_string())?,
        };
        row += 1;
    }
    sheet.set_column_width(0, 28)?;
    sheet.set_column_width(1, 22)?;
    sheet.set_column_width(2, 12)?;
    sheet.set_column_width(3, 40)?;
    Ok(())
}

/// Objects flattened to dotted keys (`speed.max_mps`); arrays and scalars are leaves.
fn flatten<'a>(prefix: &str, value: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        leaf => out.push((prefix.to_string(), leaf)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_a_zip_container() {
        let bytes = to_xlsx(&Report::sample(), Lang::Zh).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }

    #[test]
    fn flatten_uses_dotted_keys() {
        let v = json!({"a": 1, "b": {"c": "x", "d": [1, 2]}});
        let mut out = Vec::new();
        flatten("", &v, &mut out);
        let keys: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b.c", "b.d"]);
    }

    #[test]
    fn sheet_names_are_sanitised() {
        assert_eq!(sheet_name("a/b[c]"), "a_b_c_");
        assert_eq!(sheet_name(&"x".repeat(40)).len(), 31);
        assert_eq!(display_width("社区a"), 5);
    }
}
