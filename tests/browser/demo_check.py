#!/usr/bin/env python3
"""The browser check of the demo: starts `gridbeat demo` on a free loopback port with a fresh
data directory, takes the map link (with its viewer token) from what the demo prints, and runs
map_check.py on it (headless Chromium through the DevTools protocol): the first view (grids,
unique labels, no tracks), tracks once a worker is chosen, the interactions, no console error, a
screenshot saved; then again on a phone-sized screen (390 x 844). The demo is stopped (SIGTERM)
whatever happens.

    python3 tests/browser/demo_check.py --binary target/debug/gridbeat --screenshot target/map.png \
        [--phone-screenshot target/map-phone.png]

The last line printed is the desktop check's JSON summary with the phone's under "phone"; the exit
code is 0 when both passed.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def last_json(out):
    """map_check's summary: its last line of output."""
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"ok": False, "error": "no summary", "output": out[-2000:]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--phone-screenshot", help="where the phone-sized check saves its picture")
    ap.add_argument("--timeout", type=float, default=240.0, help="seconds for the demo to serve")
    a = ap.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        demo = subprocess.Popen(
            [a.binary, "demo", "--data", os.path.join(tmp, "data"), "--listen", f"127.0.0.1:{port}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        lines, link = [], []
        found = threading.Event()

        def read():
            for ln in demo.stdout:
                lines.append(ln)
                m = re.search(r"(http://127\.0\.0\.1:\d+/#token=\S+)", ln)
                if m and not link:
                    link.append(m.group(1))
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        errors = []
        threading.Thread(target=lambda: errors.extend(demo.stderr), daemon=True).start()
        try:
            if not found.wait(a.timeout):
                sys.stderr.write("the demo printed no map link:\n" + "".join(lines) + "".join(errors[-30:]))
                return 1
            url = link[0]
            base, token = url.split("/#token=")
            deadline = time.time() + 30
            while True:
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=2).read()
                    break
                except OSError:
                    if time.time() > deadline:
                        sys.stderr.write("the demo does not answer /healthz\n")
                        return 1
                    time.sleep(0.2)
            check = [sys.executable, os.path.join(HERE, "map_check.py"), base + "/", "--token", token,
                     "--expect-tracks"]
            desk = subprocess.run(check + ["--screenshot", a.screenshot, "--interact"],
                                  stdout=subprocess.PIPE, text=True)
            phone_args = ["--width", "390", "--height", "844"]
            if a.phone_screenshot:
                phone_args += ["--screenshot", a.phone_screenshot]
            phone = subprocess.run(check + phone_args, stdout=subprocess.PIPE, text=True)
            summary = last_json(desk.stdout)
            summary["phone"] = last_json(phone.stdout)
            print(json.dumps(summary, ensure_ascii=False))
            return 0 if desk.returncode == 0 and phone.returncode == 0 else 1
        finally:
            demo.send_signal(signal.SIGTERM)
            try:
                demo.wait(20)
            except subprocess.TimeoutExpired:
                demo.kill()


if __name__ == "__main__":
    sys.exit(main())
