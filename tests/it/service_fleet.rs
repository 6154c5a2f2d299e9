//! The fleet's registry files through the HTTP door: `PUT`/`GET /api/v1/registry/vehicles`,
//! `…/routes`, and `devices.csv` rows that name a vehicle; every fault listed, nothing changed
//! by a file with faults.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gridbeat::store::RegistryFile;

use crate::util::{get, sample_registry_files, App};

/// Two vehicles of the sample city: a sweeper of a community, a washer of the street.
const VEHICLES: &str =
    "vehicle,plate,kind,unit\nv-01,湘A·S0001,sweeper,430102001001\nv-02,湘A·W0002,washer,430102001\n";

/// A sweeping route for v-01 and a night washing route for every washer of the street.
const ROUTES: &str = r#"{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {"code": "r-01", "name": "解放西路", "unit": "430102001001",
   "vehicles": ["v-01"], "schedule": "mon-sat 05:00-08:00", "passes": 2, "max_work_speed_kmh": 15},
  "geometry": {"type": "LineString", "coordinates": [[112.9725, 28.1936], [112.9750, 28.1935]]}},
 {"type": "Feature", "properties": {"code": "r-02", "name": "五一大道", "unit": "430102001",
   "kind": "washer", "schedule": [{"days": "daily", "from": "22:00", "to": "04:00"}],
   "max_work_speed_kmh": 20, "min_pressure": 0.2},
  "geometry": {"type": "MultiLineString", "coordinates": [[[112.9725, 28.1930], [112.9750, 28.1930]],
   [[112.9750, 28.1930], [112.9750, 28.1950]]]}}]}"#;

async fn put(s: &App, file: &str, body: &str) -> crate::util::Answer {
    s.send(
        Request::put(format!("/api/v1/registry/{file}"))
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn vehicles_routes_and_vehicle_devices_are_validated_whole_and_served_back() {
    let s = App::with_registry(vec![], |_| {}, &sample_registry_files()).await;
    // Routes name vehicles: without vehicles.csv they are refused.
    let a = put(&s, "routes", ROUTES).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_registry")
    );
    assert!(
        a.json()["faults"][0]
            .as_str()
            .unwrap()
            .contains("load vehicles.csv before the routes"),
        "{}",
        a.text()
    );
    let a = put(&s, "vehicles", VEHICLES).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    // New vehicles mark every vehicle's days (their route figures).
    assert_eq!(
        a.json()["recompute"],
        serde_json::json!({"workers": ["v-01", "v-02"]})
    );
    let a = put(&s, "routes", ROUTES).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let a = s.send(get("/api/v1/registry/routes", None)).await;
    assert_eq!((a.status, a.text().as_str()), (StatusCode::OK, ROUTES));
    assert_eq!(a.headers["content-type"], RegistryFile::Routes.media_type());

    // A route with faults: each named with its feature; the stored file is unchanged.
    let bad = ROUTES
        .replace("\"v-01\"]", "\"v-09\"]")
        .replace("mon-sat 05:00-08:00", "someday 05:00-08:00")
        .replace(
            "[112.9725, 28.1936], [112.9750, 28.1935]",
            "[28.1936, 112.9725], [28.1935, 112.9750]",
        );
    let a = put(&s, "routes", &bad).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let faults: Vec<String> = a.json()["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    let at = "routes.geojson: feature #0 (code \"r-01\"): ";
    assert_eq!(faults.len(), 3, "{faults:?}");
    assert_eq!(
        faults[0],
        format!("{at}unknown vehicle \"v-09\": no row of vehicles.csv has that id")
    );
    assert!(
        faults[1].starts_with(&format!("{at}bad schedule: \"someday\" is not a day")),
        "{faults:?}"
    );
    assert!(
        faults[2].starts_with(&format!("{at}coordinates look like [lat, lon]")),
        "{faults:?}"
    );
    assert_eq!(
        s.send(get("/api/v1/registry/routes", None)).await.text(),
        ROUTES
    );

    // Vehicles that routes still name cannot be dropped.
    let a = put(
        &s,
        "vehicles",
        "vehicle,plate,kind,unit\nv-02,湘A·W0002,washer,430102001\n",
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        a.text().contains("unknown vehicle \\\"v-01\\\""),
        "{}",
        a.text()
    );

    // devices.csv: a terminal of a vehicle (worker empty) beside a phone of a worker.
    let devices = "device,worker,vehicle\n013912345678,,v-01\nphone-1,w-0001,\n";
    let a = put(&s, "devices", devices).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let bad =
        "device,worker,vehicle\n013900000001,,v-77\n013900000002,w-0001,v-01\n013900000003,,\n";
    let a = put(&s, "devices", bad).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let faults = a.json()["faults"].clone();
    assert_eq!(
        faults,
        serde_json::json!([
            "devices.csv line 2: vehicle \"v-77\" is not in vehicles.csv",
            "devices.csv line 3: give the device and either its worker or (with the worker empty) its vehicle",
            "devices.csv line 4: give the device and either its worker or (with the worker empty) its vehicle",
        ])
    );
    // A vehicle may not share an id with a worker: pings are stored under either.
    let a = put(
        &s,
        "vehicles",
        &format!("{VEHICLES}w-0001,湘A·X0003,collector,430102001\n"),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        a.text()
            .contains("vehicle id \\\"w-0001\\\" is also a worker id"),
        "{}",
        a.text()
    );
}

/// Two routes, each scheduled on Mondays 05:00–08:00: a sweeping street for v-01 and a washing
/// street for the washers of the street (v-02).
const MONDAY_ROUTES: &str = r#"{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {"code": "r-01", "name": "解放西路", "unit": "430102001001",
   "vehicles": ["v-01"], "schedule": "mon 05:00-08:00", "max_work_speed_kmh": 15},
  "geometry": {"type": "LineString", "coordinates": [[112.9725, 28.1936], [112.9750, 28.1935]]}},
 {"type": "Feature", "properties": {"code": "r-02", "name": "五一大道", "unit": "430102001",
   "kind": "washer", "schedule": "mon 05:00-08:00", "max_work_speed_kmh": 15},
  "geometry": {"type": "LineString", "coordinates": [[112.9725, 28.1926], [112.9750, 28.1925]]}}]}"#;

