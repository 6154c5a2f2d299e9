//! The JT/T 808 door of the real binary over TCP: registration, authentication, heartbeats,
//! location reports and batches, bad frames between good ones, and SIGKILL mid-stream with
//! nothing acknowledged lost.
//!
//! The terminal here frames its messages with its own few lines (escape, checksum, BCD), not
//! with gridbeat's encoder, so a shared mistake cannot hide.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};

use crate::util::{assert_success, demo_data, free_port, gridbeat, http_ndjson, wait_port_healthy};

// ---------------------------------------------------------------- a terminal

/// A message in a 2013 header: 7e | id | props | phone (6 BCD) | serial | body | xor | 7e.
fn frame(msg_id: u16, phone: &str, serial: u16, body: &[u8]) -> Vec<u8> {
    framed(msg_id, phone, serial, None, body)
}

/// A frame, as package `index` of `total` (properties bit 13 and the two words after the
/// serial) when `package` is given.
fn framed(
    msg_id: u16,
    phone: &str,
    serial: u16,
    package: Option<(u16, u16)>,
    body: &[u8],
) -> Vec<u8> {
    let mut raw = Vec::new();
    raw.extend(msg_id.to_be_bytes());
    let packaged = if package.is_some() { 1u16 << 13 } else { 0 };
    raw.extend((body.len() as u16 | packaged).to_be_bytes());
    raw.extend(bcd(phone));
    raw.extend(serial.to_be_bytes());
    if let Some((total, index)) = package {
        raw.extend(total.to_be_bytes());
        raw.extend(index.to_be_bytes());
    }
    raw.extend(body);
    let cs = raw.iter().fold(0u8, |a, b| a ^ b);
    raw.push(cs);
    let mut out = vec![0x7e];
    for b in raw {
        match b {
            0x7e => out.extend([0x7d, 0x02]),
            0x7d => out.extend([0x7d, 0x01]),
            b => out.push(b),
        }
    }
    out.push(0x7e);
    out
}

fn bcd(digits: &str) -> Vec<u8> {
    digits
        .as_bytes()
        .chunks(2)
        .map(|p| ((p[0] - b'0') << 4) | (p[1] - b'0'))
        .collect()
}

/// A 0x0200 body: alarm, status (ACC on, positioned), lat, lon, altitude, speed, direction,
/// Beijing time, and the mileage (0x01) and work (0xE1) items.
fn location(ts_ms: i64, lon: f64, lat: f64, speed_kmh: f64) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(0u32.to_be_bytes());
    b.extend(0b11u32.to_be_bytes());
    b.extend(((lat * 1e6).round() as u32).to_be_bytes());
    b.extend(((lon * 1e6).round() as u32).to_be_bytes());
    b.extend(50u16.to_be_bytes());
    b.extend(((speed_kmh * 10.0).round() as u16).to_be_bytes());
    b.extend(90u16.to_be_bytes());
    let t = chrono::DateTime::from_timestamp_millis(ts_ms + 8 * 3_600_000).unwrap();
    let text = t.format("%y%m%d%H%M%S").to_string();
    b.extend(bcd(&text));
    b.extend([0x01, 4]);
    b.extend(1234u32.to_be_bytes());
    b.extend([0xe1, 1, 1]);
    b
}

fn batch(locations: &[Vec<u8>]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend((locations.len() as u16).to_be_bytes());
    b.push(0);
    for l in locations {
        b.extend((l.len() as u16).to_be_bytes());
        b.extend(l);
    }
    b
}

/// A platform message read back: id, body.
fn read_message(s: &mut TcpStream) -> std::io::Result<(u16, Vec<u8>)> {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    // Skip to the opening flag, then read to the closing one.
    loop {
        s.read_exact(&mut byte)?;
        if byte[0] == 0x7e {
            break;
        }
    }
    loop {
        s.read_exact(&mut byte)?;
        match byte[0] {
            0x7e if raw.is_empty() => continue,
            0x7e => break,
            b => raw.push(b),
        }
    }
    let mut un = Vec::new();
    let mut it = raw.into_iter();
    while let Some(b) = it.next() {
        if b == 0x7d {
            un.push(match it.next() {
                Some(0x02) => 0x7e,
                Some(0x01) => 0x7d,
                other => panic!("bad escape {other:?} from the platform"),
            });
        } else {
            un.push(b);
        }
    }
    let (content, cs) = un.split_at(un.len() - 1);
    assert_eq!(
        content.iter().fold(0u8, |a, b| a ^ b),
        cs[0],
        "platform checksum"
    );
    let id = u16::from_be_bytes([content[0], content[1]]);
    let len = usize::from(u16::from_be_bytes([content[2], content[3]]) & 0x3ff);
    let body = content[12..].to_vec();
    assert_eq!(body.len(), len);
    Ok((id, body))
}

