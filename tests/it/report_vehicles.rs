//! `gridbeat report --vehicles --routes --vehicle-pings` end to end, through the built binary:
//! the sample city's workers and a fleet of six vehicles, each with one of the route fixtures
//! of `tests/fixtures/route/` (real Helsinki streets, tracks with faults on 2026-10-13), placed
//! in two of the sample city's communities.
//!
//! The expected figures are those of the independent Shapely reference
//! (`tests/fixtures/route/expected.json`, see `route_coverage.rs`), not gridbeat's own: each
//! route is scheduled daily and worked on one day of October, so its month is the reference's
//! day and 30 days with nothing worked. Tolerances as in `route_coverage.rs`: shares within
//! 0.01 (of the day), times within 1 s, distances within 1 %.

use std::path::Path;

use serde_json::{json, Value};

use crate::report_xlsx::read_with_openpyxl;
use crate::util::{read, read_json, run, sample};

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/route")
}

/// The community of each fixture vehicle (v1–v3 in the first, v4–v6 in the second).
fn community(vehicle: &str) -> &'static str {
    if vehicle <= "v3" {
        "430102001001"
    } else {
        "430102001002"
    }
}

/// `vehicles.csv`, `routes.geojson` (the fixture's routes as the registry reads them: a
/// schedule in words, the vehicle named) and the vehicle pings (`tracks.csv` with the column
/// names and units of a ping file: speed in m/s, ACC as `ignition`).
fn write_fleet(dir: &Path) {
    let doc: Value = serde_json::from_str(&read(&fixtures().join("routes.geojson"))).unwrap();
    let mut features = Vec::new();
    let mut vehicles = String::from("vehicle,plate,kind,unit\n");
    for f in doc["features"].as_array().unwrap() {
        let p = &f["properties"];
        let v = p["vehicles"][0].as_str().unwrap();
        let w = &p["windows"][0];
        assert_eq!(
            (w["days"].as_u64(), p["windows"].as_array().unwrap().len()),
            (Some(127), 1)
        );
        let hm = |m: u64| format!("{:02}:{:02}", m / 60, m % 60);
        let schedule = format!(
            "daily {}-{}",
            hm(w["start_min"].as_u64().unwrap()),
            hm(w["end_min"].as_u64().unwrap())
        );
        vehicles.push_str(&format!(
            "{v},湘A·0000{},{},{}\n",
            &v[1..],
            p["kind"].as_str().unwrap(),
            community(v)
        ));
        features.push(json!({
            "type": "Feature",
            "properties": {
                "code": p["code"], "name": p["name"], "unit": community(v), "kind": p["kind"],
                "vehicles": [v], "schedule": schedule, "passes": p["passes"],
                "max_work_speed_kmh": p["max_work_speed_kmh"], "min_pressure": p["min_pressure"],
            },
            "geometry": f["geometry"],
        }));
    }
    std::fs::write(dir.join("vehicles.csv"), vehicles).unwrap();
    let routes = json!({"type": "FeatureCollection", "features": features});
    std::fs::write(dir.join("routes.geojson"), routes.to_string()).unwrap();

    let mut pings = String::from("vehicle,ts,lat,lon,speed,bearing,work,pressure,ignition\n");
    for line in read(&fixtures().join("tracks.csv")).lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        let speed = if c[4].is_empty() {
            String::new()
        } else {
            (c[4].parse::<f64>().unwrap() / 3.6).to_string()
        };
        pings.push_str(&format!(
            "{},{},{},{},{speed},,{},{},{}\n",
            c[0], c[1], c[3], c[2], c[5], c[6], c[7]
        ));
    }
    std::fs::write(dir.join("vehicle_pings.csv"), pings).unwrap();
}

