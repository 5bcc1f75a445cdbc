"""End-to-end pipeline throughput: from "the item appears in its feed" to "its story's insights
are stored", in articles/s, against extraction alone.

    python bench/pipeline.py                      # 300 articles: embedded, then 1 and 2 Celery workers
    python bench/pipeline.py --articles 600
    python bench/pipeline.py --only embedded      # `newsloom serve` on SQLite only
    python bench/pipeline.py --only celery2 --worker-concurrency 2

Local feed servers (in this process; each demo publisher on its own loopback address,
127.0.0.10 and up, so the fetcher's per-host limit applies per publisher) publish N
articles: the demo newsroom's 50 article pages (src/newsloom/demo/newsroom/), each served
under ``/c{k}/...`` for copies k = 0, 1, ... with its placeholders rendered for that base,
so every copy has its own canonical URL (N distinct articles; the copies of one page are wire copies of each other,
as syndicated news is). Each copy of each publisher has an RSS feed; the feeds are
subscribed and answer empty until the clock starts (the deployment is warm: it checked each
once), then list every item at once and are made due (the refresh interval is 30 minutes:
each feed is fetched once while the clock runs).

Deployments measured, each on a fresh database, as real processes:

* ``embedded``  `newsloom serve` (its embedded scheduler) on SQLite in a temporary home;
* ``celery1`` / ``celery2``  1 or 2 `newsloom worker` processes (``--worker-concurrency``
  pool processes each, default 1) plus one `newsloom scheduler`, on PostgreSQL (a private
  schema of NEWSLOOM_TEST_PG_URL, dropped after) and Redis (NEWSLOOM_BROKER_URL, a private
  queue prefix).

The clock runs from publishing the items to the moment the store has N articles, no pending
entry, no unclustered article, no dirty story and no story without current insights (the
insights debounce, ``--debounce`` seconds, is part of it). Also printed: when the last
article was stored and when the last one was clustered. Extraction alone is
``extract_article`` over the same N pages in this process, one after the other, measured
just before each deployment; the ratio end-to-end / extraction alone is the figure the
project targets (>= 0.60). A second baseline, fetch+extract+store alone, runs the pipeline's
own steps 1-2 (feeds, pages, extraction, articles stored; no clustering or insights) in a
process of its own over the same feeds: its ratio says what clustering and insights cost on
top of ingesting. ``--profile FILE`` samples the embedded `newsloom serve` with
py-spy and prints its CPU time per pipeline stage.

Prints figures only; nothing here asserts on time. A deployment whose services are missing
is skipped with a message (under CI=true it is an error).
"""

from __future__ import annotations

import argparse
import html
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from newsloom.demo import SITE_DIR, load_gold, render_bytes
from newsloom.extract.article import extract_article
from newsloom.models import Feed
from newsloom.store import open_store
from newsloom.tasks.insights import INSIGHTS_VERSION

