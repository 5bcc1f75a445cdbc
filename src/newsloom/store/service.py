"""Store methods for running the pipeline as a service (mixed into Store): feed leases,
pending entries, stage errors and heartbeats, and the figures ``newsloom status`` shows.

Leases make every hand-off idempotent across processes and hosts: a feed (or a pending
entry) is claimed with a conditional UPDATE that only one claimer wins; a lease that runs
out (its worker died) lets the next claimer take it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..models import Entry, Feed, parse_utc, utcnow
from .schema import articles, feeds, heartbeats, pending_entries, stage_errors

if TYPE_CHECKING:  # pragma: no cover
    from contextlib import AbstractContextManager

__all__ = ["ServiceMixin", "PendingEntry", "Heartbeat", "StageError"]


@dataclass
class PendingEntry:
    id: int
    feed_id: int
    url: str
    entry: Entry
    attempts: int = 0
    last_error: str | None = None


@dataclass
class Heartbeat:
    name: str
    role: str
    started_at: datetime
    beat_at: datetime
    info: dict[str, Any]


@dataclass
class StageError:
    stage: str
    message: str
    at: datetime
    count: int


def entry_json(entry: Entry) -> str:
    data = {k: getattr(entry, k) for k in entry.__dataclass_fields__}
    data["published_at"] = entry.published_at.isoformat() if entry.published_at else None
    return json.dumps(data)


def entry_from_json(text: str) -> Entry:
    data = json.loads(text)
    data["published_at"] = parse_utc(data.get("published_at"))
    return Entry(**{k: v for k, v in data.items() if k in Entry.__dataclass_fields__})


class ServiceMixin:
    if TYPE_CHECKING:  # provided by Store
        def write(self) -> "AbstractContextManager[Connection]": ...
        def read(self) -> "AbstractContextManager[Connection]": ...
        def _insert(self, table: sa.Table) -> Any: ...
        def list_feeds(self, *, due_before: datetime | None = None) -> list[Feed]: ...

    # -- feed leases ---------------------------------------------------------------
    def due_feeds(self, now: datetime | None = None, *, limit: int = 1000) -> list[Feed]:
        """Feeds due for a check and not leased by a refresh in progress."""
        now = now or utcnow()
        q = (select(feeds).where(sa.or_(feeds.c.next_check_at.is_(None), feeds.c.next_check_at <= now),
                                 sa.or_(feeds.c.leased_until.is_(None), feeds.c.leased_until <= now))
             .order_by(func.coalesce(feeds.c.next_check_at, feeds.c.created_at), feeds.c.id).limit(limit))
        with self.read() as conn:
            return [Feed(**{k: v for k, v in r._mapping.items() if k in Feed.__dataclass_fields__})
                    for r in conn.execute(q)]

    def lease_feed(self, feed_id: int, seconds: float, now: datetime | None = None) -> bool:
        """Claim a feed for `seconds`; False when another claimer holds an unexpired lease."""
        now = now or utcnow()
        with self.write() as conn:
            done = conn.execute(feeds.update().where(
                feeds.c.id == feed_id, sa.or_(feeds.c.leased_until.is_(None), feeds.c.leased_until <= now))
                .values(leased_until=now + timedelta(seconds=seconds)))
            return done.rowcount == 1

    def release_feed(self, feed_id: int) -> None:
        with self.write() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed_id).values(leased_until=None))

    # -- pending entries -----------------------------------------------------------
    def add_pending_entries(self, conn: Connection, feed_id: int, items: list[tuple[str, Entry]], *,
                            lease: float) -> list[int]:
        """Inside the caller's transaction: record feed items to ingest (known URLs are
        skipped), leased for `lease` seconds to whoever ingests them now. Returns the new ids."""
        now = utcnow()
        for url, entry in items:
            conn.execute(self._insert(pending_entries).values(
                feed_id=feed_id, url=url, entry=entry_json(entry), attempts=0, created_at=now,
                leased_until=now + timedelta(seconds=lease)).on_conflict_do_nothing(index_elements=["url"]))
        if not items:
            return []
        urls = [u for u, _ in items]
        ids: list[int] = []
        for start in range(0, len(urls), 500):
            ids += conn.execute(select(pending_entries.c.id)
                                .where(pending_entries.c.url.in_(urls[start:start + 500]))).scalars()
        return sorted(ids)

    def pending_entry_ids(self, *, feed_id: int | None = None, limit: int | None = None) -> list[int]:
        q = select(pending_entries.c.id).order_by(pending_entries.c.id)
        if feed_id is not None:
            q = q.where(pending_entries.c.feed_id == feed_id)
        if limit:
            q = q.limit(limit)
        with self.read() as conn:
            return list(conn.execute(q).scalars())

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

    def claim_pending_entry(self, pending_id: int) -> PendingEntry | None:
        """The pending entry, its attempt counted; None when it was stored meanwhile.
        Two claimers of one entry both proceed: storing the article is idempotent."""
        with self.write() as conn:
            done = conn.execute(pending_entries.update().where(pending_entries.c.id == pending_id)
                                .values(attempts=pending_entries.c.attempts + 1))
            if done.rowcount != 1:
                return None
            row = conn.execute(select(pending_entries).where(pending_entries.c.id == pending_id)).one()
        return PendingEntry(row.id, row.feed_id, row.url, entry_from_json(row.entry), row.attempts, row.last_error)

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

    # -- stage errors and heartbeats -------------------------------------------------
    def record_stage_error(self, stage: str, message: str) -> None:
        now = utcnow()
        with self.write() as conn:
            done = conn.execute(stage_errors.update().where(stage_errors.c.stage == stage)
                                .values(message=message[:2000], at=now, count=stage_errors.c.count + 1))
            if done.rowcount == 0:
                conn.execute(self._insert(stage_errors).values(stage=stage, message=message[:2000], at=now, count=1)
                             .on_conflict_do_nothing(index_elements=["stage"]))

    def stage_errors(self) -> list[StageError]:
        with self.read() as conn:
            return [StageError(r.stage, r.message, r.at, r.count)
                    for r in conn.execute(select(stage_errors).order_by(stage_errors.c.stage))]

    def beat(self, name: str, role: str, info: dict[str, Any] | None = None, *, started_at: datetime | None = None) -> None:
        now = utcnow()
        payload = json.dumps(info or {}, default=str)
        with self.write() as conn:
            done = conn.execute(heartbeats.update().where(heartbeats.c.name == name)
                                .values(beat_at=now, role=role, info=payload))
            if done.rowcount == 0:
                conn.execute(self._insert(heartbeats).values(name=name, role=role, started_at=started_at or now,
                                                             beat_at=now, info=payload)
                             .on_conflict_do_nothing(index_elements=["name"]))

    def heartbeats(self) -> list[Heartbeat]:
        with self.read() as conn:
            return [Heartbeat(r.name, r.role, r.started_at, r.beat_at, json.loads(r.info or "{}"))
                    for r in conn.execute(select(heartbeats).order_by(heartbeats.c.role, heartbeats.c.name))]

    def forget_heartbeats(self, older_than: datetime) -> None:
        with self.write() as conn:
            conn.execute(heartbeats.delete().where(heartbeats.c.beat_at < older_than))

    # -- figures for /status ---------------------------------------------------------
    def pipeline_counts(self, now: datetime | None = None) -> dict[str, int]:
        now = now or utcnow()
        hour = now - timedelta(hours=1)
        q = select(
            select(func.count()).select_from(feeds).where(
                sa.or_(feeds.c.next_check_at.is_(None), feeds.c.next_check_at <= now)).scalar_subquery()
            .label("due_feeds"),
            select(func.count()).select_from(feeds).where(feeds.c.leased_until > now).scalar_subquery()
            .label("feeds_in_progress"),
            select(func.count()).select_from(pending_entries).scalar_subquery().label("pending_entries"),
            select(func.count()).select_from(articles).where(articles.c.created_at >= hour).scalar_subquery()
            .label("articles_last_hour"),
            select(func.count()).select_from(articles).where(articles.c.story_id.is_(None)).scalar_subquery()
            .label("unclustered_articles"),
        )
        with self.read() as conn:
            return dict(conn.execute(q).one()._mapping)
