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
