//! Load generator of the JT/T 808 benchmark (`benches/jt808.sh`): N terminals connect to a
//! running `gridbeat serve --jt808-listen`, register, authenticate, then each sends location
//! reports (0x0200), keeping up to `--window` unanswered, for `--seconds`. Prints one JSON
//! line: reports acknowledged (0x8001 result 0), per second, and the acknowledgement
//! latency's median and 99th percentile.
//!
//! `cargo run --release --example jt808_load -- --port 7808 --terminals 1000 --seconds 10`
//!
//! Terminal k has the phone `0139` followed by k in eight digits; each report carries its own
//! second (a day of reports a month ago), so no two are one (vehicle, ts) key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gridbeat::jt808::{encode_frame, Deframer, Header, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    port: u16,
    terminals: usize,
    seconds: f64,
    window: usize,
}

fn args() -> Args {
    let mut a = Args {
        port: 7808,
        terminals: 1000,
        seconds: 10.0,
        window: 1,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let v = pair.get(1).map(String::as_str).unwrap_or("");
        match pair[0].as_str() {
            "--port" => a.port = v.parse().expect("--port N"),
            "--terminals" => a.terminals = v.parse().expect("--terminals N"),
            "--seconds" => a.seconds = v.parse().expect("--seconds S"),
            "--window" => a.window = v.parse().expect("--window N"),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// The phone of terminal `k`.
pub fn phone(k: usize) -> String {
    format!("0139{k:08}")
}

fn header(msg_id: u16, phone: &str, serial: u16) -> Header {
    Header {
        msg_id,
        version: Version::V2013,
        encryption: 0,
        phone: phone.to_string(),
        serial,
        package: None,
    }
}

fn bcd_time(ts_ms: i64) -> [u8; 6] {
    let t = chrono::DateTime::from_timestamp_millis(ts_ms + 8 * 3_600_000).unwrap_or_default();
    let s = t.format("%y%m%d%H%M%S").to_string();
    let d = s.as_bytes();
    std::array::from_fn(|i| ((d[2 * i] - b'0') << 4) | (d[2 * i + 1] - b'0'))
}

fn location(ts_ms: i64, lon: f64, lat: f64) -> Vec<u8> {
    let mut b = Vec::with_capacity(40);
    b.extend(0u32.to_be_bytes());
    b.extend(0b11u32.to_be_bytes());
    b.extend(((lat * 1e6) as u32).to_be_bytes());
    b.extend(((lon * 1e6) as u32).to_be_bytes());
    b.extend(45u16.to_be_bytes());
    b.extend(120u16.to_be_bytes());
    b.extend(90u16.to_be_bytes());
    b.extend(bcd_time(ts_ms));
    b.extend([0xe1, 1, 1, 0xe2, 2, 0, 30]);
    b
}

/// Reads until one platform answer (0x8001 or 0x8100) arrives: (answered id, result).
async fn next_answer(
    s: &mut TcpStream,
    d: &mut Deframer,
    buf: &mut [u8],
) -> std::io::Result<(u16, u8)> {
    loop {
        while let Some(f) = d.pop() {
            let Ok(f) = f else { continue };
            let b = &f.body;
            match f.header.msg_id {
                0x8001 if b.len() >= 5 => return Ok((u16::from_be_bytes([b[2], b[3]]), b[4])),
                0x8100 if b.len() >= 3 => return Ok((0x0100, b[2])),
                _ => {}
            }
        }
        let n = s.read(buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        d.push(&buf[..n]);
    }
}

async fn terminal(
    k: usize,
    port: u16,
    deadline: Instant,
    window: usize,
    acked: Arc<AtomicU64>,
    latencies: Arc<Mutex<Vec<u32>>>,
) -> std::io::Result<()> {
    let phone = phone(k);
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.set_nodelay(true)?;
    let mut d = Deframer::default();
    let mut buf = vec![0u8; 8192];
    let mut serial = 0u16;
    // Registration: province, city, maker, model, terminal id, colour, plate.
    let mut reg = Vec::new();
    reg.extend(43u16.to_be_bytes());
    reg.extend(100u16.to_be_bytes());
    reg.extend(*b"GRDBT");
    reg.extend([b'M'; 20]);
    reg.extend(*b"T000001");
    reg.push(1);
    reg.extend(b"A12345");
    serial += 1;
    s.write_all(&encode_frame(&header(0x0100, &phone, serial), &reg).map_err(io)?)
        .await?;
    let code = loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        d.push(&buf[..n]);
        if let Some(Ok(f)) = d.pop() {
            if f.header.msg_id != 0x8100 || f.body.get(2) != Some(&0) {
                return Err(io("registration refused"));
            }
            break f.body[3..].to_vec();
        }
    };
    serial += 1;
    s.write_all(&encode_frame(&header(0x0102, &phone, serial), &code).map_err(io)?)
        .await?;
    if next_answer(&mut s, &mut d, &mut buf).await? != (0x0102, 0) {
        return Err(io("authentication refused"));
    }
    // Reports: a day of seconds a month ago, one second each.
    let base = (chrono::Utc::now().timestamp() - 30 * 86_400) * 1000;
    let (lon, lat) = (
        112.97 + (k % 100) as f64 * 1e-4,
        28.19 + (k / 100) as f64 * 1e-4,
    );
    let mut sent: std::collections::VecDeque<Instant> = std::collections::VecDeque::new();
    let mut i = 0i64;
    while Instant::now() < deadline {
        while sent.len() < window {
            serial = serial.wrapping_add(1);
            let body = location(base + i * 1000, lon + i as f64 * 1e-6, lat);
            i += 1;
            s.write_all(&encode_frame(&header(0x0200, &phone, serial), &body).map_err(io)?)
                .await?;
            sent.push_back(Instant::now());
        }
        let (_, result) = next_answer(&mut s, &mut d, &mut buf).await?;
        {
            if let Some(t) = sent.pop_front() {
                if result == 0 {
                    acked.fetch_add(1, Ordering::Relaxed);
                    let us = t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                    if let Ok(mut l) = latencies.lock() {
                        l.push(us);
                    }
                }
            }
        }
    }
    Ok(())
}

fn io(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let acked = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let (ok, failed) = rt.block_on(async {
        // Connect everyone first (the run's clock starts once all are in).
        let start = Instant::now() + Duration::from_millis(200 + a.terminals as u64 / 2);
        let deadline = start + Duration::from_secs_f64(a.seconds);
        let mut set = tokio::task::JoinSet::new();
        for k in 0..a.terminals {
            let (acked, latencies) = (Arc::clone(&acked), Arc::clone(&latencies));
            let (port, window) = (a.port, a.window);
            set.spawn(async move {
                terminal(k, port, deadline, window, acked, latencies).await
            });
        }
        tokio::time::sleep_until(start.into()).await;
        let before = acked.load(Ordering::Relaxed);
        let t0 = Instant::now();
        let (mut ok, mut failed) = (0, 0);
        while let Some(r) = set.join_next().await {
            match r {
                Ok(Ok(())) => ok += 1,
                _ => failed += 1,
            }
        }
        let secs = t0.elapsed().as_secs_f64();
        let n = acked.load(Ordering::Relaxed) - before;
        let mut l = latencies.lock().map(|l| l.clone()).unwrap_or_default();
        l.sort_unstable();
        let q = |p: f64| l.get(((l.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0);
        println!(
            "{{\"terminals\": {}, \"window\": {}, \"seconds\": {secs:.2}, \"acknowledged\": {n}, \"per_s\": {:.0}, \"latency_ms_p50\": {:.1}, \"latency_ms_p99\": {:.1}, \"terminals_ok\": {ok}, \"terminals_failed\": {failed}}}",
            a.terminals,
            a.window,
            n as f64 / secs,
            f64::from(q(0.5)) / 1000.0,
            f64::from(q(0.99)) / 1000.0,
        );
        (ok, failed)
    });
    if failed > 0 || ok == 0 {
        std::process::exit(1);
    }
}