PG_URL = os.environ.get("NEWSLOOM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BROKER_URL = os.environ.get("NEWSLOOM_BROKER_URL", "redis://127.0.0.1:6379/0")
RESULT_BACKEND = os.environ.get("NEWSLOOM_RESULT_BACKEND", "redis://127.0.0.1:6379/1")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
MODES = ("embedded", "celery1", "celery2")
PROFILE_RATE = 250         # py-spy samples per second


class Skip(Exception):
    """A deployment cannot run here (a service or a command is missing)."""


# -- the articles and the feed server ----------------------------------------------------------

@dataclass
class Item:
    copy: int
    feed: str            # the URL of its feed: {publisher host}/c{k}/feeds/{publisher}.xml
    url: str             # the page's canonical URL
    path: str            # the page's path on its host
    title: str
    published: datetime
    body: bytes          # the rendered page


@dataclass
class Newsroom:
    items: list[Item]
    feeds: dict[str, list[Item]] = field(default_factory=dict)


def publishers() -> list[str]:
    """The demo publishers' directories, in a fixed order."""
    return sorted({urlsplit(g["url"]).path.split("/")[1] for g in load_gold("", None)})


def build_newsroom(hosts: dict[str, str], n: int, now: datetime) -> Newsroom:
    """N items: the demo's gold articles, copy after copy; each publisher on its own host
    (`hosts`: publisher directory -> base URL), each copy under its own path."""
    items: list[Item] = []
    copy = 0
    while len(items) < n:
        for g in load_gold("", now):
            if len(items) == n:
                break
            rel = urlsplit(g["url"]).path.lstrip("/")
            publisher = rel.split("/", 1)[0]
            base = f"{hosts[publisher]}/c{copy}"
            items.append(Item(copy, f"{base}/feeds/{publisher}.xml", f"{base}/{rel}", f"/c{copy}/{rel}", g["title"],
                              datetime.fromisoformat(g["published"]),
                              render_bytes((SITE_DIR / rel).read_bytes(), base, now)))
        copy += 1
    room = Newsroom(items)
    for item in items:
        room.feeds.setdefault(item.feed, []).append(item)
    return room


def rss(title: str, items: list[Item]) -> bytes:
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
             f"<title>{html.escape(title)}</title><link>http://127.0.0.1/</link><description>bench</description>"]
    for it in sorted(items, key=lambda i: i.published, reverse=True):
        parts.append(f"<item><title>{html.escape(it.title)}</title><link>{html.escape(it.url)}</link>"
                     f'<guid isPermaLink="true">{html.escape(it.url)}</guid>'
                     f"<pubDate>{format_datetime(it.published)}</pubDate></item>")
    parts.append("</channel></rss>\n")
    return "".join(parts).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:   # a client that hung up: not news
        pass


class FeedServer:
    """Serves the newsroom, each publisher on its own loopback address (127.0.0.10, .11, ...,
    so the fetcher's per-host limit applies per publisher, as it would on the web): feeds
    answer empty until :meth:`publish`, pages always."""

    def __init__(self, n: int, now: datetime):
        self.published = threading.Event()
        handler = type("Handler", (_Handler,), {"bench": self})
        self.servers = [_Server((f"127.0.0.{10 + i}", 0), handler) for i, _ in enumerate(publishers())]
        hosts = {pub: f"http://{srv.server_address[0]}:{srv.server_address[1]}"
                 for pub, srv in zip(publishers(), self.servers)}
        self.room = build_newsroom(hosts, n, now)
        self.pages = {it.path: it.body for it in self.room.items}
        self.empty, self.full = {}, {}
        for feed, items in self.room.feeds.items():
            path = urlsplit(feed).path
            title = path.rsplit("/", 1)[-1].removesuffix(".xml").replace("-", " ").title()
            self.empty[path], self.full[path] = rss(title, []), rss(title, items)
        self.threads = [threading.Thread(target=srv.serve_forever, daemon=True) for srv in self.servers]

    def __enter__(self) -> "FeedServer":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()

    def feed_urls(self) -> list[str]:
        return list(self.room.feeds)

    def publish(self) -> None:
        self.published.set()

    def answer(self, path: str) -> tuple[int, str, bytes]:
        if path in self.pages:
            return 200, "text/html; charset=utf-8", self.pages[path]
        feeds = self.full if self.published.is_set() else self.empty
        if path in feeds:
            return 200, "application/rss+xml; charset=utf-8", feeds[path]
        return 404, "text/plain", b"not found"


class _Handler(BaseHTTPRequestHandler):
    bench: FeedServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        status, ctype, body = self.bench.answer(urlsplit(self.path).path)
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True


# -- extraction alone -------------------------------------------------------------------------

def extraction_alone(room: Newsroom) -> tuple[float, int]:
    """extract_article over every page, in this process: (articles/s, pages extracted)."""
    extract_article(room.items[0].body, room.items[0].url)          # warm imports and caches
    start = time.perf_counter()
    done = sum(extract_article(it.body, it.url) is not None for it in room.items)
    return len(room.items) / (time.perf_counter() - start), done


