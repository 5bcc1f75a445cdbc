"""Store methods for stories and the clustering log (mixed into Store).

Clustering decisions are taken inside :meth:`StoriesMixin.cluster_section`, one at a time
across threads, processes and hosts; each is written to ``cluster_events``, which other
workers replay (tasks/stories.py). A story's counts and times are derived from its articles,
never incremented; a story that changes is marked dirty so its insights are rebuilt.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..errors import NotFound
from ..models import Article, Story, utcnow
from .rows import to_model, values_of
from .schema import (article_related, articles, cluster_events, locks, sources, stories, story_insights,
                     story_tags)

if TYPE_CHECKING:  # pragma: no cover
    from contextlib import AbstractContextManager

__all__ = ["StoriesMixin", "ClusterSection"]


class StoriesMixin:
    if TYPE_CHECKING:  # provided by Store
        def write(self) -> "AbstractContextManager[Connection]": ...
        def read(self) -> "AbstractContextManager[Connection]": ...
        def _article_select(self) -> sa.Select: ...
        @staticmethod
        def mark_dirty(conn: Connection, story_ids: Iterable[int], now: datetime | None = None) -> None: ...

    # -- stories ---------------------------------------------------------
    def add_story(self, story: Story) -> Story:
        with self.write() as conn:
            values = values_of(story, stories) | {"created_at": utcnow()}
            new_id = conn.execute(stories.insert().values(**values)).inserted_primary_key[0]
        return self.get_story(new_id)

    def get_story(self, story_id: int) -> Story:
        with self.read() as conn:
            row = conn.execute(select(stories).where(stories.c.id == story_id)).first()
        if row is None:
            raise NotFound(f"store: no story {story_id}")
        return to_model(Story, row)

    def list_stories(self, *, limit: int = 30, offset: int = 0, min_sources: int = 1) -> list[Story]:
        q = (select(stories).where(stories.c.merged_into.is_(None), stories.c.article_count > 0,
                                   stories.c.source_count >= min_sources)
             .order_by(stories.c.last_seen_at.desc(), stories.c.id.desc()).limit(limit).offset(offset))
        with self.read() as conn:
            return [to_model(Story, r) for r in conn.execute(q)]

    def count_stories(self) -> int:
        q = select(func.count()).select_from(stories).where(stories.c.merged_into.is_(None),
                                                            stories.c.article_count > 0)
        with self.read() as conn:
            return conn.execute(q).scalar_one()

    # -- clustering: a serialised section and its log ---------------------
    @contextmanager
    def cluster_section(self) -> Iterator["ClusterSection"]:
        """A write transaction holding the cluster lock: one clustering decision at a time,
        across threads, processes and hosts (SQLite write lock / PostgreSQL row lock)."""
        with self.write() as conn:
            if conn.execute(locks.update().where(locks.c.name == "cluster").values(n=locks.c.n + 1)).rowcount == 0:
                try:
                    with conn.begin_nested():
                        conn.execute(locks.insert().values(name="cluster", n=1))
                except IntegrityError:
                    pass
                conn.execute(locks.update().where(locks.c.name == "cluster").values(n=locks.c.n + 1))
            yield ClusterSection(self, conn)


class ClusterSection:
    """What a clustering worker may do while it holds the cluster lock."""

    def __init__(self, store: Any, conn: Connection):
        self.store, self.conn = store, conn

    def events_since(self, seq: int, *, published_after: datetime | None = None) -> list[Any]:
        """Decisions logged after `seq`, in order, joined with their article's fields."""
        q = (select(cluster_events, articles.c.title, articles.c.text, articles.c.published_at,
                    articles.c.fetched_at, articles.c.language, sources.c.name.label("source_name"))
             .select_from(cluster_events.outerjoin(articles, articles.c.id == cluster_events.c.article_id)
                          .outerjoin(sources, sources.c.id == articles.c.source_id))
             .where(cluster_events.c.seq > seq).order_by(cluster_events.c.seq))
        if published_after is not None:
            q = q.where(sa.or_(cluster_events.c.kind != "assign", articles.c.published_at >= published_after))
        return list(self.conn.execute(q))

    def has_event(self, seq: int) -> bool:
        """Whether the log still holds entry `seq` (a rewrite by recluster deletes the old ones)."""
        return self.conn.execute(select(cluster_events.c.seq).where(cluster_events.c.seq == seq)).first() is not None

    def article(self, article_id: int) -> Article:
        row = self.conn.execute(self.store._article_select().where(articles.c.id == article_id)).first()
        if row is None:
            raise NotFound(f"store: no article {article_id}")
        return to_model(Article, row)

    def new_story(self, title: str, when: datetime) -> int:
        return self.conn.execute(stories.insert().values(
            title=title[:1000], first_seen_at=when, last_seen_at=when, article_count=0, source_count=0,
            created_at=utcnow())).inserted_primary_key[0]

    def _log(self, **values: Any) -> int:
        return self.conn.execute(cluster_events.insert().values(created_at=utcnow(), **values)
                                 ).inserted_primary_key[0]

    def assign(self, article_id: int, story_id: int, duplicate_of: int | None) -> int:
        self.conn.execute(articles.update().where(articles.c.id == article_id)
                          .values(story_id=story_id, duplicate_of=duplicate_of))
        return self._log(kind="assign", article_id=article_id, story_id=story_id, duplicate_of=duplicate_of)

    def merge(self, absorbed: int, into: int) -> int:
        self.conn.execute(articles.update().where(articles.c.story_id == absorbed).values(story_id=into))
        self.conn.execute(stories.update().where(stories.c.id == absorbed)
                          .values(merged_into=into, article_count=0, source_count=0))
        self.conn.execute(stories.update().where(stories.c.merged_into == absorbed).values(merged_into=into))
        # the absorbed story keeps no insights of its own; the story it joined is rebuilt
        self.conn.execute(story_insights.delete().where(story_insights.c.story_id == absorbed))
        self.conn.execute(story_tags.delete().where(story_tags.c.story_id == absorbed))
        self.conn.execute(stories.update().where(stories.c.id == absorbed).values(dirty_since=None, touched_at=None))
        return self._log(kind="merge", story_id=absorbed, into_story_id=into)

    def mark_dirty(self, story_ids: Iterable[int]) -> None:
        """These stories changed in this decision: their insights are due for a rebuild."""
        self.store.mark_dirty(self.conn, story_ids)

    def refresh_story(self, story_id: int, title: str | None = None) -> None:
        """Recompute a story's counts and times from its articles (derived, never incremented)."""
        when = func.coalesce(articles.c.published_at, articles.c.fetched_at)
        row = self.conn.execute(
            select(func.count(), func.count(sa.distinct(articles.c.source_id)), func.min(when), func.max(when))
            .where(articles.c.story_id == story_id)).one()
        values: dict[str, Any] = dict(article_count=row[0], source_count=row[1], first_seen_at=row[2],
                                      last_seen_at=row[3])
        if title:
            values["title"] = title[:1000]
        self.conn.execute(stories.update().where(stories.c.id == story_id).values(**values))

    def set_related(self, article_id: int, related: list[tuple[int, float]], *, keep: int = 8) -> None:
        """Record neighbours both ways (one upsert of all pairs), then keep each touched
        article's best `keep` (one DELETE): two statements however many neighbours."""
        if not related:
            return
        rows = [{"article_id": a, "related_id": b, "score": float(score)}
                for other, score in related for a, b in ((article_id, other), (other, article_id))]
        upsert = self.store._insert(article_related)
        self.conn.execute(upsert.on_conflict_do_update(index_elements=["article_id", "related_id"],
                                                       set_={"score": upsert.excluded.score}), rows)
        touched = sorted({article_id, *(o for o, _ in related)})
        best = sa.alias(article_related, "best")
        keepers = (select(best.c.related_id).where(best.c.article_id == article_related.c.article_id)
                   .order_by(best.c.score.desc(), best.c.related_id).limit(keep))
        self.conn.execute(article_related.delete().where(article_related.c.article_id.in_(touched),
                                                         article_related.c.related_id.not_in(keepers)))

    # -- recluster (tasks/recluster.py): whole-corpus reads and bulk rewrites ----------
    def articles_oldest_first(self, *, batch: int = 500) -> Iterator[Any]:
        """Every stored article with its source name, oldest first (the order the engine
        clusters in: publication time, else fetch time, then id), streamed `batch` rows at a
        time. Consume it fully before running another statement in this section."""
        when = func.coalesce(articles.c.published_at, articles.c.fetched_at)
        q = self.store._article_select().order_by(when, articles.c.id)
        yield from self.conn.execute(q.execution_options(yield_per=batch))

    def story_rows(self) -> list[Any]:
        """Every story row (merged ones included), by id."""
        return list(self.conn.execute(select(stories).order_by(stories.c.id)))

    def related_pairs(self) -> dict[tuple[int, int], float]:
        """Every recorded related-article pair and its score."""
        q = select(article_related.c.article_id, article_related.c.related_id, article_related.c.score)
        return {(a, b): s for a, b, s in self.conn.execute(q)}

    def last_seq(self) -> int:
        """The newest clustering-log sequence number (0 for an empty log)."""
        return self.conn.execute(select(func.coalesce(func.max(cluster_events.c.seq), 0))).scalar_one()

    def set_assignments(self, rows: Iterable[tuple[int, int, int | None]]) -> None:
        """Bulk (article_id, story_id, duplicate_of): write each article's story and
        duplicate mark, without logging (the caller writes the log)."""
        params = [{"aid": a, "sid": s, "dup": d} for a, s, d in rows]
        if params:
            self.conn.execute(articles.update().where(articles.c.id == sa.bindparam("aid"))
                              .values(story_id=sa.bindparam("sid"), duplicate_of=sa.bindparam("dup")), params)

    def log_assignments(self, rows: Iterable[tuple[int, int, int | None]]) -> None:
        """Append one `assign` event per (article_id, story_id, duplicate_of), in order."""
        now = utcnow()
        params = [{"kind": "assign", "article_id": a, "story_id": s, "duplicate_of": d, "into_story_id": None,
                   "created_at": now} for a, s, d in rows]
        if params:
            self.conn.execute(cluster_events.insert(), params)

    def drop_log_through(self, seq: int) -> int:
        """Delete the log entries up to and including `seq` (the history a rewrite replaced)."""
        return self.conn.execute(cluster_events.delete().where(cluster_events.c.seq <= seq)).rowcount

    def clear_related(self) -> None:
        """Forget every related-article pair (before recording them afresh)."""
        self.conn.execute(article_related.delete())
