"""A local feed server for the tests of the living service, and the helpers around it.

    with FeedServer() as srv:                          # 127.0.0.1, a free port
        srv.add_feed("tidewater", "Tidewater Post")
        srv.publish("tidewater", story_article("bridge", 0))   # the feed gains an item
        srv.url("/tidewater/feed.xml")

Every feed and page is fictional and generated here (places, people and events are made
up). A feed can also misbehave, the way real ones do:

=================  ===================================================================
kind="normal"      RSS of the items published so far (newest first), one page per item
kind="hang"        the feed answers only after ``hang_seconds`` (or when the server stops)
kind="status"      the feed answers with HTTP ``status`` (e.g. 500)
kind="huge"        ``items`` generated items, their pages generated on request
=================  ===================================================================

``hold_feed`` makes a feed's next requests wait until :meth:`FeedServer.release`, and
``serve_pages`` lets that many page requests through before the others wait the same way:
a test can stop the pipeline at a known point. ``hits`` counts requests per path.

Also here: :class:`ServeProcess` (``newsloom serve`` as a real process), :func:`wait_for`
and :func:`service_env`.
"""

from __future__ import annotations

import html
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import httpx

__all__ = ["FeedServer", "FictionalArticle", "story_article", "TOPICS", "ServeProcess", "service_env",
           "wait_for", "free_port"]

# -- fictional articles -------------------------------------------------------------------

