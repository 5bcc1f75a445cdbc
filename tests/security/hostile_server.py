"""A hostile HTTP server on loopback, for the fetcher and feed-parser security tests.

    with HostileServer() as srv:                 # 127.0.0.1, a free port, a background thread
        srv.url("/slow-redirect/5")

It misbehaves the way a hostile (or just broken) publisher does. Every route:

======================  ===============================================================
/feed.xml               a small, well-behaved RSS feed (``FEED_TITLE``, ``FEED_ITEMS``)
/slow-body              headers at once, then one byte every ``trickle_interval`` seconds
/slow-redirect/N        waits ``hop_delay`` seconds before each header block, then
                        redirects to N-1; /slow-redirect/0 is the feed
/gzip-bomb              ``BOMB_SIZE`` zero bytes gzipped to a few dozen KB
/length-over            sends more body than its Content-Length declares
/length-under           declares far more body than it sends, then hangs up
/charset-wrong          windows-1252 bytes labelled utf-8 (header and declaration)
/charset-bogus          utf-8 bytes labelled with an encoding nobody knows
/entities               RSS whose DOCTYPE declares an entity, behind a bogus encoding
                        and a "]" inside a DTD comment (finding 4)
/entities-comment       RSS with an entity declaration hidden in a prolog comment
/to/HOST                redirects to http://HOST:<this port>/feed.xml (HOST as written:
                        10.0.0.1, [::1], 0x7f.1, ...); the fetcher must refuse it
/many-items             RSS with ``MANY_ITEMS`` items
/broken-dates           RSS whose items carry impossible dates (``BROKEN_DATES``)
======================  ===============================================================

The pattern (ThreadingHTTPServer, daemon threads, a stopping event that wakes every
waiting handler) is the one of tests/service/feedserver.py and tests/ingest/conftest.py.
Every feed is fictional.
"""

from __future__ import annotations

import gzip
import html
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["HostileServer", "FEED_TITLE", "FEED_ITEMS", "MANY_ITEMS", "BROKEN_DATES", "BOMB_SIZE",
           "CHARSET_TITLE", "rss"]

FEED_TITLE = "Saltmere Harbour Notes"
FEED_ITEMS = ["Tide tables for March", "New moorings at the east quay"]
MANY_ITEMS = 20_000
BOMB_SIZE = 32_000_000
CHARSET_TITLE = "Caf\u00e9 du Port \u2013 \u00e9t\u00e9"
# (pubDate as served, why it is broken)
BROKEN_DATES = [
    ("Sat, 01 Jan 99999 10:00:00 GMT", "year 99999"),
    ("-0001-03-01T10:00:00Z", "negative year"),
    ("Tue, -5 Mar 2024 10:00:00 GMT", "negative day"),
    ("yesterday-ish, after lunch", "garbage"),
    ("Mon, 04 Mar 2024 10:00:00 +99:99", "timezone +99:99"),
    ("2024-02-30T25:61:61+99:99", "no such day, hour or zone"),
    ("", "empty"),
    ("Mon, 04 Mar 2024 10:00:00 GMT", "a good one, for contrast"),
]

_ENTITY_DOC = (
    '<?xml version="1.0" encoding="x-no-such-encoding"?>\n'
    "<!DOCTYPE rss [\n<!-- editors: keep the ] below -->\n"
    '<!ENTITY inject "INJECTED by the publisher">\n]>\n'
    '<rss version="2.0"><channel><title>Pier &inject; news</title><link>https://pier.example.org/</link>'
    "<item><title>Item &inject;</title><link>https://pier.example.org/1</link></item></channel></rss>"
).encode("utf-8")
_ENTITY_COMMENT_DOC = (
    '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE rss>\n<!--\n'
    '<!ENTITY inject "INJECTED by the publisher">\n-->\n'
    '<rss version="2.0"><channel><title>Pier &inject; news</title><link>https://pier.example.org/</link>'
    "<item><title>Item &inject;</title><link>https://pier.example.org/1</link></item></channel></rss>"
).encode("utf-8")


def rss(title: str, items: list[tuple[str, str, str]], *, encoding: str = "utf-8",
        declared: str | None = None) -> bytes:
    """An RSS 2.0 document. items: (title, link, pubDate as served)."""
    parts = [f'<?xml version="1.0" encoding="{declared or encoding}"?>\n<rss version="2.0"><channel>'
             f"<title>{html.escape(title)}</title><link>https://harbour.example.org/</link>"]
    for t, link, date in items:
        parts.append(f"<item><title>{html.escape(t)}</title><link>{html.escape(link)}</link>"
                     + (f"<pubDate>{html.escape(date)}</pubDate>" if date else "") + "</item>")
    parts.append("</channel></rss>\n")
    return "".join(parts).encode(encoding)