# What `ingest_alone` runs in a fresh process: steps 1 and 2 of the pipeline (fetch the feeds,
# fetch and extract every page, store the articles) and nothing after them.
_INGEST_ALONE = """
import asyncio, sys, time
from newsloom.settings import load_settings
from newsloom.store import open_store
from newsloom.tasks.pipeline import refresh_feeds
settings = load_settings()
store = open_store(settings.db_url)
feeds = store.list_feeds()
start = time.perf_counter()
asyncio.run(refresh_feeds(store, settings, feeds, leftovers=False))
print(store.count_articles(), time.perf_counter() - start)
"""


def ingest_alone(server: FeedServer, args: argparse.Namespace) -> tuple[float, int]:
    """The pipeline's fetch + extract + store alone (steps 1-2, no clustering or insights), in
    a process of its own over the same published feeds: (articles/s, articles stored)."""
    home = Path(tempfile.mkdtemp(prefix="newsloom-bench-ingest-"))
    try:
        db_url = f"sqlite:///{home / 'newsloom.db'}"
        store = open_store(db_url)
        for url in server.feed_urls():
            store.add_feed(Feed(url=url))
        store.close()
        server.publish()
        out = subprocess.run([sys.executable, "-c", _INGEST_ALONE], env=base_env(home, args, NEWSLOOM_DATABASE_URL=db_url),
                             capture_output=True, text=True, timeout=args.timeout)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip()[-2000:])
        stored, seconds = out.stdout.split()
        return int(stored) / float(seconds), int(stored)
    finally:
        server.published.clear()
        shutil.rmtree(home, ignore_errors=True)


# -- deployments --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(home: Path, args: argparse.Namespace, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLOOM_")}
    env.update({"NEWSLOOM_HOME": str(home), "NEWSLOOM_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
                "NEWSLOOM_SCHEDULER_TICK": str(args.tick), "NEWSLOOM_REFRESH_INTERVAL": "30",
                "NEWSLOOM_INSIGHTS_DEBOUNCE": str(args.debounce), "NEWSLOOM_FETCH_TIMEOUT": "20"})
    for setting in args.set or []:
        name, _, value = setting.partition("=")
        env[f"NEWSLOOM_{name.upper()}"] = value
    env.update(extra)
    return env


