#!/usr/bin/env python3
"""The browser check of the demo: starts `gridbeat demo` on a free loopback port with a fresh
data directory, takes the map link (with its viewer token) from what the demo prints, and runs
map_check.py on it (headless Chromium through the DevTools protocol): grids and tracks drawn,
no console error, a screenshot saved. The demo is stopped (SIGTERM) whatever happens.

    python3 tests/browser/demo_check.py --binary target/debug/gridbeat --screenshot target/map.png

The last line printed is map_check's JSON summary; the exit code is map_check's.
"""
import argparse
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--screenshot", required=True)
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
            r = subprocess.run(
                [sys.executable, os.path.join(HERE, "map_check.py"), base + "/", "--token", token,
                 "--screenshot", a.screenshot, "--expect-tracks", "--interact"],
            )
            return r.returncode
        finally:
            demo.send_signal(signal.SIGTERM)
            try:
                demo.wait(20)
            except subprocess.TimeoutExpired:
                demo.kill()


if __name__ == "__main__":
    sys.exit(main())
