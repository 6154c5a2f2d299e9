#!/usr/bin/env python3
"""The soak client of benches/soak.sh (issue 15): steady ingest with dashboard reads beside it.

Standard library only. Loopback only: the base URL must be 127.0.0.1 or localhost.

What it does, for --minutes M:
- N clients post NDJSON batches of the reference month's pings (pings.csv of
  `gridbeat simulate`, read in file order; each worker belongs to one client, so a worker's pings
  arrive in order) at a combined --rate pings/s, each client paced by its own clock. A batch that
  is not answered 200 (or whose connection fails) is sent again, unchanged, until it is: a retry
  as a phone app makes it. The rows of every 200 answer are *acknowledged*; refused records
  (`rejected`) are counted apart.
- One dashboard reads, every --read-every seconds, the month's report and two layers (the whole
  city's grids and one worker-day's track, a different worker each time).
- Every minute it prints the server's RSS (from /proc/PID/status), the pings acknowledged so
  far, and p50/p99 of the posts and the reads of that minute.
At the end it writes a JSON summary (--out) with the distinct acknowledged (worker, ts) count,
which soak.sh compares with the rows in the stopped server's database.
"""

import argparse
import csv
import http.client
import json
import queue
import sys
import threading
import time
import urllib.parse


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def gauges(host, port, token, names):
    """The named gauges of the server's /metrics (Prometheus text), or NaN where missing."""
    out = {n: float("nan") for n in names}
    try:
        status, data = Conn(host, port, token).request("GET", "/metrics")
        if status == 200:
            for line in data.decode("utf-8", "replace").splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] in out:
                    out[parts[0]] = float(parts[1])
    except Exception:  # a missed sample is reported as NaN, not a failed soak
        pass
    return out


