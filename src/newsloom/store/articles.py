"""Store methods for articles and related articles (mixed into Store). Hashtags belong to
stories (store/insights.py).

Every write is one transaction: an article is stored whole or not at all, and unique keys
(canonical URL; source + GUID) make every write idempotent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..errors import NotFound, StoreError
from ..ingest.urls import is_http_url
from ..models import Article, utcnow
from .rows import to_model, values_of
from .schema import article_related, article_vectors, articles, sources

if TYPE_CHECKING:  # pragma: no cover
    from contextlib import AbstractContextManager

__all__ = ["ArticlesMixin"]


def _require_http(url: object) -> None:
    if not is_http_url(url):
        raise StoreError(f"store: refused article URL {url!r}: only http and https URLs are stored",
                         code="invalid")


class ArticlesMixin:
    if TYPE_CHECKING:  # provided by Store
        def write(self) -> "AbstractContextManager[Connection]": ...
        def read(self) -> "AbstractContextManager[Connection]": ...
        def _insert(self, table: sa.Table) -> Any: ...
        def forget_pending_entry(self, pending_id: int) -> None: ...
        @staticmethod
        def drop_pending_entry(conn: Connection, pending_id: int) -> None: ...

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
        return to_model(Article, row) if row else None

    def stored_keys(self, source_id: int | None, urls: list[str], guids: list[str]) -> tuple[set[str], set[str]]:
        """Which of these canonical URLs, and which of this source's GUIDs, are stored
        (a few queries for a whole feed, instead of one per entry)."""
        found_urls: set[str] = set()
        found_guids: set[str] = set()
        with self.read() as conn:
            for start in range(0, len(urls), 500):
                found_urls.update(conn.execute(select(articles.c.url).where(
                    articles.c.url.in_(urls[start:start + 500]))).scalars())
            if source_id is not None:
                for start in range(0, len(guids), 500):
                    found_guids.update(conn.execute(select(articles.c.guid).where(
                        articles.c.source_id == source_id, articles.c.guid.in_(guids[start:start + 500]))).scalars())
        return found_urls, found_guids

    def add_article(self, article: Article, *, pending_id: int | None = None) -> tuple[Article, bool]:
        """Store an article in one transaction. Returns (stored, created).

        A known canonical URL or (source, GUID) returns the existing row: re-runs add nothing.
        With `pending_id`, that pending entry is dropped in the same transaction.
        An article URL that is not http(s) is refused with StoreError(code="invalid"):
        "Read the original" links it (the edges refuse them first, ingest/urls.py).
        """
        _require_http(article.url)
        existing = self.find_article(url=article.url, source_id=article.source_id, guid=article.guid)
        if existing is not None:
            if pending_id is not None:
                self.forget_pending_entry(pending_id)
            return existing, False
        values = values_of(article, articles) | {"created_at": utcnow()}
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
        if "url" in values:
            _require_http(values["url"])
        with self.write() as conn:
            conn.execute(articles.update().where(articles.c.id == article_id).values(**values))
            if {"title", "text"} & set(values):     # its embedding is stale: the embed stage redoes it
                conn.execute(article_vectors.delete().where(article_vectors.c.article_id == article_id))

    def _article_select(self) -> sa.Select:
        return (select(articles, sources.c.name.label("source_name"))
                .select_from(articles.outerjoin(sources, articles.c.source_id == sources.c.id)))

    def get_article(self, article_id: int) -> Article:
        with self.read() as conn:
            row = conn.execute(self._article_select().where(articles.c.id == article_id)).first()
        if row is None:
            raise NotFound(f"store: no article {article_id}")
        return to_model(Article, row)

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
            return [to_model(Article, r) for r in conn.execute(q)]

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

    def related_articles(self, article_id: int, *, limit: int = 5) -> list[Article]:
        """Near neighbours from other stories, best first."""
        q = (self._article_select().join(article_related, article_related.c.related_id == articles.c.id)
             .where(article_related.c.article_id == article_id)
             .order_by(article_related.c.score.desc()).limit(limit))
        with self.read() as conn:
            return [to_model(Article, r) for r in conn.execute(q)]

    def duplicates_of(self, article_ids: list[int]) -> dict[int, list[Article]]:
        """Wire copies marked as duplicates of each given article ("also published by ...")."""
        if not article_ids:
            return {}
        q = self._article_select().where(articles.c.duplicate_of.in_(article_ids)).order_by(articles.c.id)
        out: dict[int, list[Article]] = {}
        with self.read() as conn:
            for r in conn.execute(q):
                a = to_model(Article, r)
                out.setdefault(a.duplicate_of, []).append(a)
        return out

    def unclustered_article_ids(self, *, limit: int | None = None) -> list[int]:
        when = func.coalesce(articles.c.published_at, articles.c.fetched_at)
        q = select(articles.c.id).where(articles.c.story_id.is_(None)).order_by(when, articles.c.id)
        if limit:
            q = q.limit(limit)
        with self.read() as conn:
            return list(conn.execute(q).scalars())