/// A general response 0x8001: (answer serial, answer id, result).
fn general(m: &(u16, Vec<u8>)) -> (u16, u16, u8) {
    assert_eq!(m.0, 0x8001, "expected a general response, got {:#06x}", m.0);
    let b = &m.1;
    (
        u16::from_be_bytes([b[0], b[1]]),
        u16::from_be_bytes([b[2], b[3]]),
        b[4],
    )
}

struct Terminal {
    s: TcpStream,
    phone: String,
    serial: u16,
}

impl Terminal {
    fn connect(port: u16, phone: &str) -> std::io::Result<Terminal> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Terminal {
            s,
            phone: phone.to_string(),
            serial: 0,
        })
    }

    fn send(&mut self, msg_id: u16, body: &[u8]) -> std::io::Result<u16> {
        self.serial = self.serial.wrapping_add(1);
        self.s
            .write_all(&frame(msg_id, &self.phone, self.serial, body))?;
        Ok(self.serial)
    }

    /// Sends and reads the answer.
    fn ask(&mut self, msg_id: u16, body: &[u8]) -> std::io::Result<(u16, (u16, Vec<u8>))> {
        let serial = self.send(msg_id, body)?;
        Ok((serial, read_message(&mut self.s)?))
    }

    /// Registers (0x0100, 2013 body) and returns the 0x8100 result and code.
    fn register(&mut self) -> std::io::Result<(u8, String)> {
        let mut body = Vec::new();
        body.extend(43u16.to_be_bytes()); // Hunan
        body.extend(100u16.to_be_bytes());
        body.extend(*b"GRDBT");
        body.extend([b'M'; 20]);
        body.extend(*b"T000001");
        body.push(1);
        body.extend("湘A".as_bytes()); // the plate's bytes; the door keeps them raw
        let (serial, (id, b)) = self.ask(0x0100, &body)?;
        assert_eq!(id, 0x8100);
        assert_eq!(u16::from_be_bytes([b[0], b[1]]), serial);
        Ok((b[2], String::from_utf8(b[3..].to_vec()).unwrap()))
    }

    fn authenticate(&mut self, code: &str) -> std::io::Result<u8> {
        let (serial, m) = self.ask(0x0102, code.as_bytes())?;
        let (answered, id, result) = general(&m);
        assert_eq!((answered, id), (serial, 0x0102));
        Ok(result)
    }
}

// ---------------------------------------------------------------- the server

const PHONES: [&str; 3] = ["013900000001", "013900000002", "013900000003"];

fn fleet_data(d: &Path) -> std::path::PathBuf {
    let data = demo_data(d);
    // Silent terminals are closed after 2 s (the default is 180).
    std::fs::write(d.join("gridbeat.toml"), "[server]\njt808_idle_s = 2\n").unwrap();
    let vehicles = d.join("vehicles.csv");
    std::fs::write(
        &vehicles,
        "vehicle,plate,kind,unit\nv-01,湘A·S0001,sweeper,430102001001\nv-02,湘A·S0002,sweeper,430102001001\nv-03,湘A·W0003,washer,430102001\n",
    )
    .unwrap();
    let devices = d.join("devices.csv");
    let rows: String = PHONES
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{p},,v-0{}\n", i + 1))
        .collect();
    std::fs::write(&devices, format!("device,worker,vehicle\n{rows}")).unwrap();
    let out = gridbeat()
        .args(["registry", "load", "--data"])
        .arg(&data)
        .arg("--vehicles")
        .arg(&vehicles)
        .arg("--devices")
        .arg(&devices)
        .output()
        .unwrap();
    assert_success(&out);
    data
}

