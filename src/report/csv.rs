//! `workers.csv`, `grids.csv`, `units.csv`: UTF-8 with a byte-order mark (so Excel reads
//! Chinese names correctly), headers in the chosen language, shares as numbers 0..1.

use super::labels::{self, Cell, Column, Kind};
use super::model::{Lang, Report, VehicleReport};

/// The UTF-8 byte-order mark that tells Excel the file is UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `workers.csv`: one row per worker.
///
/// # Errors
/// Only if the CSV writer fails, which writing to memory does not.
pub fn workers_csv(report: &Report, lang: Lang) -> anyhow::Result<Vec<u8>> {
    table(labels::WORKER_COLUMNS, &report.workers, lang)
}

/// `grids.csv`: one row per grid.
///
/// # Errors
/// As [`workers_csv`].
pub fn grids_csv(report: &Report, lang: Lang) -> anyhow::Result<Vec<u8>> {
    table(labels::GRID_COLUMNS, &report.grids, lang)
}

/// `units.csv`: one row per community, street, district and city (the level column says
/// which).
///
/// # Errors
/// As [`workers_csv`].
pub fn units_csv(report: &Report, lang: Lang) -> anyhow::Result<Vec<u8>> {
    table(labels::UNIT_COLUMNS, &report.units, lang)
}

/// `vehicles.csv`: one row per vehicle of the report's vehicles section.
///
/// # Errors
/// As [`workers_csv`].
pub fn vehicles_csv(vehicles: &VehicleReport, lang: Lang) -> anyhow::Result<Vec<u8>> {
    table(labels::VEHICLE_COLUMNS, &vehicles.vehicles, lang)
}

/// `routes.csv`: one row per route of the report's vehicles section.
///
/// # Errors
/// As [`workers_csv`].
pub fn routes_csv(vehicles: &VehicleReport, lang: Lang) -> anyhow::Result<Vec<u8>> {
    table(labels::ROUTE_COLUMNS, &vehicles.routes, lang)
}

/// `vehicle_units.csv`: one row per unit of the report's vehicles section (the level column
/// says which).
///
/// # Errors
/// As [`workers_csv`].
pub fn vehicle_units_csv(vehicles: &VehicleReport, lang: Lang) -> anyhow::Result<Vec<u8>> {
    table(labels::VEHICLE_UNIT_COLUMNS, &vehicles.units, lang)
}

