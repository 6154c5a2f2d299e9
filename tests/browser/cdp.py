"""A minimal Chrome DevTools Protocol client, Python standard library only.

- `WebSocket`: an RFC 6455 client (HTTP/1.1 upgrade handshake, masked client frames, text and
  continuation frames with 7/16/64-bit lengths, ping/pong, close).
- `Chromium`: launches headless Chromium with a fresh profile, reads the DevTools port from
  `DevToolsActivePort`, opens a page target and speaks CDP over its WebSocket: `call()` sends a
  command and waits for its answer; events arrive in `events` and go to `on_event` handlers.
- `Problems`: collects what makes a page check fail: console errors, uncaught exceptions, log
  entries of level error, and failed network requests to any host other than the server's.
"""

import base64
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from urllib.parse import urlsplit
from urllib.request import urlopen

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class CdpError(Exception):
    """A CDP command answered with an error, or the connection failed."""


class WebSocket:
    """A blocking WebSocket client for ws:// URLs (enough for a local DevTools endpoint)."""

    def __init__(self, url, timeout=30.0):
        parts = urlsplit(url)
        if parts.scheme != "ws":
            raise CdpError(f"only ws:// URLs are supported, not {url}")
        host, port = parts.hostname, parts.port or 80
        path = parts.path + ("?" + parts.query if parts.query else "")
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode("ascii"))
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        status = head.split("\r\n", 1)[0]
        if " 101 " not in status + " ":
            raise CdpError(f"WebSocket upgrade refused: {status}")
        headers = {}
        for line in head.split("\r\n")[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        expect = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != expect:
            raise CdpError("WebSocket handshake: wrong Sec-WebSocket-Accept")

    def _read_until(self, marker):
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise CdpError("connection closed during the handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(marker, 1)
        return head

    def _read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise CdpError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])  # FIN + opcode
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])  # MASK bit: client frames are always masked
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        # XOR with the repeated mask, done on whole integers for speed.
        reps = mask * (n // 4 + 1)
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(reps[:n], "big")).to_bytes(n, "big") if n else b""
        self.sock.sendall(header + mask + masked)

    def send_text(self, text):
        self._send_frame(0x1, text.encode("utf-8"))

    def recv_text(self, timeout=None):
        """The next text message (fragments joined); answers pings; None on close."""
        self.sock.settimeout(timeout)
        message, kind = b"", None
        while True:
            b0, b1 = self._read_exact(2)
            fin, opcode = b0 & 0x80, b0 & 0x0F
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read_exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read_exact(8))[0]
            mask = self._read_exact(4) if b1 & 0x80 else None
            payload = self._read_exact(n)
            if mask:
                payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0xA:  # pong
                continue
            if opcode == 0x8:  # close
                try:
                    self._send_frame(0x8, payload[:2])
                except OSError:
                    pass
                return None
            if opcode in (0x1, 0x2):
                kind, message = opcode, payload
            elif opcode == 0x0:
                message += payload
            if fin:
                return message.decode("utf-8") if kind == 0x1 else message

    def close(self):
        try:
            self._send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise CdpError("no chromium found: apt-get install -y chromium fonts-wqy-microhei")