fn start(data: &Path, port: u16, jt808: u16) -> Child {
    gridbeat()
        .args(["serve", "--data"])
        .arg(data)
        .arg("--config")
        .arg(data.with_file_name("gridbeat.toml"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--jt808-listen", &format!("127.0.0.1:{jt808}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Now, in whole seconds (a JT/T 808 time has no milliseconds).
/// An acknowledged location: (vehicle, ts ms, lon, lat).
type Acked = (String, i64, f64, f64);

/// A stored ping's (lon, lat, source, device).
type StoredRow = (f64, f64, String, Option<String>);

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp() * 1000
}

#[test]
fn terminals_register_authenticate_report_and_lose_nothing_acknowledged_to_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = fleet_data(d);
    let (port, jt) = (free_port(), free_port());
    let mut server = start(&data, port, jt);
    wait_port_healthy(port, &String::new);

    // An unknown terminal may not register.
    let mut stranger = Terminal::connect(jt, "013999999999").unwrap();
    assert_eq!(stranger.register().unwrap().0, 4, "no such terminal");

    let mut t = Terminal::connect(jt, PHONES[0]).unwrap();
    // A location before authentication: failure, stored nowhere.
    let t0 = now_ms() - 600_000;
    let (serial, m) = t
        .ask(0x0200, &location(t0, 112.9730, 28.1940, 12.0))
        .unwrap();
    assert_eq!(general(&m), (serial, 0x0200, 1));
    let (result, code) = t.register().unwrap();
    assert_eq!(result, 0);
    assert_eq!(code.len(), 16, "{code:?}");
    assert_eq!(t.authenticate("not-the-code").unwrap(), 1);
    assert_eq!(t.authenticate(&code).unwrap(), 0);
    let (serial, m) = t.ask(0x0002, &[]).unwrap();
    assert_eq!(general(&m), (serial, 0x0002, 0));

    // Bad frames between good ones: a wrong checksum, a bad escape, garbage, a truncated
    // frame; none is answered, and the good location after them is.
    let mut bad_sum = frame(
        0x0200,
        PHONES[0],
        900,
        &location(t0, 112.9731, 28.1941, 10.0),
    );
    let n = bad_sum.len();
    bad_sum[n - 2] ^= 0x55;
    let mut bad_escape = frame(0x0002, PHONES[0], 901, &[]);
    bad_escape.insert(3, 0x7d);
    bad_escape.insert(4, 0x07);
    let mut stream = Vec::new();
    stream.extend(&bad_sum);
    stream.extend(&bad_escape);
    stream.extend(b"GET / HTTP/1.1\r\n\r\n");
    stream.extend([0x7e, 0x02, 0x00, 0x7e]);
    t.s.write_all(&stream).unwrap();
    let good = location(t0 + 1_000, 112.9732, 28.1942, 10.0);
    let (serial, m) = t.ask(0x0200, &good).unwrap();
    assert_eq!(general(&m), (serial, 0x0200, 0));
    // A batch of three, one of them not positioned (acknowledged, not stored).
    let mut unpositioned = location(t0 + 3_000, 112.9734, 28.1944, 10.0);
    unpositioned[7] = 0b01;
    let body = batch(&[
        location(t0 + 2_000, 112.9733, 28.1943, 10.0),
        unpositioned,
        location(t0 + 4_000, 112.9735, 28.1945, 10.0),
    ]);
    let (serial, m) = t.ask(0x0704, &body).unwrap();
    assert_eq!(general(&m), (serial, 0x0704, 0));
    // An unsupported message is answered 3.
    let (serial, m) = t.ask(0x0900, &[1, 2, 3]).unwrap();
    assert_eq!(general(&m), (serial, 0x0900, 3));
    let metrics = http_ndjson(port, "GET", "/metrics", b"").unwrap().1;
    let rejected: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("gridbeat_jt808_frames_rejected_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(rejected >= 3.0, "{metrics}");
    // The vehicle's latest position is served as a vehicle's.
    let (status, body) = http_ndjson(port, "GET", "/api/v1/positions", b"").unwrap();
    assert_eq!(status, 200);
    let positions: serde_json::Value = serde_json::from_str(&body).unwrap();
    let v1 = positions
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["vehicle"] == "v-01")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(
        (v1["lon"].as_f64(), v1["lat"].as_f64()),
        (Some(112.9735), Some(28.1945))
    );
    assert!(v1.get("worker").is_none());
    drop(t);

    // Three terminals report batches while the server is killed and restarted.
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Days before the first session's reports, so no key is shared with them.
    let start_ts = t0 - 10 * 86_400_000;
    let handles: Vec<_> = PHONES
        .iter()
        .enumerate()
        .map(|(k, phone)| {
            let acked = Arc::clone(&acked);
            let done = Arc::clone(&done);
            let phone = phone.to_string();
            std::thread::spawn(move || {
                let vehicle = format!("v-0{}", k + 1);
                let mut i = 0i64;
                let mut term: Option<Terminal> = None;
                let mut resends = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let Some(t) = term.as_mut() else {
                        match Terminal::connect(jt, &phone) {
                            Ok(mut t) => {
                                let ok = t.register().and_then(|(_, code)| t.authenticate(&code));
                                if matches!(ok, Ok(0)) {
                                    term = Some(t);
                                }
                            }
                            Err(_) => std::thread::sleep(Duration::from_millis(20)),
                        }
                        continue;
                    };
                    let points: Vec<(i64, f64, f64)> = (i..i + 5)
                        .map(|j| {
                            (
                                start_ts + j * 5_000,
                                112.97 + j as f64 * 1e-5,
                                28.19 + k as f64 * 1e-3,
                            )
                        })
                        .collect();
                    let body = batch(
                        &points
                            .iter()
                            .map(|&(ts, lon, lat)| location(ts, lon, lat, 8.0))
                            .collect::<Vec<_>>(),
                    );
                    match t.ask(0x0704, &body) {
                        Ok((serial, m)) if general(&m) == (serial, 0x0704, 0) => {
                            acked.lock().unwrap().extend(
                                points
                                    .iter()
                                    .map(|&(ts, lon, lat)| (vehicle.clone(), ts, lon, lat)),
                            );
                            i += 5;
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        _ => {
                            resends += 1;
                            term = None;
                        }
                    }
                }
                resends
            })
        })
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(808);
    let mut kills = 0;
    while kills < 8 {
        std::thread::sleep(Duration::from_millis(rng.random_range(100..400)));
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        kills += 1;
        server = start(&data, port, jt);
        wait_port_healthy(port, &String::new);
    }
    std::thread::sleep(Duration::from_millis(300));
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let resends: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    server.kill().unwrap();
    server.wait().unwrap();
    // Each kill cut some terminal's exchange (a batch sent again on a new connection).
    assert!(
        resends >= kills,
        "{resends} batches sent again after {kills} kills"
    );
    eprintln!("{kills} kills, {resends} batches sent again");

    let db = rusqlite::Connection::open(data.join("gridbeat.db")).unwrap();
    let mut stored: HashMap<(String, i64), StoredRow> = HashMap::new();
    let mut stmt = db
        .prepare("SELECT worker, ts, lon, lat, source, device FROM pings")
        .unwrap();
    for r in stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                (
                    r.get::<_, f64>(2)?,
                    r.get::<_, f64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ),
            ))
        })
        .unwrap()
    {
        let (w, ts, v) = r.unwrap();
        stored.insert((w, ts), v);
    }
    // The work state and ignition a terminal reports are stored with the position.
    let (work, ignition): (Option<bool>, Option<bool>) = db
        .query_row(
            "SELECT work, ignition FROM pings WHERE worker = 'v-01' AND ts = ?1",
            [t0 + 1_000],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((work, ignition), (Some(true), Some(true)));
    // The first session's three stored positions (not the unauthenticated or unpositioned).
    assert!(stored.contains_key(&("v-01".to_string(), t0 + 1_000)));
    assert!(!stored.contains_key(&("v-01".to_string(), t0)));
    assert!(!stored.contains_key(&("v-01".to_string(), t0 + 3_000)));
    let acked = acked.lock().unwrap();
    assert!(acked.len() >= 3 * 100, "{} acknowledged", acked.len());
    for (v, ts, lon, lat) in acked.iter() {
        let (slon, slat, source, device) = stored
            .get(&(v.clone(), *ts))
            .unwrap_or_else(|| panic!("acknowledged {v} {ts} is missing"));
        assert!((slon - lon).abs() < 1e-6 && (slat - lat).abs() < 1e-6);
        assert_eq!(source, "jt808");
        assert!(device.as_deref().is_some_and(|d| PHONES.contains(&d)));
    }
}

