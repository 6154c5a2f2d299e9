#!/usr/bin/env python3
"""Checks the map page in headless Chromium: it loads, draws grids (and tracks), and logs no
error.

    python3 tests/browser/map_check.py URL [--token T] [--screenshot PATH] [--timeout S]
                                       [--expect-grids N] [--expect-tracks] [--expect-routes]
                                       [--width W --height H]

Opens URL (the token, if any, is put in localStorage before the page's scripts run), waits for
`window.gridbeat.ready`, then checks the first view: `window.gridbeat.rendered()` has grids (> 0,
or >= N with --expect-grids) and no tracks (they are drawn once a unit or worker is chosen),
every grid label on the map is unique and no two labels overlap. With --expect-tracks it then
picks the first worker and checks that tracks are drawn. With --expect-routes the vehicles'
routes and latest positions must be drawn in the first view; then the first unit is chosen (its
vehicles' tracks are drawn) and a click on a route shows its pop-up with the route's figures.
Throughout, `window.gridbeat.error`
must stay null and no console error, uncaught exception, error log entry, HTTP error or request
to another host may happen. Prints one line of JSON and exits 0 when all is well, 1 otherwise.
"""

import argparse
import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import CdpError, Chromium, Problems  # noqa: E402


def check(args):
    summary = {"ok": False, "url": args.url}
    with Chromium(width=args.width, height=args.height) as browser:
        problems = Problems(browser, args.url)
        for domain in ("Runtime", "Log", "Page", "Network"):
            browser.call(f"{domain}.enable")
        mobile = args.width < 700
        browser.call("Emulation.setDeviceMetricsOverride", {
            "width": args.width, "height": args.height, "deviceScaleFactor": 1, "mobile": mobile})
        if mobile:
            browser.call("Emulation.setTouchEmulationEnabled", {"enabled": True})
        if args.token is not None:
            browser.call("Page.addScriptToEvaluateOnNewDocument", {
                "source": "try { localStorage.setItem('gridbeat.token', %s); } catch (e) {}"
                          % json.dumps(args.token)})
        if args.lang:
            browser.call("Page.addScriptToEvaluateOnNewDocument", {
                "source": "try { localStorage.setItem('gridbeat.lang', %s); } catch (e) {}"
                          % json.dumps(args.lang)})
        nav = browser.call("Page.navigate", {"url": args.url})
        if nav.get("errorText"):
            raise CdpError(f"navigation failed: {nav['errorText']}")

        deadline = time.time() + args.timeout
        state = None
        while time.time() < deadline:
            state = browser.evaluate(
                "window.gridbeat ? {ready: window.gridbeat.ready, error: window.gridbeat.error ||"
                " (document.getElementById('token').hidden ? null : 'the page asks for a token')} : null")
            if state and (state["ready"] or state["error"]):
                break
            browser.pump(0.25)
        if not state or not state["ready"]:
            summary["error"] = (state or {}).get("error") or f"not ready after {args.timeout} s"
            summary["problems"] = problems.items
            shoot(browser, args, summary)
            return summary
        browser.pump(0.5)  # late console messages
        g = browser.evaluate("({counts: window.gridbeat.counts, rendered: window.gridbeat.rendered(),"
                             " labels: window.gridbeat.labels(), error: window.gridbeat.error})")
        summary.update(counts=g["counts"], rendered=g["rendered"])
        failures = first_view(g, args)
        summary["labels"] = [lb["text"] for lb in g["labels"]]
        # The picture is of the first view (the whole scope), before any interaction.
        shoot(browser, args, summary)
        if args.expect_tracks and not failures:
            try:
                summary["tracks_of_a_worker"] = tracks_of_a_worker(browser, args.timeout)
            except (CdpError, AssertionError) as e:
                failures.append(f"tracks: {e}")
        if args.expect_routes and not failures:
            try:
                summary["routes"] = routes_and_vehicles(browser, args.timeout)
            except (CdpError, AssertionError) as e:
                failures.append(f"routes: {e}")
        if args.interact and not failures:
            try:
                summary["interact"] = interact(browser, args.timeout)
            except (CdpError, AssertionError) as e:
                failures.append(f"interaction: {e}")
            g["error"] = browser.evaluate("window.gridbeat.error")
        if g["error"]:
            failures.append(f"page error: {g['error']}")
        failures += problems.items
        summary["problems"] = failures
        summary["ok"] = not failures
        if failures:
            summary["error"] = failures[0]
        return summary


