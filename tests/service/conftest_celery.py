"""Fixtures for the scaled-out deployment tests (imported explicitly by tests/service/test_celery*.py
and tests/security/test_crash_safety.py), and `integrity_problems`, the store's invariants.

Everything is real: fictional feeds and article pages served over HTTP on 127.0.0.1 (text
from newsloom.eval.synth: invented words, never real news), PostgreSQL in a private
schema, Redis under a unique queue prefix (its keys deleted afterwards), and `newsloom
worker` / `newsloom scheduler` as subprocesses, each in its own process group.

Without PostgreSQL or Redis the tests skip locally and fail under CI=true.
"""

from __future__ import annotations

import html
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest
import sqlalchemy as sa

from newsloom.models import Feed, utcnow
from newsloom.settings import load_settings
from newsloom.store import Store, open_store
from newsloom.store.schema import articles, feeds
from newsloom.tasks.insights import INSIGHTS_VERSION

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BROKER_URL = os.environ.get("NEWSLOOM_BROKER_URL", "redis://127.0.0.1:6379/0")
RESULT_URL = os.environ.get("NEWSLOOM_RESULT_BACKEND", "redis://127.0.0.1:6379/1")
SECRET = "celery-tests-secret-not-a-placeholder"


# -- fictional feeds over real HTTP ------------------------------------------------------------
class FeedServer:
    """RSS feeds and article pages for synthetic rows; `publish(n)` makes n more rows appear.

    Each row goes to feed ``hash(source) % feeds``; a page may be slowed by `page_delay`
    seconds so that a batch of ingests takes long enough to be interrupted."""

    def __init__(self, rows: list[dict], *, feeds: int = 3, page_delay: float = 0.0):
        self.rows = rows
        self.page_delay = page_delay
        self.n_feeds = feeds
        self.published = 0
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._slug = {f"a{i}": row for i, row in enumerate(rows)}
        self._feed_of = {f"a{i}": sum(map(ord, row["source"])) % feeds for i, row in enumerate(rows)}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):      # quiet
                pass

            def do_GET(self):
                server._get(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> "FeedServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- what the tests see
    @property
    def feed_urls(self) -> list[str]:
        return [f"{self.base_url}/feeds/{n}.xml" for n in range(self.n_feeds)]

    def publish(self, n: int) -> list[str]:
        """n more rows appear in their feeds; returns their URLs."""
        with self._lock:
            start, self.published = self.published, min(len(self.rows), self.published + n)
        return [self.article_url(f"a{i}") for i in range(start, self.published)]

    def article_url(self, slug: str) -> str:
        return f"{self.base_url}/news/{slug}.html"

    def published_urls(self) -> list[str]:
        return [self.article_url(f"a{i}") for i in range(self.published)]

    def story_of(self) -> dict[str, str]:
        """Synthetic story label of every published URL."""
        return {self.article_url(f"a{i}"): self.rows[i]["story"] for i in range(self.published)}

    # -- HTTP
    def _get(self, req: BaseHTTPRequestHandler) -> None:
        path = req.path.split("?", 1)[0]
        self.hits[path] += 1
        if path.startswith("/feeds/") and path.endswith(".xml"):
            try:
                n = int(path[len("/feeds/"):-4])
            except ValueError:
                n = -1
            if 0 <= n < self.n_feeds:
                return self._send(req, 200, "application/rss+xml; charset=utf-8", self._feed(n))
        if path.startswith("/news/") and path.endswith(".html"):
            slug = path[len("/news/"):-5]
            with self._lock:
                visible = slug in self._slug and int(slug[1:]) < self.published
            if visible:
                if self.page_delay:
                    time.sleep(self.page_delay)
                return self._send(req, 200, "text/html; charset=utf-8", self._page(slug))
        self._send(req, 404, "text/plain", "not found")

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, status: int, ctype: str, body: str) -> None:
        data = body.encode("utf-8")
        req.send_response(status)
        req.send_header("Content-Type", ctype)
        req.send_header("Content-Length", str(len(data)))
        req.send_header("Cache-Control", "no-cache")
        req.end_headers()
        try:
            req.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):     # the worker fetching it was killed
            pass

    def _feed(self, n: int) -> str:
        with self._lock:
            slugs = [f"a{i}" for i in range(self.published) if self._feed_of[f"a{i}"] == n]
        items = []
        for slug in reversed(slugs):                              # newest first, as feeds do
            row = self._slug[slug]
            first = row["text"].split("\n\n")[0]
            items.append(f"<item><title>{html.escape(row['title'])}</title><link>{self.article_url(slug)}</link>"
                         f"<guid isPermaLink=\"false\">{slug}</guid>"
                         f"<pubDate>{format_datetime(datetime.fromisoformat(row['published']))}</pubDate>"
                         f"<description>{html.escape(first)}</description></item>")
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>Fictional Desk {n}</title><link>{self.base_url}/desk/{n}/</link>"
                f"<description>Invented news for tests</description>{''.join(items)}</channel></rss>")

    def _page(self, slug: str) -> str:
        row = self._slug[slug]
        paras = "".join(f"<p>{html.escape(p)}</p>" for p in row["text"].split("\n\n") if p.strip())
        return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(row['title'])}"
                f"</title><link rel=\"canonical\" href=\"{self.article_url(slug)}\">"
                f"<meta name=\"author\" content=\"Desk Writer\"></head><body><header><nav>Home | World</nav></header>"
                f"<article><h1>{html.escape(row['title'])}</h1>{paras}</article>"
                f"<footer>Fictional Desk, for tests only</footer></body></html>")


