//! The vehicles' files of the batch door (`--vehicles`, `--routes`, `--vehicle-pings`): the
//! fleet checked against the registry, each vehicle's pings, and its days through
//! [`route::vehicle_days`], the function the service stores vehicle-days with.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;
use clap::Args;

use crate::ingest::{read_table, ReadOptions};
use crate::model::{Crs, Period, Ping};
use crate::registry::{Fleet, Registry, Source};
use crate::route::{self, RouteParams, VehicleDay, VehicleFix};

/// The vehicles' files, flattened into a subcommand.
#[derive(Debug, Args)]
pub struct VehicleFiles {
    /// City-management vehicles (CSV: vehicle,plate,kind,unit); needs `--routes`.
    #[arg(long, value_name = "FILE", requires = "routes")]
    pub vehicles: Option<PathBuf>,
    /// The vehicles' planned routes (GeoJSON lines with schedules, passes, speeds).
    #[arg(long, value_name = "FILE", requires = "vehicles")]
    pub routes: Option<PathBuf>,
    /// Vehicle ping files or glob patterns (CSV or Parquet: vehicle, ts, lat, lon, speed,
    /// bearing, work, pressure, ignition).
    #[arg(long, num_args = 1.., value_name = "FILE_OR_GLOB", requires = "vehicles")]
    pub vehicle_pings: Vec<String>,
}

/// The fleet with its pings and days, as the map layers take them.
pub struct Vehicles {
    /// The vehicles and routes.
    pub fleet: Fleet,
    /// Every fleet vehicle's pings read (of the period and a day around it, when one is
    /// given).
    pub pings: Vec<Ping>,
    /// Every fleet vehicle's days of the period (else of the days its pings span).
    pub days: Vec<VehicleDay>,
}

/// Reads `vehicles.csv` and `routes.geojson` into the fleet, checked against the registry.
///
/// # Errors
/// When a file cannot be read or the fleet has faults.
pub fn load_fleet(
    vehicles: &Path,
    routes: Option<&Path>,
    registry: &Registry,
    crs: Crs,
) -> anyhow::Result<Fleet> {
    let read = |path: &Path| -> anyhow::Result<(String, String)> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
        Ok((name, text))
    };
    let vehicles = read(vehicles)?;
    let routes = routes.map(read).transpose()?;
    Fleet::from_sources(
        Some(Source::new(&vehicles.0, &vehicles.1)),
        routes.as_ref().map(|(n, t)| Source::new(n, t)),
        registry,
        (crs != Crs::Wgs84).then_some(crs),
    )
    .with_context(|| format!("cannot load the fleet from {}", vehicles.0))
}

impl VehicleFiles {
    /// The fleet, its pings and its days of `period` (`None`: the local days the pings span),
    /// or `None` without `--vehicles`.
    ///
    /// # Errors
    /// When a file cannot be read, the fleet has faults, or (without `keep_going`) a ping row
    /// is bad.
    pub fn read(
        &self,
        registry: &Registry,
        crs: Crs,
        period: Option<Period>,
        tz: chrono_tz::Tz,
        params: &RouteParams,
        keep_going: bool,
    ) -> anyhow::Result<Option<Vehicles>> {
        let Some(vehicles) = &self.vehicles else {
            return Ok(None);
        };
        let fleet = load_fleet(vehicles, self.routes.as_deref(), registry, crs)?;
        let mut pings = Vec::new();
        if !self.vehicle_pings.is_empty() {
            let paths = super::expand_globs(&self.vehicle_pings)?;
            let range = period
                .map(|p| route::fix_window(p.first, tz).start..route::fix_window(p.last, tz).end);
            let table = read_table(
                &paths,
                &ReadOptions {
                    crs,
                    range,
                    worker: None,
                },
            )?;
            super::check_rows(&table.errors, table.len(), keep_going)?;
            let unknown = table
                .workers
                .iter()
                .filter(|w| fleet.vehicle(&w.0).is_none())
                .count();
            if unknown > 0 {
                eprintln!("warning: {unknown} vehicle id(s) in --vehicle-pings are not in --vehicles; their pings are left out");
            }
            for v in &fleet.vehicles {
                if let Some(w) = table.worker_number(&v.id) {
                    pings.extend(table.pings(w));
                }
            }
        }
        let span = || -> Option<Period> {
            let first = pings.iter().map(|p| p.ts).min()?;
            let last = pings.iter().map(|p| p.ts).max()?;
            let day = |t| crate::track::local_day(t, tz);
            Period::new(day(first), day(last)).ok()
        };
        let days: Vec<NaiveDate> = match period.or_else(span) {
            Some(p) => p.first.iter_days().take_while(|d| *d <= p.last).collect(),
            None => Vec::new(),
        };
        let mut by_vehicle: std::collections::HashMap<&str, Vec<VehicleFix>> =
            std::collections::HashMap::new();
        for p in &pings {
            by_vehicle
                .entry(p.worker.as_str())
                .or_default()
                .push(VehicleFix::of_ping(p));
        }
        let mut out = Vec::new();
        for v in &fleet.vehicles {
            let fixes = by_vehicle.get(&*v.id).map_or(&[][..], Vec::as_slice);
            out.extend(route::vehicle_days(
                &fleet, registry, v, fixes, &days, tz, params,
            ));
        }
        Ok(Some(Vehicles {
            fleet,
            pings,
            days: out,
        }))
    }
}
