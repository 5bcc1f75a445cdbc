"""A local HTTP server for the demo newsroom, with deliberately broken endpoints.

    from newsloom.demo.server import DemoServer
    with DemoServer(now=datetime(2024, 3, 14, 12, tzinfo=timezone.utc)) as srv:
        httpx.get(srv.url("/feeds/harbor-gazette.xml"))
        srv.hits["/feeds/harbor-gazette.xml"]  # -> 1

    python -m newsloom.demo.server --port 8001      # foreground, Ctrl-C to stop

Static files come from :data:`newsloom.demo.SITE_DIR` with ``__BASE__`` and
``__DATE(..)__`` substituted (see :mod:`newsloom.demo`). Every static response has an
``ETag`` (hash of the rendered bytes) and ``Last-Modified`` (the demo "now"), and a
matching ``If-None-Match`` / ``If-Modified-Since`` gets ``304 Not Modified``.

Broken endpoints (listed in ``/opml/broken.opml``, never in ``/opml/demo.opml``):

=============================  =====================================================
/broken/invalid.xml            200, RSS content type, malformed garbage
/broken/500                    500
/broken/slow.xml               answers after ``slow_seconds`` (10 s); clients time out
/broken/huge.xml               200, streams ~50 MB of RSS items (chunked)
/broken/redirect-private.xml   302 to http://10.255.255.1/feed.xml (must not be followed)
/broken/xxe.xml                RSS with a "billion laughs" entity DTD
/broken/xxe-external.xml       RSS with an external entity SYSTEM "file:///etc/passwd"
/broken/429                    429 with Retry-After: 120
/broken/redirect-loop.xml      302 to itself
=============================  =====================================================
"""

from __future__ import annotations

import argparse
import hashlib
import re
import socket
import socketserver
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from newsloom.demo import SITE_DIR, normalise_now, render_bytes

__all__ = ["DemoServer", "PRIVATE_REDIRECT_TARGET", "main"]

PRIVATE_REDIRECT_TARGET = "http://10.255.255.1/feed.xml"
HUGE_TOTAL_BYTES = 50 * 1024 * 1024

_INVALID = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><chann\n'
    b"<titl>Evening edit<<ion</ti\n"
    b"\x00\x01 PK\x03\x04 %PDF-1.4 ??? }}{{ not a feed at all &&& <<<>>>\n"
    b"lorem ipsum dolor sit amet <<<<< </chan\n"
)

_XXE_LAUGHS = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0">
<channel>
<title>Laughing Matters</title>
<link>__BASE__/index.html</link>
<description>&lol9;</description>
<item>
<title>&lol9;</title>
<link>__BASE__/broken/xxe.xml#item</link>
<guid isPermaLink="false">broken:xxe-laughs</guid>
<description>&lol9;</description>
</item>
</channel>
</rss>
"""

_XXE_EXTERNAL = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE rss [
  <!ENTITY secret SYSTEM "file:///etc/passwd">
]>
<rss version="2.0">
<channel>
<title>Nosy Neighbour</title>
<link>__BASE__/index.html</link>
<description>External entity test</description>
<item>
<title>Read this: &secret;</title>
<link>__BASE__/broken/xxe-external.xml#item</link>
<guid isPermaLink="false">broken:xxe-external</guid>
<description>&secret;</description>
</item>
</channel>
</rss>
"""

