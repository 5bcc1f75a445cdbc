"""Store methods for publishers, their feeds and the feed items waiting to be ingested
(mixed into Store).

Leases make every hand-off idempotent across processes and hosts: a feed is claimed with a
conditional UPDATE that only one claimer wins; a lease that runs out (its worker died) lets
the next claimer take it again. Pending entries are the durable list of feed items still to
fetch and extract (see tasks/pipeline.py): recorded with the feed's new state, dropped in
the transaction that stores their article.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..errors import NotFound, StoreError
from ..ingest.urls import http_url, is_http_url
from ..models import Entry, Feed, Source, parse_utc, utcnow
from .rows import to_model, values_of
from .schema import articles, feeds, pending_entries, sources

if TYPE_CHECKING:  # pragma: no cover
    from contextlib import AbstractContextManager

__all__ = ["FeedsMixin", "PendingEntry"]


@dataclass
class PendingEntry:
    id: int
    feed_id: int
    url: str
    entry: Entry
    attempts: int = 0
    last_error: str | None = None


def entry_json(entry: Entry) -> str:
    data = {k: getattr(entry, k) for k in entry.__dataclass_fields__}
    data["published_at"] = entry.published_at.isoformat() if entry.published_at else None
    return json.dumps(data)


def entry_from_json(text: str) -> Entry:
    data = json.loads(text)
    data["published_at"] = parse_utc(data.get("published_at"))
    return Entry(**{k: v for k, v in data.items() if k in Entry.__dataclass_fields__})


class FeedsMixin:
    if TYPE_CHECKING:  # provided by Store
        def write(self) -> "AbstractContextManager[Connection]": ...
        def read(self) -> "AbstractContextManager[Connection]": ...
        def _insert(self, table: sa.Table) -> Any: ...

    # -- sources ---------------------------------------------------------
    def upsert_source(self, name: str, homepage: str | None = None) -> Source:
        name = " ".join(name.split())[:200] or "Unknown"
        homepage = http_url(homepage)      # optional, shown as a link: only http(s), else none
        with self.write() as conn:
            row = conn.execute(select(sources).where(sources.c.name == name)).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(sources.insert().values(name=name, homepage=homepage, created_at=utcnow()))
                except IntegrityError:  # a concurrent writer (PostgreSQL) created it
                    pass
                row = conn.execute(select(sources).where(sources.c.name == name)).one()
            elif homepage and not row.homepage:
                conn.execute(sources.update().where(sources.c.id == row.id).values(homepage=homepage))
                row = conn.execute(select(sources).where(sources.c.id == row.id)).one()
            return to_model(Source, row)

    def list_sources(self) -> list[Source]:
        with self.read() as conn:
            return [to_model(Source, r) for r in conn.execute(select(sources).order_by(sources.c.name))]

    def get_source(self, source_id: int) -> Source:
        with self.read() as conn:
            row = conn.execute(select(sources).where(sources.c.id == source_id)).first()
        if row is None:
            raise NotFound(f"store: no source {source_id}")
        return to_model(Source, row)

    # -- feeds -----------------------------------------------------------
    def add_feed(self, feed: Feed) -> tuple[Feed, bool]:
        """Insert a feed unless its URL is known. Returns (feed, created).

        The last line of defence behind the edges (ingest/urls.py require_http_url): a feed
        URL that is not http(s) is refused with StoreError(code="invalid"), since pages link
        it; a site URL that is not is dropped, as parsing a feed drops one.
        """
        if not is_http_url(feed.url):
            raise StoreError(f"store: refused feed URL {feed.url!r}: only http and https URLs are stored",
                             code="invalid")
        if feed.site_url is not None and not is_http_url(feed.site_url):
            feed = replace(feed, site_url=None)
        with self.write() as conn:
            row = conn.execute(select(feeds).where(feeds.c.url == feed.url)).first()
            if row is not None:
                return to_model(Feed, row), False
            values = values_of(feed, feeds) | {"created_at": utcnow()}
            new_id = conn.execute(feeds.insert().values(**values)).inserted_primary_key[0]
            return to_model(Feed, conn.execute(select(feeds).where(feeds.c.id == new_id)).one()), True

    def save_feed(self, feed: Feed, *, pending: list[tuple[str, Entry]] | None = None,
                  lease: float = 0.0) -> list[int]:
        """Save a feed's state and release its lease; with `pending`, record those entries to
        ingest in the same transaction (pending entries, below). Returns the new pending ids."""
        if feed.id is None:
            raise StoreError("store: save_feed needs a stored feed")
        # A feed URL is not checked here: a row from an older version must still record its
        # failures. A site URL that is not http(s) (a JSON Feed's home_page_url) is dropped.
        if feed.site_url is not None and not is_http_url(feed.site_url):
            feed = replace(feed, site_url=None)
        with self.write() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed.id)
                         .values(**values_of(feed, feeds), leased_until=None))
            return self.add_pending_entries(conn, feed.id, pending, lease=lease) if pending else []

    def get_feed(self, feed_id: int) -> Feed:
        with self.read() as conn:
            row = conn.execute(select(feeds).where(feeds.c.id == feed_id)).first()
        if row is None:
            raise NotFound(f"store: no feed {feed_id}")
        return to_model(Feed, row)

    def list_feeds(self, *, due_before: datetime | None = None) -> list[Feed]:
        q = select(feeds).order_by(feeds.c.id)
        if due_before is not None:
            q = q.where(sa.or_(feeds.c.next_check_at.is_(None), feeds.c.next_check_at <= due_before))
        with self.read() as conn:
            return [to_model(Feed, r) for r in conn.execute(q)]

    def feed_article_counts(self) -> dict[int, int]:
        q = select(articles.c.feed_id, func.count()).where(articles.c.feed_id.is_not(None)).group_by(articles.c.feed_id)
        with self.read() as conn:
            return {fid: n for fid, n in conn.execute(q)}


    # -- feed leases ---------------------------------------------------------------
    def due_feeds(self, now: datetime | None = None, *, limit: int = 1000) -> list[Feed]:
        """Feeds due for a check and not leased by a refresh in progress."""
        now = now or utcnow()
        q = (select(feeds).where(sa.or_(feeds.c.next_check_at.is_(None), feeds.c.next_check_at <= now),
                                 sa.or_(feeds.c.leased_until.is_(None), feeds.c.leased_until <= now))
             .order_by(func.coalesce(feeds.c.next_check_at, feeds.c.created_at), feeds.c.id).limit(limit))
        with self.read() as conn:
            return [to_model(Feed, r)
                    for r in conn.execute(q)]

    def lease_feed(self, feed_id: int, seconds: float, now: datetime | None = None) -> bool:
        """Claim a feed for `seconds`; False when another claimer holds an unexpired lease."""
        now = now or utcnow()
        with self.write() as conn:
            done = conn.execute(feeds.update().where(
                feeds.c.id == feed_id, sa.or_(feeds.c.leased_until.is_(None), feeds.c.leased_until <= now))
                .values(leased_until=now + timedelta(seconds=seconds)))
            return done.rowcount == 1

    def release_feed_leases(self) -> int:
        """Release every feed's lease (the only writer starting over). Returns how many."""
        with self.write() as conn:
            return conn.execute(feeds.update().where(feeds.c.leased_until.is_not(None))
                                .values(leased_until=None)).rowcount or 0

    # -- pending entries -----------------------------------------------------------
    def add_pending_entries(self, conn: Connection, feed_id: int, items: list[tuple[str, Entry]], *,
                            lease: float) -> list[int]:
        """Inside the caller's transaction: record feed items to ingest (known URLs are
        skipped), leased for `lease` seconds to whoever ingests them now. Returns the ids of
        every item that is pending now: the new ones and those an earlier run left pending."""
        if not items:
            return []
        now = utcnow()
        until = now + timedelta(seconds=lease)
        conn.execute(self._insert(pending_entries).on_conflict_do_nothing(index_elements=["url"]),
                     [{"feed_id": feed_id, "url": url, "entry": entry_json(entry), "attempts": 0, "created_at": now,
                       "leased_until": until} for url, entry in items])
        urls = [u for u, _ in items]
        ids: list[int] = []
        for start in range(0, len(urls), 500):
            ids += conn.execute(select(pending_entries.c.id)
                                .where(pending_entries.c.url.in_(urls[start:start + 500]))).scalars()
        return sorted(ids)

    def lease_stale_pending(self, seconds: float, *, limit: int | None = 500, now: datetime | None = None,
                            take_leased: bool = False) -> list[int]:
        """Pending entries nobody is working on (their lease ran out: a crashed worker, a lost
        task), leased again for `seconds` to the caller, oldest first. With `take_leased`, all
        of them: the caller knows it is the only writer (a CLI run, the embedded scheduler's start)."""
        now = now or utcnow()
        q = select(pending_entries.c.id).order_by(pending_entries.c.id).limit(limit)
        if not take_leased:
            q = q.where(sa.or_(pending_entries.c.leased_until.is_(None), pending_entries.c.leased_until <= now))
        with self.write() as conn:
            ids = list(conn.execute(q).scalars())
            if ids:
                conn.execute(pending_entries.update().where(pending_entries.c.id.in_(ids))
                             .values(leased_until=now + timedelta(seconds=seconds)))
        return ids

    def get_pending_entry(self, pending_id: int) -> PendingEntry | None:
        """The pending entry with the attempts counted so far; None when it was stored meanwhile.
        Two ingesters of one entry both proceed: storing the article is idempotent."""
        with self.read() as conn:
            row = conn.execute(select(pending_entries).where(pending_entries.c.id == pending_id)).first()
        if row is None:
            return None
        return PendingEntry(row.id, row.feed_id, row.url, entry_from_json(row.entry), row.attempts, row.last_error)

    def count_pending_attempt(self, pending_id: int) -> int | None:
        """Count one attempt at building the entry's article; the attempts so far, this one
        included, or None when it was stored meanwhile."""
        with self.write() as conn:
            done = conn.execute(pending_entries.update().where(pending_entries.c.id == pending_id)
                                .values(attempts=pending_entries.c.attempts + 1))
            if done.rowcount != 1:
                return None
            return conn.execute(select(pending_entries.c.attempts)
                                .where(pending_entries.c.id == pending_id)).scalar_one()

    def fail_pending_entry(self, pending_id: int, message: str) -> None:
        with self.write() as conn:
            conn.execute(pending_entries.update().where(pending_entries.c.id == pending_id)
                         .values(last_error=message[:2000]))

    def forget_pending_entry(self, pending_id: int) -> None:
        with self.write() as conn:
            self.drop_pending_entry(conn, pending_id)

    @staticmethod
    def drop_pending_entry(conn: Connection, pending_id: int) -> None:
        conn.execute(pending_entries.delete().where(pending_entries.c.id == pending_id))

    def count_pending_entries(self) -> int:
        with self.read() as conn:
            return conn.execute(select(func.count()).select_from(pending_entries)).scalar_one()

