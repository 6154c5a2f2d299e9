//! The monthly assessment report (DESIGN.md §4.9): what the assessment fills in and every
//! writer reads. Plain data, serialised in field order, so `report.json` reads top-down.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::json;

/// One month's assessment of the workers, grids and units in one scope.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The local calendar month, `YYYY-MM` (e.g. `2026-10`).
    pub month: String,
    /// The `--unit` scope (a unit code), or `None` for everything in the registry.
    pub unit: Option<String>,
    /// When the report was made, RFC 3339 with offset.
    pub generated_at: String,
    /// How current the figures are: the service's report says how many worker-days were
    /// still waiting to be recomputed, and the newest ping it includes (absent from files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freshness: Option<Freshness>,
    /// Days summarised without one day of context from the adjacent month, `YYYY-MM-DD`: a
    /// report from a history lake that lacks the month before or after (DESIGN.md §6). A stay
    /// or segment across that midnight is cut there. Absent when every day had its context.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub days_without_context: Vec<String>,
    /// The effective config the figures were computed with (DESIGN.md §4: every report records
    /// its parameters).
    pub params: serde_json::Value,
    /// The score formula as text, so a score can be recomputed by hand.
    pub formula: String,
    /// Each term of the score: name, weight, target.
    pub weights: Vec<Weight>,
    /// One row per worker, in the assessment's order.
    pub workers: Vec<WorkerRow>,
    /// One row per grid in scope.
    pub grids: Vec<GridRow>,
    /// Roll-ups: communities, streets, districts and the city (`level` says which).
    pub units: Vec<UnitRow>,
    /// The city-management vehicles on their planned routes (README "Monthly vehicle
    /// report"); absent from a report without a fleet, so such a report is unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vehicles: Option<VehicleReport>,
}

/// The month of the vehicles and routes in scope (README "Monthly vehicle report").
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VehicleReport {
    /// The worked share at or above which a route-day counts as fully worked, 0..1.
    pub full_share: f64,
    /// One row per vehicle whose unit is in scope, in the fleet's order.
    pub vehicles: Vec<VehicleRow>,
    /// One row per route whose unit is in scope, in the fleet's order.
    pub routes: Vec<RouteRow>,
    /// One row per unit in scope with vehicles or routes at or below it, lowest level first.
    pub units: Vec<VehicleUnitRow>,
}

/// One vehicle's month over the routes planned for it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VehicleRow {
    /// The vehicle id.
    pub vehicle: String,
    /// Its number plate.
    pub plate: String,
    /// Its kind, e.g. `sweeper`.
    pub kind: String,
    /// The code of the unit responsible for it.
    pub unit: String,
    /// That unit's name.
    pub unit_name: String,
    /// Routes planned for it (count).
    pub routes: u32,
    /// Route-days: each planned route on each day of the month it is scheduled (count).
    pub scheduled_route_days: u32,
    /// Route-days with a worked share of at least `full_share` (count).
    pub fully_worked: u32,
    /// Route-days with some but less than `full_share` worked (count).
    pub partly_worked: u32,
    /// Route-days with nothing worked (count).
    pub not_worked: u32,
    /// Worked share of its route-days, weighted by route length, 0..1; `None` without any.
    pub worked_share: Option<f64>,
    /// Passes-met share of its route-days, weighted by route length, 0..1; `None` without any.
    pub passes_met_share: Option<f64>,
    /// On-schedule share of its route-days worked at all, weighted by route length, 0..1;
    /// `None` when none was worked.
    pub on_schedule_share: Option<f64>,
    /// Working time on its day's scheduled routes (hours).
    pub work_on_route_h: f64,
    /// Working time elsewhere (hours).
    pub work_off_route_h: f64,
    /// Working distance on its day's scheduled routes (km).
    pub work_on_route_km: f64,
    /// Working distance elsewhere (km).
    pub work_off_route_km: f64,
    /// Working time on route faster than the route's working speed (minutes).
    pub over_speed_min: f64,
    /// Working time below the route's minimum water pressure (minutes).
    pub under_pressure_min: f64,
    /// Gaps in reporting within the scheduled windows (minutes).
    pub gap_min: f64,
}

