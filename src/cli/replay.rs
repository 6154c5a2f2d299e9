//! `gridbeat demo --replay N`: the sample city's pings posted through the ingest path as if
//! the phones were sending them now, `N` times faster than they were recorded, so positions
//! move and summaries update on the map page while you watch.
//!
//! The sample week is moved forward by whole days (so every patrol keeps its local time of
//! day) to the latest days for which the replay never posts a timestamp from the future: the
//! replay clock starts at the first sample ping (moved) and runs `N` times faster than the
//! wall clock, and it reaches the last ping (moved) no later than the wall clock does. Every
//! second the pings the replay clock has passed are posted, as NDJSON, through the same
//! router and ingest code a phone reaches.

use std::sync::Arc;
use std::time::Duration;

use crate::model::{Ping, UnixMs};
use crate::server::AppState;

const DAY_MS: i64 = 86_400_000;

/// A planned replay: pings sorted by time, moved by `shift_ms`.
#[derive(Debug)]
pub struct Replay {
    /// The sample pings, sorted by timestamp (not yet moved).
    pings: Vec<Ping>,
    /// Whole days added to every timestamp, ms.
    pub shift_ms: i64,
    /// How many times faster than recorded.
    pub speed: f64,
    /// The wall clock when the replay starts, UTC ms.
    pub wall_start: UnixMs,
}

impl Replay {
    /// Plans a replay of `pings` at `speed` (≥ 1) starting at wall time `now`.
    pub fn plan(mut pings: Vec<Ping>, speed: f64, now: UnixMs) -> Replay {
        pings.sort_by_key(|p| p.ts);
        let speed = speed.max(1.0);
        let (first, last) = match (pings.first(), pings.last()) {
            (Some(a), Some(b)) => (a.ts, b.ts),
            _ => (now, now),
        };
        // The replay clock reaches the moved last ping after (last - first) / speed of wall
        // time; that moment must not be before the moved last ping.
        let wall_end = now + ((last - first) as f64 / speed).ceil() as i64;
        let shift_ms = (wall_end - last).div_euclid(DAY_MS) * DAY_MS;
        Replay {
            pings,
            shift_ms,
            speed,
            wall_start: now,
        }
    }

    /// The replay clock at wall time `wall`: the (moved) timestamp up to which pings are due.
    pub fn clock(&self, wall: UnixMs) -> UnixMs {
        let first = self.pings.first().map_or(wall, |p| p.ts + self.shift_ms);
        first + ((wall - self.wall_start).max(0) as f64 * self.speed) as i64
    }

    /// The moved pings due by replay time `until`, from index `from`; returns the next index.
    pub fn due(&self, from: usize, until: UnixMs) -> (Vec<Ping>, usize) {
        let mut out = Vec::new();
        let mut i = from;
        while let Some(p) = self.pings.get(i) {
            if p.ts + self.shift_ms > until {
                break;
            }
            let mut q = p.clone();
            q.ts += self.shift_ms;
            out.push(q);
            i += 1;
        }
        (out, i)
    }

    /// How many pings the replay holds.
    pub fn len(&self) -> usize {
        self.pings.len()
    }

    /// Whether the replay holds no ping.
    pub fn is_empty(&self) -> bool {
        self.pings.is_empty()
    }
}

/// Runs a replay until every ping is posted (or the server stops taking them).
pub async fn run(state: Arc<AppState>, replay: Replay, bearer: String) {
    let mut next = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut posted = 0usize;
    while next < replay.len() {
        tick.tick().await;
        let now = chrono::Utc::now().timestamp_millis();
        let (batch, after) = replay.due(next, replay.clock(now));
        next = after;
        if batch.is_empty() {
            continue;
        }
        match super::serve::post_pings(&state, &batch, Some(&bearer)).await {
            Ok(n) => posted += n,
            Err(e) => {
                tracing::error!(error = %e, "the replay stopped");
                return;
            }
        }
    }
    tracing::info!(posted, "the replay is over");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WorkerId;

    fn ping(ts: UnixMs) -> Ping {
        Ping::new(WorkerId::new("w-1"), ts, 112.98, 28.2)
    }

    #[test]
    fn the_replay_never_posts_a_timestamp_from_the_future() {
        // Three days of pings, replayed 60 times faster.
        let t0 = 1_790_000_000_000;
        let pings: Vec<Ping> = (0..3 * 24 * 60).map(|m| ping(t0 + m * 60_000)).collect();
        let now = 1_800_000_000_000;
        let r = Replay::plan(pings, 60.0, now);
        assert_eq!(r.shift_ms % DAY_MS, 0, "whole days keep local times of day");
        let duration = (3 * 24 * 60 - 1) * 60_000 / 60;
        let mut from = 0;
        for wall in (now..=now + duration + 2_000).step_by(1_000) {
            let clock = r.clock(wall);
            assert!(clock <= wall, "replay clock {clock} ahead of wall {wall}");
            let (batch, next) = r.due(from, clock);
            assert!(batch.iter().all(|p| p.ts <= wall));
            from = next;
        }
        assert_eq!(from, r.len(), "every ping is posted by the end");
        // The moved week ends less than a day before the replay does.
        let last = t0 + (3 * 24 * 60 - 1) * 60_000 + r.shift_ms;
        assert!(now + duration - last < DAY_MS);
    }

    #[test]
    fn pings_come_in_order_and_once() {
        let pings = vec![ping(3_000), ping(1_000), ping(2_000)];
        let r = Replay::plan(pings, 1.0, 10 * DAY_MS);
        let (a, i) = r.due(0, 1_000 + r.shift_ms);
        assert_eq!(a.len(), 1);
        let (b, j) = r.due(i, 3_000 + r.shift_ms);
        assert_eq!(
            b.iter().map(|p| p.ts - r.shift_ms).collect::<Vec<_>>(),
            [2_000, 3_000]
        );
        assert_eq!(j, 3);
    }
}
