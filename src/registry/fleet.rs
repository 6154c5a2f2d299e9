//! The fleet of city-management vehicles (DESIGN.md §5.2): `vehicles.csv` and
//! `routes.geojson`, the planned routes with their schedules, checked against the units of the
//! grid registry.
//!
//! Like the rest of the registry this reads no files: each input is a [`Source`], and every
//! fault is a [`RegistryIssue`] naming the file, the line or feature, and what to fix.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};

use crate::model::{local_midnight_ms, UnitCode, UnixMs};

/// A vehicle (`vehicles.csv`: `vehicle,plate,kind,unit`).
#[derive(Clone, Debug, PartialEq)]
pub struct Vehicle {
    /// The vehicle's id; pings of the vehicle are stored under it, so it may not equal a
    /// worker id.
    pub id: Arc<str>,
    /// Its number plate (e.g. `湘A·12345`).
    pub plate: String,
    /// What it does, e.g. `sweeper`, `washer`, `collector`.
    pub kind: String,
    /// The unit (community, street or district) responsible for it.
    pub unit: UnitCode,
}

/// Which vehicles a route is planned for.
#[derive(Clone, Debug, PartialEq)]
pub enum Assignment {
    /// These vehicles (ids of [`Vehicle`]s).
    Vehicles(Vec<Arc<str>>),
    /// Every vehicle of this kind in the route's unit or below it.
    Kind(String),
}

/// One local time window of a schedule: on the days in `days`, from `start_min` to `end_min`
/// minutes after local midnight. A window whose end is not after its start crosses midnight
/// and belongs to the day it starts on (a night wash from 22:00 to 04:00).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Days of the week it applies to: bit 0 Monday … bit 6 Sunday.
    pub days: u8,
    /// Start, minutes after local midnight (0..1440).
    pub start_min: u16,
    /// End, minutes after local midnight (1..=1440); at or before `start_min`: the next day.
    pub end_min: u16,
}

impl Window {
    /// Whether the window applies to a day with this weekday.
    pub fn on(&self, weekday: chrono::Weekday) -> bool {
        self.days & (1 << weekday.num_days_from_monday()) != 0
    }

    /// Its length in minutes.
    pub fn minutes(&self) -> u32 {
        if self.end_min > self.start_min {
            u32::from(self.end_min - self.start_min)
        } else {
            1440 - u32::from(self.start_min) + u32::from(self.end_min)
        }
    }
}

/// A route's schedule: the local time windows it should be worked in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    /// The windows, in file order.
    pub windows: Vec<Window>,
}

impl Schedule {
    /// Whether the route is scheduled on this local day (some window starts on it).
    pub fn scheduled_on(&self, day: NaiveDate) -> bool {
        self.windows.iter().any(|w| w.on(day.weekday()))
    }

    /// The day's windows as half-open UTC intervals `[from, to)` in ms, in the order of the
    /// schedule: each window that starts on `day`, from its local start to its local end (on
    /// the next day when it crosses midnight). Minutes are counted from the local midnight, so
    /// on a day with a daylight-saving change a window is shifted by the change (China keeps
    /// no daylight-saving time).
    pub fn intervals(&self, day: NaiveDate, tz: chrono_tz::Tz) -> Vec<(UnixMs, UnixMs)> {
        let Some(midnight) = local_midnight_ms(day, tz) else {
            return Vec::new();
        };
        self.windows
            .iter()
            .filter(|w| w.on(day.weekday()))
            .map(|w| {
                let from = midnight + i64::from(w.start_min) * 60_000;
                (from, from + i64::from(w.minutes()) * 60_000)
            })
            .collect()
    }
}