def synthetic_rows(n: int, *, seed: int, dup_rate: float = 0.05) -> list[dict]:
    """n fictional article rows in time order (newsloom.eval.synth), a few stories of ~7."""
    from newsloom.eval.synth import generate

    return list(generate(n, seed=seed, stories_per_day=8, mean_story_size=7, dup_rate=dup_rate))


# -- services ---------------------------------------------------------------------------------
def _redis_or_skip(url: str):
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        if IN_CI:
            pytest.fail(f"Redis is required under CI=true but unreachable at {url}: {exc}")
        pytest.skip(f"Redis unavailable at {url}: {exc}")
    return client


def _clear_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
    finally:
        client.close()


class Deployment:
    """One scaled-out deployment: a PostgreSQL schema, a queue prefix, and its processes."""

    def __init__(self, db_url: str, home: Path, prefix: str, *, tick: float = 0.5, debounce: float = 0.5,
                 visibility: int = 5):
        self.db_url, self.home, self.prefix = db_url, home, prefix
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLOOM_")}
        self.env.update({
            "NEWSLOOM_ENV": "test", "NEWSLOOM_SECRET_KEY": SECRET, "NEWSLOOM_HOME": str(home),
            "NEWSLOOM_DATABASE_URL": db_url, "NEWSLOOM_BROKER_URL": BROKER_URL, "NEWSLOOM_RESULT_BACKEND": RESULT_URL,
            "NEWSLOOM_QUEUE_PREFIX": prefix, "NEWSLOOM_FETCH_ALLOW_NETWORKS": "127.0.0.1/32",
            "NEWSLOOM_FETCH_TIMEOUT": "5", "NEWSLOOM_SCHEDULER_TICK": str(tick),
            "NEWSLOOM_INSIGHTS_DEBOUNCE": str(debounce), "NEWSLOOM_INSIGHTS_MAX_WAIT": "10",
            "NEWSLOOM_TASK_VISIBILITY_TIMEOUT": str(visibility), "PYTHONUNBUFFERED": "1",
        })
        self.settings = load_settings({k: v for k, v in self.env.items() if k.startswith("NEWSLOOM_")})
        self.store: Store = open_store(db_url)         # migrates: what `newsloom init` does
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self._n = Counter()

    # -- processes
    def start(self, role: str, *args: str, name: str | None = None) -> str:
        """Start `newsloom <role> <args>` in its own process group; returns its name."""
        self._n[role] += 1
        name = name or f"{role}{self._n[role]}"
        log = self.home / f"{name}.{self._n[role]}.log"
        self.logs[name] = log
        with open(log, "wb") as out:
            self.procs[name] = subprocess.Popen([sys.executable, "-m", "newsloom.cli", role, *args], env=self.env,
                                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        return name

    def kill(self, name: str) -> None:
        """kill -9 the whole process group (the worker and its pool processes)."""
        proc = self.procs.pop(name)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)

    def terminate(self, name: str, timeout: float = 20.0) -> int:
        """SIGTERM (a warm shutdown), then the exit status."""
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def alive(self, name: str) -> bool:
        return self.procs[name].poll() is None

    def beating(self, name: str, role: str) -> bool:
        """Whether process `name` has written its heartbeat (it is up and working)."""
        suffix = f":{self.pid(name)}"
        return any(hb.role == role and hb.name.endswith(suffix) for hb in self.store.heartbeats())

    def log_tail(self, lines: int = 25) -> str:
        out = []
        for name, path in self.logs.items():
            try:
                text = path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"--- {name} ---\n" + "\n".join(text))
        return "\n".join(out)

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 30.0, every: float = 0.1) -> None:
        """Wait until check() holds (a generous deadline on an outcome, never a timing assertion)."""
        deadline = time.monotonic() + timeout
        while not check():
            for name, proc in self.procs.items():
                assert proc.poll() is None, f"{name} exited ({proc.returncode}) while waiting for {what}\n" \
                                            f"{self.log_tail()}"
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s\n{self.status()}\n"
                                     f"{self.log_tail()}")
            time.sleep(every)

    def close(self) -> None:
        for name in list(self.procs):
            self.kill(name)
        self.store.close()
        for url in (BROKER_URL, RESULT_URL):
            _clear_keys(url, self.prefix)

    # -- the data
    def add_feeds(self, urls: list[str]) -> list[int]:
        return [self.store.add_feed(Feed(url=u))[0].id for u in urls]

    def make_feeds_due(self, timeout: float = 60.0) -> None:
        """Time passes: every feed is due again (the shortest refresh interval is a minute).
        A feed under refresh is made due once that refresh has saved it."""
        with self.store.read() as conn:
            todo = set(conn.execute(sa.select(feeds.c.id)).scalars())

        def due_now() -> bool:
            now = utcnow()
            with self.store.write() as conn:
                done = conn.execute(feeds.update().where(
                    feeds.c.id.in_(todo), sa.or_(feeds.c.leased_until.is_(None), feeds.c.leased_until <= now))
                    .values(next_check_at=now).returning(feeds.c.id)).scalars()
                todo.difference_update(done)
            return not todo

        self.wait_for("every feed made due", due_now, timeout)

    def article_urls(self) -> list[str]:
        with self.store.read() as conn:
            return list(conn.execute(sa.select(articles.c.url)).scalars())

    def count(self, what: str) -> int:
        counts = self.store.pipeline_counts()
        if what in counts:
            return counts[what]
        if what == "articles":
            return self.store.count_articles()
        if what == "dirty":
            return self.store.count_dirty_stories()
        raise KeyError(what)

    def partition(self) -> set[frozenset[str]]:
        """Article URLs grouped by story."""
        with self.store.read() as conn:
            rows = conn.execute(sa.select(articles.c.url, articles.c.story_id)).all()
        groups: dict[int, set[str]] = {}
        for url, story_id in rows:
            groups.setdefault(story_id, set()).add(url)
        return {frozenset(g) for g in groups.values()}

    def settled(self, expected_articles: int) -> bool:
        return (self.count("articles") >= expected_articles and self.count("pending_entries") == 0
                and self.count("unclustered_articles") == 0 and self.count("dirty") == 0
                and not self.store.stale_insight_story_ids(INSIGHTS_VERSION))

    def status(self) -> str:
        from newsloom.tasks.status import pipeline_status

        st = pipeline_status(self.store, self.settings)
        keys = ("pending_entries", "unclustered_articles", "dirty_stories", "stale_insights", "queues", "last_errors")
        return f"articles={self.count('articles')} " + " ".join(f"{k}={st[k]}" for k in keys)

    def integrity_problems(self) -> list[str]:
        """Rows that break the store's invariants (empty list: all is well)."""
        return integrity_problems(self.store)