class Processes:
    def __init__(self, home: Path):
        self.home = home
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str], *, wrap: list[str] = ()) -> None:
        log = open(self.home / f"{name}.log", "wb")
        self.procs.append((name, subprocess.Popen([*wrap, sys.executable, "-m", "newsloom.cli", *argv], env=env,
                                                  stdout=log, stderr=subprocess.STDOUT)))

    def check(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                tail = (self.home / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")

    def stop(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM if "worker" in proc.args or "scheduler" in proc.args
                                 else signal.SIGINT)
        for _, proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def pg_schema() -> tuple[str, str]:
    import sqlalchemy as sa

    schema = f"nl_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        raise Skip(f"PostgreSQL unreachable at {PG_URL}: {exc}") from None
    sep = "&" if "?" in PG_URL else "?"
    return schema, f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def drop_pg_schema(schema: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def forget_broker_keys(prefix: str) -> None:
    """Drop what this run left on the broker (its queues and enqueue guards)."""
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)


def celery_available() -> None:
    probe = subprocess.run([sys.executable, "-m", "newsloom.cli", "worker", "--help"], capture_output=True)
    if probe.returncode != 0:
        raise Skip("`newsloom worker` is not available in this tree; run with --only embedded")
    try:
        import redis

        redis.Redis.from_url(BROKER_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        raise Skip(f"Redis unreachable at {BROKER_URL}: {exc}") from None


@dataclass
class Run:
    mode: str
    n: int
    seconds: float
    stored_at: float | None
    clustered_at: float | None
    stories: int
    duplicates: int


def measure(mode: str, server: FeedServer, args: argparse.Namespace) -> Run:
    home = Path(tempfile.mkdtemp(prefix=f"newsloom-bench-{mode}-"))
    schema = prefix = None
    procs = Processes(home)
    store = None
    try:
        if mode == "embedded":
            db_url = f"sqlite:///{home / 'newsloom.db'}"
        else:
            celery_available()
            schema, db_url = pg_schema()
        store = open_store(db_url)            # creates the schema before any process starts
        for url in server.feed_urls():
            store.add_feed(Feed(url=url))
        if mode == "embedded":
            env = base_env(home, args, NEWSLOOM_DATABASE_URL=db_url)
            wrap = []
            if args.profile:
                wrap = [args.py_spy, "record", "--gil", "--format", "raw", "--rate", str(PROFILE_RATE),
                        "-o", str(args.profile), "--"]
            procs.start("serve", ["serve", "--port", str(free_port())], env, wrap=wrap)
        else:
            prefix = f"nlbench-{os.getpid()}-{mode}"
            env = base_env(home, args, NEWSLOOM_DATABASE_URL=db_url, NEWSLOOM_BROKER_URL=BROKER_URL,
                           NEWSLOOM_RESULT_BACKEND=RESULT_BACKEND, NEWSLOOM_QUEUE_PREFIX=prefix)
            procs.start("scheduler", ["scheduler"], env)
            for w in range(int(mode.removeprefix("celery"))):
                procs.start(f"worker{w}", ["worker", "--concurrency", str(args.worker_concurrency)], env)
        # warm: every (empty) feed fetched once, so process start-up is not on the clock
        wait(procs, "every feed checked once", lambda: all(f.last_success_at for f in store.list_feeds()),
             args.timeout)
        start = time.monotonic()
        server.publish()
        for feed in store.list_feeds():       # due now: the scheduler's next tick refreshes each once
            feed.next_check_at = None
            store.save_feed(feed)
        stored_at = clustered_at = None
        n = len(server.room.items)
        deadline = start + args.timeout
        while True:
            procs.check()
            now = time.monotonic() - start
            counts = store.pipeline_counts()
            if stored_at is None and store.count_articles() >= n and counts["pending_entries"] == 0:
                stored_at = now
            if stored_at is not None and clustered_at is None and counts["unclustered_articles"] == 0:
                clustered_at = now
            if (clustered_at is not None and store.count_dirty_stories() == 0
                    and not store.stale_insight_story_ids(INSIGHTS_VERSION)):
                seconds = time.monotonic() - start
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"not settled after {args.timeout:g}s: {store.count_articles()} of {n} "
                                   f"articles, {counts}")
            time.sleep(args.poll)
        articles = store.list_articles(limit=n + 10)
        return Run(mode, n, seconds, stored_at, clustered_at, stories=len({a.story_id for a in articles}),
                   duplicates=sum(a.duplicate_of is not None for a in articles))
    finally:
        procs.stop()
        if store is not None:
            store.close()
        if schema:
            drop_pg_schema(schema)
        if prefix:
            forget_broker_keys(prefix)
        if args.keep:
            print(f"  ({mode}: logs and data kept in {home})")
        else:
            shutil.rmtree(home, ignore_errors=True)


def wait(procs: Processes, what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        procs.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


# -- where the time goes ---------------------------------------------------------------------------

STAGES = (            # (label, every needle must be in the stack); first match wins
    ("imports", ("_find_and_load",)),
    ("article summaries: compute", ("_summarize_new", "newsloom/enrich/")),
    ("article summaries: store", ("_summarize_new",)),
    ("insights: compute (hashtags, brief, timeline...)", ("build_story_insights", "newsloom/enrich/")),
    ("insights: store", ("build_story_insights",)),
    ("clustering: StoryClusterer", ("StoryEngine.cluster", "newsloom/enrich/")),
    ("clustering: store (log, story rows, related)", ("StoryEngine",)),
    ("extraction (build_article)", ("build_article",)),
    ("feed parsing", ("parse_feed",)),
    ("ingest: store (pending entries, articles, feeds)", ("newsloom/store/",)),
    ("HTTP client (fetcher)", ("newsloom/ingest/http.py",)),
    ("web server", ("uvicorn",)),
    ("event loop and the rest", ()),
)


def summarise_profile(path: Path, rate: int = PROFILE_RATE) -> None:
    """CPU time per pipeline stage from py-spy's collapsed stacks (--gil: only the thread
    holding the GIL is sampled, so the shares add up to the process's Python CPU time)."""
    from collections import Counter

    stages: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        label = next(name for name, needles in STAGES if all(n in stack for n in needles))
        stages[label] += int(count)
    print(f"{total / rate:.1f} s of Python CPU sampled in `newsloom serve` (its whole life: start-up and the "
          "warm-up refresh included)")
    for name, n in stages.most_common():
        print(f"  {name:<50} {n / rate:6.2f} s  {100 * n / total:5.1f} %")


# -- main ---------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=300, help="articles published (default 300)")
    parser.add_argument("--only", choices=MODES, action="append", help="deployment(s) to measure (repeatable)")
    parser.add_argument("--worker-concurrency", type=int, default=1,
                        help="pool processes per `newsloom worker` (default 1)")
    parser.add_argument("--tick", type=float, default=0.5, help="NEWSLOOM_SCHEDULER_TICK (default 0.5 s)")
    parser.add_argument("--debounce", type=float, default=1.0, help="NEWSLOOM_INSIGHTS_DEBOUNCE (default 1 s)")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up on a deployment after this long")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between two looks at the store")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE",
                        help="a setting for every deployment, e.g. fetch_per_host=4 (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep each deployment's home (logs, SQLite)")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="sample the embedded `newsloom serve` with py-spy (collapsed stacks to FILE) "
                             "and print where its CPU time went")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy", help="the py-spy executable")
    parser.add_argument("--profile-summary", type=Path, metavar="FILE", help="summarise a --profile FILE and exit")
    args = parser.parse_args(argv)
    if args.profile_summary:
        summarise_profile(args.profile_summary)
        return 0
    modes = args.only or list(MODES)

    now = datetime.now(timezone.utc)
    failed = False
    with FeedServer(args.articles, now) as server:
        room = server.room
        copies = room.items[-1].copy + 1
        print(f"{len(room.items)} articles ({copies} copies of the demo newsroom's pages) in {len(room.feeds)} "
              f"feeds on {len(server.servers)} hosts; tick {args.tick:g} s, insights debounce {args.debounce:g} s, "
              f"{os.cpu_count()} CPUs")
        if args.profile and not shutil.which(args.py_spy):
            print(f"--profile: {args.py_spy} not found (pip install py-spy, or give --py-spy PATH)")
            return 2
        for mode in modes:
            label = mode if mode == "embedded" else f"{mode} (x{args.worker_concurrency} pool)"
            # measured next to each deployment: the ratio compares figures taken under the same load
            alone, extracted = extraction_alone(room)
            print(f"{'extraction alone':<26} {alone:8.1f} articles/s  (extract_article over the same pages, "
                  f"one process; {extracted} of {len(room.items)} extracted)")
            ingest, stored = ingest_alone(server, args)
            print(f"{'fetch+extract+store alone':<26} {ingest:8.1f} articles/s  (pipeline steps 1-2 only, one "
                  f"process, SQLite; {stored} stored)")
            try:
                run = measure(mode, server, args)
            except Skip as exc:
                print(f"{label:<26} skipped: {exc}")
                failed = failed or IN_CI
                continue
            except RuntimeError as exc:
                print(f"{label:<26} failed: {exc}")
                failed = True
                continue
            finally:
                server.published.clear()
            rate = run.n / run.seconds
            print(f"{label:<26} {rate:8.1f} articles/s  end to end = {rate / alone:5.2f} x extraction alone, "
                  f"{rate / ingest:5.2f} x fetch+extract+store alone "
                  f"({run.n} articles in {run.seconds:.1f} s: all stored at {run.stored_at:.1f} s, "
                  f"clustered at {run.clustered_at:.1f} s; {run.stories} stories, {run.duplicates} wire copies)")
            if mode == "embedded" and args.profile and args.profile.exists():
                summarise_profile(args.profile)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
