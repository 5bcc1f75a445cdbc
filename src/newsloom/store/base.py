"""The Store: the only persistence API the app sees.

One implementation over SQLAlchemy Core, for SQLite (the embedded default: WAL,
one writer at a time) and PostgreSQL. Backend differences are confined to
``_configure_sqlite`` and, later, search/vector helpers.

Every write is one transaction: an article is stored whole or not at all, and
unique keys (canonical URL; source + GUID) make every write idempotent.
"""

from __future__ import annotations

import hashlib
import threading
import time
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from ..errors import NotFound, StoreError
from ..models import Article, Comment, Entry, Feed, Source, Story, Tag, User, utcnow
from . import migrate
from .community import CommunityMixin
from .insights import InsightsMixin
from .search import SearchMixin
from .service import ServiceMixin
from .schema import (article_related, article_tags, articles, cluster_events, comments, feeds, locks, metadata,
                     sources, stories, story_insights, story_tags, tags, users)

__all__ = ["Store", "ClusterSection", "open_store"]

T = TypeVar("T")


def _to_model(cls: type[T], row: Any) -> T:
    mapping = row._mapping
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in mapping.items() if k in names})


def _values(obj: Any, table: sa.Table) -> dict[str, Any]:
    cols = set(table.c.keys()) - {"id"}
    return {f.name: getattr(obj, f.name) for f in fields(obj) if f.name in cols}


