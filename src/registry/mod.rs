//! The grid registry (DESIGN.md §5.2): units, grids, workers and checkpoints, loaded and
//! validated from GeoJSON and CSV text, with the R-tree point locator of §4.5.
//!
//! This is an engine module: it reads no files. The caller passes each input as a [`Source`]
//! (its text and a name for messages); every problem found is a [`RegistryIssue`] that names the
//! file, the feature or line, and the fault. Loading collects all problems: by default any error
//! fails the load and lists every error; with [`LoadOptions::keep_going`] bad features and rows
//! are skipped together with whatever depends on them, and reported in [`Registry::rejected`].
//!
//! Coordinates are stored in WGS84, x = lon, y = lat; GCJ-02 and BD-09 input is converted on the
//! way in (a `crs` member of the file, or [`LoadOptions::crs`] which overrides it).
//!
//! What replacing one of the files makes stale is decided here too ([`affected`]), so every
//! store and door invalidates the same summaries.

mod change;
mod fleet;
mod index;
mod issue;
mod load;

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::{Crs, Level, UnitCode, WorkerId};

pub use change::{affected, Affected, RegistryFile};
pub use fleet::{Assignment, Fleet, Route, Schedule, Vehicle, Window};
pub use index::{GridIndex, Locator, PointPosition};
pub use issue::{Fault, Place, RegistryError, RegistryIssue};

/// The index of a grid in [`Registry::grids`]; grids are sorted by code, so ids order as codes.
pub type GridId = u32;

/// Overlaps between grids smaller than this are floating-point noise, not warnings; m².
pub const OVERLAP_TOLERANCE_M2: f64 = 1.0;
/// Grids smaller than this are reported as slivers; m².
pub const SLIVER_MAX_AREA_M2: f64 = 100.0;
/// Grids less compact than this (4πA/P²; a 1 : 60 rectangle has 0.05) are reported as slivers.
pub const SLIVER_MIN_COMPACTNESS: f64 = 0.05;

/// One input text and the name (usually the file name) used in messages about it.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// Name shown in messages, e.g. `grids.geojson`.
    pub name: &'a str,
    /// The whole text of the input.
    pub text: &'a str,
}

impl<'a> Source<'a> {
    /// Pairs a text with its name.
    pub fn new(name: &'a str, text: &'a str) -> Self {
        Source { name, text }
    }
}

/// How to load a registry.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadOptions {
    /// The CRS of the coordinates; overrides the files' `crs` members (default: the member, else
    /// WGS84).
    pub crs: Option<Crs>,
    /// Skip bad features and rows (and their dependents) instead of failing the load.
    pub keep_going: bool,
}

/// A node of the administrative hierarchy (city → district → street → community → grid).
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    /// The unit's code.
    pub code: UnitCode,
    /// Its name.
    pub name: String,
    /// Its level.
    pub level: Level,
    /// Index of the parent in [`Registry::units`]; `None` for a root.
    pub parent: Option<usize>,
}

/// A grid: a leaf unit with its polygon.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// The grid's code.
    pub code: UnitCode,
    /// Its name.
    pub name: String,
    /// Index of the grid's own entry in [`Registry::units`].
    pub unit: usize,
    /// Its polygon in WGS84 (x = lon, y = lat).
    pub polygon: geo::MultiPolygon<f64>,
    /// Its area on the WGS84 ellipsoid, m².
    pub area_m2: f64,
    /// Its bounding box, degrees.
    pub bbox: geo::Rect<f64>,
}

/// A grid worker and the grids they are assigned to.
#[derive(Clone, Debug, PartialEq)]
pub struct Worker {
    /// The worker's id.
    pub id: WorkerId,
    /// The worker's name (from the first row that names them).
    pub name: String,
    /// Assigned grids, in the order of the rows.
    pub grids: Vec<GridId>,
}

/// A place that must be visited a number of times per month (DESIGN.md §2, §4.7).
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The checkpoint's code, as check-in events name it.
    pub code: String,
    /// Its name.
    pub name: String,
    /// The grid it belongs to.
    pub grid: GridId,
    /// What it is, e.g. `household` or `key_site`.
    pub kind: String,
    /// Required visits per month.
    pub visits_per_month: u32,
    /// Longitude, degrees WGS84.
    pub lon: f64,
    /// Latitude, degrees WGS84.
    pub lat: f64,
}

/// Units, grids, workers and checkpoints, validated and indexed.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    /// Every accepted unit, grids included, in file order.
    pub units: Vec<Unit>,
    /// The grids, sorted by code; a [`GridId`] indexes this.
    pub grids: Vec<Grid>,
    /// The workers, in order of first appearance.
    pub workers: Vec<Worker>,
    /// The checkpoints, in file order.
    pub checkpoints: Vec<Checkpoint>,
    /// The point locator over [`Registry::grids`].
    pub index: GridIndex,
    /// Warnings (overlaps, slivers, …): the registry is usable, but the input deserves a look.
    pub warnings: Vec<RegistryIssue>,
    /// Errors skipped in keep-going mode, including the dependents skipped with them.
    pub rejected: Vec<RegistryIssue>,
    unit_by_code: HashMap<Arc<str>, usize>,
    grid_by_code: HashMap<Arc<str>, GridId>,
    worker_by_id: HashMap<Arc<str>, usize>,
    checkpoint_by_code: HashMap<String, usize>,
    /// Feature index of each checkpoint, for duplicate-code messages.
    checkpoint_features: Vec<usize>,
}

