"""Store methods for each reader's own state (mixed into Store): the feeds they chose, what
they have read and starred, their article stream and their unread counts.

Rules, in one place:
- A reader's feeds are the feeds they subscribed to; with none chosen, every article of the
  instance (so a new account, and a feed-reader app right after login, shows the news).
- Reading one copy of wire text reads them all: marking an article read (or unread) marks
  its whole wire group, the original (``duplicate_of`` root) and every duplicate of it.
- The unread window: an article created before ``since`` (default: now minus
  :attr:`ReadingMixin.reader_unread_days`, which the app sets from the ``reader_unread_days``
  setting) counts as read for unread counts and "unread only" lists, so a new account does
  not start with thousands of unread articles. Read rows are never needed for those.
- Every query names its user: one reader's state is never visible to, or changed by, another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..errors import NotFound
from ..models import Article, utcnow
from .rows import to_model
from .schema import (MAX_ID, UTCDateTime, article_reads, article_stars, articles, feeds, follows, stories,
                     story_tags, subscriptions, tags)

if TYPE_CHECKING:  # pragma: no cover
    from contextlib import AbstractContextManager

__all__ = ["ReadingMixin", "UnreadCounts", "DEFAULT_UNREAD_DAYS"]

DEFAULT_UNREAD_DAYS = 14
_CHUNK = 500                    # ids per IN (...) list
_MAX_STREAM = 1000              # most articles one article_stream call returns


@dataclass
class UnreadCounts:
    """A reader's unread articles: in all, per feed (feed id), per followed hashtag (slug)
    and per followed story (the live story's id). Every wire copy counts."""

    total: int = 0
    by_feed: dict[int, int] = field(default_factory=dict)
    by_tag: dict[str, int] = field(default_factory=dict)
    by_story: dict[int, int] = field(default_factory=dict)


def _ids(values: Iterable[int] | None) -> list[int]:
    """Distinct ids that can name a row (others name nothing: ignored, never a database error)."""
    out: list[int] = []
    seen: set[int] = set()
    for v in values or ():
        try:
            i = int(v)
        except (TypeError, ValueError):
            continue
        if 1 <= i <= MAX_ID and i not in seen:
            seen.add(i)
            out.append(i)
    return out


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


class ReadingMixin:
    """Subscriptions, read marks, stars, the article stream and unread counts of one reader."""

    if TYPE_CHECKING:  # provided by Store
        def write(self) -> "AbstractContextManager[Connection]": ...
        def read(self) -> "AbstractContextManager[Connection]": ...
        def _insert(self, table: sa.Table) -> Any: ...
        def _article_select(self) -> sa.Select: ...
        @staticmethod
        def _story_family(conn: Connection, story_id: int) -> list[int]: ...

    #: Days an article stays unread-able (the ``reader_unread_days`` setting; create_app sets it).
    reader_unread_days: int = DEFAULT_UNREAD_DAYS

    def unread_since(self, now: datetime | None = None) -> datetime:
        """The start of the unread window: articles created before it count as read."""
        return (now or utcnow()) - timedelta(days=self.reader_unread_days)

    # -- subscriptions ---------------------------------------------------------
    def chosen_feed_ids(self, user_id: int) -> list[int]:
        """The feeds the reader subscribed to (empty: none chosen, they read every feed)."""
        with self.read() as conn:
            return list(conn.execute(select(subscriptions.c.feed_id).where(subscriptions.c.user_id == user_id)
                                     .order_by(subscriptions.c.feed_id)).scalars())

    def reader_feed_ids(self, user_id: int) -> list[int]:
        """The feeds the reader chose; none chosen: every feed."""
        chosen = self.chosen_feed_ids(user_id)
        if chosen:
            return chosen
        with self.read() as conn:
            return list(conn.execute(select(feeds.c.id).order_by(feeds.c.id)).scalars())

    def subscribe(self, user_id: int, feed_id: int) -> bool:
        """Add a feed to the reader's choice. False when already subscribed. NotFound for no such feed."""
        with self.write() as conn:
            self._require_feed(conn, feed_id)
            return conn.execute(self._insert(subscriptions).values(
                user_id=user_id, feed_id=feed_id, created_at=utcnow()).on_conflict_do_nothing()
                .returning(subscriptions.c.feed_id)).first() is not None

    def unsubscribe(self, user_id: int, feed_id: int) -> bool:
        """Drop a feed from the reader's feeds. A reader who had chosen none (every feed) is left
        with every other feed, chosen explicitly (feeds added later are then not included).
        Dropping the last chosen feed leaves none chosen: every feed again. False when the feed
        was not among the reader's feeds."""
        with self.write() as conn:
            self._require_feed(conn, feed_id)
            chosen = conn.execute(select(subscriptions.c.feed_id)
                                  .where(subscriptions.c.user_id == user_id).limit(1)).first()
            if chosen is None:
                others = [i for i in conn.execute(select(feeds.c.id).where(feeds.c.id != feed_id)).scalars()]
                now = utcnow()
                for chunk in _chunks(others):
                    conn.execute(self._insert(subscriptions).on_conflict_do_nothing(),
                                 [{"user_id": user_id, "feed_id": i, "created_at": now} for i in chunk])
                return True
            return conn.execute(subscriptions.delete().where(subscriptions.c.user_id == user_id,
                                                             subscriptions.c.feed_id == feed_id)).rowcount > 0

    @staticmethod
    def _require_feed(conn: Connection, feed_id: int) -> None:
        if not isinstance(feed_id, int) or not 1 <= feed_id <= MAX_ID or conn.execute(
                select(feeds.c.id).where(feeds.c.id == feed_id)).first() is None:
            raise NotFound(f"reader: no feed {feed_id}")

    def _reader_filter(self, conn: Connection, user_id: int) -> sa.ColumnElement[bool] | None:
        """The condition "article is in the reader's feeds" (None: every article)."""
        if conn.execute(select(subscriptions.c.feed_id).where(subscriptions.c.user_id == user_id)
                        .limit(1)).first() is None:
            return None
        return articles.c.feed_id.in_(select(subscriptions.c.feed_id).where(subscriptions.c.user_id == user_id))

    # -- read marks --------------------------------------------------------------
    @staticmethod
    def _wire_groups(conn: Connection, ids: list[int]) -> list[int]:
        """These articles and every wire copy of them: the duplicate_of roots and all their
        duplicates (followed to the end, should a duplicate point at another duplicate)."""
        group = set(ids)
        frontier = set(ids)
        for _ in range(8):
            if not frontier:
                break
            found: set[int] = set()
            for chunk in _chunks(sorted(frontier)):
                for aid, dup in conn.execute(select(articles.c.id, articles.c.duplicate_of).where(
                        sa.or_(articles.c.id.in_(chunk), articles.c.duplicate_of.in_(chunk)))):
                    found.add(aid)
                    if dup is not None:
                        found.add(dup)
            frontier = found - group
            group |= found
        # Only ids that name stored articles.
        out: list[int] = []
        for chunk in _chunks(sorted(group)):
            out.extend(conn.execute(select(articles.c.id).where(articles.c.id.in_(chunk))).scalars())
        return out

    def _set_read(self, conn: Connection, user_id: int, ids: list[int], read: bool) -> int:
        changed = 0
        now = utcnow()
        for chunk in _chunks(ids):
            if read:
                have = set(conn.execute(select(article_reads.c.article_id).where(
                    article_reads.c.user_id == user_id, article_reads.c.article_id.in_(chunk))).scalars())
                rows = [{"user_id": user_id, "article_id": i, "read_at": now} for i in chunk if i not in have]
                if rows:
                    conn.execute(self._insert(article_reads).on_conflict_do_nothing(), rows)
                    changed += len(rows)
            else:
                changed += conn.execute(article_reads.delete().where(
                    article_reads.c.user_id == user_id, article_reads.c.article_id.in_(chunk))).rowcount
        return changed

    def mark_read(self, user_id: int, article_ids: Iterable[int], read: bool = True) -> int:
        """Mark articles read (or unread) for this reader, each with its whole wire group (the
        original and all its duplicates). Returns the read rows added or removed; idempotent."""
        ids = _ids(article_ids)
        if not ids:
            return 0
        with self.write() as conn:
            return self._set_read(conn, user_id, self._wire_groups(conn, ids), read)

    def mark_story_read(self, user_id: int, story_id: int) -> int:
        """Mark every article of a story (and of the stories merged into it) read, wire copies too."""
        if not 1 <= story_id <= MAX_ID:
            raise NotFound(f"reader: no story {story_id}")
        with self.write() as conn:
            if conn.execute(select(stories.c.id).where(stories.c.id == story_id)).first() is None:
                raise NotFound(f"reader: no story {story_id}")
            family = self._story_family(conn, story_id)
            ids = list(conn.execute(select(articles.c.id).where(articles.c.story_id.in_(family))).scalars())
            return self._set_read(conn, user_id, self._wire_groups(conn, ids), True)

    def mark_all_read(self, user_id: int, *, feed_id: int | None = None, story_id: int | None = None,
                      before: datetime | None = None) -> int:
        """Mark read every article of the reader's feeds (or of one feed, or one story) created
        before `before` (default now), in one INSERT ... SELECT. Returns the rows added."""
        before = before or utcnow()
        with self.write() as conn:
            conds: list[Any] = [articles.c.created_at < before]
            reader = self._reader_filter(conn, user_id)
            if reader is not None:
                conds.append(reader)
            if feed_id is not None:
                conds.append(articles.c.feed_id == feed_id)
            if story_id is not None:
                conds.append(articles.c.story_id.in_(self._story_family(conn, story_id)))
            unread = ~sa.exists().where(article_reads.c.user_id == user_id, article_reads.c.article_id == articles.c.id)
            pick = select(sa.literal(user_id, sa.Integer), articles.c.id, sa.literal(utcnow(), UTCDateTime)) \
                .where(*conds, unread)
            stmt = self._insert(article_reads).from_select(["user_id", "article_id", "read_at"], pick) \
                .on_conflict_do_nothing().returning(article_reads.c.article_id)
            return len(conn.execute(stmt).all())

    def read_ids(self, user_id: int, article_ids: Iterable[int]) -> set[int]:
        """Which of these articles this reader has read (rows only: the unread window aside)."""
        ids = _ids(article_ids)
        out: set[int] = set()
        with self.read() as conn:
            for chunk in _chunks(ids):
                out.update(conn.execute(select(article_reads.c.article_id).where(
                    article_reads.c.user_id == user_id, article_reads.c.article_id.in_(chunk))).scalars())
        return out

    def is_read(self, user_id: int, article_id: int) -> bool:
        return article_id in self.read_ids(user_id, [article_id])

    # -- stars -------------------------------------------------------------------
    def set_starred(self, user_id: int, article_ids: Iterable[int], starred: bool = True) -> int:
        """Star (or unstar) articles for this reader. Returns the rows added or removed; idempotent."""
        ids = _ids(article_ids)
        changed = 0
        now = utcnow()
        with self.write() as conn:
            for chunk in _chunks(ids):
                if starred:
                    have = set(conn.execute(select(article_stars.c.article_id).where(
                        article_stars.c.user_id == user_id, article_stars.c.article_id.in_(chunk))).scalars())
                    exist = conn.execute(select(articles.c.id).where(articles.c.id.in_(chunk))).scalars()
                    rows = [{"user_id": user_id, "article_id": i, "starred_at": now} for i in exist if i not in have]
                    if rows:
                        conn.execute(self._insert(article_stars).on_conflict_do_nothing(), rows)
                        changed += len(rows)
                else:
                    changed += conn.execute(article_stars.delete().where(
                        article_stars.c.user_id == user_id, article_stars.c.article_id.in_(chunk))).rowcount
        return changed

    def starred_ids(self, user_id: int, article_ids: Iterable[int] | None = None) -> set[int]:
        """Which of these articles the reader starred (all their starred articles without a list)."""
        q = select(article_stars.c.article_id).where(article_stars.c.user_id == user_id)
        with self.read() as conn:
            if article_ids is None:
                return set(conn.execute(q).scalars())
            out: set[int] = set()
            for chunk in _chunks(_ids(article_ids)):
                out.update(conn.execute(q.where(article_stars.c.article_id.in_(chunk))).scalars())
            return out

    # -- the stream ----------------------------------------------------------------
    def article_stream(self, user_id: int, *, feed_id: int | None = None, starred: bool = False,
                       unread_only: bool = False, newer_than: datetime | None = None,
                       older_than: datetime | None = None, after_id: int | None = None,
                       before_id: int | None = None, limit: int = 50, newest_first: bool = True,
                       since: datetime | None = None, offset: int = 0) -> list[Article]:
        """Articles of the reader's feeds (or of one feed), ordered by created_at then id.

        starred: only the reader's starred articles (from any feed, subscribed or not);
        unread_only: created inside the unread window (``since``, default :meth:`unread_since`)
        and not read; newer_than / older_than: created_at strictly after / before;
        after_id / before_id: continuation, the articles that sort after / before that one in
        (created_at, id) order whatever the direction (an id naming no article compares by id);
        offset: for numbered pages (the web API), beside the continuation ids.
        """
        limit = max(0, min(int(limit), _MAX_STREAM))
        with self.read() as conn:
            conds = self._stream_conds(conn, user_id, feed_id=feed_id, starred=starred, unread_only=unread_only,
                                       newer_than=newer_than, older_than=older_than, after_id=after_id,
                                       before_id=before_id, since=since)
            q = self._article_select().where(*conds)
            if newest_first:
                q = q.order_by(articles.c.created_at.desc(), articles.c.id.desc())
            else:
                q = q.order_by(articles.c.created_at, articles.c.id)
            return [to_model(Article, r) for r in conn.execute(q.limit(limit).offset(max(0, int(offset))))]

    def count_stream(self, user_id: int, **filters: Any) -> int:
        """How many articles :meth:`article_stream` would list with these filters, all pages together."""
        with self.read() as conn:
            conds = self._stream_conds(conn, user_id, **filters)
            return conn.execute(select(func.count()).select_from(articles).where(*conds)).scalar_one()

    def _stream_conds(self, conn: Connection, user_id: int, *, feed_id: int | None = None, starred: bool = False,
                      unread_only: bool = False, newer_than: datetime | None = None,
                      older_than: datetime | None = None, after_id: int | None = None,
                      before_id: int | None = None, since: datetime | None = None) -> list[Any]:
        conds: list[Any] = []
        if starred:
            conds.append(articles.c.id.in_(select(article_stars.c.article_id)
                                           .where(article_stars.c.user_id == user_id)))
        else:
            reader = self._reader_filter(conn, user_id)
            if reader is not None:
                conds.append(reader)
        if feed_id is not None:
            conds.append(articles.c.feed_id == feed_id)
        if unread_only:
            conds += [articles.c.created_at > (since or self.unread_since()),
                      ~sa.exists().where(article_reads.c.user_id == user_id,
                                         article_reads.c.article_id == articles.c.id)]
        if newer_than is not None:
            conds.append(articles.c.created_at > newer_than)
        if older_than is not None:
            conds.append(articles.c.created_at < older_than)
        for anchor, later in ((after_id, True), (before_id, False)):
            if anchor is not None:
                conds.append(self._past(conn, int(anchor), later))
        return conds

    @staticmethod
    def _past(conn: Connection, anchor: int, later: bool) -> sa.ColumnElement[bool]:
        """Articles sorting after (later=True) or before the anchor article in (created_at, id)."""
        row = None
        if 1 <= anchor <= MAX_ID:
            row = conn.execute(select(articles.c.created_at).where(articles.c.id == anchor)).first()
        if row is None:
            return articles.c.id > anchor if later else articles.c.id < anchor
        at = row.created_at
        if later:
            return sa.or_(articles.c.created_at > at, sa.and_(articles.c.created_at == at, articles.c.id > anchor))
        return sa.or_(articles.c.created_at < at, sa.and_(articles.c.created_at == at, articles.c.id < anchor))

    # -- unread counts ---------------------------------------------------------------
    def _unread_conds(self, conn: Connection, user_id: int, since: datetime | None) -> list[Any]:
        conds: list[Any] = [articles.c.created_at > (since or self.unread_since()),
                            ~sa.exists().where(article_reads.c.user_id == user_id,
                                               article_reads.c.article_id == articles.c.id)]
        reader = self._reader_filter(conn, user_id)
        if reader is not None:
            conds.append(reader)
        return conds

    def unread_counts(self, user_id: int, *, since: datetime | None = None) -> UnreadCounts:
        """The reader's unread counts in four aggregate queries: in all, per feed, per followed
        hashtag (by slug) and per followed story (by the live story's id). Unread: in the
        reader's feeds, created after `since` (default :meth:`unread_since`), no read row."""
        out = UnreadCounts()
        with self.read() as conn:
            conds = self._unread_conds(conn, user_id, since)
            out.total = conn.execute(select(func.count()).select_from(articles).where(*conds)).scalar_one()
            if not out.total:
                return out
            out.by_feed = {fid: n for fid, n in conn.execute(
                select(articles.c.feed_id, func.count()).where(*conds, articles.c.feed_id.is_not(None))
                .group_by(articles.c.feed_id))}
            followed_tags = select(follows.c.target_id).where(follows.c.user_id == user_id, follows.c.kind == "tag")
            out.by_tag = {slug: n for slug, n in conn.execute(
                select(tags.c.slug, func.count(sa.distinct(articles.c.id)))
                .select_from(articles.join(story_tags, story_tags.c.story_id == articles.c.story_id)
                             .join(tags, tags.c.id == story_tags.c.tag_id))
                .where(*conds, story_tags.c.tag_id.in_(followed_tags)).group_by(tags.c.slug))}
            followed = select(func.coalesce(stories.c.merged_into, stories.c.id)).where(stories.c.id.in_(
                select(follows.c.target_id).where(follows.c.user_id == user_id, follows.c.kind == "story")))
            out.by_story = {sid: n for sid, n in conn.execute(
                select(articles.c.story_id, func.count()).where(*conds, articles.c.story_id.in_(followed))
                .group_by(articles.c.story_id))}
        return out

    def story_unread_counts(self, user_id: int, story_ids: Iterable[int], *,
                            since: datetime | None = None) -> dict[int, int]:
        """Unread articles of each of these stories (any story, followed or not), one query;
        stories with none are left out."""
        ids = _ids(story_ids)
        out: dict[int, int] = {}
        if not ids:
            return out
        with self.read() as conn:
            conds = self._unread_conds(conn, user_id, since)
            for chunk in _chunks(ids):
                out.update({sid: n for sid, n in conn.execute(
                    select(articles.c.story_id, func.count()).where(*conds, articles.c.story_id.in_(chunk))
                    .group_by(articles.c.story_id))})
        return out

    def feed_unread_counts(self, user_id: int, *, since: datetime | None = None) -> dict[int, int]:
        """Unread articles per feed of the reader's feeds (one query)."""
        with self.read() as conn:
            conds = self._unread_conds(conn, user_id, since)
            return {fid: n for fid, n in conn.execute(
                select(articles.c.feed_id, func.count()).where(*conds, articles.c.feed_id.is_not(None))
                .group_by(articles.c.feed_id))}