/// One route's month, over every vehicle that worked it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RouteRow {
    /// The route code.
    pub code: String,
    /// The route name.
    pub name: String,
    /// The code of the unit responsible for it.
    pub unit: String,
    /// That unit's name.
    pub unit_name: String,
    /// The kind of vehicle it is for (may be empty when it names its vehicles).
    pub kind: String,
    /// Passes required per scheduled day (count).
    pub passes: u32,
    /// Its length (km).
    pub length_km: f64,
    /// Days of the month it is scheduled (days).
    pub scheduled_days: u32,
    /// Mean over its scheduled days of the day's worked share, all vehicles together, 0..1;
    /// `None` when never scheduled.
    pub worked_share: Option<f64>,
    /// Mean over its scheduled days of the day's passes-met share, all vehicles together,
    /// 0..1; `None` when never scheduled.
    pub passes_met_share: Option<f64>,
    /// Mean on-schedule share of its vehicle-route-days worked at all, 0..1; `None` when none.
    pub on_schedule_share: Option<f64>,
    /// Scheduled days with a worked share of at least `full_share` (days).
    pub fully_worked_days: u32,
    /// The vehicles that worked it on a scheduled day (ids, sorted).
    pub vehicles: Vec<String>,
}

/// One unit's vehicles and routes, with everything below it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VehicleUnitRow {
    /// The unit code.
    pub code: String,
    /// The unit name.
    pub name: String,
    /// Its level: `grid`, `community`, `street`, `district` or `city`.
    pub level: String,
    /// The parent unit's code (`None` for the top of the scope).
    pub parent: Option<String>,
    /// Vehicles at or below it (count).
    pub vehicles: u32,
    /// Routes at or below it (count).
    pub routes: u32,
    /// Their scheduled days, summed over the routes (count).
    pub scheduled_route_days: u32,
    /// Their length (km).
    pub length_km: f64,
    /// Worked share, weighted by length × scheduled days, 0..1; `None` when nothing was
    /// scheduled.
    pub worked_share: Option<f64>,
    /// Passes-met share, weighted by length × scheduled days, 0..1; `None` when nothing was
    /// scheduled.
    pub passes_met_share: Option<f64>,
}

/// How current a report from the service is.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Freshness {
    /// Worker-days marked dirty and not yet recomputed when the report was made.
    pub pending: u64,
    /// How long the oldest of them has waited, seconds (0 when none).
    pub lag_s: f64,
    /// The newest ping timestamp stored, RFC 3339 (UTC).
    pub newest_ping: Option<String>,
}

/// One term of the score formula.
#[derive(Clone, Debug, Serialize)]
pub struct Weight {
    /// The term's name as used in [`Report::formula`], e.g. `days_active`.
    pub term: String,
    /// Its weight (dimensionless; the weights of a formula add up to 1).
    pub weight: f64,
    /// The value at which the term is full, in the term's own unit (days, hours, km, or a
    /// share 0..1).
    pub target: f64,
    /// What the term measures, in words.
    pub description: String,
}

/// One worker's month.
#[derive(Clone, Debug, Serialize)]
pub struct WorkerRow {
    /// The worker id, e.g. `w-0042`.
    pub worker: String,
    /// The worker's name.
    pub name: String,
    /// The assigned grid codes joined with `+`.
    pub grid: String,
    /// The community code.
    pub community: String,
    /// The community name.
    pub community_name: String,
    /// The street code.
    pub street: String,
    /// The street name.
    pub street_name: String,
    /// Days with at least `min_active_minutes` of patrol (days).
    pub days_active: u32,
    /// Patrol time (hours).
    pub patrol_h: f64,
    /// Distance patrolled (km).
    pub distance_km: f64,
    /// Coverage of the assigned grids, 0..1: area-weighted over the grids, each the union over
    /// the month.
    pub coverage: f64,
    /// The attainable share of the assigned grids (reachable area / area), 0..1, when known.
    pub attainable_coverage: Option<f64>,
    /// Checkpoint compliance, 0..1 (mean over checkpoints of min(1, visits/required)); `None`
    /// when the worker's grids have no checkpoints.
    pub checkpoint_compliance: Option<f64>,
    /// Number of stays (count).
    pub stays: u32,
    /// Patrol time outside the assigned grids (hours).
    pub out_of_grid_h: f64,
    /// Pings received (count).
    pub pings: u64,
    /// Share of the received pings that were accepted by cleaning, 0..1.
    pub accepted_share: f64,
    /// Time inside patrol days without pings, longer than `max_gap_s` (hours).
    pub gap_h: f64,
    /// Anomaly kind → number of days flagged (days).
    pub anomalies: BTreeMap<String, u32>,
    /// The score, 0..100.
    pub score: f64,
    /// Rank within the community, 1 = best.
    pub rank_community: u32,
    /// Rank within the street, 1 = best.
    pub rank_street: u32,
    /// Among the weakest workers (highlighted in every format).
    pub weak: bool,
}