class Chromium:
    """Headless Chromium with one page target, driven over CDP."""

    def __init__(self, width=1280, height=800, binary=None, timeout=30.0):
        self.profile = tempfile.mkdtemp(prefix="gridbeat-chromium-")
        self.binary = binary or find_chromium()
        args = [
            self.binary, "--headless=new", "--no-sandbox", "--disable-gpu",
            "--use-gl=swiftshader", "--enable-unsafe-swiftshader",
            "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
            f"--window-size={width},{height}", "--no-first-run", "--no-default-browser-check",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-extensions", "--hide-scrollbars", "about:blank",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + timeout
        port = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode("utf-8", "replace")[-2000:]
                raise CdpError(f"chromium exited with {self.proc.returncode}: {err}")
            try:
                with open(port_file) as f:
                    first = f.readline().strip()
                if first:
                    port = int(first)
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        if port is None:
            self.close()
            raise CdpError("chromium did not write DevToolsActivePort in time")
        self.port = port
        targets = json.load(urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout))
        page = next((t for t in targets if t.get("type") == "page"), None)
        if page is None:
            self.close()
            raise CdpError("no page target")
        self.ws = WebSocket(page["webSocketDebuggerUrl"], timeout=timeout)
        self.next_id = 0
        self.events = []
        self.handlers = []

    def on_event(self, handler):
        """handler(method, params) for every event received from now on."""
        self.handlers.append(handler)

    def _dispatch(self, msg):
        self.events.append(msg)
        for h in self.handlers:
            h(msg["method"], msg.get("params", {}))

    def call(self, method, params=None, timeout=30.0):
        """Sends a command and returns its result; events received meanwhile are dispatched."""
        self.next_id += 1
        my_id = self.next_id
        self.ws.send_text(json.dumps({"id": my_id, "method": method, "params": params or {}}))
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise CdpError(f"{method}: no answer in {timeout} s")
            try:
                text = self.ws.recv_text(timeout=left)
            except socket.timeout:
                raise CdpError(f"{method}: no answer in {timeout} s") from None
            if text is None:
                raise CdpError("DevTools closed the connection")
            msg = json.loads(text)
            if "method" in msg:
                self._dispatch(msg)
            elif msg.get("id") == my_id:
                if "error" in msg:
                    raise CdpError(f"{method}: {msg['error'].get('message')}")
                return msg.get("result", {})

    def pump(self, seconds):
        """Receives and dispatches events for a while."""
        deadline = time.time() + seconds
        while True:
            left = deadline - time.time()
            if left <= 0:
                return
            try:
                text = self.ws.recv_text(timeout=left)
            except socket.timeout:
                return
            if text is None:
                raise CdpError("DevTools closed the connection")
            msg = json.loads(text)
            if "method" in msg:
                self._dispatch(msg)

    def evaluate(self, expression, timeout=30.0):
        """The JSON value of a JavaScript expression (promises awaited); raises on exceptions."""
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            text = d.get("exception", {}).get("description") or d.get("text")
            raise CdpError(f"evaluate {expression[:60]!r}: {text}")
        return r.get("result", {}).get("value")

    def close(self):
        try:
            if getattr(self, "ws", None):
                try:
                    self.call("Browser.close", timeout=5)
                except (CdpError, OSError):
                    pass
                self.ws.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Problems:
    """Console errors, exceptions, error log entries and failed requests seen on a page."""

    def __init__(self, browser, allowed_origin):
        self.allowed = urlsplit(allowed_origin).netloc
        self.items = []
        self.requests = {}
        browser.on_event(self.handle)

    def handle(self, method, p):
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            self.items.append(f"console.{p['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            text = d.get("exception", {}).get("description") or d.get("text", "")
            self.items.append(f"uncaught exception: {text}")
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            self.items.append(f"log {e.get('source')}: {e.get('text')} {e.get('url', '')}".strip())
        elif method == "Network.requestWillBeSent":
            url = p.get("request", {}).get("url", "")
            self.requests[p.get("requestId")] = url
            host = urlsplit(url).netloc
            if urlsplit(url).scheme in ("http", "https", "ws", "wss") and host != self.allowed:
                self.items.append(f"request to another host: {url}")
        elif method == "Network.loadingFailed":
            url = self.requests.get(p.get("requestId"), "?")
            if not p.get("canceled"):
                self.items.append(f"request failed: {url} ({p.get('errorText')})")
        elif method == "Network.responseReceived":
            r = p.get("response", {})
            if r.get("status", 0) >= 400:
                self.items.append(f"HTTP {r.get('status')}: {r.get('url')}")
