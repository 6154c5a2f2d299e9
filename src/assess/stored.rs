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

/// The positions of [`encode_positions`]' deltas; deltas that overflow (a corrupted summary)
/// are an error.
fn decode_positions(deltas: &[Option<(i64, i64)>]) -> Result<Vec<Option<(f64, f64)>>, AssessError> {
    let mut prev = (0i64, 0i64);
    deltas
        .iter()
        .map(|d| {
            d.map(|(dx, dy)| {
                prev = prev
                    .0
                    .checked_add(dx)
                    .zip(prev.1.checked_add(dy))
                    .ok_or_else(|| AssessError::BadSummary {
                        reason: "a position delta overflows".into(),
                    })?;
                Ok((from_units(prev.0), from_units(prev.1)))
            })
            .transpose()
        })
        .collect()
}

/// A stored mask on a raster of `words` words. One that reaches past the raster is corrupt
/// (`None`) when the summary was computed on the current grids and parameters; on others the
/// raster changed, the summary is stale and its mask is cut to the current raster (its bits
/// are only shown until the day is recomputed).
fn bounded_mask(repr: MaskRepr, words: usize, current: bool) -> Option<CoverageMask> {
    let fits = |start: u32, run: &[u64]| {
        (start as usize)
            .checked_add(run.len())
            .is_some_and(|end| end <= words)
    };
    if repr.len as usize <= words && repr.runs.iter().all(|(s, run)| fits(*s, run)) {
        return Some(CoverageMask::from(repr));
    }
    if current {
        return None;
    }
    let runs = repr
        .runs
        .into_iter()
        .filter(|(start, _)| (*start as usize) < words)
        .map(|(start, mut run)| {
            run.truncate(words - start as usize);
            (start, run)
        })
        .collect();
    Some(CoverageMask::from(MaskRepr {
        len: repr.len.min(u32::try_from(words).unwrap_or(u32::MAX)),
        runs,
    }))
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
        // Masks are bounded by their grid's raster, so a corrupted length cannot allocate more.
        let current = s.basis.params == self.basis.params && s.basis.grids == self.basis.grids;
        let mut coverage = GridCoverage::new();
        for (code, repr) in s.coverage {
            let g = grid(&code)?;
            let words = self.coverage.raster(g).map_or(0, |r| r.len_words());
            let mask =
                bounded_mask(repr, words, current).ok_or_else(|| AssessError::BadSummary {
                    reason: format!("the coverage mask of grid {code} is longer than its raster"),
                })?;
            coverage.insert_union(g, &mask);
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
            fingerprint: s
                .fingerprint
                .map(|(day, start, samples)| {
                    Ok::<_, AssessError>(Fingerprint {
                        day,
                        start,
                        samples: decode_positions(&samples)?,
                    })
                })
                .transpose()?,
            path: s
                .path
                .iter()
                .map(|line| {
                    let opts: Vec<Option<(i64, i64)>> = line.iter().map(|&d| Some(d)).collect();
                    Ok(decode_positions(&opts)?.into_iter().flatten().collect())
                })
                .collect::<Result<_, AssessError>>()?,
            carry: s.carry,
        };
        Ok(Restored { day, stale })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::assess::Params;
    use crate::config::Config;
    use crate::model::Ping;
    use crate::registry::Registry;
    use crate::track::CleanMode;

    /// A stored summary of two pings of one worker, taken apart.
    fn stored_day(assessor: &Assessor) -> StoredDay {
        let w = WorkerId::new("w");
        let ping = |ts: UnixMs, lon: f64| Ping {
            worker: w.clone(),
            ts,
            lon,
            lat: 28.2,
            acc_m: Some(5.0),
            speed_mps: None,
            bearing_deg: None,
            alt_m: None,
            batt_pct: None,
            mock: false,
            checkin: None,
            received: None,
            ..Ping::new(w.clone(), ts, lon, 28.2)
        };
        let pings = [
            ping(1_791_423_000_000, 112.98),
            ping(1_791_423_030_000, 112.9801),
        ];
        let days = assessor.summarize_worker(&w, &pings);
        let blob = assessor.encode(&days[0]);
        postcard::from_bytes(&blob).unwrap()
    }

    #[test]
    fn overflowing_position_deltas_are_a_bad_summary_not_a_panic() {
        // Found by fuzzing (fuzz/corpus/stored_summary): a corrupted path made the delta sum
        // overflow i64.
        let assessor = Assessor::new(
            Arc::new(Registry::default()),
            Params::new(Config::default(), CleanMode::Full),
        );
        let mut s = stored_day(&assessor);
        assert!(assessor.decode(&postcard::to_allocvec(&s).unwrap()).is_ok());
        s.path = vec![vec![(i64::MAX, 0), (1, 0)]];
        let e = assessor
            .decode(&postcard::to_allocvec(&s).unwrap())
            .unwrap_err();
        assert!(matches!(e, AssessError::BadSummary { .. }), "{e}");
        let mut s = stored_day(&assessor);
        s.fingerprint = Some((s.day, 0, vec![Some((0, i64::MIN)), None, Some((0, -1))]));
        let e = assessor
            .decode(&postcard::to_allocvec(&s).unwrap())
            .unwrap_err();
        assert!(matches!(e, AssessError::BadSummary { .. }), "{e}");
    }

    #[test]
    fn a_coverage_mask_longer_than_its_raster_is_a_bad_summary() {
        // A corrupted mask length (up to 2^32 words, 32 GiB) was allocated as it came.
        let assessor = crate::fuzz::sample_assessor();
        let text: String = crate::cli::demo::sample::PINGS
            .lines()
            .take(200)
            .collect::<Vec<_>>()
            .join("\n");
        let pings =
            crate::ingest::csv::read_pings(text.as_bytes(), "p.csv", crate::model::Crs::Wgs84)
                .unwrap()
                .pings;
        let w = pings[0].worker.clone();
        let mine: Vec<Ping> = pings.into_iter().filter(|p| p.worker == w).collect();
        let day = &assessor.summarize_worker(&w, &mine)[0];
        let blob = assessor.encode(day);
        let s: StoredDay = postcard::from_bytes(&blob).unwrap();
        assert!(!s.coverage.is_empty(), "the sample day covers a grid");
        let (code, _) = &s.coverage[0];
        let g = assessor.registry.grid_by_code(code).unwrap();
        let words = assessor.coverage.raster(g).unwrap().len_words() as u32;
        let corrupt = |f: &dyn Fn(&mut MaskRepr)| {
            let mut s: StoredDay = postcard::from_bytes(&blob).unwrap();
            f(&mut s.coverage[0].1);
            assessor.decode(&postcard::to_allocvec(&s).unwrap())
        };
        assert!(corrupt(&|_| {}).is_ok());
        for case in [
            &(|m: &mut MaskRepr| m.len = 1 << 24) as &dyn Fn(&mut MaskRepr),
            &|m: &mut MaskRepr| m.len = words + 1,
            &|m: &mut MaskRepr| m.runs.push((words, vec![1])),
            &|m: &mut MaskRepr| m.runs.push((u32::MAX, vec![1, 2])),
        ] {
            let e = corrupt(case).unwrap_err();
            assert!(matches!(e, AssessError::BadSummary { .. }), "{e}");
        }
        // On another basis (stale), the mask is cut to the current raster, never allocated
        // as stored.
        let mut s: StoredDay = postcard::from_bytes(&blob).unwrap();
        s.basis.params = "other".into();
        s.coverage[0].1.len = u32::MAX;
        s.coverage[0].1.runs.push((u32::MAX - 1, vec![1]));
        let r = assessor
            .decode(&postcard::to_allocvec(&s).unwrap())
            .unwrap();
        assert_eq!(r.stale, vec![Staleness::Params]);
        let mask = r.day.coverage.get(g).unwrap();
        assert_eq!(mask.words().len(), words as usize);
    }
}