def first_view(g, args):
    """What the first view must show: grids, no tracks, unique grid labels, no overlapping label."""
    failures = []
    grids = g["rendered"].get("grids", 0)
    if grids < max(1, args.expect_grids or 0):
        failures.append(f"{grids} grids drawn, expected {'>= %d' % args.expect_grids if args.expect_grids else '> 0'}")
    if g["rendered"].get("tracks", 0) or g["rendered"].get("gaps", 0):
        failures.append("tracks drawn before a unit or worker is chosen")
    names = [lb["text"] for lb in g["labels"] if "grid-label" in lb["cls"]]
    if not names:
        failures.append("no grid label in the first view")
    # A label is the grid's name (with its community's where names repeat) and its coverage.
    firsts = [n.split("\n")[0] for n in names]
    if len(set(firsts)) != len(firsts):
        failures.append(f"grid labels repeat: {sorted(firsts)}")
    boxes = [lb["box"] for lb in g["labels"]]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                failures.append(f"labels overlap: {g['labels'][i]['text']!r} and another")
                return failures
    return failures


def tracks_of_a_worker(browser, timeout):
    """Picks the first worker: their tracks are drawn. Returns how many."""
    browser.evaluate(
        "(() => { const s = document.getElementById('worker'); s.value = s.options[1].value;"
        " s.dispatchEvent(new Event('change')); return s.value; })()")
    wait_for(browser, "window.gridbeat.counts.tracks > 0 && !window.gridbeat.loading", timeout,
             "the worker's tracks")
    idle(browser, timeout)
    n = browser.evaluate("window.gridbeat.rendered().tracks")
    assert n > 0, "no tracks drawn for the chosen worker"
    browser.evaluate(
        "(() => { const s = document.getElementById('worker'); s.value = '';"
        " s.dispatchEvent(new Event('change')); })()")
    wait_for(browser, "window.gridbeat.counts.tracks === 0 && !window.gridbeat.loading", timeout,
             "tracks gone with all workers")
    return n


def routes_and_vehicles(browser, timeout):
    """The routes and the vehicles' positions in the first view; a unit's vehicle tracks; a
    route's pop-up with its figures. Returns what it saw."""
    seen = {}
    idle(browser, timeout)
    r = browser.evaluate("window.gridbeat.rendered()")
    seen["counts"] = browser.evaluate("window.gridbeat.counts")
    seen["rendered"] = {k: r.get(k) for k in ("routes", "vehicles")}
    assert seen["counts"].get("routes", 0) > 0, f"the routes source is empty: {seen['counts']}"
    assert r.get("routes", 0) > 0, f"no route drawn: {r}"
    assert r.get("vehicles", 0) > 0, f"no vehicle position drawn: {r}"
    states = browser.evaluate(
        "[...new Set(window.gridbeat.state.data.routes.features.map(f => f.properties.state))]")
    seen["states"] = sorted(states)
    # A click on a route: the pop-up of the stretch with the route's figures.
    xy = browser.evaluate(
        "(() => { const m = window.gridbeat.map;"
        " const others = ['positions-circle', 'vehicles-circle', 'visits-circle', 'stays-circle',"
        "   'checkpoints-circle', 'vehicle-tracks-line'].filter(id => m.getLayer(id));"
        " for (const f of window.gridbeat.state.data.routes.features) {"
        "  const c = f.geometry.coordinates; const a = c[0], b = c[1];"
        "  const p = m.project([(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]);"
        "  const box = [[p.x - 8, p.y - 8], [p.x + 8, p.y + 8]];"
        "  if (m.queryRenderedFeatures(box, {layers: others}).length) continue;"
        "  if (m.queryRenderedFeatures([p.x, p.y], {layers: ['routes-line']}).length)"
        "   return [p.x, p.y, f.properties.route]; }"
        " return null; })()")
    assert xy, "no spot on a route free of markers to click"
    rect = browser.evaluate("(() => { const r = document.getElementById('map').getBoundingClientRect();"
                            " return [r.left, r.top]; })()")
    click_at(browser, rect[0] + xy[0], rect[1] + xy[1])
    text = wait_for(browser, "(() => { const p = document.querySelector('.maplibregl-popup .route-popup');"
                    " return p ? p.textContent : null; })()", timeout, "the route pop-up")
    assert xy[2] in text and "%" in text, f"route pop-up: {text[:200]}"
    seen["route_popup"] = text[:160]
    browser.evaluate("window.gridbeat.state.popup && window.gridbeat.state.popup.remove()")
    # A unit: its vehicles' tracks.
    seen["unit"] = browser.evaluate(
        "(() => { const s = document.getElementById('unit'); s.value = s.options[1].value;"
        " s.dispatchEvent(new Event('change')); return s.value; })()")
    wait_for(browser, "window.gridbeat.counts.vehicle_tracks > 0 && !window.gridbeat.loading", timeout,
             "the unit's vehicle tracks")
    idle(browser, timeout)
    seen["vehicle_tracks"] = browser.evaluate("window.gridbeat.rendered().vehicle_tracks")
    assert seen["vehicle_tracks"] > 0, "no vehicle track drawn"
    browser.evaluate(
        "(() => { const s = document.getElementById('unit'); s.value = '';"
        " s.dispatchEvent(new Event('change')); })()")
    wait_for(browser, "window.gridbeat.counts.vehicle_tracks === 0 && !window.gridbeat.loading", timeout,
             "vehicle tracks gone with all units")
    return seen