# Each topic: title templates and sentences sharing its names, so that the articles of one
# topic form one story and different topics do not.
TOPICS: dict[str, dict[str, list[str]]] = {
    "bridge": {
        "titles": ["Corvel Bridge shut after cracks found in Dunmarrow",
                   "Dunmarrow traffic diverted as Corvel Bridge stays closed",
                   "Engineers inspect cracked Corvel Bridge over the river Ashlow",
                   "Mayor Ilse Varnham promises Corvel Bridge repairs by spring"],
        "sentences": [
            "The Corvel Bridge in Dunmarrow was closed to all traffic on Tuesday after inspectors found cracks "
            "in two of its stone piers.",
            "Mayor Ilse Varnham said the Corvel Bridge would stay shut until engineers from Halbrook Structures "
            "had finished a full survey.",
            "Buses between Dunmarrow and Seddon Vale now take a twelve-kilometre detour over the old Ashlow ford.",
            "Residents of Dunmarrow said the Corvel Bridge had shaken for months whenever lorries crossed it.",
            "Halbrook Structures engineers lowered cameras beside the piers to measure how far the cracks had run.",
            "The town council of Dunmarrow has set aside an emergency fund for the Corvel Bridge repairs.",
            "Shopkeepers on Ashlow Street reported fewer customers since the Corvel Bridge closure began.",
            "Mayor Ilse Varnham told the council that the river Ashlow had scoured the base of the northern pier.",
            "A ferry run by volunteers now carries pedestrians across the Ashlow below the Corvel Bridge.",
            "Engineers from Halbrook Structures expect to publish their Corvel Bridge findings within a week.",
        ],
    },
    "orchard": {
        "titles": ["Late frost blackens Fenwick orchards",
                   "Fenwick apple growers count the cost of the May frost",
                   "Frost leaves Fenwick cider makers short of fruit"],
        "sentences": [
            "A hard frost on Sunday night blackened the blossom in most of the orchards around Fenwick.",
            "Growers in the Fenwick valley lit smudge pots and ran fans through the night to keep the cold off.",
            "The Fenwick Growers Cooperative said up to half of this year's apple crop could be lost.",
            "Cider makers at the Brackle Mill warned that prices would rise if the Fenwick harvest failed.",
            "Orchard owner Tamsin Quill said the blossom on her Redcap trees turned brown within hours.",
            "The cooperative has asked the provincial farm office in Lorrow for emergency frost payments.",
            "Older growers in Fenwick said they had not seen frost this late in the season for thirty years.",
            "Bee keepers who rent hives to the Fenwick orchards fear the loss of blossom will weaken colonies.",
        ],
    },
    "lighthouse": {
        "titles": ["Gannet Point lighthouse keeper retires after forty years",
                   "Last keeper of Gannet Point light hands over the keys",
                   "Gannet Point light goes automatic as keeper Orrin Pask steps down"],
        "sentences": [
            "Orrin Pask climbed the 212 steps of the Gannet Point lighthouse for the last time as its keeper.",
            "The Gannet Point light will now be run automatically from the harbour office in Skellmouth.",
            "Orrin Pask first lit the lamp at Gannet Point as a nineteen-year-old apprentice.",
            "Fishing crews from Skellmouth sounded their horns as Orrin Pask walked down the causeway.",
            "The Skellmouth Maritime Trust plans to open the keeper's cottage at Gannet Point as a museum.",
            "Orrin Pask kept a logbook of every storm that struck Gannet Point during his forty years.",
            "The trust said the logbooks of Gannet Point would be copied and shown in the new museum.",
            "Orrin Pask said he would miss the gannets more than the lamp itself.",
        ],
    },
    "chess": {
        "titles": ["Fourteen-year-old Nell Orvid wins the Marrowgate chess open",
                   "Marrowgate open won by schoolgirl Nell Orvid",
                   "Nell Orvid stuns grandmasters at the Marrowgate chess open"],
        "sentences": [
            "Nell Orvid, aged fourteen, won the Marrowgate chess open on Sunday with seven points from nine games.",
            "She beat the top seed, grandmaster Anselm Roke, in the final round at the Marrowgate guildhall.",
            "Nell Orvid learned chess from her grandfather at the Pellby chess club.",
            "The Marrowgate open drew one hundred and forty players from eleven towns this year.",
            "Grandmaster Anselm Roke said Nell Orvid played the endgame like a veteran.",
            "The Pellby chess club plans a parade for Nell Orvid when she returns home.",
            "Organisers in Marrowgate said the prize fund would go towards Nell Orvid's training.",
            "Nell Orvid will represent Marrowgate at the junior championship in Halverness in autumn.",
        ],
    },
    "library": {
        "titles": ["Quenby library reopens after flood restoration",
                   "Flood-damaged Quenby library opens its doors again",
                   "Readers return as Quenby library reopens"],
        "sentences": [
            "The public library in Quenby reopened on Saturday, eighteen months after a flood ruined its ground floor.",
            "Librarian Oswin Tarrant said volunteers had dried more than nine thousand books by hand.",
            "The Quenby library now stands on raised floors designed to keep out the waters of the Meer brook.",
            "Children queued outside the Quenby library an hour before the doors opened.",
            "Oswin Tarrant said the Quenby library lost its collection of parish maps in the flood.",
            "A bequest from the Harrowdene estate paid for most of the Quenby library restoration.",
            "The Quenby library will open late on Thursdays to make up for the months it was closed.",
            "Oswin Tarrant thanked the Meer brook flood volunteers during a short ceremony.",
        ],
    },
    "ferry": {
        "titles": ["Tollan Sound ferry adds night crossings",
                   "Night ferries start on Tollan Sound",
                   "Islanders welcome new Tollan Sound night crossings"],
        "sentences": [
            "The ferry across Tollan Sound will run two night crossings a week from next month.",
            "The operator, Sound Lines, said demand from the island of Iskra had doubled since last year.",
            "Islanders on Iskra have long asked for a late ferry so they can work shifts on the mainland at Tollan.",
            "The night crossings of Tollan Sound will leave Iskra harbour at eleven and return at half past midnight.",
            "Sound Lines captain Bryn Aldous said the ferry Marigold had been fitted with new deck lights.",
            "Shop owners in Tollan expect more visitors from Iskra on the evenings the ferry runs late.",
            "The night service on Tollan Sound is a trial for six months, Sound Lines said.",
            "Captain Bryn Aldous said winter storms on Tollan Sound may cancel some night crossings.",
        ],
    },
}


@dataclass
class FictionalArticle:
    slug: str
    title: str
    paragraphs: list[str]
    published: datetime
    author: str = "Staff reporter"