/// One grid's month.
#[derive(Clone, Debug, Serialize)]
pub struct GridRow {
    /// The grid code.
    pub code: String,
    /// The grid name.
    pub name: String,
    /// The code of the community the grid belongs to.
    pub community: String,
    /// The grid's area (m²).
    pub area_m2: f64,
    /// The ids of the workers assigned to the grid.
    pub workers: Vec<String>,
    /// Team coverage, 0..1: the union of all its workers' tracks over the month.
    pub team_coverage: f64,
    /// The covered area (m²).
    pub covered_m2: f64,
    /// The attainable share of the grid, 0..1, when known.
    pub attainable: Option<f64>,
    /// Among the weakest grids (highlighted).
    pub weak: bool,
}

/// One roll-up: a community, street, district or the city.
#[derive(Clone, Debug, Serialize)]
pub struct UnitRow {
    /// The unit code.
    pub code: String,
    /// The unit name.
    pub name: String,
    /// `community`, `street`, `district` or `city`.
    pub level: String,
    /// The parent unit's code (`None` for the top of the scope).
    pub parent: Option<String>,
    /// Workers in the unit (count).
    pub workers: u32,
    /// Grids in the unit (count).
    pub grids: u32,
    /// Team coverage of the unit's grids, 0..1, area-weighted.
    pub team_coverage: f64,
    /// The mean score of its workers, 0..100.
    pub mean_score: f64,
    /// The weakest grids, weakest first; `value` is team coverage 0..1.
    pub weakest_grids: Vec<NamedValue>,
    /// The weakest workers, weakest first; `value` is the score 0..100.
    pub weakest_workers: Vec<NamedValue>,
}

/// A code, its name and one figure (its unit is said where it is used).
#[derive(Clone, Debug, Serialize)]
pub struct NamedValue {
    /// A unit code or worker id.
    pub code: String,
    /// Its name.
    pub name: String,
    /// The figure.
    pub value: f64,
}

/// An output format of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `report.json`: the model, pretty-printed.
    Json,
    /// `workers.csv`, `grids.csv`, `units.csv` (and the vehicle tables): UTF-8 with BOM.
    Csv,
    /// `report.xlsx`: one sheet per level plus the formula and parameters.
    Xlsx,
    /// `report.html`: one self-contained printable page.
    Html,
}

impl Format {
    /// Every format, in the order they are written.
    pub const ALL: [Format; 4] = [Format::Json, Format::Csv, Format::Xlsx, Format::Html];

    /// Parses a comma-separated list such as `json,csv,xlsx,html` (or `all`); duplicates are
    /// dropped, the order is kept.
    ///
    /// # Errors
    /// [`ReportError::UnknownFormat`] for a name that is not a format, or an empty list.
    pub fn parse_list(list: &str) -> Result<Vec<Format>, ReportError> {
        let mut out = Vec::new();
        for name in list.split(',').map(str::trim) {
            let formats: Vec<Format> = if name.eq_ignore_ascii_case("all") {
                Format::ALL.to_vec()
            } else {
                vec![name.parse()?]
            };
            for f in formats {
                if !out.contains(&f) {
                    out.push(f);
                }
            }
        }
        Ok(out)
    }
}

impl FromStr for Format {
    type Err = ReportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "xlsx" | "excel" => Ok(Format::Xlsx),
            "html" | "htm" => Ok(Format::Html),
            _ => Err(ReportError::UnknownFormat(s.to_string())),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Html => "html",
        })
    }
}

/// The language of the labels in CSV headers, sheet names and the HTML page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Simplified Chinese (the default).
    #[default]
    Zh,
    /// English.
    En,
}

impl FromStr for Lang {
    type Err = ReportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh_cn" | "cn" => Ok(Lang::Zh),
            "en" | "en-us" | "en-gb" => Ok(Lang::En),
            _ => Err(ReportError::UnknownLang(s.to_string())),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        })
    }
}

/// Why a report option could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportError {
    /// A format name that is not one of json, csv, xlsx, html (or all).
    #[error("unknown report format {0:?}; expected a list of json, csv, xlsx, html (or all)")]
    UnknownFormat(String),
    /// A language that is not zh or en.
    #[error("unknown language {0:?}; expected zh or en")]
    UnknownLang(String),
}