def wait_for(browser, expression, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = browser.evaluate(expression)
        if value:
            return value
        browser.pump(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


def idle(browser, timeout):
    browser.evaluate("new Promise(r => { const m = window.gridbeat.map; m.once('idle', () => r(true)); m.triggerRepaint(); })",
                     timeout=timeout)


def click_at(browser, x, y):
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        browser.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                                   "clickCount": 1})


def interact(browser, timeout):
    """Drives the controls as a user would: a worker, a day, the replay slider, a click on a
    grid and on a worker's position, the language toggle. Returns what it saw."""
    seen = {}
    if browser.evaluate("window.matchMedia('(max-width: 700px)').matches"):
        browser.evaluate("document.getElementById('drawer-toggle').click()")
        seen["drawer_open"] = browser.evaluate("document.body.classList.contains('drawer-open')")
        assert seen["drawer_open"], "the drawer did not open"
    # A worker: the day list fills from /api/v1/workers/{id}.
    seen["worker"] = browser.evaluate(
        "(() => { const s = document.getElementById('worker'); s.value = s.options[1].value;"
        " s.dispatchEvent(new Event('change')); return s.value; })()")
    wait_for(browser, "document.getElementById('day').options.length > 1", timeout, "days of the worker")
    # A day: the replay marker moves with the slider.
    seen["day"] = browser.evaluate(
        "(() => { const s = document.getElementById('day'); s.value = s.options[1].value;"
        " s.dispatchEvent(new Event('change')); return s.value; })()")
    wait_for(browser, "window.gridbeat.state.replay !== null", timeout, "the day's walk")
    positions = []
    for v in (0, 500, 1000):
        positions.append(browser.evaluate(
            "(() => { const s = document.getElementById('slider'); s.value = %d;"
            " s.dispatchEvent(new Event('input')); const p = window.gridbeat.state.replayMarker.getLngLat();"
            " return [p.lng, p.lat, document.getElementById('replay-time').textContent]; })()" % v))
    seen["replay"] = positions
    assert positions[0][:2] != positions[1][:2] != positions[2][:2], "the replay marker did not move"
    walk_ends = browser.evaluate(
        "(() => { const c = window.gridbeat.state.replay.walk.geometry.coordinates;"
        " return [c[0][0], c[c.length - 1][c[c.length - 1].length - 1]]; })()")
    for got, want in ((positions[0], walk_ends[0]), (positions[2], walk_ends[1])):
        assert abs(got[0] - want[0]) < 1e-7 and abs(got[1] - want[1]) < 1e-7, \
            f"replay marker at {got[:2]}, expected the walk's end {want}"
    idle(browser, timeout)
    seen["rendered_replay"] = browser.evaluate("window.gridbeat.rendered().replay")
    assert seen["rendered_replay"] > 0, "the replayed walk is not drawn"
    if browser.evaluate("document.body.classList.contains('drawer-open')"):
        browser.evaluate("document.getElementById('drawer-close').click()")
    # A click on a grid: its pop-up with the figures and the report's worker rows.
    xy = browser.evaluate(
        # A spot inside a grid in view where nothing else clickable is drawn within the click's
        # 6-px tolerance (real tracks are dense), scanning each grid on a 24 x 24 lattice.
        "(() => { const m = window.gridbeat.map;"
        " const others = ['positions-circle', 'visits-circle', 'stays-circle', 'checkpoints-circle',"
        "   'replay-walk', 'replay-gap', 'tracks-gap', 'tracks-walk'].filter(id => m.getLayer(id));"
        " const fs = window.gridbeat.state.data.grids.features.filter(f => f.labelAt && m.getBounds().contains(f.labelAt));"
        " for (const f of fs) {"
        "  const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];"
        "  const xs = ring.map(c => c[0]), ys = ring.map(c => c[1]);"
        "  const w = Math.min(...xs), e = Math.max(...xs), s = Math.min(...ys), n = Math.max(...ys);"
        "  for (let i = 1; i < 24; i++) for (let j = 1; j < 24; j++) {"
        "   const p = m.project([w + (e - w) * i / 24, s + (n - s) * j / 24]);"
        "   const box = [[p.x - 8, p.y - 8], [p.x + 8, p.y + 8]];"
        "   if (m.queryRenderedFeatures(box, {layers: others}).length) continue;"
        "   const g = m.queryRenderedFeatures(box, {layers: ['grids-fill']});"
        "   if (g.length && g.every(h => h.properties.code === f.properties.code))"
        "    return [p.x, p.y, f.properties.name, f.properties.code]; } }"
        " return null; })()")
    assert xy, "no spot inside a grid free of tracks and markers to click"
    rect = browser.evaluate("(() => { const r = document.getElementById('map').getBoundingClientRect();"
                            " return [r.left, r.top]; })()")
    click_at(browser, rect[0] + xy[0], rect[1] + xy[1])
    text = wait_for(browser, "(() => { const p = document.querySelector('.maplibregl-popup');"
                    " return p && p.querySelector('.report-rows table') ? p.textContent : null; })()",
                    timeout, "the grid pop-up with report rows")
    assert xy[2] in text and xy[3] in text and "%" in text, f"grid pop-up: {text[:200]}"
    seen["grid_popup"] = text[:160]
    # The language toggle.
    browser.evaluate("document.getElementById('lang-toggle').click()")
    seen["title_en"] = browser.evaluate("document.querySelector('#panel h1').textContent")
    assert seen["title_en"] == "Grid patrol map", seen["title_en"]
    browser.evaluate("document.getElementById('lang-toggle').click()")
    return seen


