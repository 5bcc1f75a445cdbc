"""Store methods for readers' digests (mixed into Store): the per-user digest settings, the
secrets of its private Atom feed and unsubscribe link (kept as SHA-256, as API tokens are),
the stories a digest covers, and the send log that makes "once per period" hold.

The send log is a claim: :meth:`DigestsMixin.claim_digest_send` inserts the (user, period
key) row before anything is sent, and a conflict means another scheduler (or an earlier run
of this one) sent it or is sending it. A claim whose send never finished (the process died)
is taken over once it is ``stale_after`` seconds old.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..errors import StoreError
from ..models import utcnow
from .community import hash_secret
from .schema import (articles, digest_sends, digests, follows, sources, stories, story_insights, story_tags, tags,
                     users)

if TYPE_CHECKING:  # pragma: no cover
    from contextlib import AbstractContextManager

__all__ = ["DigestsMixin", "DigestPrefs", "DigestSend", "DigestStoryRow", "DIGEST_PERIODS", "MAX_DIGEST_STORIES"]

DIGEST_PERIODS = ("off", "daily", "weekly")
MAX_DIGEST_STORIES = 50
MAX_EMAIL_LENGTH = 320


@dataclass
class DigestPrefs:
    user_id: int
    username: str
    period: str
    email: str | None
    created_at: datetime
    has_feed_token: bool = False
    unsubscribe_token_hash: str | None = None


@dataclass
class DigestSend:
    user_id: int
    period_key: str
    started_at: datetime
    sent_at: datetime | None
    stories: int


@dataclass
class DigestStoryRow:
    """A story a digest covers: it changed in the window, and the reader follows it, one of its
    publishers or one of its hashtags (``reasons``: "story", "source:<name>", "tag:<name>")."""

    id: int
    title: str
    article_count: int
    source_count: int
    last_seen_at: datetime | None
    new_articles: int
    publishers: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    insights: dict[str, Any] = field(default_factory=dict)


def _prefs(row: Any) -> DigestPrefs:
    return DigestPrefs(user_id=row.user_id, username=row.username, period=row.period, email=row.email,
                       created_at=row.created_at, has_feed_token=row.feed_token_hash is not None,
                       unsubscribe_token_hash=row.unsubscribe_token_hash)


class DigestsMixin:
    if TYPE_CHECKING:  # provided by Store
        def write(self) -> "AbstractContextManager[Connection]": ...
        def read(self) -> "AbstractContextManager[Connection]": ...
        def _insert(self, table: sa.Table) -> Any: ...

    # -- settings ------------------------------------------------------------------
    @staticmethod
    def _digest_select() -> sa.Select:
        return (select(digests, users.c.username)
                .select_from(digests.join(users, users.c.id == digests.c.user_id)))

    def get_digest(self, user_id: int) -> DigestPrefs | None:
        with self.read() as conn:
            row = conn.execute(self._digest_select().where(digests.c.user_id == user_id)).first()
        return _prefs(row) if row else None

    def _ensure_digest(self, conn: Connection, user_id: int) -> None:
        conn.execute(self._insert(digests).values(user_id=user_id, period="off", created_at=utcnow())
                     .on_conflict_do_nothing(index_elements=["user_id"]))

    def save_digest(self, user_id: int, *, period: str, email: str | None) -> DigestPrefs:
        """Set how often the digest goes out and where (the row is made on first use)."""
        if period not in DIGEST_PERIODS:
            raise StoreError(f"digest: the period must be one of {', '.join(DIGEST_PERIODS)}", code="invalid")
        email = (email or "").strip() or None
        if email is not None and len(email) > MAX_EMAIL_LENGTH:
            raise StoreError("digest: the email address is too long", code="invalid")
        with self.write() as conn:
            self._ensure_digest(conn, user_id)
            conn.execute(digests.update().where(digests.c.user_id == user_id).values(period=period, email=email))
        prefs = self.get_digest(user_id)
        assert prefs is not None
        return prefs

    def new_digest_feed_token(self, user_id: int) -> str:
        """A new secret for the private Atom feed, returned once (the old one stops working)."""
        token = secrets.token_urlsafe(32)
        with self.write() as conn:
            self._ensure_digest(conn, user_id)
            conn.execute(digests.update().where(digests.c.user_id == user_id)
                         .values(feed_token_hash=hash_secret(token)))
        return token

    def set_digest_unsubscribe_hash(self, user_id: int, token_hash: str) -> None:
        with self.write() as conn:
            self._ensure_digest(conn, user_id)
            conn.execute(digests.update().where(digests.c.user_id == user_id)
                         .values(unsubscribe_token_hash=token_hash))

    def _digest_by(self, column: sa.Column, token: str | None) -> DigestPrefs | None:
        if not token or len(token) > 200:
            return None
        with self.read() as conn:
            row = conn.execute(self._digest_select().where(column == hash_secret(token),
                                                           users.c.banned.is_(False))).first()
        return _prefs(row) if row else None

    def digest_for_feed_token(self, token: str | None) -> DigestPrefs | None:
        return self._digest_by(digests.c.feed_token_hash, token)

    def digest_for_unsubscribe_token(self, token: str | None) -> DigestPrefs | None:
        return self._digest_by(digests.c.unsubscribe_token_hash, token)

    def unsubscribe_digest(self, user_id: int) -> None:
        """No more email digests (the private Atom feed keeps working)."""
        with self.write() as conn:
            conn.execute(digests.update().where(digests.c.user_id == user_id).values(period="off"))

    def email_digests(self) -> list[DigestPrefs]:
        """Every digest that goes out by email: a period chosen, an address given, its user not banned."""
        q = (self._digest_select().where(digests.c.period != "off", digests.c.email.is_not(None),
                                         users.c.banned.is_(False)).order_by(digests.c.user_id))
        with self.read() as conn:
            return [_prefs(r) for r in conn.execute(q)]

    # -- the send log ----------------------------------------------------------------
    def claim_digest_send(self, user_id: int, period_key: str, *, now: datetime | None = None,
                          stale_after: float = 900.0) -> bool:
        """Claim sending `period_key`'s digest to this user. False: already sent, or being sent
        by someone else less than `stale_after` seconds ago."""
        now = now or utcnow()
        with self.write() as conn:
            # RETURNING, not rowcount: the PostgreSQL driver reports -1 for an INSERT ... ON CONFLICT
            claimed = conn.execute(self._insert(digest_sends)
                                   .values(user_id=user_id, period_key=period_key, started_at=now, stories=0)
                                   .on_conflict_do_nothing(index_elements=["user_id", "period_key"])
                                   .returning(digest_sends.c.user_id)).first()
            if claimed is not None:
                return True
            return conn.execute(digest_sends.update().where(
                digest_sends.c.user_id == user_id, digest_sends.c.period_key == period_key,
                digest_sends.c.sent_at.is_(None),
                digest_sends.c.started_at < now - timedelta(seconds=stale_after)).values(started_at=now)).rowcount > 0

    def finish_digest_send(self, user_id: int, period_key: str, *, stories: int, now: datetime | None = None) -> None:
        with self.write() as conn:
            conn.execute(digest_sends.update().where(digest_sends.c.user_id == user_id,
                                                     digest_sends.c.period_key == period_key)
                         .values(sent_at=now or utcnow(), stories=stories))

    def release_digest_send(self, user_id: int, period_key: str) -> None:
        """Drop an unfinished claim (the send failed): a later run tries again."""
        with self.write() as conn:
            conn.execute(digest_sends.delete().where(digest_sends.c.user_id == user_id,
                                                     digest_sends.c.period_key == period_key,
                                                     digest_sends.c.sent_at.is_(None)))

    def digest_sends(self, user_id: int, *, limit: int = 20) -> list[DigestSend]:
        """The user's latest digest sends, newest first."""
        q = (select(digest_sends).where(digest_sends.c.user_id == user_id)
             .order_by(digest_sends.c.started_at.desc()).limit(limit))
        with self.read() as conn:
            return [DigestSend(r.user_id, r.period_key, r.started_at, r.sent_at, r.stories) for r in conn.execute(q)]

    def sent_digest_keys(self, user_ids: list[int], period_keys: list[str]) -> set[tuple[int, str]]:
        """(user, period key) pairs already claimed (sent or being sent)."""
        if not user_ids or not period_keys:
            return set()
        q = select(digest_sends.c.user_id, digest_sends.c.period_key).where(
            digest_sends.c.user_id.in_(user_ids), digest_sends.c.period_key.in_(period_keys))
        with self.read() as conn:
            return {(r.user_id, r.period_key) for r in conn.execute(q)}

    # -- what a digest covers ----------------------------------------------------------
    def digest_stories(self, user_id: int, since: datetime, until: datetime, *,
                       limit: int = MAX_DIGEST_STORIES) -> list[DigestStoryRow]:
        """The stories this user follows (itself, one of its publishers or one of its hashtags)
        that gained articles in [since, until), most new articles first."""
        arrived = func.coalesce(articles.c.fetched_at, articles.c.created_at)
        with self.read() as conn:
            followed: dict[str, list[int]] = {"story": [], "source": [], "tag": []}
            for kind, target_id in conn.execute(select(follows.c.kind, follows.c.target_id)
                                                .where(follows.c.user_id == user_id)):
                followed.setdefault(kind, []).append(target_id)
            reasons: dict[int, list[str]] = {}
            if followed["story"]:
                live = func.coalesce(stories.c.merged_into, stories.c.id)
                for sid in conn.execute(select(live).where(stories.c.id.in_(followed["story"]))).scalars():
                    reasons.setdefault(sid, []).append("story")
            if followed["source"]:
                for sid, name in conn.execute(
                        select(articles.c.story_id, sources.c.name).distinct()
                        .join(sources, sources.c.id == articles.c.source_id)
                        .where(articles.c.source_id.in_(followed["source"]), articles.c.story_id.is_not(None))):
                    reasons.setdefault(sid, []).append(f"source:{name}")
            if followed["tag"]:
                for sid, name in conn.execute(
                        select(story_tags.c.story_id, tags.c.name).join(tags, tags.c.id == story_tags.c.tag_id)
                        .where(story_tags.c.tag_id.in_(followed["tag"]))):
                    reasons.setdefault(sid, []).append(f"tag:{name}")
            if not reasons:
                return []
            fresh = dict(conn.execute(
                select(articles.c.story_id, func.count()).where(articles.c.story_id.in_(list(reasons)),
                                                                arrived >= since, arrived < until)
                .group_by(articles.c.story_id)).all())
            if not fresh:
                return []
            rows = list(conn.execute(select(stories).where(stories.c.id.in_(list(fresh)),
                                                           stories.c.merged_into.is_(None))))
            rows.sort(key=lambda r: (-fresh[r.id], -(r.last_seen_at or until).timestamp(), -r.id))
            rows = rows[:limit]
            ids = [r.id for r in rows]
            publishers: dict[int, list[str]] = {}
            for sid, name in conn.execute(
                    select(articles.c.story_id, sources.c.name).distinct()
                    .join(sources, sources.c.id == articles.c.source_id)
                    .where(articles.c.story_id.in_(ids)).order_by(sources.c.name)):
                publishers.setdefault(sid, []).append(name)
            insights = {sid: json.loads(data) for sid, data in conn.execute(
                select(story_insights.c.story_id, story_insights.c.data).where(story_insights.c.story_id.in_(ids)))}
        return [DigestStoryRow(id=r.id, title=r.title, article_count=r.article_count, source_count=r.source_count,
                               last_seen_at=r.last_seen_at, new_articles=fresh[r.id],
                               publishers=publishers.get(r.id, []), reasons=list(dict.fromkeys(reasons[r.id])),
                               insights=insights.get(r.id, {}))
                for r in rows]
