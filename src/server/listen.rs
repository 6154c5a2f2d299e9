//! The accept loop of `gridbeat serve` (HTTP/1.1 on hyper): what `axum::serve` does, plus the
//! transport limits of `[server]` (README "Limits"):
//!
//! - `header_timeout_s`: a client that has not sent a request's headers in time is closed
//!   (hyper's header read timeout; no answer is possible before the headers).
//! - `idle_timeout_s`: a connection with no request in flight for that long is closed
//!   (gracefully: a request that has just begun is still answered).
//! - `max_connections` (all clients) and `max_connections_per_ip`: a new connection over a cap
//!   closes the **oldest idle** connection (of that address for the per-address cap) instead;
//!   only when every connection is busy is the new one refused (closed at once). Refusals and
//!   shedding are logged once per episode, not once per connection, and counted in
//!   `/metrics` (`gridbeat_connections_refused_total`, `gridbeat_connections_shed_total`).
//!
//! The body read timeout and the per-request deadline are applied per request, in the router
//! (`ingest::read_body` and the `observe` middleware), where a JSON answer is possible.
//! Graceful shutdown: no new connection is accepted, idle ones close, requests in flight
//! finish (their commits included), then the loop returns.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tower::ServiceExt;

use crate::config::ServerConfig;

/// The transport limits of one server (from `[server]`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Time to send a request's headers.
    pub header: Duration,
    /// Time a connection may stay open without a request in flight.
    pub idle: Duration,
    /// Time the requests in flight get to finish after a stop.
    pub drain: Duration,
    /// Open connections at most, in total.
    pub max_total: usize,
    /// Open connections at most per client address.
    pub max_per_ip: usize,
}

impl Limits {
    /// The limits a config gives (a zero time or cap is taken as 1).
    pub fn of(server: &ServerConfig) -> Limits {
        Limits {
            header: Duration::from_secs(server.header_timeout_s.max(1)),
            idle: Duration::from_secs(server.idle_timeout_s.max(1)),
            drain: Duration::from_secs(server.request_timeout_s.max(1) + 5),
            max_total: server.max_connections.max(1),
            max_per_ip: server.max_connections_per_ip.max(1),
        }
    }
}

/// One open connection, as the cap sees it.
struct Conn {
    ip: IpAddr,
    opened: Instant,
    /// Requests being answered on it.
    in_flight: AtomicUsize,
    /// Milliseconds after `opened` of its last request's end.
    last_ms: AtomicU64,
    /// Asked to close (shed); no longer counted against the caps.
    closing: AtomicBool,
    /// Wakes its task to close it.
    close: tokio::sync::Notify,
}

impl Conn {
    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last_ms.load(Ordering::Acquire));
        Some(self.opened.elapsed().saturating_sub(last))
    }
}

/// Marks a request in flight on its connection while it lives.
struct Busy(Arc<Conn>);