impl Report {
    /// Each worker's score (the map layers' `score` by worker id).
    pub fn scores(&self) -> BTreeMap<String, f64> {
        self.workers
            .iter()
            .map(|w| (w.worker.clone(), w.score))
            .collect()
    }

    /// A small realistic report (one city, district and street, two communities, four grids,
    /// five workers, one of them named with HTML metacharacters) for tests, examples and the
    /// writers' previews. A fixture: its figures are made up, not computed.
    pub fn sample() -> Report {
        let weights = vec![
            weight("days_active", 0.15, 22.0, "出勤天数 / days active"),
            weight("patrol_h", 0.20, 88.0, "巡查时长 / patrol hours"),
            weight("coverage", 0.35, 0.9, "网格覆盖率 / grid coverage"),
            weight(
                "checkpoints",
                0.20,
                1.0,
                "点位完成率 / checkpoint compliance",
            ),
            weight("data_quality", 0.10, 0.95, "有效定位率 / accepted share"),
        ];
        let formula = "score = 100 × (0.15·min(1, days_active/22) + 0.20·min(1, patrol_h/88) \
                       + 0.35·min(1, coverage/0.9) + 0.20·min(1, checkpoints/1) \
                       + 0.10·min(1, accepted_share/0.95)) − 5·anomaly_days"
            .to_string();
        let st = ("430104001", "望月湖街道");
        let c1 = ("430104001001", "望月湖社区");
        let c2 = ("430104001002", "银双社区");
        let workers = vec![
            worker(
                ("w-0001", "张伟"),
                "430104001001001",
                c1,
                st,
                [22.0, 96.5, 151.2, 0.93, 0.98],
                (1, 1, false),
                &[],
            ),
            worker(
                ("w-0002", "李娜"),
                "430104001001002+430104001001003",
                c1,
                st,
                [18.0, 61.0, 88.4, 0.71, 0.91],
                (2, 3, false),
                &[("static_device", 1)],
            ),
            worker(
                ("w-0003", "赵<b>&\"敏'"),
                "430104001001003",
                c1,
                st,
                [9.0, 20.5, 31.0, 0.32, 0.78],
                (3, 5, true),
                &[("mock_location", 2), ("replay", 1)],
            ),
            worker(
                ("w-0004", "王芳"),
                "430104001002001",
                c2,
                st,
                [21.0, 90.0, 140.8, 0.88, 0.97],
                (1, 2, false),
                &[],
            ),
            worker(
                ("w-0005", "陈静"),
                "430104001002001",
                c2,
                st,
                [15.0, 48.2, 70.3, 0.55, 0.9],
                (2, 4, true),
                &[("out_of_grid", 3)],
            ),
        ];
        let grids = vec![
            grid(
                "430104001001001",
                "望月湖一网格",
                c1.0,
                182_000.0,
                &["w-0001"],
                0.93,
                false,
            ),
            grid(
                "430104001001002",
                "望月湖二网格",
                c1.0,
                150_500.0,
                &["w-0002"],
                0.74,
                false,
            ),
            grid(
                "430104001001003",
                "望月湖三网格",
                c1.0,
                96_300.0,
                &["w-0002", "w-0003"],
                0.41,
                true,
            ),
            grid(
                "430104001002001",
                "银双一网格",
                c2.0,
                210_000.0,
                &["w-0004", "w-0005"],
                0.89,
                false,
            ),
        ];
        let nv = |code: &str, name: &str, value: f64| NamedValue {
            code: code.into(),
            name: name.into(),
            value,
        };
        let units = vec![
            unit(
                c1,
                "community",
                Some(st.0),
                (3, 3, 0.73, 62.4),
                vec![nv("430104001001003", "望月湖三网格", 0.41)],
                vec![nv("w-0003", "赵<b>&\"敏'", 31.5)],
            ),
            unit(
                c2,
                "community",
                Some(st.0),
                (2, 1, 0.89, 73.6),
                vec![nv("430104001002001", "银双一网格", 0.89)],
                vec![nv("w-0005", "陈静", 58.2)],
            ),
            unit(
                st,
                "street",
                Some("430104"),
                (5, 4, 0.80, 66.9),
                vec![nv("430104001001003", "望月湖三网格", 0.41)],
                vec![nv("w-0003", "赵<b>&\"敏'", 31.5)],
            ),
            unit(
                ("430104", "岳麓区"),
                "district",
                Some("430100"),
                (5, 4, 0.80, 66.9),
                vec![nv("430104001001003", "望月湖三网格", 0.41)],
                vec![nv("w-0003", "赵<b>&\"敏'", 31.5)],
            ),
            unit(
                ("430100", "长沙市"),
                "city",
                None,
                (5, 4, 0.80, 66.9),
                vec![nv("430104001001003", "望月湖三网格", 0.41)],
                vec![nv("w-0003", "赵<b>&\"敏'", 31.5)],
            ),
        ];
        Report {
            month: "2026-10".into(),
            unit: Some(st.0.into()),
            generated_at: "2026-11-01T08:00:00+08:00".into(),
            freshness: None,
            days_without_context: Vec::new(),
            params: json!({
                "timezone": "Asia/Shanghai",
                "min_active_minutes": 30,
                "max_gap_s": 600,
                "cell_size_m": 10.0,
                "visit_radius_m": 30.0,
            }),
            formula,
            weights,
            workers,
            grids,
            units,
            vehicles: None,
        }
    }
}