#[test]
fn sub_packages_idle_terminals_and_a_flooding_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = fleet_data(d);
    let (port, jt) = (free_port(), free_port());
    let mut server = start(&data, port, jt);
    wait_port_healthy(port, &String::new);
    let connect = |phone: &str| {
        let mut t = Terminal::connect(jt, phone).unwrap();
        let (result, code) = t.register().unwrap();
        assert_eq!(result, 0);
        assert_eq!(t.authenticate(&code).unwrap(), 0);
        t
    };

    // A batch of four locations in two packages (consecutive serials): nothing is answered
    // after the first; after the second, both packages are answered, after the commit.
    let mut t = connect(PHONES[0]);
    let t0 = now_ms() - 3_600_000;
    let body = batch(
        &(0..4)
            .map(|k| location(t0 + k * 1_000, 112.9740 + k as f64 * 1e-5, 28.1940, 9.0))
            .collect::<Vec<_>>(),
    );
    let (first, second) = body.split_at(body.len() / 2);
    t.s.write_all(&framed(0x0704, PHONES[0], 50, Some((2, 1)), first))
        .unwrap();
    t.s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut probe = [0u8; 1];
    assert!(
        t.s.read(&mut probe).is_err(),
        "a package of an incomplete message was answered"
    );
    t.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    t.s.write_all(&framed(0x0704, PHONES[0], 51, Some((2, 2)), second))
        .unwrap();
    let answers: Vec<(u16, u16, u8)> = (0..2)
        .map(|_| general(&read_message(&mut t.s).unwrap()))
        .collect();
    assert_eq!(answers, vec![(50, 0x0704, 0), (51, 0x0704, 0)]);

    // A terminal that says nothing is closed once `jt808_idle_s` has passed.
    let mut quiet = connect(PHONES[1]);
    let started = std::time::Instant::now();
    let mut buf = [0u8; 16];
    let n = quiet.s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the server sent something to a silent terminal");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1_500) && waited < Duration::from_secs(8),
        "closed after {waited:?}"
    );

    // One terminal floods locations without reading its answers; another's heartbeats are
    // still answered promptly.
    let flooding = std::thread::spawn(move || {
        let mut f = Terminal::connect(jt, PHONES[2]).unwrap();
        // It never reads its answers: once the buffers fill, a write waits at most 1 s.
        f.s.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
        let (_, code) = f.register().unwrap();
        assert_eq!(f.authenticate(&code).unwrap(), 0);
        let base = now_ms() - 86_400_000;
        let mut sent = 0;
        let until = std::time::Instant::now() + Duration::from_secs(4);
        while std::time::Instant::now() < until {
            let ts = base + sent * 1_000;
            if f.send(0x0200, &location(ts, 112.9750, 28.1950, 9.0))
                .is_err()
            {
                break;
            }
            sent += 1;
        }
        sent
    });
    // (The first terminal went quiet too while the last one waited: connect it again.)
    let mut t = connect(PHONES[0]);
    std::thread::sleep(Duration::from_millis(300));
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let asked = std::time::Instant::now();
        let (serial, m) = t.ask(0x0002, &[]).unwrap();
        assert_eq!(general(&m), (serial, 0x0002, 0));
        slowest = slowest.max(asked.elapsed());
        std::thread::sleep(Duration::from_millis(200));
    }
    let flooded = flooding.join().unwrap();
    assert!(flooded > 100, "the flood sent only {flooded} reports");
    assert!(
        slowest < Duration::from_secs(1),
        "a heartbeat took {slowest:?} during the flood"
    );
    eprintln!("{flooded} reports flooded; slowest heartbeat beside them {slowest:?}");
    server.kill().unwrap();
    server.wait().unwrap();

    let db = rusqlite::Connection::open(data.join("gridbeat.db")).unwrap();
    let stored: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM pings WHERE worker = 'v-01' AND ts >= ?1 AND ts < ?2",
            [t0, t0 + 4_000],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 4, "the reassembled batch's four locations");
}
