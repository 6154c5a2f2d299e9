//! The JT/T 808 door (`--jt808-listen ADDR`): vehicle terminals over TCP (DESIGN.md §5.4).
//!
//! One task per connection reads bytes into a [`Deframer`], puts sub-packages back together
//! ([`Reassembler`]) and answers each message with the terminal's own header edition:
//!
//! - registration 0x0100 → 0x8100: result 0 with the authentication code when the phone is a
//!   vehicle's terminal (`devices.csv`, or a vehicle whose id is the phone's digits), else 4
//!   (no such terminal);
//! - authentication 0x0102, heartbeat 0x0002, logout 0x0003 → 0x8001;
//! - location 0x0200 and batches 0x0704 → 0x8001 **after the commit**, as HTTP answers 2xx:
//!   a location the terminal saw acknowledged is in the store. Before the terminal has
//!   authenticated on the connection, a location is answered 1 (failure) and stored nowhere;
//!   a store failure is answered 1 too, so the terminal sends it again.
//!
//! Positions are stored as pings of the vehicle (its id in the worker column; vehicle ids may
//! not equal worker ids), source `jt808`, the phone kept as the device. A position the
//! terminal marks as not positioned (status bit 1 clear) is acknowledged and stored nowhere.
//! Bad frames (checksum, escape, truncated, oversized, bad items) are dropped and counted in
//! `gridbeat_jt808_frames_rejected_total{reason}`; the connection reads on, so a bad frame
//! never costs the next good one. A connection with nothing received for `jt808_idle_s` is
//! closed; each connection is one task that waits for its own commits, so a flooding terminal
//! slows only itself, and the listener sheds connections beyond `jt808_max_connections`.
//!
//! The authentication code is the first 16 hex digits of SHA-256 over a secret kept in the
//! store (`jt808_secret`, made once) and the phone: every replica on one store gives and
//! accepts the same code, and no table of codes is kept.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::AppState;
use crate::jt808::{
    decode, general_response, registration_response, Deframer, Frame, FrameError, Header, ItemMap,
    Location, Message, Reassembler, RegistrationResult, ResponseResult, DEFAULT_MAX_FRAME_BYTES,
};
use crate::model::{Ping, UnixMs, WorkerId};
use crate::store::Source;

/// The terminal's logout (终端注销), answered and then the connection closed.
const LOGOUT: u16 = 0x0003;

/// The store's meta key of the authentication secret.
const SECRET_KEY: &str = "jt808_secret";

/// What the door needs besides the state: the item map and the authentication secret.
pub struct Door {
    state: Arc<AppState>,
    items: ItemMap,
    secret: String,
    open: AtomicUsize,
}

impl Door {
    /// The door of a state: its item map from the configuration, the secret from the store
    /// (made and stored on first use).
    ///
    /// # Errors
    /// On a store failure.
    pub fn new(state: Arc<AppState>) -> Result<Arc<Door>, crate::store::StoreError> {
        let secret = match state.store.meta(SECRET_KEY)? {
            Some(s) => s,
            None => {
                let bytes: [u8; 16] = rand::random();
                let s = hex::encode(bytes);
                state.store.set_meta(SECRET_KEY, &s)?;
                // Another replica may have stored its own first: use the stored one.
                state.store.meta(SECRET_KEY)?.unwrap_or(s)
            }
        };
        let c = &state.config.server;
        let item = |id: u8| (id != 0).then_some(id);
        let items = ItemMap {
            work: item(c.jt808_work_item),
            pressure: item(c.jt808_pressure_item),
            pressure_scale: c.jt808_pressure_scale,
        };
        Ok(Arc::new(Door {
            state,
            items,
            secret,
            open: AtomicUsize::new(0),
        }))
    }

    /// The authentication code of a terminal.
    pub fn auth_code(&self, phone: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.secret.as_bytes());
        h.update([0]);
        h.update(phone.as_bytes());
        hex::encode(&h.finalize()[..8])
    }
}

/// Accepts terminals until `stop` turns true; each connection runs until the terminal closes
/// it, goes idle, logs out, or the server stops.
pub async fn run(
    door: Arc<Door>,
    listener: TcpListener,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((socket, peer)) = accepted else { continue };
                let max = door.state.config.server.jt808_max_connections;
                if door.open.load(Ordering::Relaxed) >= max {
                    metrics::counter!("gridbeat_jt808_connections_refused_total").increment(1);
                    drop(socket);
                    continue;
                }
                door.open.fetch_add(1, Ordering::Relaxed);
                let door = Arc::clone(&door);
                let stop = stop.clone();
                tasks.spawn(async move {
                    let _ = socket.set_nodelay(true);
                    if let Err(e) = connection(&door, socket, stop).await {
                        tracing::debug!(%peer, error = %e, "jt808 connection ended");
                    }
                    door.open.fetch_sub(1, Ordering::Relaxed);
                });
            }
            _ = stop.changed() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    // Connections finish the message in hand (its commit and answer), then close.
    while tasks.join_next().await.is_some() {}
}