impl VehicleReport {
    /// A small vehicles section (two vehicles, two routes, a community and its street, one
    /// name with HTML metacharacters) for tests and the writers' previews. A fixture: its
    /// figures are made up, not computed.
    pub fn sample() -> VehicleReport {
        let c1 = ("430104001001", "望月湖社区");
        let st = ("430104001", "望月湖街道");
        let vehicle =
            |id: &str, plate: &str, kind: &str, days: (u32, u32, u32), shares: [Option<f64>; 3]| {
                VehicleRow {
                    vehicle: id.into(),
                    plate: plate.into(),
                    kind: kind.into(),
                    unit: c1.0.into(),
                    unit_name: c1.1.into(),
                    routes: 2,
                    scheduled_route_days: days.0 + days.1 + days.2,
                    fully_worked: days.0,
                    partly_worked: days.1,
                    not_worked: days.2,
                    worked_share: shares[0],
                    passes_met_share: shares[1],
                    on_schedule_share: shares[2],
                    work_on_route_h: 41.5,
                    work_off_route_h: 3.25,
                    work_on_route_km: 310.2,
                    work_off_route_km: 22.8,
                    over_speed_min: 12.5,
                    under_pressure_min: 0.0,
                    gap_min: 34.0,
                }
            };
        VehicleReport {
            full_share: 0.95,
            vehicles: vec![
                vehicle(
                    "v-001",
                    "湘A·12345",
                    "sweeper",
                    (20, 6, 4),
                    [Some(0.8125), Some(0.74), Some(0.97)],
                ),
                vehicle(
                    "v-002",
                    "湘A·<b>&\"6'",
                    "washer",
                    (0, 0, 13),
                    [Some(0.0), Some(0.0), None],
                ),
            ],
            routes: vec![
                RouteRow {
                    code: "R-001".into(),
                    name: "桐梓坡路".into(),
                    unit: c1.0.into(),
                    unit_name: c1.1.into(),
                    kind: "sweeper".into(),
                    passes: 2,
                    length_km: 3.42,
                    scheduled_days: 31,
                    worked_share: Some(0.83),
                    passes_met_share: Some(0.71),
                    on_schedule_share: Some(0.97),
                    fully_worked_days: 20,
                    vehicles: vec!["v-001".into(), "v-002".into()],
                },
                RouteRow {
                    code: "R-002".into(),
                    name: "麓山南路".into(),
                    unit: st.0.into(),
                    unit_name: st.1.into(),
                    kind: "washer".into(),
                    passes: 1,
                    length_km: 2.05,
                    scheduled_days: 13,
                    worked_share: Some(0.0),
                    passes_met_share: Some(0.0),
                    on_schedule_share: None,
                    fully_worked_days: 0,
                    vehicles: Vec::new(),
                },
            ],
            units: vec![
                VehicleUnitRow {
                    code: c1.0.into(),
                    name: c1.1.into(),
                    level: "community".into(),
                    parent: Some(st.0.into()),
                    vehicles: 2,
                    routes: 1,
                    scheduled_route_days: 31,
                    length_km: 3.42,
                    worked_share: Some(0.83),
                    passes_met_share: Some(0.71),
                },
                VehicleUnitRow {
                    code: st.0.into(),
                    name: st.1.into(),
                    level: "street".into(),
                    parent: None,
                    vehicles: 2,
                    routes: 2,
                    scheduled_route_days: 44,
                    length_km: 5.47,
                    worked_share: Some(0.83 * 3.42 * 31.0 / (3.42 * 31.0 + 2.05 * 13.0)),
                    passes_met_share: Some(0.71 * 3.42 * 31.0 / (3.42 * 31.0 + 2.05 * 13.0)),
                },
            ],
        }
    }
}

