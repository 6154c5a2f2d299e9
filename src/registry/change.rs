//! What replacing one registry file makes stale (DESIGN.md §5.2, §6): the rule every store and
//! every door applies when a file is replaced, so a figure computed on the old registry is
//! recomputed exactly when the new one could change it.
//!
//! - new **grids** or **checkpoints** change every summary (in-grid time, coverage and visits
//!   are all measured against them);
//! - new **workers** change the summaries of the workers whose assigned grids differ, compared
//!   by grid **code** (a grid added elsewhere re-numbers [`super::GridId`]s but changes nobody's
//!   assignment);
//! - new **devices** change nothing stored: the map says only where future pings go;
//! - new **vehicles** or **routes** change no worker-day summary.

use super::Registry;

/// The registry files a service keeps (DESIGN.md §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegistryFile {
    /// `grids.geojson`.
    Grids,
    /// `workers.csv`.
    Workers,
    /// `checkpoints.geojson`.
    Checkpoints,
    /// `devices.csv`.
    Devices,
    /// `vehicles.csv`.
    Vehicles,
    /// `routes.geojson`.
    Routes,
}

impl RegistryFile {
    /// Every file: the grid registry's four, then the fleet's (a service validates them
    /// together, so the order is only the order of listings and copies).
    pub const ALL: [RegistryFile; 6] = [
        RegistryFile::Grids,
        RegistryFile::Workers,
        RegistryFile::Checkpoints,
        RegistryFile::Devices,
        RegistryFile::Vehicles,
        RegistryFile::Routes,
    ];

    /// The name in URLs and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            RegistryFile::Grids => "grids",
            RegistryFile::Workers => "workers",
            RegistryFile::Checkpoints => "checkpoints",
            RegistryFile::Devices => "devices",
            RegistryFile::Vehicles => "vehicles",
            RegistryFile::Routes => "routes",
        }
    }

    /// The file of a URL segment.
    pub fn parse(name: &str) -> Option<RegistryFile> {
        RegistryFile::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// The media type of the file's content.
    pub fn media_type(self) -> &'static str {
        match self {
            RegistryFile::Grids | RegistryFile::Checkpoints | RegistryFile::Routes => {
                "application/geo+json"
            }
            RegistryFile::Workers | RegistryFile::Devices | RegistryFile::Vehicles => {
                "text/csv; charset=utf-8"
            }
        }
    }
}

/// Which stored summaries a change makes stale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Affected {
    /// None (e.g. a device mapping: it changes only where future pings go).
    Nothing,
    /// These workers' days (sorted, each once).
    Workers(Vec<String>),
    /// Every worker-day.
    Everything,
}

/// What replacing `file` makes stale, `old` being the registry before and `new` the registry
/// after: new grids or checkpoints change every summary; new assignments change the workers
/// (of either registry) whose assigned grid codes differ, in row order; devices change only
/// where future pings go.
pub fn affected(old: &Registry, new: &Registry, file: RegistryFile) -> Affected {
    match file {
        RegistryFile::Grids | RegistryFile::Checkpoints => Affected::Everything,
        // Vehicles and routes change no worker-day; devices change only where future pings go.
        RegistryFile::Devices | RegistryFile::Vehicles | RegistryFile::Routes => Affected::Nothing,
        RegistryFile::Workers => {
            let mut ids: Vec<&str> = old
                .workers
                .iter()
                .chain(&new.workers)
                .map(|w| w.id.as_str())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            Affected::Workers(
                ids.into_iter()
                    .filter(|id| assigned_codes(old, id) != assigned_codes(new, id))
                    .map(str::to_string)
                    .collect(),
            )
        }
    }
}

