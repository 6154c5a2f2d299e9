#!/usr/bin/env python3
"""A stand-in for `gridbeat serve` for the map page, standard library only: serves the page
(`/`, `/map/*`, `/vendor/maplibre-gl/*` from assets/) and the API endpoints the page uses from
the JSON fixtures in tests/browser/fixtures/ (see docs/layers.md), filtered by
unit, worker and day the way the service filters them.

    python3 tests/browser/fixture_server.py --port 0 [--token SECRET] [--basemap]

prints `http://127.0.0.1:PORT/` on its first line, then serves until interrupted.
`--token` makes config.json say auth=true and every API call need `Authorization: Bearer SECRET`.
"""

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ASSETS = os.path.join(ROOT, "assets")
FIXTURES = os.path.join(HERE, "fixtures")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".txt": "text/plain; charset=utf-8",
         ".png": "image/png"}
LAYERS = ("grids", "units", "tracks", "coverage", "stays", "visits", "checkpoints", "positions")


def load(rel):
    with open(os.path.join(FIXTURES, rel), encoding="utf-8") as f:
        return json.load(f)


class Data:
    """The fixtures, read once."""

    def __init__(self):
        self.config = load("config.json")
        self.units = load("units.json")
        self.workers = load("workers.json")
        self.worker_days = load("worker_days.json")
        self.report = load("report.json")
        self.layers = {name: load(f"layers/{name}.json") for name in LAYERS}

    def subtree_grids(self, unit):
        """Grid codes under a unit (the unit itself when it is a grid)."""
        children = {u["code"]: u["children"] for u in self.units}
        level = {u["code"]: u["level"] for u in self.units}
        out, todo = set(), [unit]
        while todo:
            c = todo.pop()
            if level.get(c) == "grid":
                out.add(c)
            todo += children.get(c, [])
        return out

    def layer(self, name, q):
        fc = self.layers[name]
        feats = fc["features"]
        unit, worker, day = q.get("unit"), q.get("worker"), q.get("day")
        month = q.get("month")
        if month and month not in self.config["months"]:
            feats = []
        if unit:
            grids = self.subtree_grids(unit)
            if not grids:
                raise KeyError(f"no unit {unit}")
            workers = {w["id"] for w in self.workers if set(w["grids"]) & grids}
            if name == "grids":
                feats = [f for f in feats if f["properties"]["code"] in grids]
            elif name in ("coverage", "checkpoints"):
                feats = [f for f in feats if f["properties"]["grid"] in grids]
            elif name == "units":
                feats = [f for f in feats if f["properties"]["code"] == unit
                         or f["properties"]["parent"] == unit or any(g.startswith(f["properties"]["code"]) for g in grids)]
            else:
                feats = [f for f in feats if f["properties"]["worker"] in workers]
        if worker:
            if name in ("tracks", "stays", "visits", "positions"):
                feats = [f for f in feats if f["properties"]["worker"] == worker]
            elif name == "coverage":
                mine = next((w["grids"] for w in self.workers if w["id"] == worker), [])
                feats = [dict(f, properties=dict(f["properties"], worker=worker))
                         for f in feats if f["properties"]["grid"] in mine]
        if day and name in ("tracks", "stays"):
            feats = [f for f in feats if f["properties"]["day"] == day]
        if day and name == "visits":
            feats = [f for f in feats if f["properties"]["start"].startswith(day)]
        out = {k: v for k, v in fc.items() if k not in ("features", "bbox")}
        crs = q.get("crs", "wgs84")
        out["gridbeat"] = dict(out["gridbeat"], crs=crs)
        if feats:
            out["bbox"] = fc["bbox"]
        out["features"] = feats
        return out


class Handler(BaseHTTPRequestHandler):
    server_version = "gridbeat-fixture/1"
    data = None
    token = None
    basemap = False

    def log_message(self, fmt, *args):  # quiet unless asked
        if os.environ.get("FIXTURE_LOG"):
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def send(self, status, body, ctype="application/json", extra=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.send_header("cache-control", "no-cache")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message):
        self.send(status, {"code": code, "message": message})

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urlsplit(self.path)
        path = url.path
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if path == "/":
            return self.file(os.path.join(ASSETS, "map", "index.html"))
        if path.startswith("/map/"):
            return self.file(os.path.join(ASSETS, "map", path[5:]))
        if path.startswith("/vendor/maplibre-gl/"):
            return self.file(os.path.join(ASSETS, "vendor", "maplibre-gl", path[20:]))
        if path == "/basemap/tile.png" and self.basemap:
            return self.file(os.path.join(HERE, "fixtures", "tile.png"))
        if path == "/api/v1/config.json":
            cfg = dict(self.data.config, auth=bool(self.token))
            if self.basemap:
                cfg["basemap"] = {"url": "/basemap/tile.png?z={z}&x={x}&y={y}", "type": "raster", "crs": "wgs84"}
            return self.send(200, cfg)
        if path.startswith("/api/"):
            if self.token and self.headers.get("authorization") != f"Bearer {self.token}":
                return self.error(401, "unauthorized", "send Authorization: Bearer TOKEN")
            return self.api(path, q)
        return self.error(404, "not_found", f"no such endpoint {path}")

    def api(self, path, q):
        d = self.data
        parts = path.strip("/").split("/")[2:]  # after api/v1
        try:
            if parts == ["units"]:
                return self.send(200, d.units)
            if parts == ["workers"]:
                return self.send(200, d.workers)
            if len(parts) == 2 and parts[0] == "workers":
                w = next((w for w in d.workers if w["id"] == parts[1]), None)
                if not w:
                    return self.error(404, "not_found", f"no worker {parts[1]}")
                return self.send(200, dict(w, days=d.worker_days.get(w["id"], [])))
            if len(parts) == 2 and parts[0] == "layers":
                if parts[1] not in LAYERS:
                    return self.error(404, "not_found", f"no layer {parts[1]}")
                return self.send(200, d.layer(parts[1], q), "application/geo+json")
            if len(parts) == 2 and parts[0] == "reports":
                if q.get("format", "json") != "json":
                    return self.error(400, "bad_format", "the fixture serves format=json only")
                rep = dict(d.report, month=parts[1], unit=q.get("unit"))
                if q.get("unit"):
                    grids = d.subtree_grids(q["unit"])
                    rep["grids"] = [g for g in rep["grids"] if g["code"] in grids]
                    rep["workers"] = [w for w in rep["workers"] if set(w["grid"].split("+")) & grids]
                return self.send(200, rep)
        except KeyError as e:
            return self.error(404, "not_found", str(e.args[0]))
        return self.error(404, "not_found", f"no such endpoint {path}")

    def file(self, full):
        full = os.path.realpath(full)
        if not full.startswith(os.path.realpath(ASSETS) + os.sep) and not full.startswith(FIXTURES):
            return self.error(404, "not_found", "no such file")
        if not os.path.isfile(full):
            return self.error(404, "not_found", f"no file {self.path}")
        with open(full, "rb") as f:
            body = f.read()
        self.send(200, body, TYPES.get(os.path.splitext(full)[1], "application/octet-stream"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--token", help="require this bearer token (config.auth = true)")
    ap.add_argument("--basemap", action="store_true",
                    help="config.basemap names a raster tile served here (one PNG for every tile)")
    args = ap.parse_args()
    Handler.data = Data()
    Handler.token = args.token
    Handler.basemap = args.basemap
    httpd = ThreadingHTTPServer((args.host, args.port), Handler)
    httpd.daemon_threads = True
    print(f"http://{args.host}:{httpd.server_address[1]}/", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
