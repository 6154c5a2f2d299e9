#!/usr/bin/env python3
"""The browser check of the vehicles on the map: a fresh data directory gets the sample city's
registry with its vehicles and routes (`gridbeat registry load`) and the workers' and vehicles'
pings (`gridbeat import`); `gridbeat serve` (no tokens, loopback) summarises them, and once the
routes layer shows passes, map_check.py --expect-routes opens the page in headless Chromium:
routes coloured by state and the vehicles' positions in the first view, a unit's vehicle
tracks, a route's pop-up, no console error. The server is stopped (SIGTERM) whatever happens.

    python3 tests/browser/fleet_check.py --binary target/debug/gridbeat [--screenshot PATH]

The last line printed is map_check's JSON summary; the exit code is 0 when it passed.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "..", "data", "sample")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample(name):
    return os.path.join(SAMPLE, name)


def run(cmd):
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--screenshot")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds for the summaries")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        run([a.binary, "registry", "load", "--data", data, "--grids", sample("grids.geojson"),
             "--workers", sample("workers.csv"), "--checkpoints", sample("checkpoints.geojson"),
             "--vehicles", sample("vehicles.csv"), "--routes", sample("routes.geojson")])
        run([a.binary, "import", "--data", data, sample("pings.csv"), sample("vehicle_pings.csv")])
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(os.path.join(tmp, "serve.log"), "w")
        server = subprocess.Popen([a.binary, "serve", "--data", data, "--listen", f"127.0.0.1:{port}"],
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + a.timeout
            while True:
                try:
                    config = get_json(base + "/api/v1/config.json")
                    routes = get_json(base + "/api/v1/layers/routes?month=2026-10")
                    if "2026-10" in config.get("months", []) and any(
                            f["properties"]["passes"] > 0 for f in routes["features"]):
                        break
                except OSError:
                    pass
                if time.time() > deadline or server.poll() is not None:
                    log.flush()
                    sys.stderr.write("the server summarised no route passes:\n" +
                                     open(os.path.join(tmp, "serve.log")).read()[-3000:])
                    return 1
                time.sleep(1)
            check = [sys.executable, os.path.join(HERE, "map_check.py"), base + "/", "--expect-routes"]
            if a.screenshot:
                check += ["--screenshot", a.screenshot]
            out = subprocess.run(check, stdout=subprocess.PIPE, text=True)
            print(out.stdout.strip().splitlines()[-1] if out.stdout.strip() else '{"ok": false}')
            return out.returncode
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main())