impl Busy {
    fn new(conn: Arc<Conn>) -> Busy {
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(conn)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let now = self.0.opened.elapsed().as_millis() as u64;
        self.0.last_ms.store(now, Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The open connections of a process (every listener shares one set, as they share the
/// process's file descriptors).
pub struct Conns {
    limits: Limits,
    open: Mutex<(u64, HashMap<u64, Arc<Conn>>)>,
    /// Refusing (or shedding) right now: the episode has been logged.
    refusing: AtomicBool,
    shedding: AtomicBool,
    refused: AtomicU64,
}

impl Conns {
    /// An empty set with these limits.
    pub fn new(limits: Limits) -> Arc<Conns> {
        Arc::new(Conns {
            limits,
            open: Mutex::new((0, HashMap::new())),
            refusing: AtomicBool::new(false),
            shedding: AtomicBool::new(false),
            refused: AtomicU64::new(0),
        })
    }

    /// Connections open now (those asked to close included).
    pub fn len(&self) -> usize {
        self.open.lock().map_or(0, |o| o.1.len())
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Admits a connection from `ip`, closing the oldest idle one when a cap is reached;
    /// `None`: refused (every connection under the cap is busy).
    fn admit(&self, ip: IpAddr) -> Option<(u64, Arc<Conn>)> {
        let Ok(mut open) = self.open.lock() else {
            return None;
        };
        let live = |c: &&Arc<Conn>| !c.closing.load(Ordering::Acquire);
        let from_ip = open.1.values().filter(live).filter(|c| c.ip == ip).count();
        let total = open.1.values().filter(live).count();
        let over = if from_ip >= self.limits.max_per_ip {
            Some(Some(ip))
        } else if total >= self.limits.max_total {
            Some(None)
        } else {
            None
        };
        if let Some(scope) = over {
            let oldest = open
                .1
                .values()
                .filter(live)
                .filter(|c| scope.is_none_or(|ip| c.ip == ip))
                .filter_map(|c| c.idle_for().map(|d| (d, c)))
                .max_by_key(|(d, _)| *d)
                .map(|(_, c)| Arc::clone(c));
            match oldest {
                Some(c) => {
                    c.closing.store(true, Ordering::Release);
                    c.close.notify_one();
                    metrics::counter!("gridbeat_connections_shed_total").increment(1);
                    if !self.shedding.swap(true, Ordering::AcqRel) {
                        tracing::warn!(
                            total,
                            from_ip,
                            max_connections = self.limits.max_total,
                            max_connections_per_ip = self.limits.max_per_ip,
                            "connection cap reached: closing the oldest idle connections to \
                             admit new ones (logged once while it lasts)"
                        );
                    }
                }
                None => {
                    metrics::counter!("gridbeat_connections_refused_total").increment(1);
                    self.refused.fetch_add(1, Ordering::Relaxed);
                    if !self.refusing.swap(true, Ordering::AcqRel) {
                        tracing::warn!(
                            %ip,
                            total,
                            from_ip,
                            max_connections = self.limits.max_total,
                            max_connections_per_ip = self.limits.max_per_ip,
                            "connection cap reached and every connection is busy: refusing new \
                             connections (logged once while it lasts)"
                        );
                    }
                    return None;
                }
            }
        } else {
            if self.shedding.swap(false, Ordering::AcqRel) {
                tracing::info!("connections under the cap again");
            }
            if self.refusing.swap(false, Ordering::AcqRel) {
                tracing::info!(
                    refused = self.refused.swap(0, Ordering::Relaxed),
                    "accepting connections again"
                );
            }
        }
        open.0 += 1;
        let id = open.0;
        let conn = Arc::new(Conn {
            ip,
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_ms: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            close: tokio::sync::Notify::new(),
        });
        open.1.insert(id, Arc::clone(&conn));
        metrics::gauge!("gridbeat_connections_open").set(open.1.len() as f64);
        Some((id, conn))
    }

    fn release(&self, id: u64) {
        if let Ok(mut open) = self.open.lock() {
            open.1.remove(&id);
            metrics::gauge!("gridbeat_connections_open").set(open.1.len() as f64);
        }
    }

    /// Asks the oldest idle connection to close (the process is out of file descriptors).
    fn shed_one(&self) {
        if let Ok(open) = self.open.lock() {
            let oldest = open
                .1
                .values()
                .filter(|c| !c.closing.load(Ordering::Acquire))
                .filter_map(|c| c.idle_for().map(|d| (d, c)))
                .max_by_key(|(d, _)| *d)
                .map(|(_, c)| Arc::clone(c));
            if let Some(c) = oldest {
                c.closing.store(true, Ordering::Release);
                c.close.notify_one();
            }
        }
    }
}

/// Raises this process's soft limit of open files to its hard limit (as servers do), so the
/// connection caps, not the default 1,024 descriptors, decide. Returns the limit now in force.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 on Linux, not on every unix
pub fn raise_open_files_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed by reference.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim = raised;
        }
    }
    Some(lim.rlim_cur as u64)
}

/// Raises the open-files limit (nothing to do on this platform).
#[cfg(not(unix))]
pub fn raise_open_files_limit() -> Option<u64> {
    None
}

/// Accepts connections on `listener` and serves `router` on each until `stop` turns true;
/// then waits for the connections to finish (see the module documentation).
pub async fn run(
    listener: tokio::net::TcpListener,
    router: Router,
    conns: Arc<Conns>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut stopped = stop.clone();
    let mut failing = false;
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stopped.wait_for(|s| *s) => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => {
                if std::mem::take(&mut failing) {
                    tracing::info!("accepting connections again");
                }
                a
            }
            Err(e) => {
                // Out of descriptors (EMFILE/ENFILE) or a connection reset before accept:
                // log once while it lasts, free an idle connection, and try again shortly.
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e, "cannot accept connections (logged once while it lasts)");
                }
                conns.shed_one();
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some((id, conn)) = conns.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_conn(
            stream,
            router.clone(),
            Arc::clone(&conns),
            id,
            conn,
            stop.clone(),
            done_tx.clone(),
        ));
    }
    drop(done_tx);
    let _ = done_rx.recv().await;
}

/// Serves one connection until it ends, is idle too long, is shed, or the server stops.
async fn serve_conn(
    stream: tokio::net::TcpStream,
    router: Router,
    conns: Arc<Conns>,
    id: u64,
    conn: Arc<Conn>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    _done: tokio::sync::mpsc::Sender<()>,
) {
    let limits = conns.limits;
    let on = Arc::clone(&conn);
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let busy = Busy::new(Arc::clone(&on));
        let router = router.clone();
        async move {
            let _busy = busy;
            router.oneshot(req.map(Body::new)).await
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header)
        .keep_alive(true);
    let mut http = std::pin::pin!(builder.serve_connection(TokioIo::new(stream), service));
    let tick = (limits.idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut ticks = tokio::time::interval(tick);
    let mut closing = false;
    let mut stopping = false;
    // After a shed or a stop, the latest moment the connection is dropped outright.
    let mut hard: Option<Instant> = None;
    loop {
        tokio::select! {
            r = http.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            _ = stop.wait_for(|s| *s), if !closing => {
                // A stop closes an idle connection at once; one with a request in flight
                // finishes it (its commit included), within the drain time.
                if conn.idle_for().is_some() {
                    break;
                }
                http.as_mut().graceful_shutdown();
                closing = true;
                stopping = true;
                hard = Some(Instant::now() + limits.drain);
            }
            () = conn.close.notified(), if !closing => {
                // Shed: an idle connection is closed at once (a keep-alive client reconnects);
                // one with a request in flight finishes it first.
                if conn.idle_for().is_some() {
                    break;
                }
                http.as_mut().graceful_shutdown();
                closing = true;
                hard = Some(Instant::now() + Duration::from_secs(1));
            }
            _ = ticks.tick() => {
                if !closing && conn.idle_for().is_some_and(|d| d >= limits.idle) {
                    break;
                }
                // A connection asked to close that does not close by itself (a client that
                // never reads) is dropped once idle; after a stop, at the drain deadline.
                if let Some(h) = hard {
                    if Instant::now() >= h && (conn.idle_for().is_some() || stopping) {
                        break;
                    }
                }
            }
        }
    }
    conns.release(id);
}
