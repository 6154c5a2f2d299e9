//! The stored form of a worker-day summary: complete (coverage masks, visits, fingerprint,
//! path, carry), compact (postcard; masks as runs of words; paths and fingerprints as
//! centimetre deltas), and keyed by **codes**, never by positions in a registry list, so adding
//! a grid or a checkpoint can never re-point a stored figure. It records its [`Basis`] (engine
//! version and parameters, registry digests) and the worker's assignment, so a stale summary is
//! found and recomputed rather than trusted.

use serde::{Deserialize, Serialize};

use super::day::{round7, StayRecord, WorkerDay};
use super::{AssessError, Assessor, Basis};
use crate::anomaly::Fingerprint;
use crate::coverage::mask::MaskRepr;
use crate::coverage::{CoverageMask, GridCoverage};
use crate::model::{UnixMs, WorkerId};
use crate::track::{Carry, DropCounts};
use crate::visits::{OutOfGridEpisode, Via, Visit};

/// The version of the stored layout below.
const FORMAT: u16 = 2;

/// Why a decoded summary no longer matches the engine's current basis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Staleness {
    /// Computed by another engine version or with other parameters.
    Params,
    /// The grids (codes or polygons) changed.
    Grids,
    /// The checkpoints changed.
    Checkpoints,
    /// The worker's assigned grids changed.
    Assignment,
}

/// A decoded summary and whether it is stale.
#[derive(Clone, Debug)]
pub struct Restored {
    /// The summary, with grid and checkpoint ids of the current registry.
    pub day: WorkerDay,
    /// Why it must be recomputed; empty when it is current.
    pub stale: Vec<Staleness>,
}

/// A fingerprint's day, start and samples (as position deltas).
type StoredFingerprint = (chrono::NaiveDate, UnixMs, Vec<Option<(i64, i64)>>);

#[derive(Serialize, Deserialize)]
struct StoredDay {
    format: u16,
    basis: Basis,
    assigned: Vec<String>,
    worker: String,
    day: chrono::NaiveDate,
    pings: u32,
    accepted: u32,
    dropped: DropCounts,
    mock_pings: u32,
    segments: u32,
    segments_started: u32,
    patrol_s: f64,
    length_m: f64,
    first_fix: UnixMs,
    last_fix: UnixMs,
    gap_s: f64,
    stays: Vec<StayRecord>,
    grid_s: Vec<(String, f64)>,
    outside_s: f64,
    in_assigned_s: f64,
    outside_assigned_s: f64,
    out_of_grid: Vec<(UnixMs, UnixMs, Option<String>)>,
    out_of_grid_s: f64,
    coverage: Vec<(String, MaskRepr)>,
    visits: Vec<(String, UnixMs, UnixMs, Via)>,
    /// Rejected check-ins and flags are rare and carry tagged evidence: JSON.
    rejected_json: String,
    anomalies_json: String,
    fingerprint: Option<StoredFingerprint>,
    path: Vec<Vec<(i64, i64)>>,
    carry: Option<Carry>,
}

fn to_units(x: f64) -> i64 {
    (round7(x) * 1e7).round() as i64
}

fn from_units(n: i64) -> f64 {
    n as f64 / 1e7
}

/// Positions as deltas in 1e-7° from the previous one (lossless for positions rounded to 1e-7°).
fn encode_positions(points: impl Iterator<Item = Option<(f64, f64)>>) -> Vec<Option<(i64, i64)>> {
    let mut prev = (0i64, 0i64);
    points
        .map(|p| {
            p.map(|(x, y)| {
                let (ux, uy) = (to_units(x), to_units(y));
                let d = (ux - prev.0, uy - prev.1);
                prev = (ux, uy);
                d
            })
        })
        .collect()
}

fn decode_positions(deltas: &[Option<(i64, i64)>]) -> Vec<Option<(f64, f64)>> {
    let mut prev = (0i64, 0i64);
    deltas
        .iter()
        .map(|d| {
            d.map(|(dx, dy)| {
                prev = (prev.0 + dx, prev.1 + dy);
                (from_units(prev.0), from_units(prev.1))
            })
        })
        .collect()
}

impl Assessor {
    /// Encodes a summary computed by this assessor into its stored form.
    pub fn encode(&self, d: &WorkerDay) -> Vec<u8> {
        let reg = &self.registry;
        let grid_code = |g: u32| reg.grid(g).map_or(String::new(), |x| x.code.to_string());
        let cp_code = |c: usize| {
            reg.checkpoints
                .get(c)
                .map_or(String::new(), |x| x.code.clone())
        };
        let stored = StoredDay {
            format: FORMAT,
            basis: self.basis.clone(),
            assigned: self
                .assigned(&d.worker)
                .iter()
                .map(|&g| grid_code(g))
                .collect(),
            worker: d.worker.to_string(),
            day: d.day,
            pings: d.pings,
            accepted: d.accepted,
            dropped: d.dropped,
            mock_pings: d.mock_pings,
            segments: d.segments,
            segments_started: d.segments_started,
            patrol_s: d.patrol_s,
            length_m: d.length_m,
            first_fix: d.first_fix,
            last_fix: d.last_fix,
            gap_s: d.gap_s,
            stays: d.stays.clone(),
            grid_s: d.grid_s.iter().map(|(&g, &s)| (grid_code(g), s)).collect(),
            outside_s: d.outside_s,
            in_assigned_s: d.in_assigned_s,
            outside_assigned_s: d.outside_assigned_s,
            out_of_grid: d
                .out_of_grid
                .iter()
                .map(|e| (e.start, e.end, e.grid.map(grid_code)))
                .collect(),
            out_of_grid_s: d.out_of_grid_s,
            coverage: d
                .coverage
                .iter()
                .map(|(g, m)| (grid_code(g), MaskRepr::from(m.clone())))
                .collect(),
            visits: d
                .visits
                .iter()
                .map(|v| (cp_code(v.checkpoint), v.start, v.end, v.via))
                .collect(),
            rejected_json: serde_json::to_string(&d.rejected_checkins).unwrap_or_default(),
            anomalies_json: serde_json::to_string(&d.anomalies).unwrap_or_default(),
            fingerprint: d.fingerprint.as_ref().map(|fp| {
                (
                    fp.day,
                    fp.start,
                    encode_positions(fp.samples.iter().copied()),
                )
            }),
            path: d
                .path
                .iter()
                .map(|line| {
                    encode_positions(line.iter().map(|&p| Some(p)))
                        .into_iter()
                        .flatten()
                        .collect()
                })
                .collect(),
            carry: d.carry,
        };
        postcard::to_allocvec(&stored).unwrap_or_default()
    }

