"""Store methods for what the pipeline derives from stories (mixed into Store): the dirty
marks that schedule a story's rebuild, its stored insights, its hashtags and article summaries.

Pages read these rows and nothing else; only the pipeline (tasks/insights.py) writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..models import Tag, utcnow
from .schema import article_summaries, articles, insight_history, stories, story_insights, story_tags, tags

if TYPE_CHECKING:  # pragma: no cover
    from contextlib import AbstractContextManager

__all__ = ["InsightsMixin", "InsightBuild", "StoredInsights", "StoryTag", "HISTORY_BUILDS"]

HISTORY_BUILDS = 50        # insight_history rows kept per story (its newest builds)


@dataclass
class StoryTag:
    tag: Tag
    score: float
    phrase: str | None = None
    articles: tuple[int, ...] = ()      # the story's articles that support it


@dataclass
class StoredInsights:
    story_id: int
    version: int
    built_at: datetime
    article_count: int
    data: dict[str, Any]


@dataclass
class InsightBuild:
    """One kept insights build of a story (insight_history): the articles the story had and
    the build's timeline and disagreements, as ``data["timeline"]`` / ``data["disagreements"]``."""

    story_id: int
    built_at: datetime
    version: int
    article_ids: list[int]
    data: dict[str, Any]


class InsightsMixin:
    if TYPE_CHECKING:  # provided by Store
        def write(self) -> "AbstractContextManager[Connection]": ...
        def read(self) -> "AbstractContextManager[Connection]": ...
        def _insert(self, table: sa.Table) -> Any: ...

    # -- dirty marks -----------------------------------------------------------
    @staticmethod
    def mark_dirty(conn: Connection, story_ids: Iterable[int], now: datetime | None = None) -> None:
        """Inside a caller's transaction: these stories changed (keeps the burst's first change)."""
        ids = sorted({int(i) for i in story_ids})
        if not ids:
            return
        now = now or utcnow()
        conn.execute(stories.update().where(stories.c.id.in_(ids))
                     .values(dirty_since=func.coalesce(stories.c.dirty_since, now), touched_at=now))

    def mark_stories_dirty(self, story_ids: Iterable[int]) -> None:
        with self.write() as conn:
            self.mark_dirty(conn, story_ids)

    def dirty_stories(self, *, quiet_for: float = 0.0, max_wait: float = 60.0, now: datetime | None = None,
                      limit: int = 1000) -> list[int]:
        """Dirty stories whose burst is over (no change for `quiet_for` seconds) or has lasted
        `max_wait` seconds, oldest first. Merged-away stories are skipped (and cleared)."""
        now = now or utcnow()
        quiet = now - _seconds(quiet_for)
        waited = now - _seconds(max_wait)
        q = (select(stories.c.id).where(stories.c.dirty_since.is_not(None),
                                        sa.or_(stories.c.touched_at <= quiet, stories.c.dirty_since <= waited))
             .order_by(stories.c.dirty_since, stories.c.id).limit(limit))
        with self.read() as conn:
            return list(conn.execute(q).scalars())

    def count_dirty_stories(self) -> int:
        with self.read() as conn:
            return conn.execute(select(func.count()).select_from(stories)
                                .where(stories.c.dirty_since.is_not(None))).scalar_one()

    def story_dirty_mark(self, story_id: int) -> datetime | None:
        with self.read() as conn:
            return conn.execute(select(stories.c.touched_at).where(stories.c.id == story_id)).scalar_one_or_none()

    # -- story insights ----------------------------------------------------------
    def save_story_insights(self, story_id: int, *, version: int, article_count: int, data: dict[str, Any],
                            hashtags: list[tuple[Tag, float, str | None, Sequence[int]]],
                            dirty_mark: datetime | None,
                            article_ids: list[int] | None = None, history: dict[str, Any] | None = None) -> bool:
        """Store a story's insights and hashtags (tag, score, phrase, supporting article ids)
        in one transaction, and clear its dirty mark
        unless it changed again since `dirty_mark` was read (then the next rebuild wins).
        The same transaction appends the build to the story's history (`article_ids`, the
        articles it was built from, or else the story's articles now; `history`, or else the
        timeline and disagreements of `data`), keeping the newest HISTORY_BUILDS.
        Returns False (and stores nothing) when the story no longer exists."""
        now = utcnow()
        with self.write() as conn:
            if conn.execute(select(stories.c.id).where(stories.c.id == story_id)).first() is None:
                return False
            conn.execute(story_insights.delete().where(story_insights.c.story_id == story_id))
            conn.execute(story_insights.insert().values(story_id=story_id, version=version, built_at=now,
                                                        article_count=article_count,
                                                        data=json.dumps(data, default=str, separators=(",", ":"))))
            conn.execute(story_tags.delete().where(story_tags.c.story_id == story_id))
            ordered = sorted({h[0].slug: h for h in hashtags}.values(), key=lambda h: h[0].slug)
            position = {h[0].slug: n for n, h in enumerate(hashtags)}
            for tag, score, phrase, support in ordered:     # slug order: concurrent writers never deadlock
                tag_id = self._tag_id(conn, tag)
                conn.execute(story_tags.insert().values(story_id=story_id, tag_id=tag_id, score=float(score),
                                                        position=position[tag.slug], phrase=phrase,
                                                        articles=json.dumps(sorted({int(i) for i in support}))))
            clear = stories.update().where(stories.c.id == story_id)
            if dirty_mark is not None:
                clear = clear.where(sa.or_(stories.c.touched_at.is_(None), stories.c.touched_at <= dirty_mark))
            conn.execute(clear.values(dirty_since=None, touched_at=None))
            self._append_history(conn, story_id, now, version, article_ids, history if history is not None else
                                 {"timeline": data.get("timeline", []), "disagreements": data.get("disagreements", [])})
            return True

    @staticmethod
    def _append_history(conn: Connection, story_id: int, now: datetime, version: int,
                        article_ids: list[int] | None, data: dict[str, Any]) -> None:
        if article_ids is None:
            article_ids = list(conn.execute(select(articles.c.id).where(articles.c.story_id == story_id)).scalars())
        conn.execute(insight_history.insert().values(
            story_id=story_id, built_at=now, version=version,
            article_ids=json.dumps(sorted({int(i) for i in article_ids})),
            data=json.dumps(data, default=str, separators=(",", ":"))))
        old = (select(insight_history.c.id).where(insight_history.c.story_id == story_id)
               .order_by(insight_history.c.built_at.desc(), insight_history.c.id.desc())
               .offset(HISTORY_BUILDS))
        conn.execute(insight_history.delete().where(insight_history.c.id.in_(old)))

    def insight_build_at(self, story_id: int, when: datetime) -> InsightBuild | None:
        """The story's build that was current at `when` (the newest built at or before it),
        or None when none of its kept builds is that old."""
        q = (select(insight_history).where(insight_history.c.story_id == story_id, insight_history.c.built_at <= when)
             .order_by(insight_history.c.built_at.desc(), insight_history.c.id.desc()).limit(1))
        with self.read() as conn:
            return _build(conn.execute(q).first())

    def latest_insight_build(self, story_id: int) -> InsightBuild | None:
        """The story's newest kept build, or None."""
        q = (select(insight_history).where(insight_history.c.story_id == story_id)
             .order_by(insight_history.c.built_at.desc(), insight_history.c.id.desc()).limit(1))
        with self.read() as conn:
            return _build(conn.execute(q).first())

    def insight_builds(self, story_id: int) -> list[InsightBuild]:
        """The story's kept builds, oldest first."""
        q = (select(insight_history).where(insight_history.c.story_id == story_id)
             .order_by(insight_history.c.built_at, insight_history.c.id))
        with self.read() as conn:
            return [b for b in map(_build, conn.execute(q)) if b is not None]

    def _tag_id(self, conn: Connection, tag: Tag) -> int:
        conn.execute(self._insert(tags).values(slug=tag.slug, name=tag.name, kind=tag.kind)
                     .on_conflict_do_nothing(index_elements=["slug"]))
        return conn.execute(select(tags.c.id).where(tags.c.slug == tag.slug)).scalar_one()

    def tag_story(self, story_id: int, tag: Tag, score: float = 0.0) -> Tag:
        """Add one hashtag to a story's stored list (the pipeline replaces the whole list)."""
        with self.write() as conn:
            tag_id = self._tag_id(conn, tag)
            n = conn.execute(select(func.count()).select_from(story_tags)
                             .where(story_tags.c.story_id == story_id)).scalar_one()
            conn.execute(self._insert(story_tags).values(story_id=story_id, tag_id=tag_id, score=float(score),
                                                         position=n, phrase=None)
                         .on_conflict_do_nothing(index_elements=["story_id", "tag_id"]))
        return Tag(name=tag.name, slug=tag.slug, kind=tag.kind, id=tag_id)

    def clear_dirty(self, story_id: int) -> None:
        with self.write() as conn:
            conn.execute(stories.update().where(stories.c.id == story_id).values(dirty_since=None, touched_at=None))

    def story_stamp(self, story_id: int) -> tuple | None:
        """What a story page's data depends on, in one indexed read: the story row's counts,
        times, title and merge, and when its insights were built. Equal stamps, equal data."""
        q = (select(stories.c.title, stories.c.merged_into, stories.c.article_count, stories.c.source_count,
                    stories.c.first_seen_at, stories.c.last_seen_at, story_insights.c.built_at,
                    story_insights.c.version)
             .select_from(stories.outerjoin(story_insights, story_insights.c.story_id == stories.c.id))
             .where(stories.c.id == story_id))
        with self.read() as conn:
            row = conn.execute(q).first()
        return tuple(row) if row is not None else None

    def get_story_insights(self, story_id: int) -> StoredInsights | None:
        with self.read() as conn:
            row = conn.execute(select(story_insights).where(story_insights.c.story_id == story_id)).first()
        if row is None:
            return None
        return StoredInsights(row.story_id, row.version, row.built_at, row.article_count, json.loads(row.data))

    def story_hashtags(self, story_id: int) -> list[StoryTag]:
        """A story's stored hashtags, best first."""
        q = (select(tags, story_tags.c.score, story_tags.c.phrase, story_tags.c.articles)
             .join(story_tags, story_tags.c.tag_id == tags.c.id)
             .where(story_tags.c.story_id == story_id).order_by(story_tags.c.position, tags.c.slug))
        with self.read() as conn:
            return [StoryTag(Tag(name=r.name, slug=r.slug, kind=r.kind, id=r.id), r.score, r.phrase,
                             tuple(json.loads(r.articles)) if r.articles else ())
                    for r in conn.execute(q)]

    def stale_insight_story_ids(self, version: int, *, limit: int | None = None) -> list[int]:
        """Live stories whose insights are missing or were built by another pipeline version."""
        built = select(story_insights.c.story_id).where(story_insights.c.version == version)
        q = (select(stories.c.id).where(stories.c.merged_into.is_(None), stories.c.article_count > 0,
                                        stories.c.id.not_in(built)).order_by(stories.c.id))
        if limit:
            q = q.limit(limit)
        with self.read() as conn:
            return list(conn.execute(q).scalars())

    def drop_story_insights(self, story_id: int) -> None:
        """A story merged away keeps no insights or hashtags of its own."""
        with self.write() as conn:
            conn.execute(story_insights.delete().where(story_insights.c.story_id == story_id))
            conn.execute(story_tags.delete().where(story_tags.c.story_id == story_id))
            conn.execute(stories.update().where(stories.c.id == story_id).values(dirty_since=None, touched_at=None))

    # -- article summaries --------------------------------------------------------
    def save_article_summaries(self, items: list[tuple[int, list[str]]], *, version: int) -> None:
        """Store (article id, sentences) pairs in one transaction, replacing older ones."""
        if not items:
            return
        with self.write() as conn:
            conn.execute(article_summaries.delete().where(article_summaries.c.article_id.in_([i for i, _ in items])))
            conn.execute(article_summaries.insert(), [{"article_id": i, "version": version,
                                                        "sentences": json.dumps(sentences)} for i, sentences in items])

    def articles_without_summary(self, article_ids: list[int], *, version: int) -> set[int]:
        if not article_ids:
            return set()
        with self.read() as conn:
            done = set(conn.execute(select(article_summaries.c.article_id).where(
                article_summaries.c.article_id.in_(article_ids), article_summaries.c.version == version)).scalars())
        return set(article_ids) - done

    def article_summary(self, article_id: int) -> list[str]:
        with self.read() as conn:
            raw = conn.execute(select(article_summaries.c.sentences)
                               .where(article_summaries.c.article_id == article_id)).scalar_one_or_none()
        return json.loads(raw) if raw else []

    def article_summaries(self, article_ids: Iterable[int]) -> dict[int, list[str]]:
        """The stored summaries of these articles (those that have one), by article id."""
        ids = sorted({int(i) for i in article_ids})
        if not ids:
            return {}
        with self.read() as conn:
            rows = conn.execute(select(article_summaries.c.article_id, article_summaries.c.sentences)
                                .where(article_summaries.c.article_id.in_(ids))).all()
        return {r.article_id: json.loads(r.sentences) for r in rows if r.sentences}

    def stale_summary_article_ids(self, version: int, *, limit: int | None = None) -> list[int]:
        built = select(article_summaries.c.article_id).where(article_summaries.c.version == version)
        q = select(articles.c.id).where(articles.c.id.not_in(built)).order_by(articles.c.id)
        if limit:
            q = q.limit(limit)
        with self.read() as conn:
            return list(conn.execute(q).scalars())


def _build(row: Any) -> InsightBuild | None:
    if row is None:
        return None
    return InsightBuild(row.story_id, row.built_at, row.version, json.loads(row.article_ids), json.loads(row.data))


def _seconds(n: float):
    from datetime import timedelta

    return timedelta(seconds=max(0.0, float(n)))