fn report(dir: &Path, out: &str, extra: &[&str]) -> Value {
    let out = dir.join(out);
    let mut args: Vec<String> = [
        "report",
        "--grids",
        &sample("grids.geojson").display().to_string(),
        "--workers",
        &sample("workers.csv").display().to_string(),
        "--pings",
        &sample("pings.csv").display().to_string(),
        "--month",
        "2026-10",
        "--out",
        &out.display().to_string(),
        "--vehicles",
        &dir.join("vehicles.csv").display().to_string(),
        "--routes",
        &dir.join("routes.geojson").display().to_string(),
        "--vehicle-pings",
        &dir.join("vehicle_pings.csv").display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    read_json(&out.join("report.json"))
}

fn close(got: &Value, want: f64, tol: f64, what: &str) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {got} is not a number"));
    assert!((got - want).abs() <= tol, "{what}: {got} vs {want}");
}

#[test]
fn the_vehicle_report_holds_the_reference_figures_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_fleet(dir);
    let r = report(dir, "zh", &["--format", "all"]);
    let expected = read_json(&fixtures().join("expected.json"));
    let v = &r["vehicles"];
    assert_eq!(v["full_share"], 0.95);
    let (vehicles, routes) = (
        v["vehicles"].as_array().unwrap(),
        v["routes"].as_array().unwrap(),
    );
    assert_eq!((vehicles.len(), routes.len()), (6, 6));
    let days = 31.0;
    for (want, (vrow, rrow)) in expected["routes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(vehicles.iter().zip(routes))
    {
        let code = want["code"].as_str().unwrap();
        let f = |k: &str| want[k].as_f64().unwrap();
        let worked = f("worked_share");
        let full = u64::from(worked >= 0.95);
        // The vehicle: one daily route, worked on one day of the month.
        assert_eq!(vrow["vehicle"], want["vehicle"], "{code}");
        assert_eq!(vrow["unit"], community(want["vehicle"].as_str().unwrap()));
        assert_eq!(vrow["scheduled_route_days"], 31, "{code}");
        assert_eq!(vrow["fully_worked"], full, "{code}");
        assert_eq!(
            vrow["partly_worked"],
            u64::from(worked > 0.0 && worked < 0.95),
            "{code}"
        );
        assert_eq!(vrow["not_worked"], 31 - u64::from(worked > 0.0), "{code}");
        close(
            &vrow["worked_share"],
            worked / days,
            0.01 / days,
            &format!("{code} vehicle worked"),
        );
        close(
            &vrow["passes_met_share"],
            f("passes_met_share") / days,
            0.01 / days,
            code,
        );
        close(
            &vrow["on_schedule_share"],
            f("on_schedule_share"),
            0.01,
            code,
        );
        close(
            &vrow["work_on_route_h"],
            f("work_time_on_route_s") / 3600.0,
            1.0 / 3600.0,
            code,
        );
        close(
            &vrow["work_off_route_h"],
            f("work_time_off_route_s") / 3600.0,
            1.0 / 3600.0,
            code,
        );
        for (k, ref_k) in [
            ("work_on_route_km", "work_distance_on_route_m"),
            ("work_off_route_km", "work_distance_off_route_m"),
        ] {
            close(
                &vrow[k],
                f(ref_k) / 1000.0,
                0.01 * f(ref_k).max(1.0) / 1000.0,
                &format!("{code} {k}"),
            );
        }
        close(
            &vrow["over_speed_min"],
            f("over_speed_s") / 60.0,
            1.0 / 60.0,
            code,
        );
        close(
            &vrow["under_pressure_min"],
            f("under_pressure_s") / 60.0,
            1.0 / 60.0,
            code,
        );
        close(
            &vrow["gap_min"],
            f("gap_s_in_window") / 60.0,
            1.0 / 60.0,
            code,
        );
        // The route: the same day over 31 scheduled days.
        assert_eq!(rrow["code"], code);
        close(
            &rrow["length_km"],
            f("length_m") / 1000.0,
            0.01 * f("length_m") / 1000.0,
            code,
        );
        assert_eq!(
            (
                rrow["scheduled_days"].as_u64(),
                rrow["fully_worked_days"].as_u64()
            ),
            (Some(31), Some(full))
        );
        close(
            &rrow["worked_share"],
            worked / days,
            0.01 / days,
            &format!("{code} route worked"),
        );
        close(
            &rrow["passes_met_share"],
            f("passes_met_share") / days,
            0.01 / days,
            code,
        );
        close(
            &rrow["on_schedule_share"],
            f("on_schedule_share"),
            0.01,
            code,
        );
        let by: Vec<&str> = if worked > 0.0 {
            vec![want["vehicle"].as_str().unwrap()]
        } else {
            vec![]
        };
        assert_eq!(rrow["vehicles"], json!(by), "{code}");
    }
    // Units: the two communities, then their street, district and city, each with the
    // length-weighted worked share of the routes below it.
    let units = v["units"].as_array().unwrap();
    let codes: Vec<&str> = units.iter().map(|u| u["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "430102001001",
            "430102001002",
            "430102001",
            "430102",
            "430100"
        ]
    );
    let weighted = |pick: &dyn Fn(&str) -> bool| {
        let (mut num, mut den) = (0.0, 0.0);
        for w in expected["routes"].as_array().unwrap() {
            if pick(w["vehicle"].as_str().unwrap()) {
                num += w["length_m"].as_f64().unwrap() * w["worked_share"].as_f64().unwrap();
                den += w["length_m"].as_f64().unwrap() * days;
            }
        }
        num / den
    };
    for (u, pick) in [
        (&units[0], &(|v: &str| v <= "v3") as &dyn Fn(&str) -> bool),
        (&units[1], &|v: &str| v > "v3"),
        (&units[4], &|_: &str| true),
    ] {
        close(
            &u["worked_share"],
            weighted(pick),
            0.01 / days,
            u["code"].as_str().unwrap(),
        );
    }
    assert_eq!(
        (units[0]["vehicles"].as_u64(), units[0]["routes"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(
        (
            units[4]["vehicles"].as_u64(),
            units[4]["scheduled_route_days"].as_u64()
        ),
        (Some(6), Some(186))
    );
    assert_eq!(units[0]["parent"], "430102001");

    // CSV: the three vehicle tables beside the workers'.
    let out = dir.join("zh");
    let csv = read(&out.join("vehicles.csv"));
    assert!(csv.starts_with("\u{feff}车辆编号,车牌号"), "{csv}");
    assert_eq!(csv.lines().count(), 7);
    assert_eq!(read(&out.join("routes.csv")).lines().count(), 7);
    assert_eq!(read(&out.join("vehicle_units.csv")).lines().count(), 6);
    // XLSX, read back by openpyxl: the three sheets and their rows.
    let book = read_with_openpyxl(&out.join("report.xlsx"));
    let sheets: Vec<&str> = book["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for name in ["车辆", "线路", "单位车辆"] {
        assert!(sheets.contains(&name), "{sheets:?}");
    }
    let rows = book["by_sheet"]["车辆"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[0][0], "车辆编号");
    assert_eq!(rows[1][0], "v1");
    // HTML in Chinese, then English.
    let html = read(&out.join("report.html"));
    assert!(html.contains("<section id=\"vehicles\"") && html.contains("<h2>车辆</h2>"));
    assert!(html.contains("Yrjönkatu + Annankatu + Bulevardi"));

    // In English and scoped to the first community: its vehicles, routes and unit only.
    let r = report(
        dir,
        "en",
        &[
            "--format",
            "json,html",
            "--lang",
            "en",
            "--unit",
            "430102001001",
        ],
    );
    let ids: Vec<&str> = r["vehicles"]["vehicles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["vehicle"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["v1", "v2", "v3"]);
    assert_eq!(r["vehicles"]["routes"].as_array().unwrap().len(), 3);
    let units = r["vehicles"]["units"].as_array().unwrap();
    assert_eq!((units.len(), &units[0]["parent"]), (1, &Value::Null));
    let html = read(&dir.join("en/report.html"));
    assert!(
        html.contains("<h2>Vehicles</h2>")
            && html.contains("<h3>Routes</h3>")
            && html.contains("Worked share")
    );
}