    /// Decodes a stored summary against this assessor's registry: grids and checkpoints are
    /// found by code, and the summary is reported stale where its basis differs.
    ///
    /// # Errors
    /// [`AssessError::BadSummary`] when the bytes are not a stored summary of this format;
    /// [`AssessError::UnknownCode`] when it names a grid or checkpoint the registry lacks (it
    /// must be recomputed).
    pub fn decode(&self, bytes: &[u8]) -> Result<Restored, AssessError> {
        let s: StoredDay = postcard::from_bytes(bytes).map_err(|e| AssessError::BadSummary {
            reason: e.to_string(),
        })?;
        if s.format != FORMAT {
            return Err(AssessError::BadSummary {
                reason: format!("format {} (this engine reads {FORMAT})", s.format),
            });
        }
        let reg = &self.registry;
        let grid = |code: &str| {
            reg.grid_by_code(code)
                .ok_or_else(|| AssessError::UnknownCode {
                    what: "grid",
                    code: code.to_string(),
                })
        };
        let worker = WorkerId::new(&s.worker);
        let mut stale = Vec::new();
        if s.basis.params != self.basis.params {
            stale.push(Staleness::Params);
        }
        if s.basis.grids != self.basis.grids {
            stale.push(Staleness::Grids);
        }
        if s.basis.checkpoints != self.basis.checkpoints {
            stale.push(Staleness::Checkpoints);
        }
        let assigned_now: Vec<String> = self
            .assigned(&worker)
            .iter()
            .filter_map(|&g| reg.grid(g).map(|x| x.code.to_string()))
            .collect();
        if assigned_now != s.assigned {
            stale.push(Staleness::Assignment);
        }
        let mut coverage = GridCoverage::new();
        for (code, repr) in s.coverage {
            coverage.insert_union(grid(&code)?, &CoverageMask::from(repr));
        }
        let mut grid_s = std::collections::BTreeMap::new();
        for (code, secs) in s.grid_s {
            grid_s.insert(grid(&code)?, secs);
        }
        let out_of_grid = s
            .out_of_grid
            .into_iter()
            .map(|(start, end, g)| {
                Ok(OutOfGridEpisode {
                    start,
                    end,
                    grid: g.as_deref().map(grid).transpose()?,
                })
            })
            .collect::<Result<Vec<_>, AssessError>>()?;
        let visits = s
            .visits
            .into_iter()
            .map(|(code, start, end, via)| {
                let checkpoint = reg
                    .checkpoints
                    .iter()
                    .position(|c| c.code == code)
                    .ok_or_else(|| AssessError::UnknownCode {
                        what: "checkpoint",
                        code: code.clone(),
                    })?;
                Ok(Visit {
                    checkpoint,
                    worker: worker.clone(),
                    start,
                    end,
                    via,
                })
            })
            .collect::<Result<Vec<_>, AssessError>>()?;
        let bad = |e: serde_json::Error| AssessError::BadSummary {
            reason: e.to_string(),
        };
        let day = WorkerDay {
            worker: worker.clone(),
            day: s.day,
            pings: s.pings,
            accepted: s.accepted,
            dropped: s.dropped,
            mock_pings: s.mock_pings,
            segments: s.segments,
            segments_started: s.segments_started,
            patrol_s: s.patrol_s,
            length_m: s.length_m,
            first_fix: s.first_fix,
            last_fix: s.last_fix,
            gap_s: s.gap_s,
            stays: s.stays,
            grid_s,
            outside_s: s.outside_s,
            in_assigned_s: s.in_assigned_s,
            outside_assigned_s: s.outside_assigned_s,
            out_of_grid,
            out_of_grid_s: s.out_of_grid_s,
            coverage,
            visits,
            rejected_checkins: serde_json::from_str(&s.rejected_json).map_err(bad)?,
            anomalies: serde_json::from_str(&s.anomalies_json).map_err(bad)?,
            fingerprint: s.fingerprint.map(|(day, start, samples)| Fingerprint {
                day,
                start,
                samples: decode_positions(&samples),
            }),
            path: s
                .path
                .iter()
                .map(|line| {
                    let opts: Vec<Option<(i64, i64)>> = line.iter().map(|&d| Some(d)).collect();
                    decode_positions(&opts).into_iter().flatten().collect()
                })
                .collect(),
            carry: s.carry,
        };
        Ok(Restored { day, stale })
    }
}