impl Registry {
    /// Loads and validates a registry from the grid hierarchy and, optionally, the workers CSV
    /// and the checkpoints GeoJSON.
    ///
    /// # Errors
    /// Without `keep_going`, a [`RegistryError`] listing every error in every source. With
    /// `keep_going`, only when the grids source cannot be read at all (not JSON, no
    /// `features`); other errors are skipped and listed in [`Registry::rejected`].
    pub fn from_sources(
        grids: Source<'_>,
        workers: Option<Source<'_>>,
        checkpoints: Option<Source<'_>>,
        opts: &LoadOptions,
    ) -> Result<Registry, RegistryError> {
        load::load(grids, workers, checkpoints, opts)
    }

    /// The unit with this code.
    pub fn unit(&self, code: &str) -> Option<&Unit> {
        self.unit_by_code.get(code).map(|&i| &self.units[i])
    }

    /// The id of the grid with this code.
    pub fn grid_by_code(&self, code: &str) -> Option<GridId> {
        self.grid_by_code.get(code).copied()
    }

    /// The grid with this id.
    pub fn grid(&self, id: GridId) -> Option<&Grid> {
        self.grids.get(id as usize)
    }

    /// The index of the unit with this code in [`Registry::units`].
    pub fn unit_index(&self, code: &str) -> Option<usize> {
        self.unit_by_code.get(code).copied()
    }

    /// A unit and then each unit above it, up to its root (indices into
    /// [`Registry::units`]). At most as many steps as there are units, so a cycle in bad data
    /// cannot loop forever.
    pub fn ancestors(&self, unit: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(Some(unit), |&i| self.units.get(i).and_then(|u| u.parent))
            .take(self.units.len())
    }

    /// Whether `unit` is `ancestor` or lies below it (indices into [`Registry::units`]): the
    /// one test of "this unit is under that one".
    pub fn is_within(&self, unit: usize, ancestor: usize) -> bool {
        self.ancestors(unit).any(|i| i == ancestor)
    }

    /// The unit at `level` above (or at) a grid, e.g. its community or street.
    pub fn ancestor(&self, grid: GridId, level: Level) -> Option<&Unit> {
        self.ancestors(self.grid(grid)?.unit)
            .map(|i| &self.units[i])
            .find(|u| u.level == level)
    }

    /// The grids in the subtree of the unit with this code (the grid itself for a grid code),
    /// in code order; empty for an unknown code.
    pub fn grids_in_subtree(&self, code: &str) -> Vec<GridId> {
        let Some(&root) = self.unit_by_code.get(code) else {
            return Vec::new();
        };
        (0..self.grids.len() as GridId)
            .filter(|&g| self.is_within(self.grids[g as usize].unit, root))
            .collect()
    }

    /// For each unit (indices into [`Registry::units`]), the grids among `grids` that lie in
    /// its subtree, in the order given: a grid is listed under its own unit and every unit
    /// above it, by one walk up from each grid (the units layer and the report's roll-up both
    /// group grids so).
    pub fn grids_by_unit(&self, grids: &[GridId]) -> Vec<Vec<GridId>> {
        let mut under: Vec<Vec<GridId>> = vec![Vec::new(); self.units.len()];
        for &g in grids {
            let Some(grid) = self.grid(g) else {
                continue;
            };
            for i in self.ancestors(grid.unit) {
                if let Some(list) = under.get_mut(i) {
                    list.push(g);
                }
            }
        }
        under
    }

    /// The worker with this id.
    pub fn worker(&self, id: &str) -> Option<&Worker> {
        self.worker_by_id.get(id).map(|&i| &self.workers[i])
    }

    /// The checkpoint with this code.
    pub fn checkpoint(&self, code: &str) -> Option<&Checkpoint> {
        self.checkpoint_by_code
            .get(code)
            .map(|&i| &self.checkpoints[i])
    }

    /// The grid containing (lon, lat) in WGS84 by the rule of DESIGN.md §4.5 (see
    /// [`GridIndex::locate`]).
    pub fn locate(&self, lon: f64, lat: f64) -> Option<GridId> {
        self.index.locate(lon, lat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, level: Level, parent: Option<usize>) -> Unit {
        Unit {
            code: UnitCode(code.into()),
            name: code.to_string(),
            level,
            parent,
        }
    }

    #[test]
    fn is_within_walks_up_and_stops_on_a_cycle() {
        // A child listed before its parent: file order says nothing.
        let mut reg = Registry {
            units: vec![
                unit("g1", Level::Grid, Some(2)),
                unit("city", Level::City, None),
                unit("c1", Level::Community, Some(1)),
                unit("c2", Level::Community, Some(1)),
            ],
            ..Registry::default()
        };
        assert!(reg.is_within(0, 0));
        assert!(reg.is_within(0, 2));
        assert!(reg.is_within(0, 1));
        assert!(!reg.is_within(0, 3));
        assert!(!reg.is_within(1, 0));
        assert_eq!(reg.ancestors(0).collect::<Vec<_>>(), [0, 2, 1]);
        // Bad data: a cycle between two units ends after as many steps as there are units.
        reg.units[3].parent = Some(3);
        assert!(!reg.is_within(3, 1));
    }
}