class Store(CommunityMixin, SearchMixin, InsightsMixin, ServiceMixin):
    """The one persistence API. Areas live in mixins (store/community.py, store/search.py,
    store/insights.py, store/service.py) over the same engine and write lock."""

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

    # -- sources ---------------------------------------------------------
    def upsert_source(self, name: str, homepage: str | None = None) -> Source:
        name = " ".join(name.split())[:200] or "Unknown"
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
            return _to_model(Source, row)

    def list_sources(self) -> list[Source]:
        with self.read() as conn:
            return [_to_model(Source, r) for r in conn.execute(select(sources).order_by(sources.c.name))]

    def get_source(self, source_id: int) -> Source:
        with self.read() as conn:
            row = conn.execute(select(sources).where(sources.c.id == source_id)).first()
        if row is None:
            raise NotFound(f"store: no source {source_id}")
        return _to_model(Source, row)

    # -- feeds -----------------------------------------------------------
    def add_feed(self, feed: Feed) -> tuple[Feed, bool]:
        """Insert a feed unless its URL is known. Returns (feed, created)."""
        with self.write() as conn:
            row = conn.execute(select(feeds).where(feeds.c.url == feed.url)).first()
            if row is not None:
                return _to_model(Feed, row), False
            values = _values(feed, feeds) | {"created_at": utcnow()}
            new_id = conn.execute(feeds.insert().values(**values)).inserted_primary_key[0]
            return _to_model(Feed, conn.execute(select(feeds).where(feeds.c.id == new_id)).one()), True

    def save_feed(self, feed: Feed, *, pending: list[tuple[str, Entry]] | None = None,
                  lease: float = 0.0) -> list[int]:
        """Save a feed's state and release its lease; with `pending`, record those entries to
        ingest in the same transaction (see store/service.py). Returns the new pending ids."""
        if feed.id is None:
            raise StoreError("store: save_feed needs a stored feed")
        with self.write() as conn:
            conn.execute(feeds.update().where(feeds.c.id == feed.id)
                         .values(**_values(feed, feeds), leased_until=None))
            return self.add_pending_entries(conn, feed.id, pending, lease=lease) if pending else []

    def get_feed(self, feed_id: int) -> Feed:
        with self.read() as conn:
            row = conn.execute(select(feeds).where(feeds.c.id == feed_id)).first()
        if row is None:
            raise NotFound(f"store: no feed {feed_id}")
        return _to_model(Feed, row)

    def get_feed_by_url(self, url: str) -> Feed | None:
        with self.read() as conn:
            row = conn.execute(select(feeds).where(feeds.c.url == url)).first()
        return _to_model(Feed, row) if row else None

    def list_feeds(self, *, due_before: datetime | None = None) -> list[Feed]:
        q = select(feeds).order_by(feeds.c.id)
        if due_before is not None:
            q = q.where(sa.or_(feeds.c.next_check_at.is_(None), feeds.c.next_check_at <= due_before))
        with self.read() as conn:
            return [_to_model(Feed, r) for r in conn.execute(q)]

    def feed_article_counts(self) -> dict[int, int]:
        q = select(articles.c.feed_id, func.count()).where(articles.c.feed_id.is_not(None)).group_by(articles.c.feed_id)
        with self.read() as conn:
            return {fid: n for fid, n in conn.execute(q)}

    def delete_feed(self, feed_id: int) -> None:
        with self.write() as conn:
            conn.execute(feeds.delete().where(feeds.c.id == feed_id))

    # -- articles --------------------------------------------------------
    def find_article(self, *, url: str | None = None, source_id: int | None = None,
                     guid: str | None = None) -> Article | None:
        """The stored article with this canonical URL, or this source's GUID."""
        conds = []
        if url:
            conds.append(articles.c.url == url)
        if guid and source_id is not None:
            conds.append(sa.and_(articles.c.source_id == source_id, articles.c.guid == guid))
        if not conds:
            return None
        with self.read() as conn:
            row = conn.execute(self._article_select().where(sa.or_(*conds)).limit(1)).first()
        return _to_model(Article, row) if row else None

    def add_article(self, article: Article, *, pending_id: int | None = None) -> tuple[Article, bool]:
        """Store an article in one transaction. Returns (stored, created).

        A known canonical URL or (source, GUID) returns the existing row: re-runs add nothing.
        With `pending_id`, that pending entry is dropped in the same transaction.
        """
        existing = self.find_article(url=article.url, source_id=article.source_id, guid=article.guid)
        if existing is not None:
            if pending_id is not None:
                self.forget_pending_entry(pending_id)
            return existing, False
        values = _values(article, articles) | {"created_at": utcnow()}
        values["fetched_at"] = values.get("fetched_at") or utcnow()
        try:
            with self.write() as conn:
                new_id = conn.execute(articles.insert().values(**values)).inserted_primary_key[0]
                if pending_id is not None:
                    self.drop_pending_entry(conn, pending_id)
        except IntegrityError:
            existing = self.find_article(url=article.url, source_id=article.source_id, guid=article.guid)
            if existing is None:
                raise StoreError(f"store: could not insert article {article.url}") from None
            if pending_id is not None:
                self.forget_pending_entry(pending_id)
            return existing, False
        return self.get_article(new_id), True

    def update_article(self, article_id: int, **values: Any) -> None:
        allowed = set(articles.c.keys()) - {"id", "created_at"}
        bad = set(values) - allowed
        if bad:
            raise StoreError(f"store: cannot update article fields {sorted(bad)}")
        with self.write() as conn:
            conn.execute(articles.update().where(articles.c.id == article_id).values(**values))

    def _article_select(self) -> sa.Select:
        return (select(articles, sources.c.name.label("source_name"))
                .select_from(articles.outerjoin(sources, articles.c.source_id == sources.c.id)))

    def get_article(self, article_id: int) -> Article:
        with self.read() as conn:
            row = conn.execute(self._article_select().where(articles.c.id == article_id)).first()
        if row is None:
            raise NotFound(f"store: no article {article_id}")
        return _to_model(Article, row)

    def list_articles(self, *, limit: int = 30, offset: int = 0, source_id: int | None = None,
                      feed_id: int | None = None, story_id: int | None = None,
                      include_duplicates: bool = True) -> list[Article]:
        q = self._article_select()
        if source_id is not None:
            q = q.where(articles.c.source_id == source_id)
        if feed_id is not None:
            q = q.where(articles.c.feed_id == feed_id)
        if story_id is not None:
            q = q.where(articles.c.story_id == story_id)
        if not include_duplicates:
            q = q.where(articles.c.duplicate_of.is_(None))
        when = func.coalesce(articles.c.published_at, articles.c.fetched_at)
        q = q.order_by(when.desc(), articles.c.id.desc()).limit(limit).offset(offset)
        with self.read() as conn:
            return [_to_model(Article, r) for r in conn.execute(q)]

    def count_articles(self, *, source_id: int | None = None) -> int:
        q = select(func.count()).select_from(articles)
        if source_id is not None:
            q = q.where(articles.c.source_id == source_id)
        with self.read() as conn:
            return conn.execute(q).scalar_one()

    def count_sources_with_articles(self) -> int:
        q = select(func.count(sa.distinct(articles.c.source_id)))
        with self.read() as conn:
            return conn.execute(q).scalar_one()

    # -- stories ---------------------------------------------------------
    def add_story(self, story: Story) -> Story:
        with self.write() as conn:
            values = _values(story, stories) | {"created_at": utcnow()}
            new_id = conn.execute(stories.insert().values(**values)).inserted_primary_key[0]
        return self.get_story(new_id)

    def get_story(self, story_id: int) -> Story:
        with self.read() as conn:
            row = conn.execute(select(stories).where(stories.c.id == story_id)).first()
        if row is None:
            raise NotFound(f"store: no story {story_id}")
        return _to_model(Story, row)

    def list_stories(self, *, limit: int = 30, offset: int = 0, min_sources: int = 1) -> list[Story]:
        q = (select(stories).where(stories.c.merged_into.is_(None), stories.c.article_count > 0,
                                   stories.c.source_count >= min_sources)
             .order_by(stories.c.last_seen_at.desc(), stories.c.id.desc()).limit(limit).offset(offset))
        with self.read() as conn:
            return [_to_model(Story, r) for r in conn.execute(q)]

    def count_stories(self) -> int:
        q = select(func.count()).select_from(stories).where(stories.c.merged_into.is_(None),
                                                            stories.c.article_count > 0)
        with self.read() as conn:
            return conn.execute(q).scalar_one()

    def related_articles(self, article_id: int, *, limit: int = 5) -> list[Article]:
        """Near neighbours from other stories, best first."""
        q = (self._article_select().join(article_related, article_related.c.related_id == articles.c.id)
             .where(article_related.c.article_id == article_id)
             .order_by(article_related.c.score.desc()).limit(limit))
        with self.read() as conn:
            return [_to_model(Article, r) for r in conn.execute(q)]

    def duplicates_of(self, article_ids: list[int]) -> dict[int, list[Article]]:
        """Wire copies marked as duplicates of each given article ("also published by ...")."""
        if not article_ids:
            return {}
        q = self._article_select().where(articles.c.duplicate_of.in_(article_ids)).order_by(articles.c.id)
        out: dict[int, list[Article]] = {}
        with self.read() as conn:
            for r in conn.execute(q):
                a = _to_model(Article, r)
                out.setdefault(a.duplicate_of, []).append(a)
        return out

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

    def unclustered_article_ids(self, *, limit: int | None = None) -> list[int]:
        when = func.coalesce(articles.c.published_at, articles.c.fetched_at)
        q = select(articles.c.id).where(articles.c.story_id.is_(None)).order_by(when, articles.c.id)
        if limit:
            q = q.limit(limit)
        with self.read() as conn:
            return list(conn.execute(q).scalars())

    # -- tags ------------------------------------------------------------
    def tag_article(self, article_id: int, tag: Tag, score: float = 0.0) -> Tag:
        return self.set_article_tags(article_id, [(tag, score)], replace=False)[0]

    def set_article_tags(self, article_id: int, scored: list[tuple[Tag, float]], *,
                         replace: bool = True) -> list[Tag]:
        """Attach tags (created on first use) to an article in one transaction;
        with replace=True the article's other tags are removed."""
        out = []
        # Tags are created in slug order with ON CONFLICT DO NOTHING: concurrent writers
        # take the unique-index locks in the same order and never deadlock.
        ordered = sorted({t.slug: (t, score) for t, score in scored}.values(), key=lambda ts: ts[0].slug)
        with self.write() as conn:
            if replace:
                conn.execute(article_tags.delete().where(article_tags.c.article_id == article_id))
            for tag, score in ordered:
                conn.execute(self._insert(tags).values(slug=tag.slug, name=tag.name, kind=tag.kind)
                             .on_conflict_do_nothing(index_elements=["slug"]))
                tag_id = conn.execute(select(tags.c.id).where(tags.c.slug == tag.slug)).scalar_one()
                conn.execute(self._insert(article_tags).values(article_id=article_id, tag_id=tag_id, score=score)
                             .on_conflict_do_nothing(index_elements=["article_id", "tag_id"]))
                out.append(Tag(name=tag.name, slug=tag.slug, kind=tag.kind, id=tag_id))
        return out

    def _insert(self, table: sa.Table):
        """INSERT with the dialect's ON CONFLICT support."""
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        return insert(table)

    def article_tags(self, article_id: int) -> list[Tag]:
        q = (select(tags).join(article_tags, article_tags.c.tag_id == tags.c.id)
             .where(article_tags.c.article_id == article_id).order_by(article_tags.c.score.desc(), tags.c.slug))
        with self.read() as conn:
            return [_to_model(Tag, r) for r in conn.execute(q)]

    # -- users and comments ----------------------------------------------
    def add_user(self, user: User) -> User:
        try:
            with self.write() as conn:
                values = _values(user, users) | {"created_at": utcnow()}
                new_id = conn.execute(users.insert().values(**values)).inserted_primary_key[0]
        except IntegrityError:
            raise StoreError(f"store: username {user.username!r} is taken", code="conflict") from None
        return self.get_user(new_id)

    def get_user(self, user_id: int) -> User:
        with self.read() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        if row is None:
            raise NotFound(f"store: no user {user_id}")
        return _to_model(User, row)

    def get_user_by_name(self, username: str) -> User | None:
        with self.read() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        return _to_model(User, row) if row else None

    def add_comment(self, comment: Comment) -> Comment:
        with self.write() as conn:
            values = _values(comment, comments) | {"created_at": utcnow()}
            new_id = conn.execute(comments.insert().values(**values)).inserted_primary_key[0]
            return _to_model(Comment, conn.execute(select(comments).where(comments.c.id == new_id)).one())

    def list_comments(self, story_id: int, *, include_hidden: bool = False) -> list[Comment]:
        q = select(comments).where(comments.c.story_id == story_id)
        if not include_hidden:
            q = q.where(comments.c.hidden.is_(False))
        with self.read() as conn:
            return [_to_model(Comment, r) for r in conn.execute(q.order_by(comments.c.created_at, comments.c.id))]

    # -- maintenance -----------------------------------------------------
    def reset(self) -> None:
        """Delete every row (tests and `newsloom init --reset`). Keeps the schema."""
        with self.write() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())


class ClusterSection:
    """What a clustering worker may do while it holds the cluster lock."""

    def __init__(self, store: Store, conn: Connection):
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

    def article(self, article_id: int) -> Article:
        row = self.conn.execute(self.store._article_select().where(articles.c.id == article_id)).first()
        if row is None:
            raise NotFound(f"store: no article {article_id}")
        return _to_model(Article, row)

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
        """Record neighbours both ways, keeping each article's best `keep`."""
        for other, score in related:
            for a, b in ((article_id, other), (other, article_id)):
                self.conn.execute(article_related.delete().where(article_related.c.article_id == a,
                                                                 article_related.c.related_id == b))
                self.conn.execute(article_related.insert().values(article_id=a, related_id=b, score=float(score)))
        touched = {article_id, *(o for o, _ in related)}
        for a in touched:
            extra = select(article_related.c.related_id).where(article_related.c.article_id == a).order_by(
                article_related.c.score.desc()).offset(keep)
            ids = list(self.conn.execute(extra).scalars())
            if ids:
                self.conn.execute(article_related.delete().where(article_related.c.article_id == a,
                                                                 article_related.c.related_id.in_(ids)))


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