/// A planned route (`routes.geojson`): lines a vehicle must work on scheduled days.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// The route's code.
    pub code: Arc<str>,
    /// Its name.
    pub name: String,
    /// The unit responsible for it.
    pub unit: UnitCode,
    /// The kind of vehicle it is for, e.g. `sweeper`, `washer` (may be empty when
    /// `vehicles` lists them).
    pub kind: String,
    /// Which vehicles it is planned for.
    pub assigned: Assignment,
    /// Its lines in WGS84 (x = lon, y = lat), each of at least two distinct positions.
    pub lines: Vec<Vec<(f64, f64)>>,
    /// When it should be worked.
    pub schedule: Schedule,
    /// Passes required over each piece on a scheduled day.
    pub passes: u32,
    /// The highest speed that counts as working, km/h.
    pub max_work_speed_kmh: f64,
    /// The lowest water pressure that counts as working, where the terminal reports pressure
    /// (MPa).
    pub min_pressure: Option<f64>,
}

/// Vehicles and routes, validated.
#[derive(Clone, Debug, Default)]
pub struct Fleet {
    /// The vehicles, in file order.
    pub vehicles: Vec<Vehicle>,
    /// The routes, in file order.
    pub routes: Vec<Route>,
    vehicle_by_id: HashMap<Arc<str>, usize>,
}

impl Fleet {
    /// Loads and validates `vehicles.csv` and `routes.geojson` against the grid registry
    /// (units, worker ids); `crs` overrides the routes file's `crs` member.
    ///
    /// # Errors
    /// Every fault of either file, each naming its file and line or feature.
    pub fn from_sources(
        vehicles: Option<super::Source<'_>>,
        routes: Option<super::Source<'_>>,
        registry: &super::Registry,
        crs: Option<crate::model::Crs>,
    ) -> Result<Fleet, super::RegistryError> {
        super::load::fleet::load_fleet(vehicles, routes, registry, crs)
    }

    /// A fleet of these vehicles and routes (already valid).
    pub fn new(vehicles: Vec<Vehicle>, routes: Vec<Route>) -> Fleet {
        let vehicle_by_id = vehicles
            .iter()
            .enumerate()
            .map(|(i, v)| (v.id.clone(), i))
            .collect();
        Fleet {
            vehicles,
            routes,
            vehicle_by_id,
        }
    }

    /// The vehicle with this id.
    pub fn vehicle(&self, id: &str) -> Option<&Vehicle> {
        self.vehicle_by_id.get(id).map(|&i| &self.vehicles[i])
    }

    /// The routes planned for a vehicle: those naming it, and those of its kind whose unit is
    /// the vehicle's unit or above it (`is_within(vehicle unit, route unit)`).
    pub fn routes_of<'a>(
        &'a self,
        vehicle: &'a Vehicle,
        registry: &'a super::Registry,
    ) -> impl Iterator<Item = &'a Route> + 'a {
        self.routes.iter().filter(move |r| match &r.assigned {
            Assignment::Vehicles(ids) => ids.contains(&vehicle.id),
            Assignment::Kind(kind) => {
                *kind == vehicle.kind
                    && match (
                        registry.unit_index(&vehicle.unit.0),
                        registry.unit_index(&r.unit.0),
                    ) {
                        (Some(v), Some(u)) => registry.is_within(v, u),
                        _ => false,
                    }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_that_crosses_midnight_belongs_to_the_day_it_starts_on() {
        let night = Window {
            days: 0b001_1111, // Monday to Friday
            start_min: 22 * 60,
            end_min: 4 * 60,
        };
        assert_eq!(night.minutes(), 6 * 60);
        let schedule = Schedule {
            windows: vec![night],
        };
        let friday = NaiveDate::from_ymd_opt(2026, 10, 9).unwrap();
        let saturday = friday.succ_opt().unwrap();
        assert!(schedule.scheduled_on(friday));
        assert!(!schedule.scheduled_on(saturday));
        let tz = chrono_tz::Asia::Shanghai;
        // Friday 22:00 +08:00 is 14:00 UTC; the window ends Saturday 04:00 +08:00.
        let from = chrono::DateTime::parse_from_rfc3339("2026-10-09T22:00:00+08:00")
            .unwrap()
            .timestamp_millis();
        let to = chrono::DateTime::parse_from_rfc3339("2026-10-10T04:00:00+08:00")
            .unwrap()
            .timestamp_millis();
        assert_eq!(schedule.intervals(friday, tz), vec![(from, to)]);
        assert!(schedule.intervals(saturday, tz).is_empty());
    }
}