_SLOW_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Slow Lane</title><link>__BASE__/index.html</link>
<description>Eventually answers</description>
<item><title>Finally</title><link>__BASE__/broken/slow.xml#finally</link>
<guid isPermaLink="false">broken:slow</guid><description>Sorry for the wait.</description></item>
</channel></rss>
"""

_RSS = "application/rss+xml; charset=utf-8"


def _content_type(path: str, head: bytes) -> str:
    suffix = Path(path).suffix
    if suffix == ".html":
        return "text/html; charset=utf-8"
    if suffix == ".opml":
        return "text/x-opml; charset=utf-8"
    if suffix == ".jsonl":
        return "application/x-ndjson; charset=utf-8"
    if suffix == ".txt":
        return "text/plain; charset=utf-8"
    if suffix == ".json":
        return "application/feed+json; charset=utf-8" if path.startswith("/feeds/") \
            else "application/json; charset=utf-8"
    if suffix == ".xml":
        m = re.search(rb'encoding="([A-Za-z0-9._-]+)"', head[:200])
        charset = m.group(1).decode("ascii").lower() if m else "utf-8"
        kind = "application/atom+xml" if b"<feed" in head[:500] else "application/rss+xml"
        return f"{kind}; charset={charset}"
    return "application/octet-stream"


class _Handler(BaseHTTPRequestHandler):
    server: DemoServer
    protocol_version = "HTTP/1.1"
    server_version = "NewsloomDemo/1.0"
    sys_version = ""
    timeout = 15  # idle keep-alive connections are dropped after this many seconds

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet server
        pass

    def setup(self) -> None:
        super().setup()
        try:  # headers and body go out in separate writes: avoid Nagle/delayed-ACK stalls
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server._track(self.connection, add=False)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, socket.timeout, OSError):
            self.close_connection = True

    # -- dispatch ---------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def _dispatch(self, head: bool) -> None:
        path = urlsplit(self.path).path or "/"
        self.server._record(path, self.path, self.headers)
        route = _BROKEN_ROUTES.get(path)
        if route is not None:
            route(self, head)
        else:
            self._static(path, head)

    # -- helpers ----------------------------------------------------------------------

    def _send(self, status: int, body: bytes, ctype: str, head: bool,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _not_found(self, head: bool) -> None:
        body = b"<!DOCTYPE html><html lang=\"en\"><head><title>Not found</title></head>" \
               b"<body><h1>404 Not Found</h1><p>No such page in the demo newsroom.</p></body></html>"
        self._send(404, body, "text/html; charset=utf-8", head)

    def _static(self, path: str, head: bool) -> None:
        entry = self.server._resolve(path)
        if entry is None:
            self._not_found(head)
            return
        body, ctype, etag = entry
        last_modified = format_datetime(self.server.now.replace(microsecond=0), usegmt=True)
        validators = {"ETag": etag, "Last-Modified": last_modified, "Cache-Control": "no-cache"}
        if self._not_modified(etag):
            self.send_response(304)
            for k, v in validators.items():
                self.send_header(k, v)
            self.end_headers()
            return
        self._send(200, body, ctype, head, validators)

    def _not_modified(self, etag: str) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
            tags = [t.strip() for t in inm.split(",")]
            return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = parsedate_to_datetime(ims)
            except (TypeError, ValueError, IndexError):
                return False
            if since is None:
                return False
            if since.tzinfo is None:
                since = since.replace(tzinfo=timezone.utc)
            return int(self.server.now.timestamp()) <= since.timestamp()
        return False

    # -- broken endpoints -------------------------------------------------------------

    def _b_invalid(self, head: bool) -> None:
        self._send(200, _INVALID, _RSS, head)

    def _b_500(self, head: bool) -> None:
        self._send(500, b"Internal Server Error: the demo newsroom broke on purpose.\n",
                   "text/plain; charset=utf-8", head)

    def _b_429(self, head: bool) -> None:
        self._send(429, b"Too Many Requests. Come back later.\n", "text/plain; charset=utf-8",
                   head, {"Retry-After": "120"})

    def _b_redirect_private(self, head: bool) -> None:
        self._send(302, b"", "text/plain; charset=utf-8", head, {"Location": PRIVATE_REDIRECT_TARGET})

    def _b_redirect_loop(self, head: bool) -> None:
        self._send(302, b"", "text/plain; charset=utf-8", head,
                   {"Location": self.server.url("/broken/redirect-loop.xml")})

    def _b_xxe(self, head: bool) -> None:
        self._send(200, self.server._subst(_XXE_LAUGHS), _RSS, head)

    def _b_xxe_external(self, head: bool) -> None:
        self._send(200, self.server._subst(_XXE_EXTERNAL), _RSS, head)

    def _b_slow(self, head: bool) -> None:
        deadline = time.monotonic() + self.server.slow_seconds
        while time.monotonic() < deadline:
            if self.server._stopping.wait(0.05):
                self.close_connection = True
                return
        try:
            self._send(200, self.server._subst(_SLOW_FEED), _RSS, head)
        except OSError:  # the client gave up long ago
            self.close_connection = True

    def _b_huge(self, head: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", _RSS)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if head:
            self.wfile.write(b"0\r\n\r\n")
            return
        base = self.server.base_url
        sent, n = 0, 0
        try:
            chunk = (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
                     f"<title>Bottomless</title><link>{base}/index.html</link>"
                     f"<description>Never ends</description>\n").encode()
            while sent < self.server.huge_bytes and not self.server._stopping.is_set():
                self._write_chunk(chunk)
                sent += len(chunk)
                parts = []
                for _ in range(100):
                    n += 1
                    parts.append(
                        f"<item><title>Bulletin number {n}</title>"
                        f"<link>{base}/broken/huge/{n}.html</link>"
                        f'<guid isPermaLink="false">broken:huge:{n}</guid>'
                        f"<description>Item {n} of a feed that goes on and on. "
                        f"{'Filler text to make the feed heavier. ' * 12}</description></item>\n")
                chunk = "".join(parts).encode()
            self._write_chunk(b"</channel></rss>\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout, OSError):
            self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


_BROKEN_ROUTES = {
    "/broken/invalid.xml": _Handler._b_invalid,
    "/broken/500": _Handler._b_500,
    "/broken/slow.xml": _Handler._b_slow,
    "/broken/huge.xml": _Handler._b_huge,
    "/broken/redirect-private.xml": _Handler._b_redirect_private,
    "/broken/xxe.xml": _Handler._b_xxe,
    "/broken/xxe-external.xml": _Handler._b_xxe_external,
    "/broken/429": _Handler._b_429,
    "/broken/redirect-loop.xml": _Handler._b_redirect_loop,
}


class DemoServer(ThreadingHTTPServer):
    """The demo newsroom on a background thread.

    ``DemoServer(host="127.0.0.1", port=0, now=None)``: port 0 picks a free port; *now*
    (the demo "now" that ``__DATE(offset,..)__`` is relative to) defaults to the current
    UTC time truncated to the hour. Use as a context manager or ``start()`` / ``stop()``.

    Attributes: ``base_url``, ``now``, ``hits`` (Counter of request paths, query string
    removed, every request counted incl. 304s), ``requests`` (list of
    ``(raw path incl. query, {lower-case header name: value})``), ``slow_seconds``
    (delay of /broken/slow.xml), ``huge_bytes`` (size of /broken/huge.xml).
    """

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, now: datetime | None = None, *,
                 site_dir: Path | None = None, slow_seconds: float = 10.0,
                 huge_bytes: int = HUGE_TOTAL_BYTES):
        self.now: datetime = normalise_now(now)
        self.site_dir = Path(site_dir) if site_dir else SITE_DIR
        self.slow_seconds = slow_seconds
        self.huge_bytes = huge_bytes
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._conns: set[socket.socket] = set()
        self._cache: dict[str, tuple[bytes, str, str] | None] = {}
        self._host = host
        super().__init__((host, port), _Handler)

    # HTTPServer.server_bind calls socket.getfqdn(), which can block on DNS; skip it.
    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    # -- public API -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host = self._host if self._host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def start(self) -> DemoServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"newsloom-demo-{self.server_address[1]}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:  # wake handler threads blocked on keep-alive reads or writes
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        """Clients hanging up (timeouts, aborted streams) are normal here: stay quiet."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def reset_counters(self) -> None:
        with self._lock:
            self.hits.clear()
            self.requests.clear()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<DemoServer {self.base_url} now={self.now.isoformat()}>"

    # -- internals --------------------------------------------------------------------

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _record(self, path: str, raw_path: str, headers) -> None:
        with self._lock:
            self.hits[path] += 1
            self.requests.append((raw_path, {k.lower(): v for k, v in headers.items()}))

    def _subst(self, data: bytes) -> bytes:
        return render_bytes(data, self.base_url, self.now)

    def _resolve(self, path: str) -> tuple[bytes, str, str] | None:
        with self._lock:
            if path in self._cache:
                return self._cache[path]
        entry = self._load(path)
        with self._lock:
            self._cache[path] = entry
        return entry

    def _load(self, path: str) -> tuple[bytes, str, str] | None:
        rel = unquote(path)
        if rel.endswith("/"):
            rel += "index.html"
        root = self.site_dir.resolve()
        try:
            target = (root / rel.lstrip("/")).resolve()
            target.relative_to(root)
        except (ValueError, OSError):
            return None
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return None
        body = self._subst(target.read_bytes())
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return body, _content_type("/" + target.relative_to(root).as_posix(), body), etag


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m newsloom.demo.server",
                                 description="Serve the fictional demo newsroom until Ctrl-C.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8001, help="0 picks a free port (default: %(default)s)")
    ap.add_argument("--now", help="demo 'now' as ISO 8601 (default: current UTC hour)")
    args = ap.parse_args(argv)
    now = datetime.fromisoformat(args.now) if args.now else None
    srv = DemoServer(args.host, args.port, now).start()
    print(srv.base_url, flush=True)
    print(f"demo now = {srv.now.isoformat()}; feeds: {srv.url('/opml/demo.opml')}", file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