/// The codes of a worker's assigned grids, in row order (none for a worker not listed).
fn assigned_codes<'a>(registry: &'a Registry, id: &str) -> Vec<&'a str> {
    registry
        .worker(id)
        .map(|w| {
            w.grids
                .iter()
                .filter_map(|g| registry.grid(*g).map(|g| g.code.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{UnitCode, WorkerId};
    use crate::registry::{Grid, GridId, Worker};

    /// A registry of these grid codes (ids in the order given, as a sorted file gives them) and
    /// workers, each with the codes of their grids; no polygons, nothing else.
    fn registry(grids: &[&str], workers: &[(&str, &[&str])]) -> Registry {
        let mut r = Registry::default();
        for (i, code) in grids.iter().enumerate() {
            r.grids.push(Grid {
                code: UnitCode((*code).into()),
                name: (*code).to_string(),
                unit: i,
                polygon: geo::MultiPolygon(Vec::new()),
                area_m2: 0.0,
                bbox: geo::Rect::new((0.0, 0.0), (0.0, 0.0)),
            });
            r.grid_by_code.insert((*code).into(), i as GridId);
        }
        for (i, (id, codes)) in workers.iter().enumerate() {
            let grids = codes
                .iter()
                .map(|c| grids.iter().position(|g| g == c).unwrap() as GridId)
                .collect();
            r.workers.push(Worker {
                id: WorkerId::new(id),
                name: (*id).to_string(),
                grids,
            });
            r.worker_by_id.insert((*id).into(), i);
        }
        r
    }

    fn workers(ids: &[&str]) -> Affected {
        Affected::Workers(ids.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn grids_and_checkpoints_affect_everything_and_devices_nothing() {
        let r = registry(&["g1"], &[("w1", &["g1"])]);
        let empty = Registry::default();
        // Whatever the two registries are, even the same one.
        for (old, new) in [(&r, &r), (&empty, &r), (&r, &empty)] {
            assert_eq!(
                affected(old, new, RegistryFile::Grids),
                Affected::Everything
            );
            assert_eq!(
                affected(old, new, RegistryFile::Checkpoints),
                Affected::Everything
            );
            assert_eq!(affected(old, new, RegistryFile::Devices), Affected::Nothing);
        }
    }

    #[test]
    fn workers_affect_those_whose_grid_codes_differ() {
        let old = registry(
            &["g1", "g2", "g3"],
            &[
                ("w1", &["g1"]),       // kept as is
                ("w2", &["g2"]),       // moved to g3
                ("w3", &["g1", "g2"]), // gone from the file
                ("w5", &["g2", "g3"]), // the same grids in another row order
                ("w6", &["g3"]),       // gains a grid
            ],
        );
        let new = registry(
            &["g1", "g2", "g3"],
            &[
                ("w6", &["g3", "g1"]),
                ("w4", &["g1"]), // new in the file
                ("w2", &["g3"]),
                ("w1", &["g1"]),
                ("w5", &["g3", "g2"]),
            ],
        );
        // Sorted by id, each once; w1 alone is untouched (its row moved, its grids did not).
        assert_eq!(
            affected(&old, &new, RegistryFile::Workers),
            workers(&["w2", "w3", "w4", "w5", "w6"])
        );
        // Back again: the same workers.
        assert_eq!(
            affected(&new, &old, RegistryFile::Workers),
            workers(&["w2", "w3", "w4", "w5", "w6"])
        );
    }

    #[test]
    fn workers_are_compared_by_grid_code_not_by_grid_id() {
        // A grid "g0" sorts first in the new registry: every id moves up by one, but w1 still
        // patrols g2 and w2 still g3.
        let old = registry(&["g2", "g3"], &[("w1", &["g2"]), ("w2", &["g3"])]);
        let new = registry(&["g0", "g2", "g3"], &[("w1", &["g2"]), ("w2", &["g3"])]);
        assert_eq!(old.worker("w1").unwrap().grids, [0]);
        assert_eq!(new.worker("w1").unwrap().grids, [1]);
        assert_eq!(affected(&old, &new, RegistryFile::Workers), workers(&[]));
        // A worker whose grid id stays 0 but now means g0 is affected.
        let moved = registry(&["g0", "g2", "g3"], &[("w1", &["g0"]), ("w2", &["g3"])]);
        assert_eq!(
            affected(&old, &moved, RegistryFile::Workers),
            workers(&["w1"])
        );
    }

    #[test]
    fn a_first_workers_file_affects_every_worker_with_grids() {
        let old = registry(&["g1"], &[]);
        let new = registry(&["g1"], &[("w2", &["g1"]), ("w1", &["g1"])]);
        assert_eq!(
            affected(&old, &new, RegistryFile::Workers),
            workers(&["w1", "w2"])
        );
    }

    #[test]
    fn registry_files_round_trip_through_their_names() {
        for f in RegistryFile::ALL {
            assert_eq!(RegistryFile::parse(f.as_str()), Some(f));
        }
        assert_eq!(RegistryFile::parse("grid"), None);
        assert_eq!(
            RegistryFile::Workers.media_type(),
            "text/csv; charset=utf-8"
        );
        assert_eq!(RegistryFile::Grids.media_type(), "application/geo+json");
    }
}