# -- the store's invariants ---------------------------------------------------------------------
# Each query counts the rows breaking one invariant. Foreign keys are declared, but a check
# here does not depend on them being enforced (or on ON DELETE having run): it reads the rows.
INVARIANTS = {
    "article in a missing story": "SELECT count(*) FROM articles a LEFT JOIN stories s ON s.id = a.story_id "
                                  "WHERE a.story_id IS NOT NULL AND s.id IS NULL",
    "article in a merged story": "SELECT count(*) FROM articles a JOIN stories s ON s.id = a.story_id "
                                 "WHERE s.merged_into IS NOT NULL",
    "story count differs from its articles": "SELECT count(*) FROM stories s WHERE s.merged_into IS NULL AND "
                                             "s.article_count <> (SELECT count(*) FROM articles a "
                                             "WHERE a.story_id = s.id)",
    "story source count differs from its articles": "SELECT count(*) FROM stories s WHERE s.merged_into IS NULL "
                                                    "AND s.source_count <> (SELECT count(DISTINCT a.source_id) "
                                                    "FROM articles a WHERE a.story_id = s.id)",
    "live story without articles": "SELECT count(*) FROM stories s WHERE s.merged_into IS NULL AND NOT EXISTS "
                                   "(SELECT 1 FROM articles a WHERE a.story_id = s.id)",
    "merged into a missing or merged story": "SELECT count(*) FROM stories s LEFT JOIN stories t "
                                             "ON t.id = s.merged_into WHERE s.merged_into IS NOT NULL "
                                             "AND (t.id IS NULL OR t.merged_into IS NOT NULL)",
    "insights of a dead story": "SELECT count(*) FROM story_insights i LEFT JOIN stories s ON s.id = i.story_id "
                                "WHERE s.id IS NULL OR s.merged_into IS NOT NULL",
    "insights counting other articles": "SELECT count(*) FROM story_insights i JOIN stories s "
                                        "ON s.id = i.story_id WHERE i.article_count <> s.article_count",
    "hashtags of a dead story": "SELECT count(*) FROM story_tags t LEFT JOIN stories s ON s.id = t.story_id "
                                "WHERE s.id IS NULL OR s.merged_into IS NOT NULL",
    "hashtag of a missing tag": "SELECT count(*) FROM story_tags st LEFT JOIN tags t ON t.id = st.tag_id "
                                "WHERE t.id IS NULL",
    "related pair with a missing article": "SELECT count(*) FROM article_related r "
                                           "LEFT JOIN articles a ON a.id = r.article_id "
                                           "LEFT JOIN articles b ON b.id = r.related_id "
                                           "WHERE a.id IS NULL OR b.id IS NULL",
    "duplicate of a missing article": "SELECT count(*) FROM articles a LEFT JOIN articles o "
                                      "ON o.id = a.duplicate_of WHERE a.duplicate_of IS NOT NULL AND o.id IS NULL",
    "summary of a missing article": "SELECT count(*) FROM article_summaries m LEFT JOIN articles a "
                                    "ON a.id = m.article_id WHERE a.id IS NULL",
    "clustering log naming a missing row": "SELECT count(*) FROM cluster_events e "
                                           "LEFT JOIN stories s ON s.id = e.story_id "
                                           "LEFT JOIN articles a ON a.id = e.article_id "
                                           "LEFT JOIN stories t ON t.id = e.into_story_id "
                                           "WHERE s.id IS NULL OR (e.article_id IS NOT NULL AND a.id IS NULL) "
                                           "OR (e.into_story_id IS NOT NULL AND t.id IS NULL)",
    "pending entry of a missing feed": "SELECT count(*) FROM pending_entries p LEFT JOIN feeds f "
                                       "ON f.id = p.feed_id WHERE f.id IS NULL",
    "duplicate article URL": "SELECT count(*) FROM (SELECT url FROM articles GROUP BY url "
                             "HAVING count(*) > 1) d",
}


def integrity_problems(store: Store) -> list[str]:
    """Rows of `store` that break its invariants (empty list: all is well), on either backend."""
    problems = []
    with store.read() as conn:
        for what, sql in INVARIANTS.items():
            n = conn.execute(sa.text(sql)).scalar_one()
            if n:
                problems.append(f"{what}: {n}")
    return problems


@pytest.fixture
def deployment_factory(pg_schema_factory, tmp_path):
    """deployment_factory(**options) -> a Deployment with its own schema and queue prefix;
    every process it started is killed and every Redis key it made deleted afterwards."""
    _redis_or_skip(BROKER_URL).close()
    made: list[Deployment] = []

    def make(**options) -> Deployment:
        prefix = f"nltest-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        home = tmp_path / f"home{len(made)}"
        home.mkdir()
        dep = Deployment(pg_schema_factory("nl_celery"), home, prefix, **options)
        made.append(dep)
        return dep

    yield make
    for dep in made:
        dep.close()


@pytest.fixture
def feed_server_factory():
    servers: list[FeedServer] = []

    def make(rows: list[dict], **options) -> FeedServer:
        server = FeedServer(rows, **options).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