def rss_mb(pid, field="VmRSS"):
    """The server's resident size (VmRSS), or one part of it: RssAnon is what it allocated
    (heap, stacks); the rest is mostly the binary's code pages, mapped from the file as they
    are first run (clean pages the kernel can drop)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


class Conn:
    """One keep-alive connection that reconnects after a failure."""

    def __init__(self, host, port, token):
        self.host, self.port, self.token = host, port, token
        self.c = None

    def request(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        for attempt in range(2):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection(self.host, self.port, timeout=60)
                self.c.request(method, path, body=body, headers=h)
                r = self.c.getresponse()
                data = r.read()
                return r.status, data
            except (OSError, http.client.HTTPException):
                if self.c is not None:
                    self.c.close()
                self.c = None
                if attempt == 1:
                    raise
        raise OSError("unreachable")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--csv", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--rate", type=float, default=5000)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--read-every", type=float, default=3.0)
    ap.add_argument("--month", default="2026-10")
    ap.add_argument("--token", default="")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    url = urllib.parse.urlparse(a.base)
    if url.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the soak targets loopback only")
    host, port = url.hostname, url.port or 80
    deadline = time.monotonic() + a.minutes * 60

    queues = [queue.Queue(maxsize=64) for _ in range(a.clients)]
    lock = threading.Lock()
    acked = set()
    stats = {"acked_rows": 0, "rejected": 0, "retries": 0, "batches": 0, "repeats": 0}
    post_lat, read_lat = [], []  # (t, seconds) of this minute
    read_errors = []
    stop = threading.Event()
    workers_seen = []

    def reader():
        """Reads pings.csv in file order into per-client batches of NDJSON lines."""
        pending = [[] for _ in range(a.clients)]
        owner = {}
        with open(a.csv, newline="") as f:
            rows = csv.DictReader(f)
            for row in rows:
                if stop.is_set():
                    break
                w = row["worker"]
                c = owner.get(w)
                if c is None:
                    c = owner[w] = len(owner) % a.clients
                    workers_seen.append(w)
                ts = row["ts"]
                rec = {"worker": w, "ts": int(ts) if ts.isdigit() else ts,
                       "lat": float(row["lat"]), "lon": float(row["lon"])}
                for k in ("acc", "speed", "bearing", "alt", "batt"):
                    v = row.get(k)
                    if v not in (None, ""):
                        rec[k] = float(v)
                if row.get("mock", "").lower() in ("true", "1"):
                    rec["mock"] = True
                if row.get("checkin"):
                    rec["checkin"] = row["checkin"]
                key = (w, rec["ts"])
                pending[c].append((key, json.dumps(rec, separators=(",", ":"))))
                if len(pending[c]) >= a.batch:
                    while not stop.is_set():
                        try:
                            queues[c].put(pending[c], timeout=0.5)
                            break
                        except queue.Full:
                            continue
                    pending[c] = []
        for q in queues:
            try:
                q.put(None, timeout=5)
            except queue.Full:
                pass

    def client(i):
        conn = Conn(host, port, a.token)
        per_s = a.rate / a.clients
        sent = 0
        t0 = time.monotonic()
        while time.monotonic() < deadline:
            try:
                batch = queues[i].get(timeout=1)
            except queue.Empty:
                continue
            if batch is None:
                return
            body = "\n".join(line for _, line in batch).encode()
            while True:
                t = time.monotonic()
                try:
                    status, data = conn.request("POST", "/api/v1/pings", body,
                                                {"Content-Type": "application/x-ndjson"})
                except OSError:
                    status, data = 0, b""
                dt = time.monotonic() - t
                if status == 200:
                    ans = json.loads(data)
                    bad = {r["index"] for r in ans.get("rejected", [])}
                    with lock:
                        post_lat.append(dt)
                        stats["batches"] += 1
                        stats["rejected"] += len(bad)
                        stats["repeats"] += ans.get("repeats", 0)
                        for j, (key, _) in enumerate(batch):
                            if j not in bad:
                                acked.add(key)
                                stats["acked_rows"] += 1
                    break
                with lock:
                    stats["retries"] += 1
                time.sleep(0.2)
            sent += len(batch)
            # Pace: this client's share of the rate, by its own clock.
            ahead = sent / per_s - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)

    def dashboard():
        conn = Conn(host, port, a.token)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            paths = [f"/api/v1/reports/{a.month}", f"/api/v1/layers/grids?month={a.month}"]
            if workers_seen:
                w = workers_seen[n % len(workers_seen)]
                day = f"{a.month}-{(n % 28) + 1:02d}"
                paths.append(f"/api/v1/layers/tracks?worker={urllib.parse.quote(w)}&day={day}")
            for p in paths:
                t = time.monotonic()
                try:
                    status, _ = conn.request("GET", p, headers={"Accept-Encoding": "gzip"})
                except OSError as e:
                    status = str(e)
                dt = time.monotonic() - t
                with lock:
                    read_lat.append(dt)
                    if status != 200:
                        read_errors.append((p, status))
            time.sleep(a.read_every)

    threads = [threading.Thread(target=reader, daemon=True)]
    threads += [threading.Thread(target=client, args=(i,), daemon=True) for i in range(a.clients)]
    threads.append(threading.Thread(target=dashboard, daemon=True))
    for t in threads:
        t.start()

    minutes = []
    start = time.monotonic()
    m = 0
    print("minute  rss_MB  anon_MB  heap_MB  active_MB  heap_res_MB  sqlite_MB  cache_MB  acked_pings  posts  post_p50_ms  post_p99_ms  reads  read_p50_ms  read_p99_ms", flush=True)
    all_post, all_read = [], []
    while time.monotonic() < deadline:
        m += 1
        time.sleep(max(0.0, start + 60 * m - time.monotonic()))
        with lock:
            p, r = post_lat[:], read_lat[:]
            post_lat.clear()
            read_lat.clear()
            n_acked = stats["acked_rows"]
        all_post += p
        all_read += r
        g = gauges(host, port, a.token, ["gridbeat_store_memory_bytes", "gridbeat_cache_bytes",
                                         "gridbeat_heap_allocated_bytes", "gridbeat_heap_active_bytes",
                                         "gridbeat_heap_resident_bytes"])
        row = {"minute": m, "rss_mb": rss_mb(a.pid), "anon_mb": rss_mb(a.pid, "RssAnon"), "acked": n_acked, "posts": len(p),
               "sqlite_mb": g["gridbeat_store_memory_bytes"] / 2**20,
               "cache_mb": g["gridbeat_cache_bytes"] / 2**20,
               "heap_mb": g["gridbeat_heap_allocated_bytes"] / 2**20,
               "heap_active_mb": g["gridbeat_heap_active_bytes"] / 2**20,
               "heap_res_mb": g["gridbeat_heap_resident_bytes"] / 2**20,
               "post_p50_ms": percentile(p, 50) * 1000, "post_p99_ms": percentile(p, 99) * 1000,
               "reads": len(r), "read_p50_ms": percentile(r, 50) * 1000,
               "read_p99_ms": percentile(r, 99) * 1000}
        minutes.append(row)
        print("{minute:6d}  {rss_mb:6.0f}  {anon_mb:7.0f}  {heap_mb:7.1f}  {heap_active_mb:9.1f}  {heap_res_mb:11.1f}  {sqlite_mb:9.1f}  {cache_mb:8.1f}  {acked:11d}  {posts:5d}  {post_p50_ms:11.1f}  {post_p99_ms:11.1f}  "
              "{reads:5d}  {read_p50_ms:11.1f}  {read_p99_ms:11.1f}".format(**row), flush=True)
    stop.set()
    for t in threads[1:]:
        t.join(timeout=120)
    summary = {
        "minutes": minutes,
        "acked_distinct": len(acked),
        "acked_rows": stats["acked_rows"],
        "rejected": stats["rejected"],
        "retries": stats["retries"],
        "repeats": stats["repeats"],
        "batches": stats["batches"],
        "post_p50_ms": percentile(all_post, 50) * 1000,
        "post_p99_ms": percentile(all_post, 99) * 1000,
        "read_p50_ms": percentile(all_read, 50) * 1000,
        "read_p99_ms": percentile(all_read, 99) * 1000,
        "read_errors": read_errors[:20],
        "read_error_count": len(read_errors),
        "rate": a.rate,
        "achieved_rate": stats["acked_rows"] / max(1e-9, time.monotonic() - start),
    }
    with open(a.out, "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps({k: v for k, v in summary.items() if k != "minutes"}, indent=1))


if __name__ == "__main__":
    main()
