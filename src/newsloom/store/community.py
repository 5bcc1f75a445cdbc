"""Store methods for accounts, comments, moderation, follows and rate limits (mixed into Store).

Secrets never reach the database in the clear: session cookies and API tokens are random
strings shown once; only their SHA-256 is stored. Password hashing (argon2) is the web
layer's job (serve/auth.py); the store keeps whatever hash it is given.

Comment visibility, in one place (:meth:`CommunityMixin.comment_thread`):
- hidden by a moderator: shown to moderators (flagged) and to its author (with a notice);
  to everyone else it disappears, or reads "[removed]" when visible replies hang under it;
- deleted by its author: removed outright, or kept as "[deleted]" while it has replies.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..errors import NotFound, StoreError
from ..models import Story, User, utcnow
from .schema import (MAX_ID, api_tokens, articles, comment_reports, comments, follows, rate_events, sessions,
                     sources, stories, tags, users, story_tags)

if TYPE_CHECKING:  # pragma: no cover
    from contextlib import AbstractContextManager

__all__ = ["CommunityMixin", "WebSession", "CommentView", "ReportedComment", "FollowTarget", "ForYouItem",
           "ROLES", "FOLLOW_KINDS", "FOR_YOU_WEIGHTS", "MAX_COMMENT_LENGTH", "hash_secret",
           "fever_key_hash"]

ROLES = ("user", "moderator", "admin")
FOLLOW_KINDS = ("story", "source", "tag")
FOR_YOU_WEIGHTS = {"story": 2.0, "source": 1.0, "tag": 1.0}   # a followed story counts double
MAX_COMMENT_LENGTH = 10_000
MAX_COMMENT_DEPTH = 6            # a reply deeper than this attaches to its parent's parent
_RATE_RETENTION = timedelta(days=1)   # longest window a rate limit may use


def hash_secret(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def fever_key_hash(username: str, password: str) -> str:
    """What users.fever_key_hash keeps: SHA-256 of the Fever API key, md5("username:password")
    in lower-case hex (the protocol's key; md5 is its choice, the store keeps only this hash)."""
    return hash_secret(hashlib.md5(f"{username}:{password}".encode("utf-8")).hexdigest())


@dataclass
class WebSession:
    user: User
    csrf_token: str
    expires_at: datetime
    token: str | None = None          # the cookie value; only set when just created


@dataclass
class CommentView:
    """A comment as a reader sees it. ``state``: visible, hidden (moderators and the author
    see the text), removed (hidden, shown as a placeholder), deleted (placeholder)."""

    id: int
    story_id: int
    user_id: int
    username: str
    body: str
    parent_id: int | None
    created_at: datetime
    edited_at: datetime | None = None
    hidden: bool = False
    deleted: bool = False
    state: str = "visible"
    replies: list["CommentView"] = field(default_factory=list)

    @property
    def shows_text(self) -> bool:
        return self.state in ("visible", "hidden")


@dataclass
class ReportedComment:
    comment: CommentView
    story_title: str
    report_count: int = 0
    reasons: list[str] = field(default_factory=list)


@dataclass
class FollowTarget:
    kind: str
    id: int
    label: str
    key: str                          # what forms send back: the id, or the tag's slug


@dataclass
class ForYouItem:
    story: Story
    score: float
    reasons: list[str] = field(default_factory=list)


def _user(row: Any) -> User:
    m = row._mapping
    return User(id=m["id"], username=m["username"], email=m["email"], password_hash=m["password_hash"],
                role=m["role"], banned=bool(m["banned"]), created_at=m["created_at"])


class CommunityMixin:
    """Accounts, sessions, API tokens, comments, moderation, follows, "For you", rate limits."""

    if TYPE_CHECKING:  # provided by Store
        def write(self) -> "AbstractContextManager[Connection]": ...
        def read(self) -> "AbstractContextManager[Connection]": ...

    # -- users -------------------------------------------------------------
    def create_user(self, username: str, password_hash: str, *, email: str | None = None,
                    role: str = "user") -> User:
        """A new account; StoreError(code="conflict") when the name is taken (case-insensitively)."""
        if role not in ROLES:
            raise StoreError(f"store: unknown role {role!r}")
        taken = StoreError(f"store: username {username!r} is taken", code="conflict")
        try:
            with self.write() as conn:
                if conn.execute(select(users.c.id).where(func.lower(users.c.username) == username.lower())).first():
                    raise taken
                new_id = conn.execute(users.insert().values(
                    username=username, email=email, password_hash=password_hash, role=role, banned=False,
                    created_at=utcnow())).inserted_primary_key[0]
        except IntegrityError:          # the same name, inserted concurrently
            raise taken from None
        return self.get_user(new_id)

    def get_user(self, user_id: int) -> User:
        with self.read() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        if row is None:
            raise NotFound(f"store: no user {user_id}")
        return _user(row)

    def find_user(self, username: str) -> User | None:
        """By name, case-insensitively (how people type it at the login form)."""
        with self.read() as conn:
            row = conn.execute(select(users).where(func.lower(users.c.username) == username.lower())
                               .order_by(users.c.id).limit(1)).first()
        return _user(row) if row else None

    def _require_user(self, username: str) -> User:
        user = self.find_user(username)
        if user is None:
            raise NotFound(f"store: no user {username!r}")
        return user

    def set_role(self, username: str, role: str) -> User:
        """user, moderator or admin (the CLI makes the first admin with this)."""
        if role not in ROLES:
            raise StoreError(f"store: role must be one of {', '.join(ROLES)}, got {role!r}")
        user = self._require_user(username)
        with self.write() as conn:
            conn.execute(users.update().where(users.c.id == user.id).values(role=role))
        return self.get_user(user.id)

    def set_banned(self, username: str, banned: bool, *, by: int | None = None) -> User:
        """Ban or unban. A ban also ends every session of that user at once and records `by`
        (the id of whoever placed it; None: unknown). Who may do which is the caller's rule."""
        user = self._require_user(username)
        with self.write() as conn:
            conn.execute(users.update().where(users.c.id == user.id)
                         .values(banned=banned, banned_by=by if banned else None))
            if banned:
                conn.execute(sessions.delete().where(sessions.c.user_id == user.id))
        return self.get_user(user.id)

    def ban_placed_by(self, user_id: int) -> User | None:
        """Who banned this user, when it is known (None for no ban, or a ban of unknown origin)."""
        with self.read() as conn:
            banner = conn.execute(select(users.c.banned_by).where(users.c.id == user_id,
                                                                  users.c.banned.is_(True))).scalar()
        return self.get_user(banner) if banner is not None else None

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self.write() as conn:
            conn.execute(users.update().where(users.c.id == user_id).values(password_hash=password_hash))

    def set_fever_key(self, user_id: int, key_hash: str | None) -> None:
        """Keep the Fever API key's hash (the web layer computes it when the password is known)."""
        with self.write() as conn:
            conn.execute(users.update().where(users.c.id == user_id).values(fever_key_hash=key_hash))

    def user_for_fever_key(self, key_hash: str | None) -> User | None:
        """The user whose Fever key hashes to `key_hash` (banned users included: callers check)."""
        if not key_hash or len(key_hash) != 64:
            return None
        with self.read() as conn:
            row = conn.execute(select(users).where(users.c.fever_key_hash == key_hash)
                               .order_by(users.c.id).limit(1)).first()
        return _user(row) if row else None

    def list_banned_users(self) -> list[User]:
        with self.read() as conn:
            return [_user(r) for r in conn.execute(select(users).where(users.c.banned.is_(True))
                                                   .order_by(users.c.username))]

    # -- web sessions ------------------------------------------------------
    def create_session(self, user_id: int, *, max_age: int) -> WebSession:
        """A new session; its ``token`` (the cookie value) is returned once and stored hashed."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = utcnow()
        with self.write() as conn:
            conn.execute(sessions.delete().where(sessions.c.expires_at < now))
            conn.execute(sessions.insert().values(id=hash_secret(token), user_id=user_id, csrf_token=csrf,
                                                  created_at=now, expires_at=now + timedelta(seconds=max_age)))
        return WebSession(user=self.get_user(user_id), csrf_token=csrf,
                          expires_at=now + timedelta(seconds=max_age), token=token)

    def get_session(self, token: str | None) -> WebSession | None:
        """The live session for a cookie value, or None (unknown, expired, or its user banned)."""
        if not token or len(token) > 200:
            return None
        q = (select(users, sessions.c.csrf_token, sessions.c.expires_at)
             .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
             .where(sessions.c.id == hash_secret(token), sessions.c.expires_at > utcnow()))
        with self.read() as conn:
            row = conn.execute(q).first()
        if row is None or row.banned:
            return None
        return WebSession(user=_user(row), csrf_token=row.csrf_token, expires_at=row.expires_at)

    def delete_session(self, token: str | None) -> None:
        if token:
            with self.write() as conn:
                conn.execute(sessions.delete().where(sessions.c.id == hash_secret(token)))

    # -- API tokens --------------------------------------------------------
    def create_api_token(self, username: str, *, name: str = "api") -> str:
        """A new API token for `username`, returned once (``nl_...``); only its hash is kept."""
        user = self._require_user(username)
        token = "nl_" + secrets.token_urlsafe(32)
        with self.write() as conn:
            conn.execute(api_tokens.insert().values(user_id=user.id, name=name[:100], token_hash=hash_secret(token),
                                                    created_at=utcnow()))
        return token

    def user_for_token(self, token: str | None) -> User | None:
        """The user an API token belongs to (banned users included: callers check `banned`)."""
        if not token or len(token) > 200:
            return None
        digest = hash_secret(token)
        with self.read() as conn:
            row = conn.execute(select(users, api_tokens.c.id.label("token_id"))
                               .select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id))
                               .where(api_tokens.c.token_hash == digest)).first()
        if row is None:
            return None
        with self.write() as conn:
            conn.execute(api_tokens.update().where(api_tokens.c.id == row.token_id).values(last_used_at=utcnow()))
        return _user(row)

    def list_api_tokens(self, user_id: int) -> list[dict[str, Any]]:
        q = (select(api_tokens.c.id, api_tokens.c.name, api_tokens.c.created_at, api_tokens.c.last_used_at)
             .where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id))
        with self.read() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def revoke_api_token(self, user_id: int, token_id: int) -> bool:
        with self.write() as conn:
            return conn.execute(api_tokens.delete().where(api_tokens.c.id == token_id,
                                                          api_tokens.c.user_id == user_id)).rowcount > 0

    # -- comments ----------------------------------------------------------
    @staticmethod
    def _clean_body(body: str) -> str:
        text = (body or "").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
        if not text:
            raise StoreError("comment: the text is empty", code="invalid")
        if len(text) > MAX_COMMENT_LENGTH:
            raise StoreError(f"comment: the text is longer than {MAX_COMMENT_LENGTH} characters", code="invalid")
        return text

    def _comment_row(self, conn: Connection, comment_id: int) -> Any:
        row = conn.execute(select(comments, users.c.username)
                           .select_from(comments.join(users, users.c.id == comments.c.user_id))
                           .where(comments.c.id == comment_id)).first()
        if row is None:
            raise NotFound(f"comment: no comment {comment_id}")
        return row

    @staticmethod
    def _view(row: Any) -> CommentView:
        deleted = row.deleted_at is not None
        return CommentView(id=row.id, story_id=row.story_id, user_id=row.user_id, username=row.username,
                           body="" if deleted else row.body, parent_id=row.parent_id, created_at=row.created_at,
                           edited_at=row.edited_at, hidden=bool(row.hidden), deleted=deleted,
                           state="deleted" if deleted else ("hidden" if row.hidden else "visible"))

    def get_comment(self, comment_id: int) -> CommentView:
        with self.read() as conn:
            return self._view(self._comment_row(conn, comment_id))

    def post_comment(self, story_id: int, user_id: int, body: str, *, parent_id: int | None = None) -> CommentView:
        """A comment on a story, or a reply to one of its comments."""
        text = self._clean_body(body)
        with self.write() as conn:
            story = conn.execute(select(stories.c.id, stories.c.merged_into).where(stories.c.id == story_id)).first()
            if story is None:
                raise NotFound(f"comment: no story {story_id}")
            if story.merged_into is not None:
                story_id = story.merged_into
            if parent_id is not None:
                parent = conn.execute(select(comments).where(comments.c.id == parent_id)).first()
                if parent is None or parent.story_id not in self._story_family(conn, story_id):
                    raise StoreError("comment: the comment replied to is not on this story", code="invalid")
                if parent.deleted_at is not None or parent.hidden:
                    raise StoreError("comment: the comment replied to was removed", code="invalid")
                depth, up = 1, parent.parent_id             # the parent's depth (top level: 1)
                while up is not None and depth < MAX_COMMENT_DEPTH:
                    up = conn.execute(select(comments.c.parent_id).where(comments.c.id == up)).scalar_one()
                    depth += 1
                if depth >= MAX_COMMENT_DEPTH:
                    parent_id = parent.parent_id            # too deep: reply beside the parent
            new_id = conn.execute(comments.insert().values(
                story_id=story_id, user_id=user_id, parent_id=parent_id, body=text, hidden=False,
                created_at=utcnow())).inserted_primary_key[0]
            return self._view(self._comment_row(conn, new_id))

    def _own_comment(self, conn: Connection, comment_id: int, user_id: int) -> Any:
        row = self._comment_row(conn, comment_id)
        if row.user_id != user_id:
            raise StoreError("comment: only its author can change a comment", code="forbidden")
        if row.deleted_at is not None:
            raise NotFound(f"comment: comment {comment_id} was deleted")
        return row

    def edit_comment(self, comment_id: int, user_id: int, body: str) -> CommentView:
        text = self._clean_body(body)
        with self.write() as conn:
            row = self._own_comment(conn, comment_id, user_id)
            if row.hidden:
                raise StoreError("comment: a comment hidden by a moderator cannot be edited", code="forbidden")
            conn.execute(comments.update().where(comments.c.id == comment_id).values(body=text, edited_at=utcnow()))
            return self._view(self._comment_row(conn, comment_id))

    def delete_comment(self, comment_id: int, user_id: int) -> int:
        """The author deletes a comment: gone, or a "[deleted]" placeholder while replies hang under it.
        Returns the story id."""
        with self.write() as conn:
            row = self._own_comment(conn, comment_id, user_id)
            self._delete_or_blank(conn, row.id)
            return row.story_id

    def _delete_or_blank(self, conn: Connection, comment_id: int) -> None:
        current: int | None = comment_id
        while current is not None:
            row = conn.execute(select(comments.c.id, comments.c.parent_id, comments.c.deleted_at)
                               .where(comments.c.id == current)).first()
            if row is None:
                return
            has_replies = conn.execute(select(comments.c.id).where(comments.c.parent_id == current).limit(1)).first()
            if has_replies is not None:
                if row.deleted_at is None:
                    conn.execute(comments.update().where(comments.c.id == current)
                                 .values(body="", deleted_at=utcnow()))
                return
            conn.execute(comments.delete().where(comments.c.id == current))
            # A "[deleted]" parent whose last reply just went disappears too.
            parent = conn.execute(select(comments.c.deleted_at).where(comments.c.id == row.parent_id)).first() \
                if row.parent_id is not None else None
            current = row.parent_id if parent is not None and parent.deleted_at is not None else None

    @staticmethod
    def _story_family(conn: Connection, story_id: int) -> list[int]:
        """The live story for `story_id` and every story merged into it: their comments are one thread."""
        row = conn.execute(select(stories.c.merged_into).where(stories.c.id == story_id)).first()
        live = row.merged_into if row is not None and row.merged_into is not None else story_id
        merged = conn.execute(select(stories.c.id).where(stories.c.merged_into == live)).scalars()
        return [live, *merged]

    def comment_thread(self, story_id: int, *, viewer_id: int | None = None,
                       moderator: bool = False) -> list[CommentView]:
        """The story's comments as a tree (oldest first at each level), filtered for this viewer.
        Comments made on stories since merged into this one are part of it."""
        with self.read() as conn:
            family = self._story_family(conn, story_id)
            q = (select(comments, users.c.username)
                 .select_from(comments.join(users, users.c.id == comments.c.user_id))
                 .where(comments.c.story_id.in_(family)).order_by(comments.c.created_at, comments.c.id))
            views = [self._view(r) for r in conn.execute(q)]
        by_id = {v.id: v for v in views}
        roots: list[CommentView] = []
        for v in views:
            parent = by_id.get(v.parent_id) if v.parent_id is not None else None
            (parent.replies if parent is not None else roots).append(v)

        def visible(v: CommentView) -> bool:
            v.replies = [r for r in v.replies if visible(r)]
            if v.hidden and not v.deleted and not moderator and v.user_id != viewer_id:
                v.state, v.body = "removed", ""
            return v.state in ("visible", "hidden") or bool(v.replies)

        return [v for v in roots if visible(v)]

    def count_comments(self, story_id: int) -> int:
        """Visible comments on the story (and on stories merged into it)."""
        with self.read() as conn:
            family = self._story_family(conn, story_id)
            return conn.execute(select(func.count()).select_from(comments).where(
                comments.c.story_id.in_(family), comments.c.hidden.is_(False),
                comments.c.deleted_at.is_(None))).scalar_one()

    # -- reports and moderation -------------------------------------------
    def report_comment(self, comment_id: int, user_id: int, reason: str = "") -> bool:
        """Report someone else's comment. One report per user per comment: returns False when
        this user had already reported it."""
        with self.write() as conn:
            row = self._comment_row(conn, comment_id)
            if row.user_id == user_id:
                raise StoreError("comment: you cannot report your own comment", code="invalid")
            if row.deleted_at is not None:
                raise NotFound(f"comment: comment {comment_id} was deleted")
            exists = conn.execute(select(comment_reports.c.id).where(comment_reports.c.comment_id == comment_id,
                                                                     comment_reports.c.user_id == user_id)).first()
            if exists is not None:
                return False
            try:
                with conn.begin_nested():
                    conn.execute(comment_reports.insert().values(comment_id=comment_id, user_id=user_id,
                                                                 reason=(reason or "").strip()[:500],
                                                                 created_at=utcnow()))
            except IntegrityError:      # a concurrent double click (PostgreSQL)
                return False
            return True

    def set_comment_hidden(self, comment_id: int, hidden: bool) -> CommentView:
        """A moderator hides or restores a comment; either way its open reports are resolved."""
        now = utcnow()
        with self.write() as conn:
            self._comment_row(conn, comment_id)
            conn.execute(comments.update().where(comments.c.id == comment_id).values(hidden=hidden))
            conn.execute(comment_reports.update().where(comment_reports.c.comment_id == comment_id,
                                                        comment_reports.c.resolved_at.is_(None))
                         .values(resolved_at=now))
            return self._view(self._comment_row(conn, comment_id))

    def dismiss_reports(self, comment_id: int) -> int:
        """A moderator finds nothing wrong: the open reports are resolved, the comment stays."""
        with self.write() as conn:
            return conn.execute(comment_reports.update().where(comment_reports.c.comment_id == comment_id,
                                                               comment_reports.c.resolved_at.is_(None))
                                .values(resolved_at=utcnow())).rowcount

    def moderation_queue(self, *, limit: int = 200) -> dict[str, list[ReportedComment]]:
        """Comments with open reports (most reported first) and hidden comments (newest first)."""
        base = (select(comments, users.c.username, stories.c.title.label("story_title"))
                .select_from(comments.join(users, users.c.id == comments.c.user_id)
                             .join(stories, stories.c.id == comments.c.story_id))
                .where(comments.c.deleted_at.is_(None)))
        open_reports = (select(comment_reports.c.comment_id, func.count().label("n"))
                        .where(comment_reports.c.resolved_at.is_(None))
                        .group_by(comment_reports.c.comment_id).subquery())
        reported_q = (base.add_columns(open_reports.c.n)
                      .join_from(comments, open_reports, open_reports.c.comment_id == comments.c.id)
                      .order_by(open_reports.c.n.desc(), comments.c.id).limit(limit))
        hidden_q = base.where(comments.c.hidden.is_(True)).order_by(comments.c.id.desc()).limit(limit)
        with self.read() as conn:
            reported = [ReportedComment(self._view(r), r.story_title, r.n) for r in conn.execute(reported_q)]
            hidden = [ReportedComment(self._view(r), r.story_title) for r in conn.execute(hidden_q)]
            ids = [item.comment.id for item in reported]
            if ids:
                by_id = {item.comment.id: item for item in reported}
                for cid, reason in conn.execute(
                        select(comment_reports.c.comment_id, comment_reports.c.reason)
                        .where(comment_reports.c.comment_id.in_(ids), comment_reports.c.resolved_at.is_(None))
                        .order_by(comment_reports.c.id)):
                    if reason:
                        by_id[cid].reasons.append(reason)
        return {"reported": reported, "hidden": hidden}

    # -- follows -----------------------------------------------------------
    def _follow_target_id(self, conn: Connection, kind: str, target: int | str) -> int:
        if kind not in FOLLOW_KINDS:
            raise StoreError(f"follow: kind must be one of {', '.join(FOLLOW_KINDS)}, got {kind!r}", code="invalid")
        if kind == "tag":
            slug = str(target).strip().lstrip("#").lower()
            row = conn.execute(select(tags.c.id).where(tags.c.slug == slug)).first()
            if row is None:
                raise NotFound(f"follow: no hashtag #{slug}")
            return row.id
        try:
            target_id = int(target)
        except (TypeError, ValueError):
            raise StoreError(f"follow: {kind} id must be a number, got {target!r}", code="invalid") from None
        if not 1 <= target_id <= MAX_ID:
            raise NotFound(f"follow: no {kind} {target_id}")
        table = stories if kind == "story" else sources
        if conn.execute(select(table.c.id).where(table.c.id == target_id)).first() is None:
            raise NotFound(f"follow: no {kind} {target_id}")
        return target_id

    def follow(self, user_id: int, kind: str, target: int | str) -> bool:
        """Follow a story or publisher (by id) or a hashtag (by slug). Returns False when already followed."""
        with self.write() as conn:
            target_id = self._follow_target_id(conn, kind, target)
            exists = conn.execute(select(follows.c.id).where(follows.c.user_id == user_id, follows.c.kind == kind,
                                                             follows.c.target_id == target_id)).first()
            if exists is not None:
                return False
            try:
                with conn.begin_nested():
                    conn.execute(follows.insert().values(user_id=user_id, kind=kind, target_id=target_id,
                                                         created_at=utcnow()))
            except IntegrityError:
                return False
            return True

    def unfollow(self, user_id: int, kind: str, target: int | str) -> bool:
        with self.write() as conn:
            target_id = self._follow_target_id(conn, kind, target)
            return conn.execute(follows.delete().where(follows.c.user_id == user_id, follows.c.kind == kind,
                                                       follows.c.target_id == target_id)).rowcount > 0

    def is_following(self, user_id: int, kind: str, target: int | str) -> bool:
        try:
            with self.read() as conn:
                target_id = self._follow_target_id(conn, kind, target)
                return conn.execute(select(follows.c.id).where(follows.c.user_id == user_id, follows.c.kind == kind,
                                                               follows.c.target_id == target_id)).first() is not None
        except (NotFound, StoreError):
            return False

    def list_follows(self, user_id: int) -> list[FollowTarget]:
        """What the user follows, with display labels: stories, then publishers, then hashtags."""
        out: list[FollowTarget] = []
        with self.read() as conn:
            for kind, table, label in (("story", stories, stories.c.title), ("source", sources, sources.c.name),
                                       ("tag", tags, tags.c.name)):
                q = (select(table.c.id, label.label("label"), *([tags.c.slug] if kind == "tag" else []))
                     .join(follows, sa.and_(follows.c.target_id == table.c.id, follows.c.kind == kind))
                     .where(follows.c.user_id == user_id).order_by(follows.c.id))
                for r in conn.execute(q):
                    key = r.slug if kind == "tag" else str(r.id)
                    out.append(FollowTarget(kind, r.id, ("#" + r.label) if kind == "tag" else r.label, key))
        return out

    def for_you(self, user_id: int, *, limit: int = 30, half_life_hours: float = 24.0,
                now: datetime | None = None) -> list[ForYouItem]:
        """Stories ranked by what the user follows.

        score = (sum of matches, weighted by FOR_YOU_WEIGHTS: the story itself when followed,
        each followed publisher with an article in it, each followed hashtag on its articles)
        x 0.5 ** (hours since the story's last article / half_life_hours).
        """
        now = now or utcnow()
        followed: dict[str, list[int]] = {k: [] for k in FOLLOW_KINDS}
        with self.read() as conn:
            for kind, target_id in conn.execute(select(follows.c.kind, follows.c.target_id)
                                                .where(follows.c.user_id == user_id)):
                followed.setdefault(kind, []).append(target_id)
            matches: dict[int, list[tuple[str, int]]] = {}
            if followed["story"]:
                live = func.coalesce(stories.c.merged_into, stories.c.id)
                for sid, orig in conn.execute(select(live, stories.c.id).where(stories.c.id.in_(followed["story"]))):
                    matches.setdefault(sid, []).append(("story", orig))
            if followed["source"]:
                for sid, src in conn.execute(select(articles.c.story_id, articles.c.source_id).distinct()
                                             .where(articles.c.source_id.in_(followed["source"]),
                                                    articles.c.story_id.is_not(None))):
                    matches.setdefault(sid, []).append(("source", src))
            if followed["tag"]:
                for sid, tag_id in conn.execute(
                        select(story_tags.c.story_id, story_tags.c.tag_id)
                        .where(story_tags.c.tag_id.in_(followed["tag"]))):
                    matches.setdefault(sid, []).append(("tag", tag_id))
            if not matches:
                return []
            rows = list(conn.execute(select(stories).where(stories.c.id.in_(list(matches)),
                                                           stories.c.merged_into.is_(None),
                                                           stories.c.article_count > 0)))
            names = {("source", i): n for i, n in conn.execute(
                select(sources.c.id, sources.c.name).where(sources.c.id.in_(followed["source"])))}
            names |= {("tag", i): "#" + n for i, n in conn.execute(
                select(tags.c.id, tags.c.name).where(tags.c.id.in_(followed["tag"])))}
        items: list[ForYouItem] = []
        for row in rows:
            story = Story(**{k: v for k, v in row._mapping.items() if k in Story.__dataclass_fields__})
            hits = sorted(set(matches[story.id]))
            raw = sum(FOR_YOU_WEIGHTS[kind] for kind, _ in hits)
            when = story.last_seen_at or story.first_seen_at or now
            age_hours = max((now - when).total_seconds() / 3600.0, 0.0)
            reasons = ["You follow this story" if kind == "story" else names.get((kind, tid), kind)
                       for kind, tid in hits]
            items.append(ForYouItem(story, raw * 0.5 ** (age_hours / half_life_hours), list(dict.fromkeys(reasons))))
        items.sort(key=lambda i: (-i.score, -(i.story.last_seen_at or now).timestamp(), -(i.story.id or 0)))
        return items[:limit]

    # -- rate limits ---------------------------------------------------------
    def hit_rate_limit(self, key: str, limit: int, window_seconds: float, *,
                       now: datetime | None = None) -> float | None:
        """Count one attempt for `key` in a sliding window. Returns None when allowed (and
        recorded), else the seconds until the next attempt would be allowed (not recorded).

        The counter lives in the database, so every process and host shares it.
        """
        if window_seconds > _RATE_RETENTION.total_seconds():
            raise StoreError("store: rate-limit windows longer than a day are not supported")
        now = now or utcnow()
        start = now - timedelta(seconds=window_seconds)
        with self.write() as conn:
            conn.execute(rate_events.delete().where(rate_events.c.at < now - _RATE_RETENTION))
            recent = list(conn.execute(select(rate_events.c.at).where(rate_events.c.key == key[:200],
                                                                      rate_events.c.at > start)
                                       .order_by(rate_events.c.at)).scalars())
            if len(recent) >= limit:
                oldest = recent[len(recent) - limit]
                return max((oldest - start).total_seconds(), 1.0)
            conn.execute(rate_events.insert().values(key=key[:200], at=now))
            return None

    def count_rate_events(self, key: str, window_seconds: float, *, now: datetime | None = None) -> int:
        """Events recorded for `key` in the last `window_seconds` (by either method below or above)."""
        now = now or utcnow()
        with self.read() as conn:
            return conn.execute(select(func.count()).select_from(rate_events).where(
                rate_events.c.key == key[:200], rate_events.c.at > now - timedelta(seconds=window_seconds))
            ).scalar_one()

    def add_rate_event(self, key: str, *, now: datetime | None = None) -> None:
        """Record one event for `key` whatever the count (e.g. a failed login, counted after the fact)."""
        now = now or utcnow()
        with self.write() as conn:
            conn.execute(rate_events.delete().where(rate_events.c.at < now - _RATE_RETENTION))
            conn.execute(rate_events.insert().values(key=key[:200], at=now))

    def clear_rate_limit(self, key: str) -> None:
        """Forget every event of `key` (a successful login clears its account and address pair)."""
        with self.write() as conn:
            conn.execute(rate_events.delete().where(rate_events.c.key == key[:200]))