/// The state of one connection.
struct Conn {
    deframer: Deframer,
    reassembler: Reassembler,
    /// The vehicle the terminal authenticated as on this connection.
    vehicle: Option<String>,
    /// The platform's serial of the next answer.
    serial: u16,
    /// Headers of packages received, answered when their whole message is.
    packages: Vec<Header>,
}

async fn connection(
    door: &Door,
    mut socket: TcpStream,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let idle = Duration::from_secs(door.state.config.server.jt808_idle_s.max(1));
    let mut conn = Conn {
        deframer: Deframer::new(DEFAULT_MAX_FRAME_BYTES),
        reassembler: Reassembler::default(),
        vehicle: None,
        serial: 0,
        packages: Vec::new(),
    };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            r = tokio::time::timeout(idle, socket.read(&mut buf)) => match r {
                Ok(r) => r?,
                Err(_) => {
                    metrics::counter!("gridbeat_jt808_idle_closed_total").increment(1);
                    return Ok(());
                }
            },
            _ = stop.changed() => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        conn.deframer.push(&buf[..n]);
        let mut out = Vec::new();
        let mut close = false;
        while let Some(frame) = conn.deframer.pop() {
            match frame {
                Ok(frame) => {
                    close |= handle(door, &mut conn, frame, &mut out).await;
                }
                Err(e) => reject(&e),
            }
        }
        if !out.is_empty() {
            socket.write_all(&out).await?;
        }
        if close {
            return Ok(());
        }
    }
}

fn reject(e: &FrameError) {
    metrics::counter!("gridbeat_jt808_frames_rejected_total", "reason" => e.code()).increment(1);
}

/// Answers one frame into `out`; `true` when the connection should close after the answer.
async fn handle(door: &Door, conn: &mut Conn, frame: Frame, out: &mut Vec<u8>) -> bool {
    let packaged = frame.header.package.is_some();
    let header = frame.header.clone();
    let whole = match conn.reassembler.push(frame, now_ms()) {
        Ok(Some(f)) => f,
        Ok(None) => {
            // A package of a message not complete yet: answered with the whole message.
            conn.packages.push(header);
            return false;
        }
        Err(e) => {
            reject(&e);
            answer(conn, out, &header, ResponseResult::BadMessage);
            return false;
        }
    };
    if packaged {
        conn.packages.push(header);
    }
    let message = match decode(&whole, &door.items) {
        Ok(m) => m,
        Err(e) => {
            reject(&e);
            answer_all(conn, out, &whole.header, ResponseResult::BadMessage);
            return false;
        }
    };
    metrics::counter!("gridbeat_jt808_messages_total", "message" => message_name(&message))
        .increment(1);
    let h = &whole.header;
    match message {
        Message::Registration(_) => {
            let known = door.state.engine().vehicle_of_device(&h.phone).is_some();
            let (result, code) = if known {
                (RegistrationResult::Ok, door.auth_code(&h.phone))
            } else {
                (RegistrationResult::NoSuchTerminal, String::new())
            };
            conn.serial = conn.serial.wrapping_add(1);
            if let Ok(bytes) = registration_response(h, conn.serial, result, &code) {
                out.extend(bytes);
            }
            conn.packages.clear();
            false
        }
        Message::Authentication(auth) => {
            let vehicle = door
                .state
                .engine()
                .vehicle_of_device(&h.phone)
                .map(|v| v.id.to_string());
            let ok = vehicle.is_some() && auth.code == door.auth_code(&h.phone);
            if ok {
                conn.vehicle = vehicle;
            } else {
                metrics::counter!("gridbeat_jt808_auth_failed_total").increment(1);
            }
            let result = if ok {
                ResponseResult::Ok
            } else {
                ResponseResult::Failure
            };
            answer_all(conn, out, h, result);
            false
        }
        Message::Heartbeat => {
            answer_all(conn, out, h, ResponseResult::Ok);
            false
        }
        Message::TerminalResponse(_) => {
            conn.packages.clear();
            false
        }
        Message::Location(loc) => {
            let result = store_locations(door, conn, &h.phone, vec![Ok(*loc)]).await;
            answer_all(conn, out, h, result);
            false
        }
        Message::LocationBatch(batch) => {
            let result = store_locations(door, conn, &h.phone, batch.locations).await;
            answer_all(conn, out, h, result);
            false
        }
        Message::Other(LOGOUT) => {
            answer_all(conn, out, h, ResponseResult::Ok);
            true
        }
        Message::Other(_) => {
            answer_all(conn, out, h, ResponseResult::Unsupported);
            false
        }
    }
}