/// NDJSON pings of a vehicle driving a line from `a` to `b` in 12 steps of 10 s from `start`
/// (about 20 m a step, 7.4 km/h), with the given work state.
fn drive(vehicle: &str, start: &str, a: (f64, f64), b: (f64, f64), work: bool) -> String {
    let t0 = chrono::DateTime::parse_from_rfc3339(start)
        .unwrap()
        .timestamp();
    (0..=12)
        .map(|k| {
            let f = f64::from(k) / 12.0;
            let (lon, lat) = (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f);
            format!(
                "{{\"vehicle\": \"{vehicle}\", \"ts\": {}, \"lat\": {lat:.7}, \"lon\": {lon:.7}, \"work\": {work}, \"ignition\": true}}\n",
                t0 + 10 * i64::from(k)
            )
        })
        .collect()
}

#[tokio::test]
async fn vehicle_days_are_recomputed_in_the_service_and_reported_beside_the_workers() {
    let mut files = sample_registry_files();
    files.push((RegistryFile::Vehicles, VEHICLES.into()));
    files.push((RegistryFile::Routes, MONDAY_ROUTES.into()));
    let s = App::with_registry(vec![], |_| {}, &files).await;
    // Monday 2026-10-05: v-01 sweeps r-01 end to end with its brushes on at 06:00; v-02 drives
    // r-02 with its pump off.
    let mut body = drive(
        "v-01",
        "2026-10-05T06:00:00+08:00",
        (112.9725, 28.1936),
        (112.9750, 28.1935),
        true,
    );
    body += &drive(
        "v-02",
        "2026-10-05T06:30:00+08:00",
        (112.9725, 28.1926),
        (112.9750, 28.1925),
        false,
    );
    let a = s
        .send(crate::util::post(
            "/api/v1/pings",
            "application/x-ndjson",
            body,
            None,
        ))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["accepted"], 26, "{}", a.text());
    crate::util::settle(&s.state).await;

    let report = crate::util::get_json(&s.state, "/api/v1/reports/2026-10").await;
    assert_eq!(report["freshness"]["pending"], 0);
    // Vehicles are no workers.
    let workers = report["workers"].as_array().unwrap();
    assert!(workers
        .iter()
        .all(|w| !w["worker"].as_str().unwrap().starts_with("v-")));
    let v = &report["vehicles"];
    let route = |code: &str| {
        v["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == code)
            .unwrap_or_else(|| panic!("{v}"))
            .clone()
    };
    // October 2026 has four Mondays (5, 12, 19, 26); r-01 was swept end to end on one of them.
    let r1 = route("r-01");
    assert_eq!(r1["scheduled_days"], 4);
    assert_eq!(r1["fully_worked_days"], 1);
    assert!(
        (r1["worked_share"].as_f64().unwrap() - 0.25).abs() < 1e-9,
        "{r1}"
    );
    assert_eq!(r1["vehicles"], serde_json::json!(["v-01"]));
    // r-02 was driven with the pump off: nothing worked.
    let r2 = route("r-02");
    assert_eq!(r2["worked_share"].as_f64(), Some(0.0), "{r2}");
    assert_eq!(r2["vehicles"], serde_json::json!([]));
    let row = |id: &str| {
        v["vehicles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["vehicle"] == id)
            .unwrap()
            .clone()
    };
    let v1 = row("v-01");
    assert_eq!(
        (
            v1["scheduled_route_days"].as_u64(),
            v1["fully_worked"].as_u64(),
            v1["not_worked"].as_u64()
        ),
        (Some(4), Some(1), Some(3)),
        "{v1}"
    );
    // 12 working steps of 10 s on the route.
    assert!(
        (v1["work_on_route_h"].as_f64().unwrap() - 120.0 / 3600.0).abs() < 1e-9,
        "{v1}"
    );
    assert_eq!(row("v-02")["not_worked"], 4);

    // The routes move to Tuesdays: v-01's Monday is recomputed, its sweep now off route.
    let a = put(
        &s,
        "routes",
        &MONDAY_ROUTES.replace("mon 05:00", "tue 05:00"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    crate::util::settle(&s.state).await;
    let report = crate::util::get_json(&s.state, "/api/v1/reports/2026-10").await;
    let v = &report["vehicles"];
    let r1 = v["routes"][0].clone();
    assert_eq!(
        (r1["code"].as_str(), r1["fully_worked_days"].as_u64()),
        (Some("r-01"), Some(0))
    );
    let v1 = v["vehicles"][0].clone();
    assert_eq!(v1["work_on_route_h"].as_f64(), Some(0.0), "{v1}");
    assert!(
        (v1["work_off_route_h"].as_f64().unwrap() - 120.0 / 3600.0).abs() < 1e-9,
        "{v1}"
    );
}

/// `gridbeat report --vehicles …` on the sample files in `d`, with `extra` arguments: its
/// report.json.
fn batch_vehicles(d: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let arg = |name: &str| d.join(name).display().to_string();
    let out = d.join(format!("out{}", extra.len()));
    let o = crate::util::gridbeat()
        .args([
            "report",
            "--grids",
            &arg("grids.geojson"),
            "--workers",
            &arg("workers.csv"),
        ])
        .args([
            "--checkpoints",
            &arg("checkpoints.geojson"),
            "--pings",
            &arg("pings.csv"),
        ])
        .args([
            "--vehicles",
            &arg("vehicles.csv"),
            "--routes",
            &arg("routes.geojson"),
        ])
        .args(["--vehicle-pings", &arg("vehicle_pings.csv")])
        .args(["--month", "2026-10", "--format", "json", "--out"])
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    crate::util::assert_success(&o);
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

/// The sample fleet's week through both doors: `gridbeat report --vehicles …` on the files,
/// and the service's report after the same pings were posted and summarised. The vehicles
/// sections are equal, row for row and figure for figure.
#[tokio::test]
async fn the_vehicles_section_is_the_same_from_the_batch_and_the_http_door() {
    use gridbeat::cli::demo::sample;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, text) in [
        ("grids.geojson", sample::GRIDS),
        ("workers.csv", sample::WORKERS),
        ("checkpoints.geojson", sample::CHECKPOINTS),
        ("pings.csv", sample::PINGS),
        ("vehicles.csv", sample::VEHICLES),
        ("routes.geojson", sample::ROUTES),
        ("vehicle_pings.csv", sample::VEHICLE_PINGS),
    ] {
        std::fs::write(d.join(name), text).unwrap();
    }
    let batch = batch_vehicles(d, &[]);

    let mut files = sample_registry_files();
    files.push((RegistryFile::Vehicles, sample::VEHICLES.into()));
    files.push((RegistryFile::Routes, sample::ROUTES.into()));
    let s = App::with_registry(vec![], |_| {}, &files).await;
    let pings = gridbeat::ingest::csv::read_pings(
        sample::VEHICLE_PINGS.as_bytes(),
        "vehicle_pings.csv",
        gridbeat::model::Crs::Wgs84,
    )
    .unwrap()
    .pings;
    let mut sent = 0;
    for chunk in pings.chunks(5_000) {
        sent += gridbeat::cli::serve::post_pings(&s.state, chunk, None)
            .await
            .unwrap();
    }
    assert_eq!(sent, pings.len());
    crate::util::settle(&s.state).await;
    let served = crate::util::get_json(&s.state, "/api/v1/reports/2026-10").await;
    assert_eq!(served["freshness"]["pending"], 0);

    let (b, h) = (&batch["vehicles"], &served["vehicles"]);
    assert!(b["routes"].as_array().is_some_and(|r| r.len() >= 4), "{b}");
    // The week was worked: some route-day of the sample is fully worked.
    assert!(
        b["routes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["fully_worked_days"].as_u64() > Some(0)),
        "{b}"
    );
    assert_eq!(b, h, "batch and HTTP vehicles sections differ");
    // Scoped to a community, both doors keep the same rows.
    let batch = batch_vehicles(d, &["--unit", "430102001001"]);
    let served = crate::util::get_json(&s.state, "/api/v1/reports/2026-10?unit=430102001001").await;
    assert_eq!(batch["vehicles"], served["vehicles"]);
}
