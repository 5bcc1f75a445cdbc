"""Store methods for operations (mixed into Store): the last error of each pipeline stage,
the heartbeats of schedulers and workers, and the counts ``newsloom status`` shows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..models import utcnow
from .schema import articles, feeds, heartbeats, pending_entries, stage_errors

if TYPE_CHECKING:  # pragma: no cover
    from contextlib import AbstractContextManager

__all__ = ["StatusMixin", "Heartbeat", "StageError"]


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


class StatusMixin:
    if TYPE_CHECKING:  # provided by Store
        def write(self) -> "AbstractContextManager[Connection]": ...
        def read(self) -> "AbstractContextManager[Connection]": ...
        def _insert(self, table: sa.Table) -> Any: ...

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