def story_article(topic: str, variant: int, *, published: datetime | None = None,
                  author: str = "Staff reporter") -> FictionalArticle:
    """One made-up article about `topic`: a title and paragraphs of its sentences, chosen
    and ordered by `variant` (different variants share names, not their whole text)."""
    spec = TOPICS[topic]
    rng = random.Random(f"{topic}:{variant}")
    pool = spec["sentences"]
    # a window of half the sentences, moved by three per variant: neighbours share a few
    # (one story), not most (a wire copy)
    sentences = [pool[(3 * variant + i) % len(pool)] for i in range(max(4, len(pool) // 2))]
    rng.shuffle(sentences)
    paragraphs = [" ".join(sentences[i:i + 2]) for i in range(0, len(sentences), 2)]
    title = spec["titles"][variant % len(spec["titles"])]
    if variant >= len(spec["titles"]):
        title = f"{title} (update {variant})"
    when = published or datetime.now(timezone.utc) - timedelta(minutes=30 - variant % 30)
    return FictionalArticle(slug=f"{topic}-{variant}", title=title, paragraphs=paragraphs, published=when,
                            author=author)


def _page_html(article: FictionalArticle, url: str, publisher: str) -> bytes:
    paras = "\n".join(f"<p>{html.escape(p)}</p>" for p in article.paragraphs)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(article.title)} | {html.escape(publisher)}</title>
<link rel="canonical" href="{html.escape(url)}">
<meta name="author" content="{html.escape(article.author)}">
<meta property="article:published_time" content="{article.published.isoformat()}">
</head><body>
<header><nav><a href="/">{html.escape(publisher)}</a> | <a href="/weather">Weather</a></nav></header>
<main><article>
<h1>{html.escape(article.title)}</h1>
<p class="byline">By {html.escape(article.author)}</p>
{paras}
</article></main>
<footer><p>Copyright {html.escape(publisher)}. A fictional newspaper.</p></footer>
</body></html>
""".encode()


def _rss(title: str, site: str, items: list[tuple[str, str, str, datetime]]) -> bytes:
    """items: (title, link, summary, published), newest first."""
    parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
             f"<title>{html.escape(title)}</title><link>{html.escape(site)}</link>"
             f"<description>{html.escape(title)}, a fictional newspaper</description>"]
    for t, link, summary, when in items:
        parts.append(f"<item><title>{html.escape(t)}</title><link>{html.escape(link)}</link>"
                     f'<guid isPermaLink="true">{html.escape(link)}</guid>'
                     f"<pubDate>{format_datetime(when)}</pubDate>"
                     f"<description>{html.escape(summary)}</description></item>")
    parts.append("</channel></rss>\n")
    return "".join(parts).encode()


# -- the server -----------------------------------------------------------------------------

@dataclass
class _Feed:
    name: str
    title: str
    kind: str = "normal"
    status: int = 500
    hang_seconds: float = 60.0
    items: int = 0                                     # huge feeds: how many
    articles: list[FictionalArticle] = field(default_factory=list)
    hold_feed: bool = False
    serve_pages: int | None = None                     # page requests let through before waiting
    pages_served: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    huge_body: bytes | None = None


class FeedServer:
    def __init__(self, host: str = "127.0.0.1", *, page_delay: float = 0.0):
        self.host, self.page_delay = host, page_delay
        self.hits: Counter[str] = Counter()
        self._feeds: dict[str, _Feed] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> "FeedServer":
        handler = type("Handler", (_Handler,), {"feeds": self})
        self._httpd = ThreadingHTTPServer((self.host, 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"feedserver-{self.host}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for feed in self._feeds.values():
            feed.released.set()
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> "FeedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start the server first"
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    # -- content ----------------------------------------------------------------------
    def add_feed(self, name: str, title: str, *, kind: str = "normal", status: int = 500,
                 hang_seconds: float = 60.0, items: int = 0, hold_feed: bool = False,
                 serve_pages: int | None = None) -> str:
        """Add a feed; returns its URL."""
        with self._lock:
            self._feeds[name] = _Feed(name, title, kind=kind, status=status, hang_seconds=hang_seconds,
                                      items=items, hold_feed=hold_feed, serve_pages=serve_pages)
        return self.feed_url(name)

    def feed_url(self, name: str) -> str:
        return self.url(f"/{name}/feed.xml")

    def page_url(self, name: str, article: FictionalArticle | int) -> str:
        slug = article.slug if isinstance(article, FictionalArticle) else f"item-{article}"
        return self.url(f"/{name}/{slug}.html")

    def publish(self, name: str, *articles: FictionalArticle) -> list[str]:
        """The feed gains these items (from its next request on). Returns their page URLs."""
        with self._lock:
            self._feeds[name].articles.extend(articles)
        return [self.page_url(name, a) for a in articles]

    def release(self, name: str) -> None:
        """Let the held requests of this feed (and its pages) through, and all later ones."""
        feed = self._feeds[name]
        feed.hold_feed, feed.serve_pages = False, None
        feed.released.set()

    def feed_hits(self, name: str) -> int:
        return self.hits[f"/{name}/feed.xml"]

    # -- answers (called from the handler threads) ---------------------------------------
    def _wait(self, feed: _Feed, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set() and not feed.released.is_set() and time.monotonic() < deadline:
            feed.released.wait(0.05)

    def _answer(self, path: str) -> tuple[int, str, bytes]:
        with self._lock:
            self.hits[path] += 1
        parts = path.strip("/").split("/")
        feed = self._feeds.get(parts[0]) if len(parts) == 2 else None
        if feed is None:
            return 404, "text/plain", b"not found"
        if parts[1] == "feed.xml":
            return self._feed_answer(feed)
        slug = parts[1].removesuffix(".html")
        with self._lock:
            feed.pages_served += 1
            over = feed.serve_pages is not None and feed.pages_served > feed.serve_pages
        if over:
            self._wait(feed, 3600)
        if self.page_delay:
            time.sleep(self.page_delay)
        if feed.kind == "huge" and slug.startswith("item-") and slug[5:].isdigit():
            n = int(slug[5:])
            article = _huge_article(n)
        else:
            article = next((a for a in list(feed.articles) if a.slug == slug), None)
            if article is None:
                return 404, "text/plain", b"not found"
        return 200, "text/html; charset=utf-8", _page_html(article, self.url(path), feed.title)

    def _feed_answer(self, feed: _Feed) -> tuple[int, str, bytes]:
        if feed.hold_feed:
            self._wait(feed, 3600)
        if feed.kind == "hang":
            self._wait(feed, feed.hang_seconds)
        if feed.kind == "status":
            return feed.status, "text/plain", b"the feed is broken today"
        site = self.url(f"/{feed.name}/")
        if feed.kind == "huge":
            if feed.huge_body is None:
                now = datetime.now(timezone.utc)
                feed.huge_body = _rss(feed.title, site, [
                    (f"Notice {n}", self.page_url(feed.name, n), f"Parish notice number {n}.",
                     now - timedelta(seconds=n)) for n in range(feed.items)])
            return 200, "application/rss+xml; charset=utf-8", feed.huge_body
        items = [(a.title, self.page_url(feed.name, a), a.paragraphs[0], a.published)
                 for a in reversed(list(feed.articles))]
        return 200, "application/rss+xml; charset=utf-8", _rss(feed.title, site, items)


def _huge_article(n: int) -> FictionalArticle:
    return FictionalArticle(
        slug=f"item-{n}", title=f"Notice {n}", published=datetime.now(timezone.utc),
        paragraphs=[f"Parish notice number {n} of the Wendle district council concerns hedge trimming "
                    f"along lane {n % 97} and the collection of garden waste.",
                    "Residents may send comments to the parish clerk at the Wendle village hall."])


class _Handler(BaseHTTPRequestHandler):
    feeds: FeedServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet server
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        status, ctype, body = self.feeds._answer(urlsplit(self.path).path)
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:          # the client gave up (timed out, or was killed)
            self.close_connection = True


# -- the service as a real process ---------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(home: Path, **settings: Any) -> dict[str, str]:
    """The environment of a `newsloom` process on SQLite in `home`; settings as NEWSLOOM_* values."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLOOM_")}
    env.update({"NEWSLOOM_HOME": str(home), "NEWSLOOM_ENV": "test",
                "NEWSLOOM_SECRET_KEY": "test-secret-not-a-placeholder",
                "NEWSLOOM_FETCH_ALLOW_NETWORKS": "127.0.0.0/8"})
    env.update({f"NEWSLOOM_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def wait_for(what: str, check: Callable[[], Any], *, timeout: float = 30.0, every: float = 0.1,
             alive: Callable[[], None] | None = None) -> Any:
    """Poll `check` until it returns something true; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if alive:
            alive()
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


class ServeProcess:
    """`python -m newsloom.cli serve --port P` (scheduler on) with the given environment."""

    def __init__(self, env: dict[str, str], *args: str):
        self.env, self.args = env, args
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, *, wait: bool = True) -> "ServeProcess":
        self._log = open(Path(self.env["NEWSLOOM_HOME"]) / f"serve-{self.port}.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "newsloom.cli", "serve", "--port", str(self.port),
                                      *self.args], env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        if wait:
            wait_for("the web server to answer", self._answers, timeout=60, every=0.2)
        return self

    def _answers(self) -> bool:
        self.check_alive()
        try:
            return httpx.get(self.url("/"), timeout=2).status_code < 500
        except httpx.HTTPError:
            return False

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"newsloom serve exited with {self.proc.returncode}:\n{self.output()}")

    def output(self) -> str:
        path = Path(self.env["NEWSLOOM_HOME"]) / f"serve-{self.port}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url(path), timeout=10, follow_redirects=True)

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self) -> "ServeProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
