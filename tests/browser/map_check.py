#!/usr/bin/env python3
"""Checks the map page in headless Chromium: it loads, draws grids (and tracks), and logs no
error.

    python3 tests/browser/map_check.py URL [--token T] [--screenshot PATH] [--timeout S]
                                       [--expect-grids N] [--expect-tracks] [--width W --height H]

Opens URL (the token, if any, is put in localStorage before the page's scripts run), waits for
`window.gridbeat.ready`, then checks `window.gridbeat.rendered()` (grids > 0, or >= N with
--expect-grids; tracks > 0 with --expect-tracks), that `window.gridbeat.error` is null and that
no console error, uncaught exception, error log entry, HTTP error or request to another host
happened. Prints one line of JSON and exits 0 when all is well, 1 otherwise.
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
                "window.gridbeat ? {ready: window.gridbeat.ready, error: window.gridbeat.error} : null")
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
                             " error: window.gridbeat.error})")
        summary.update(counts=g["counts"], rendered=g["rendered"])
        failures = []
        grids = g["rendered"].get("grids", 0)
        if grids < max(1, args.expect_grids or 0):
            failures.append(f"{grids} grids drawn, expected {'>= %d' % args.expect_grids if args.expect_grids else '> 0'}")
        if args.expect_tracks and g["rendered"].get("tracks", 0) < 1:
            failures.append("no tracks drawn")
        if g["error"]:
            failures.append(f"page error: {g['error']}")
        failures += problems.items
        summary["problems"] = failures
        shoot(browser, args, summary)
        summary["ok"] = not failures
        if failures:
            summary["error"] = failures[0]
        return summary


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
    ap.add_argument("--expect-tracks", action="store_true", help="tracks must be drawn")
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