def shoot(browser, args, summary):
    if not args.screenshot:
        return
    shot = browser.call("Page.captureScreenshot", {"format": "png"}, timeout=60)
    with open(args.screenshot, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    summary["screenshot"] = args.screenshot


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url")
    ap.add_argument("--token", help="bearer token, stored in localStorage before the page loads")
    ap.add_argument("--screenshot", metavar="PATH", help="write a PNG screenshot here")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for ready")
    ap.add_argument("--expect-grids", type=int, metavar="N", help="at least N grids drawn")
    ap.add_argument("--expect-tracks", action="store_true",
                    help="tracks must be drawn once the first worker is chosen")
    ap.add_argument("--expect-routes", action="store_true",
                    help="the vehicles' routes and positions must be drawn, a unit's vehicle tracks too")
    ap.add_argument("--interact", action="store_true",
                    help="also drive the controls: worker, day replay, grid pop-up, language")
    ap.add_argument("--lang", choices=("zh", "en"), help="the page's language")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=800)
    args = ap.parse_args()
    try:
        summary = check(args)
    except (CdpError, OSError) as e:
        summary = {"ok": False, "url": args.url, "error": f"browser: {e}"}
    print(json.dumps(summary, ensure_ascii=False))
    if not summary["ok"]:
        print(f"map check FAILED: {summary.get('error')}", file=sys.stderr)
        return 1
    print("map check ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