fn message_name(m: &Message) -> &'static str {
    match m {
        Message::TerminalResponse(_) => "terminal_response",
        Message::Heartbeat => "heartbeat",
        Message::Registration(_) => "registration",
        Message::Authentication(_) => "authentication",
        Message::Location(_) => "location",
        Message::LocationBatch(_) => "location_batch",
        Message::Other(_) => "other",
    }
}

/// Answers the message of `to` (and every package of it received before) with 0x8001.
fn answer_all(conn: &mut Conn, out: &mut Vec<u8>, to: &Header, result: ResponseResult) {
    let packages = std::mem::take(&mut conn.packages);
    if packages.is_empty() {
        answer(conn, out, to, result);
    } else {
        for p in &packages {
            answer(conn, out, p, result);
        }
    }
}

fn answer(conn: &mut Conn, out: &mut Vec<u8>, to: &Header, result: ResponseResult) {
    conn.serial = conn.serial.wrapping_add(1);
    if let Ok(bytes) = general_response(to, conn.serial, result) {
        out.extend(bytes);
    }
}

/// Stores the positioned locations of a message as pings of the connection's vehicle and
/// waits for the commit; the result to answer.
async fn store_locations(
    door: &Door,
    conn: &Conn,
    phone: &str,
    locations: Vec<Result<Location, FrameError>>,
) -> ResponseResult {
    let Some(vehicle) = &conn.vehicle else {
        metrics::counter!("gridbeat_jt808_unauthenticated_total").increment(1);
        return ResponseResult::Failure;
    };
    let state = &door.state;
    let engine = state.engine();
    let received = now_ms();
    let id = WorkerId::new(vehicle);
    let mut pings = Vec::with_capacity(locations.len());
    for loc in locations {
        let loc = match loc {
            Ok(l) => l,
            Err(e) => {
                reject(&e);
                continue;
            }
        };
        if !loc.positioned {
            metrics::counter!("gridbeat_jt808_unpositioned_total").increment(1);
            continue;
        }
        let ping = location_ping(id.clone(), &loc);
        let device = Some(phone.to_string());
        match super::ingest::new_ping(state, &engine, ping, received, Source::Jt808, device) {
            Ok(p) => pings.push(p),
            Err(e) => super::ingest::count_rejection(Source::Jt808, e.code()),
        }
    }
    match super::ingest::store_new(state, pings, Source::Jt808).await {
        Ok(_) => ResponseResult::Ok,
        Err(e) => {
            tracing::warn!(error = %e, vehicle = %vehicle, "jt808 locations not stored; answered failure");
            ResponseResult::Failure
        }
    }
}

/// The ping of a location: speed from km/h to m/s, direction as the bearing, altitude, and
/// the vehicle's work state, pressure and ignition (ACC).
pub fn location_ping(vehicle: WorkerId, loc: &Location) -> Ping {
    let mut p = Ping::new(vehicle, loc.ts, loc.lon, loc.lat);
    p.speed_mps = Some((loc.speed_kmh / 3.6) as f32);
    p.bearing_deg = Some(f32::from(loc.direction_deg));
    p.alt_m = Some(f32::from(loc.altitude_m));
    p.work = loc.work;
    p.pressure_mpa = loc.pressure_mpa.map(|v| v as f32);
    p.ignition = Some(loc.acc_on);
    p
}

fn now_ms() -> UnixMs {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_becomes_a_ping_in_si_units() {
        let loc = Location {
            alarm: 0,
            status: 3,
            acc_on: true,
            positioned: true,
            lon: 112.98,
            lat: 28.2,
            altitude_m: 51,
            speed_kmh: 36.0,
            direction_deg: 270,
            ts: 1_760_000_000_000,
            mileage_km: None,
            fuel_l: None,
            recorder_speed_kmh: None,
            signal: None,
            satellites: None,
            work: Some(true),
            pressure_mpa: Some(0.3),
            items: Vec::new(),
        };
        let p = location_ping(WorkerId::new("v-01"), &loc);
        assert_eq!(
            (p.ts, p.lon, p.lat, p.speed_mps, p.bearing_deg, p.alt_m),
            (
                1_760_000_000_000,
                112.98,
                28.2,
                Some(10.0),
                Some(270.0),
                Some(51.0)
            )
        );
    }
}
