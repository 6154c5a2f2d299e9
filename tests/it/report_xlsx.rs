//! `report.xlsx` read back by an independent reader, Python's openpyxl: sheet names, header,
//! number values and formats, frozen header, autofilter, weak-row fill.
//!
//! Needs `python3` with pip: openpyxl is installed on first use if it is missing.
//! Without them the test fails, it does not skip.

use std::path::Path;
use std::process::Command;

use gridbeat::report::{write_all, Format, Lang, Report};
use serde_json::Value;

use crate::util::python_with;

/// Reads the workbook with openpyxl and returns what the assertions need as JSON.
const READ_XLSX: &str = r#"
import json, sys
import openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {"sheets": wb.sheetnames, "by_sheet": {}}
for ws in wb.worksheets:
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    formats = [[c.number_format for c in row] for row in ws.iter_rows()]
    fills = [ws.cell(row=r, column=1).fill.fgColor.rgb for r in range(1, ws.max_row + 1)]
    bold = [c.font.bold for c in ws[1]]
    out["by_sheet"][ws.title] = {
        "rows": rows, "formats": formats, "fills": fills, "header_bold": bold,
        "freeze": ws.freeze_panes, "autofilter": ws.auto_filter.ref,
        "width_a": ws.column_dimensions["A"].width,
    }
json.dump(out, sys.stdout, ensure_ascii=False, default=str)
"#;

pub(crate) fn read_with_openpyxl(path: &Path) -> Value {
    python_with("openpyxl", "openpyxl");
    let output = Command::new("python3")
        .arg("-c")
        .arg(READ_XLSX)
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}); install Python 3 and then `python3 -m pip install openpyxl`")
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "openpyxl could not read {}: {stderr}\n(if openpyxl is missing: `python3 -m pip install openpyxl`)",
        path.display()
    );
    serde_json::from_slice(&output.stdout).expect("the reader prints JSON")
}

fn column(sheet: &Value, header: &str) -> usize {
    sheet["rows"][0]
        .as_array()
        .unwrap()
        .iter()
        .position(|h| h == header)
        .unwrap_or_else(|| panic!("no column {header:?} in {}", sheet["rows"][0]))
}

#[test]
fn chinese_workbook_reads_back_in_openpyxl() {
    let dir = tempfile::tempdir().unwrap();
    let report = Report::sample();
    let paths = write_all(&report, dir.path(), &[Format::Xlsx], Lang::Zh).unwrap();
    assert_eq!(paths, [dir.path().join("report.xlsx")]);
    let book = read_with_openpyxl(&paths[0]);

    assert_eq!(
        book["sheets"],
        serde_json::json!(["网格员", "网格", "社区", "街道", "区", "市", "评分公式"])
    );
    let workers = &book["by_sheet"]["网格员"];
    let header = workers["rows"][0].as_array().unwrap();
    assert_eq!(header[..3], ["网格员编号", "姓名", "网格"]);
    assert_eq!(header.len(), 23);
    let bold = workers["header_bold"].as_array().unwrap();
    assert!(!bold.is_empty(), "no header cells read");
    assert!(bold.iter().all(|b| b == true));
    assert_eq!(workers["freeze"], "A2");
    assert_eq!(workers["autofilter"], "A1:W6");
    assert_eq!(
        workers["rows"].as_array().unwrap().len(),
        1 + report.workers.len()
    );

    // Numbers are numbers, with the format of their unit.
    let h = column(workers, "巡查时长(小时)");
    assert_eq!(workers["rows"][1][h], 96.5);
    assert_eq!(workers["formats"][1][h], "0.0");
    let c = column(workers, "覆盖率");
    assert!((workers["rows"][3][c].as_f64().unwrap() - 0.32).abs() < 1e-12);
    assert_eq!(workers["formats"][3][c], "0.0%");
    let s = column(workers, "得分");
    let score = workers["rows"][1][s].as_f64().unwrap();
    assert!((score - report.workers[0].score).abs() < 1e-9, "{score}");
    assert_eq!(workers["formats"][1][s], "0.0");
    // Missing compliance is an empty cell, not 0.
    assert!(workers["rows"][1][column(workers, "点位完成率")].is_null());

    // The escaped-in-HTML name is plain text here; weak rows (3 and 5) are light red.
    assert_eq!(workers["rows"][3][1], "赵<b>&\"敏'");
    let fills = workers["fills"].as_array().unwrap();
    // openpyxl gives ARGB; the alpha byte varies by writer.
    let light_red = |v: &Value| v.as_str().is_some_and(|s| s.ends_with("FFC7CE"));
    assert!(light_red(&fills[3]) && light_red(&fills[5]), "{fills:?}");
    assert!(!light_red(&fills[1]) && !light_red(&fills[2]), "{fills:?}");
    assert!(workers["width_a"].as_f64().unwrap() >= 10.0);

    let streets = &book["by_sheet"]["街道"];
    assert_eq!(streets["rows"][1][1], "望月湖街道");
    assert_eq!(streets["freeze"], "A2");
    let cov = column(streets, "团队覆盖率");
    assert_eq!(streets["formats"][1][cov], "0.0%");

    // The formula sheet records formula, weights and parameters.
    let formula = &book["by_sheet"]["评分公式"];
    let cells: Vec<String> = formula["rows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.to_string()))
        .collect();
    assert!(cells.iter().any(|c| c.contains(&report.formula)));
    assert!(cells.iter().any(|c| c == "\"coverage\""));
    assert!(cells.iter().any(|c| c == "\"timezone\""));
    assert!(cells.iter().any(|c| c == "\"Asia/Shanghai\""));
}

#[test]
fn english_workbook_skips_empty_levels() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = Report::sample();
    report.units.retain(|u| u.level == "community");
    let paths = write_all(&report, dir.path(), &[Format::Xlsx], Lang::En).unwrap();
    let book = read_with_openpyxl(&paths[0]);
    assert_eq!(
        book["sheets"],
        serde_json::json!(["Workers", "Grids", "Communities", "Score formula"])
    );
    assert_eq!(book["by_sheet"]["Workers"]["rows"][0][0], "Worker ID");
    assert_eq!(book["by_sheet"]["Grids"]["formats"][1][3], "#,##0");
}