fn weight(term: &str, weight: f64, target: f64, description: &str) -> Weight {
    Weight {
        term: term.into(),
        weight,
        target,
        description: description.into(),
    }
}

/// A sample worker: `figures` = days active, patrol h, km, coverage, accepted share;
/// `ranks` = community rank, street rank, weak.
fn worker(
    (id, name): (&str, &str),
    grid: &str,
    community: (&str, &str),
    street: (&str, &str),
    figures: [f64; 5],
    ranks: (u32, u32, bool),
    anomalies: &[(&str, u32)],
) -> WorkerRow {
    let [days, patrol_h, distance_km, coverage, accepted_share] = figures;
    // The sample score follows the sample formula loosely; it only has to look plausible.
    let score = 100.0
        * (0.15 * (days / 22.0).min(1.0)
            + 0.20 * (patrol_h / 88.0).min(1.0)
            + 0.35 * (coverage / 0.9).min(1.0)
            + 0.30 * accepted_share);
    WorkerRow {
        worker: id.into(),
        name: name.into(),
        grid: grid.into(),
        community: community.0.into(),
        community_name: community.1.into(),
        street: street.0.into(),
        street_name: street.1.into(),
        days_active: days as u32,
        patrol_h,
        distance_km,
        coverage,
        attainable_coverage: Some(0.96),
        checkpoint_compliance: (!anomalies.is_empty()).then_some(coverage.min(1.0)),
        stays: (days as u32) * 3,
        out_of_grid_h: patrol_h * 0.05,
        pings: (patrol_h * 360.0) as u64,
        accepted_share,
        gap_h: 1.5,
        anomalies: anomalies.iter().map(|(k, d)| (k.to_string(), *d)).collect(),
        score,
        rank_community: ranks.0,
        rank_street: ranks.1,
        weak: ranks.2,
    }
}

fn grid(
    code: &str,
    name: &str,
    community: &str,
    area_m2: f64,
    workers: &[&str],
    team_coverage: f64,
    weak: bool,
) -> GridRow {
    GridRow {
        code: code.into(),
        name: name.into(),
        community: community.into(),
        area_m2,
        workers: workers.iter().map(|w| w.to_string()).collect(),
        team_coverage,
        covered_m2: area_m2 * team_coverage,
        attainable: Some(0.95),
        weak,
    }
}

/// A sample unit: `figures` = workers, grids, team coverage, mean score.
fn unit(
    (code, name): (&str, &str),
    level: &str,
    parent: Option<&str>,
    figures: (u32, u32, f64, f64),
    weakest_grids: Vec<NamedValue>,
    weakest_workers: Vec<NamedValue>,
) -> UnitRow {
    UnitRow {
        code: code.into(),
        name: name.into(),
        level: level.into(),
        parent: parent.map(str::to_string),
        workers: figures.0,
        grids: figures.1,
        team_coverage: figures.2,
        mean_score: figures.3,
        weakest_grids,
        weakest_workers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_lists_parse_in_order_without_duplicates() {
        assert_eq!(
            Format::parse_list("csv, json,csv,HTML").unwrap(),
            vec![Format::Csv, Format::Json, Format::Html]
        );
        assert_eq!(Format::parse_list("all").unwrap(), Format::ALL.to_vec());
        assert_eq!(
            Format::parse_list("json,pdf"),
            Err(ReportError::UnknownFormat("pdf".into()))
        );
        assert!(Format::parse_list("").is_err());
    }

    #[test]
    fn languages_parse() {
        assert_eq!("zh-CN".parse::<Lang>().unwrap(), Lang::Zh);
        assert_eq!("en".parse::<Lang>().unwrap(), Lang::En);
        assert_eq!(Lang::default(), Lang::Zh);
        assert!("fr".parse::<Lang>().is_err());
    }

    #[test]
    fn sample_is_consistent() {
        let r = Report::sample();
        for w in &r.workers {
            assert!(
                (0.0..=100.0).contains(&w.score),
                "{}: {}",
                w.worker,
                w.score
            );
            assert!(r.units.iter().any(|u| u.code == w.community));
        }
        let sum: f64 = r.weights.iter().map(|w| w.weight).sum();
        assert!((sum - 1.0).abs() < 1e-9);
    }
}
