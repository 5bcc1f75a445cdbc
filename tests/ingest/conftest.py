"""A tiny real HTTP server on 127.0.0.1 for the fetcher tests, plus a no-egress guard.

Every test in this directory runs with ``socket.socket.connect`` wrapped so that a
connection to anything but loopback fails loudly (and is recorded): a broken
address guard can never send traffic off the machine.
"""

from __future__ import annotations

import gzip
import ipaddress
import socket
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbor Gazette</title>'
        b"<item><title>Tide tables</title><link>http://example.org/a</link></item>"
        b"</channel></rss>")
ETAG = '"v1"'
LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr):
        super().__init__(addr, _Handler)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[tuple[str, dict[str, str]]] = []   # (path, lower-cased headers)
        self.huge_sent = 0

    def hits(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [h for p, h in self.requests if p == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server: _Server

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              length: bool = True) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _redirect(self, location: str, status: int = 302) -> None:
        self._send(status, headers={"Location": location})

    def do_GET(self):  # noqa: C901 - a route table
        srv = self.server
        path = self.path.split("?", 1)[0]
        with srv.lock:
            srv.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
        if path == "/feed.xml":
            self._send(200, FEED, {"Content-Type": "application/rss+xml",
                                   "Cache-Control": "public, max-age=900"})
        elif path == "/etag":
            if self.headers.get("If-None-Match") == ETAG:
                self._send(304, headers={"ETag": ETAG})
            else:
                self._send(200, FEED, {"ETag": ETAG, "Last-Modified": LAST_MODIFIED})
        elif path == "/500":
            self._send(500, b"boom")
        elif path == "/429":
            self._send(429, b"slow down", {"Retry-After": "120"})
        elif path == "/503-date":
            when = formatdate(time.time() + 3600, usegmt=True)
            self._send(503, b"later", {"Retry-After": when})
        elif path == "/slow":           # no headers until long after the client gave up
            srv.stopping.wait(10)
        elif path == "/trickle":        # headers at once, then one byte every 100 ms
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            try:
                while not srv.stopping.wait(0.1):
                    self.wfile.write(b"x")
                    self.wfile.flush()
            except OSError:
                pass
        elif path == "/huge":           # no Content-Length; stream until the client hangs up
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.end_headers()
            chunk = b"a" * 65536
            try:
                while not srv.stopping.is_set() and srv.huge_sent < 200_000_000:
                    self.wfile.write(chunk)
                    srv.huge_sent += len(chunk)
            except OSError:
                pass
        elif path == "/big-length":     # declares far more than the cap
            self.send_response(200)
            self.send_header("Content-Length", "50000000")
            self.end_headers()
            try:
                self.wfile.write(b"a" * 1024)
            except OSError:
                pass
        elif path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1])
            if n <= 0:
                self._redirect("/feed.xml", 301)
            elif n % 2:
                self._redirect(f"/redirect/{n - 1}", 307)     # relative
            else:
                host, port = srv.server_address[:2]
                self._redirect(f"http://{host}:{port}/redirect/{n - 1}", 302)  # absolute
        elif path == "/loop":
            self._redirect("/loop")
        elif path == "/to-private":
            self._redirect("http://10.255.255.1/feed.xml")
        elif path == "/to-metadata":
            self._redirect("http://169.254.169.254/latest")
        elif path == "/to-ftp":
            self._redirect("ftp://127.0.0.1/feed.xml")
        elif path == "/gzip":
            body = gzip.compress(FEED * 50)
            self._send(200, body, {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})
        elif path == "/gzip-bomb":      # ~2 MB decoded from a few KB on the wire
            body = gzip.compress(b"\0" * 2_000_000)
            self._send(200, body, {"Content-Encoding": "gzip"})
        elif path == "/concurrent":
            with srv.lock:
                srv.in_flight += 1
                srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
            try:
                srv.stopping.wait(0.15)
                self._send(200, b"ok")
            finally:
                with srv.lock:
                    srv.in_flight -= 1
        else:
            self._send(404, b"not found")


@pytest.fixture
def server():
    """A fresh server per test. Yields the server: ``.base`` (URL), ``.feed`` (the /feed.xml body),
    ``.etag`` / ``.last_modified`` (validators of /etag), ``.requests`` [(path, headers)],
    ``.hits(path)``, ``.max_in_flight``, ``.huge_sent``."""
    srv = _Server(("127.0.0.1", 0))
    srv.base = "http://127.0.0.1:%d" % srv.server_address[1]
    srv.feed, srv.etag, srv.last_modified = FEED, ETAG, LAST_MODIFIED
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stopping.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)


@pytest.fixture
def base_url(server) -> str:
    return server.base


@pytest.fixture(autouse=True)
def no_egress(monkeypatch):
    """Fail (and record) any socket connection to a non-loopback address."""
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def _check(address):
        host = address[0] if isinstance(address, tuple) else str(address)
        attempts.append(str(host))
        try:
            ip = ipaddress.ip_address(str(host).split("%", 1)[0])
        except ValueError:
            raise OSError(f"test guard: refusing connect to non-literal {host!r}")
        if not ip.is_loopback:
            raise OSError(f"test guard: refusing connect to {host}")

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return attempts