fn table<R>(columns: &[Column<R>], rows: &[R], lang: Lang) -> anyhow::Result<Vec<u8>> {
    let mut out = BOM.to_vec();
    {
        let mut w = ::csv::Writer::from_writer(&mut out);
        w.write_record(columns.iter().map(|c| c.label(lang)))?;
        for row in rows {
            w.write_record(columns.iter().map(|c| field(c.kind, (c.get)(row))))?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// A cell as CSV text: numbers rounded to a precision that suits their unit, flags as 1/0 (so
/// a spreadsheet can sum them), missing values empty.
fn field(kind: Kind, cell: Cell) -> String {
    match cell {
        Cell::Text(s) => defuse(s),
        Cell::Missing => String::new(),
        Cell::Flag(b) => u8::from(b).to_string(),
        Cell::Num(x) => {
            let decimals = match kind {
                Kind::Count => 0,
                Kind::Area => 1,
                Kind::Hours | Kind::Km | Kind::Score | Kind::Minutes => 2,
                Kind::Share => 4,
                Kind::Text | Kind::Flag => 6,
            };
            labels::round(x, decimals).to_string()
        }
    }
}

/// A text cell made safe for spreadsheets (OWASP "CSV injection"): a cell starting with `=`,
/// `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`, so that a name like
/// `=HYPERLINK(…)` is shown as text and never run as a formula. Numbers are written by
/// [`field`] as numbers and never pass through here.
fn defuse(s: String) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
        assert!(bytes.starts_with(BOM), "no BOM: {:?}", &bytes[..3]);
        let mut r = ::csv::Reader::from_reader(&bytes[3..]);
        let header = r.headers().unwrap().iter().map(String::from).collect();
        let rows = r
            .records()
            .map(|rec| rec.unwrap().iter().map(String::from).collect())
            .collect();
        (header, rows)
    }

    #[test]
    fn workers_csv_has_bom_chinese_header_and_one_row_per_worker() {
        let report = Report::sample();
        let bytes = workers_csv(&report, Lang::Zh).unwrap();
        assert_eq!(&bytes[..3], [0xEF, 0xBB, 0xBF]);
        let (header, rows) = parse(&bytes);
        for label in [
            "网格员编号",
            "姓名",
            "出勤天数",
            "巡查时长(小时)",
            "覆盖率",
            "得分",
            "社区排名",
            "街道排名",
        ] {
            assert!(
                header.iter().any(|h| h == label),
                "missing {label} in {header:?}"
            );
        }
        assert_eq!(header.len(), labels::WORKER_COLUMNS.len());
        assert_eq!(rows.len(), report.workers.len());
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let zhao = &rows[2];
        assert_eq!(zhao[col("姓名")], "赵<b>&\"敏'");
        assert_eq!(zhao[col("异常")], "mock_location:2;replay:1");
        assert_eq!(zhao[col("覆盖率")], "0.32");
        assert_eq!(zhao[col("重点关注")], "1");
        assert_eq!(rows[0][col("点位完成率")], "", "None is an empty field");
        assert_eq!(rows[0][col("网格")], "430104001001001");
    }

    #[test]
    fn english_headers() {
        let report = Report::sample();
        let (header, rows) = parse(&workers_csv(&report, Lang::En).unwrap());
        assert_eq!(header[..3], ["Worker ID", "Name", "Grid"]);
        assert!(header.iter().any(|h| h == "Score"));
        assert!(!header.iter().any(|h| h.chars().any(|c| c > '\u{2e80}')));
        assert_eq!(rows.len(), 5);
    }

    #[test]
    fn grids_and_units_csv() {
        let report = Report::sample();
        let (header, rows) = parse(&grids_csv(&report, Lang::Zh).unwrap());
        assert_eq!(header[0], "网格编码");
        assert_eq!(rows.len(), report.grids.len());
        assert_eq!(rows[2][4], "w-0002+w-0003");
        let (header, rows) = parse(&units_csv(&report, Lang::En).unwrap());
        assert_eq!(header[..3], ["Code", "Name", "Level"]);
        assert_eq!(rows.len(), report.units.len());
        assert_eq!(rows[4][2], "city");
        assert_eq!(rows[4][3], "");
        assert_eq!(rows[0][8], "430104001001003:0.41");
    }

    #[test]
    fn vehicle_tables() {
        let v = VehicleReport::sample();
        let (header, rows) = parse(&vehicles_csv(&v, Lang::Zh).unwrap());
        assert_eq!(header[..2], ["车辆编号", "车牌号"]);
        assert_eq!(rows.len(), v.vehicles.len());
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert_eq!(rows[0][col("作业完成率")], "0.8125");
        assert_eq!(rows[1][col("按时作业率")], "", "None is an empty field");
        let (header, rows) = parse(&routes_csv(&v, Lang::En).unwrap());
        assert_eq!(header[..2], ["Route code", "Route"]);
        assert_eq!(rows[0][header.len() - 1], "v-001+v-002");
        let (header, rows) = parse(&vehicle_units_csv(&v, Lang::En).unwrap());
        assert_eq!(header.len(), labels::VEHICLE_UNIT_COLUMNS.len());
        assert_eq!(rows.len(), v.units.len());
    }

    #[test]
    fn formula_like_text_is_prefixed_and_negative_numbers_stay_numbers() {
        for (text, want) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1+2", "'+1+2"),
            ("-3+cmd", "'-3+cmd"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("张三", "张三"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(field(Kind::Text, Cell::Text(text.into())), want, "{text:?}");
        }
        assert_eq!(field(Kind::Score, Cell::Num(-1.5)), "-1.5");
        let mut report = Report::sample();
        report.workers[0].name = "=1+1".into();
        let (header, rows) = parse(&workers_csv(&report, Lang::En).unwrap());
        let name = header.iter().position(|h| h == "Name").unwrap();
        assert_eq!(rows[0][name], "'=1+1");
    }
}