def _feed() -> bytes:
    return rss(FEED_TITLE, [(t, f"https://harbour.example.org/{i}", "Mon, 04 Mar 2024 10:00:00 GMT")
                            for i, t in enumerate(FEED_ITEMS)])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"     # one request per connection: a lying length cannot leak
    owner: "HostileServer"

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              length: int | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        try:
            if body:
                self.wfile.write(body)
        except OSError:  # the client gave up first: that is what the test wanted
            pass

    def do_GET(self):  # noqa: C901 - a route table
        srv = self.owner
        path = self.path.split("?", 1)[0]
        with srv.lock:
            srv.hits[path] += 1
        xml = {"Content-Type": "application/rss+xml"}
        if path == "/feed.xml":
            self._send(200, _feed(), xml)
        elif path == "/slow-body":
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", "4096")
            self.end_headers()
            try:
                while not srv.stopping.wait(srv.trickle_interval):
                    self.wfile.write(b" ")
                    self.wfile.flush()
            except OSError:
                pass
        elif path.startswith("/slow-redirect/"):
            n = int(path.rsplit("/", 1)[1])
            if srv.stopping.wait(srv.hop_delay):
                return
            if n <= 0:
                self._send(200, _feed(), xml)
            else:
                self._send(302, headers={"Location": f"/slow-redirect/{n - 1}"})
        elif path == "/gzip-bomb":
            self._send(200, srv.bomb(), {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"})
        elif path == "/length-over":
            body = _feed()
            self._send(200, body + b"<!-- and then some -->" * 100, xml, length=len(body))
        elif path == "/length-under":
            self._send(200, _feed(), xml, length=1_000_000)
        elif path == "/charset-wrong":
            body = rss(CHARSET_TITLE, [("L\u2019\u00e9t\u00e9 arrive", "https://port.example.fr/1", "")],
                       encoding="windows-1252", declared="utf-8")
            self._send(200, body, {"Content-Type": "application/rss+xml; charset=utf-8"})
        elif path == "/charset-bogus":
            body = rss(CHARSET_TITLE, [("L\u2019\u00e9t\u00e9 arrive", "https://port.example.fr/1", "")],
                       declared="x-no-such-encoding")
            self._send(200, body, {"Content-Type": "application/rss+xml; charset=x-no-such-encoding"})
        elif path == "/entities":
            self._send(200, _ENTITY_DOC, xml)
        elif path == "/entities-comment":
            self._send(200, _ENTITY_COMMENT_DOC, xml)
        elif path.startswith("/to/"):
            host = path[len("/to/"):]
            self._send(302, headers={"Location": f"http://{host}:{self.server.server_address[1]}/feed.xml"})
        elif path == "/many-items":
            self._send(200, srv.many(), xml)
        elif path == "/broken-dates":
            items = [(why, f"https://harbour.example.org/dates/{i}", date)
                     for i, (date, why) in enumerate(BROKEN_DATES)]
            self._send(200, rss("Broken calendar", items), xml)
        else:
            self._send(404, b"not found", {"Content-Type": "text/plain"})


class HostileServer:
    def __init__(self, host: str = "127.0.0.1", *, hop_delay: float = 1.2, trickle_interval: float = 0.5):
        self.host, self.hop_delay, self.trickle_interval = host, hop_delay, trickle_interval
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._cache: dict[str, bytes] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "HostileServer":
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = ThreadingHTTPServer((self.host, 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"hostile-{self.host}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()           # wakes every handler that is waiting or trickling
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread:
            self._thread.join(5)

    def __enter__(self) -> "HostileServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start the server first"
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    # bodies too big to build per request, built once
    def bomb(self) -> bytes:
        with self.lock:
            if "bomb" not in self._cache:
                self._cache["bomb"] = gzip.compress(b"\0" * BOMB_SIZE, compresslevel=9)
            return self._cache["bomb"]

    def many(self) -> bytes:
        with self.lock:
            if "many" not in self._cache:
                self._cache["many"] = rss("Everything at once", [
                    (f"Harbour log entry {i}", f"https://harbour.example.org/log/{i}",
                     "Mon, 04 Mar 2024 10:00:00 GMT") for i in range(MANY_ITEMS)])
            return self._cache["many"]
