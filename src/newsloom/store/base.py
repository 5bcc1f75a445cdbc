"""The Store: the only persistence API the app sees.

One implementation over SQLAlchemy Core, for SQLite (the embedded default: WAL,
one writer at a time) and PostgreSQL. Backend differences are confined to
``_configure_sqlite``, :meth:`Store.exclusive`, ``_insert`` and the search queries.

Every write is one transaction: an article is stored whole or not at all, and
unique keys (canonical URL; source + GUID) make every write idempotent.
"""

from __future__ import annotations

import hashlib
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from ..errors import StoreError
from . import migrate
from .articles import ArticlesMixin
from .community import CommunityMixin
from .digests import DigestsMixin
from .feeds import FeedsMixin
from .insights import InsightsMixin
from .reading import ReadingMixin, UnreadCounts
from .schema import metadata
from .search import SearchMixin
from .status import StatusMixin
from .stories import ClusterSection, StoriesMixin
from .vectors import VectorsMixin
from .visits import StoryVisit, VisitsMixin

__all__ = ["Store", "ClusterSection", "StoryVisit", "UnreadCounts", "open_store"]


class Store(FeedsMixin, ArticlesMixin, StoriesMixin, InsightsMixin, CommunityMixin, ReadingMixin, VisitsMixin,
            DigestsMixin, SearchMixin, StatusMixin, VectorsMixin):
    """The one persistence API, split by entity into mixins over the same engine and write
    lock: feeds.py (publishers, feeds, pending entries), articles.py (articles, their
    hashtags, related articles), stories.py (stories, the clustering log), insights.py
    (dirty marks, stored insights, story hashtags, summaries), community.py (users,
    sessions, comments, moderation, follows, rate limits), reading.py (each reader's feeds,
    read marks, stars, article stream, unread counts), visits.py (each reader's last visits to
    story pages), digests.py (each reader's digest settings, secrets and send log), search.py (full text and
    browse queries), status.py (stage errors, heartbeats, counts), vectors.py (article embeddings and
    the in-process index that searches them). SQL only: ranking and
    enrichment live above the store."""

    def __init__(self, url: str, *, echo: bool = False, connect_retries: int = 5):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.split("sqlite:///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = sa.create_engine(url, echo=echo, connect_args={"timeout": 30})
            event.listen(self.engine, "connect", _configure_sqlite)
        else:
            self.engine = sa.create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)
        # SQLite allows one writer: serialise writes in-process instead of meeting SQLITE_BUSY.
        self._write_lock = threading.RLock() if self.is_sqlite else None
        self._wait_for_database(connect_retries)

    # -- lifecycle -------------------------------------------------------
    def _wait_for_database(self, retries: int) -> None:
        delay = 0.2
        for attempt in range(retries + 1):
            try:
                with self.engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
                return
            except OperationalError as exc:
                if attempt == retries:
                    raise StoreError(f"store: cannot connect to {self.engine.url!r}: {exc.orig}") from None
                time.sleep(delay)
                delay = min(delay * 2, 3.0)

    def migrate(self) -> None:
        with self.write() as conn:
            migrate.upgrade(conn)

    def schema_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return migrate.current_revision(conn)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (serialised on SQLite)."""
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Run a block in exactly one process at a time, across hosts: a PostgreSQL advisory
        lock held on its own connection for the whole block (it is released if the process
        dies), or an in-process lock on SQLite, whose deployments have one writing process."""
        if self.is_sqlite:
            with _named_lock(self.url, name):
                yield
            return
        key = int.from_bytes(hashlib.sha256(f"newsloom:{name}".encode()).digest()[:8], "big", signed=True)
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    # -- shared helpers --------------------------------------------------
    def _insert(self, table: sa.Table):
        """INSERT with the dialect's ON CONFLICT support."""
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        return insert(table)

    # -- maintenance -----------------------------------------------------
    def reset(self) -> None:
        """Delete every row (tests and `newsloom init --reset`). Keeps the schema."""
        with self.write() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
        self._forget_vectors()



_NAMED_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_NAMED_LOCKS_GUARD = threading.Lock()


def _named_lock(url: str, name: str) -> threading.Lock:
    with _NAMED_LOCKS_GUARD:
        return _NAMED_LOCKS.setdefault((url, name), threading.Lock())


def _configure_sqlite(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def open_store(url: str, *, migrate_schema: bool = True) -> Store:
    store = Store(url)
    if migrate_schema:
        store.migrate()
    return store
