"""Read state API (/api/v1): a reader's read marks, stars, feeds, article stream and unread counts.

Every call is the caller's own state, so every call needs them: `Authorization: Bearer <API
token>`, or a session cookie plus an `X-CSRF-Token` header (deps.ApiUser); without either: 401.
No call takes a user id: one reader can neither see nor change another's state.

Marking an article read (or unread) marks its wire copies too (store/reading.py). Unread:
in the reader's feeds, created within the last ``reader_unread_days`` days, not marked read.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ...models import utcnow
from ...settings import Settings
from ...store.reading import UnreadCounts
from ..deps import MAX_ID, ApiUser, IdPath, IdQuery, Paging, SettingsDep, StoreDep
from .schemas import ArticlePublic, HttpURL, Page

__all__ = ["router", "ReadResult", "StarResult", "UnreadPublic", "ReaderArticlePublic", "SubscriptionPublic",
           "SubscriptionResult"]

router = APIRouter(tags=["reading"])

StreamPaging = Paging(50, 200)


def _since(settings: Settings) -> datetime:
    """Start of the unread window (the ``reader_unread_days`` setting)."""
    return utcnow() - timedelta(days=settings.reader_unread_days)


class ReadResult(BaseModel):
    read: bool
    changed: int = Field(description="Read marks added or removed (the article's wire copies included)")


class StarResult(BaseModel):
    article_id: int
    starred: bool
    changed: int


class UnreadPublic(BaseModel):
    total: int
    by_feed: dict[int, int] = Field(description="Feed id -> unread articles")
    by_tag: dict[str, int] = Field(description="Followed hashtag's slug -> unread articles of its stories")
    by_story: dict[int, int] = Field(description="Followed story's id -> its unread articles")
    since: datetime = Field(description="Articles created before this count as read")


class ReaderArticlePublic(ArticlePublic):
    feed_id: int | None
    read: bool
    starred: bool


class SubscriptionPublic(BaseModel):
    feed_id: int
    title: str | None
    url: HttpURL
    source_id: int | None


class SubscriptionList(BaseModel):
    chosen: bool = Field(description="False: the reader chose no feeds and reads every feed")
    items: list[SubscriptionPublic]


class SubscriptionCreate(BaseModel):
    feed_id: int = Field(ge=1, le=MAX_ID)


class SubscriptionResult(BaseModel):
    feed_id: int
    subscribed: bool
    changed: bool


@router.post("/articles/{article_id}/read", response_model=ReadResult,
             summary="Mark an article read, with its wire copies")
def mark_read(article_id: IdPath, user: ApiUser, store: StoreDep):
    store.get_article(article_id)
    return ReadResult(read=True, changed=store.mark_read(user.id, [article_id]))


@router.delete("/articles/{article_id}/read", response_model=ReadResult,
               summary="Mark an article unread, with its wire copies")
def mark_unread(article_id: IdPath, user: ApiUser, store: StoreDep):
    store.get_article(article_id)
    return ReadResult(read=False, changed=store.mark_read(user.id, [article_id], read=False))


@router.post("/stories/{story_id}/read", response_model=ReadResult, summary="Mark every article of a story read")
def mark_story_read(story_id: IdPath, user: ApiUser, store: StoreDep):
    return ReadResult(read=True, changed=store.mark_story_read(user.id, story_id))


@router.post("/articles/{article_id}/star", response_model=StarResult, summary="Star an article")
def star(article_id: IdPath, user: ApiUser, store: StoreDep):
    store.get_article(article_id)
    return StarResult(article_id=article_id, starred=True, changed=store.set_starred(user.id, [article_id]))


@router.delete("/articles/{article_id}/star", response_model=StarResult, summary="Unstar an article")
def unstar(article_id: IdPath, user: ApiUser, store: StoreDep):
    store.get_article(article_id)
    return StarResult(article_id=article_id, starred=False,
                      changed=store.set_starred(user.id, [article_id], starred=False))


@router.get("/me/unread", response_model=UnreadPublic, summary="Your unread counts")
def unread(user: ApiUser, store: StoreDep, settings: SettingsDep):
    since = _since(settings)
    counts: UnreadCounts = store.unread_counts(user.id, since=since)
    return UnreadPublic(**asdict(counts), since=since)


@router.get("/me/articles", response_model=Page[ReaderArticlePublic],
            summary="Your articles (your feeds), newest first, with their read and starred state")
def my_articles(user: ApiUser, store: StoreDep, settings: SettingsDep, paging: StreamPaging,
                unread: bool = Query(False, description="Only unread articles"),
                starred: bool = Query(False, description="Only starred articles"), feed_id: IdQuery = None):
    filters = dict(feed_id=feed_id, starred=starred, unread_only=unread, since=_since(settings))
    items = store.article_stream(user.id, limit=paging.limit, offset=paging.offset, **filters)
    ids = [a.id for a in items]
    read, stars = store.read_ids(user.id, ids), store.starred_ids(user.id, ids)
    out = [ReaderArticlePublic(**asdict(a), read=a.id in read, starred=a.id in stars) for a in items]
    return Page[ReaderArticlePublic](**paging.page(out, store.count_stream(user.id, **filters)))


def _subscriptions(store, user_id: int) -> SubscriptionList:
    chosen = set(store.chosen_feed_ids(user_id))
    mine = chosen or set(store.reader_feed_ids(user_id))
    return SubscriptionList(chosen=bool(chosen), items=[
        SubscriptionPublic(feed_id=f.id, title=f.title, url=f.url, source_id=f.source_id)
        for f in store.list_feeds() if f.id in mine])


@router.get("/me/subscriptions", response_model=SubscriptionList,
            summary="Your feeds (with none chosen: every feed of this instance)")
def subscriptions(user: ApiUser, store: StoreDep):
    return _subscriptions(store, user.id)


@router.post("/me/subscriptions", response_model=SubscriptionResult, summary="Subscribe to a feed")
def subscribe(body: SubscriptionCreate, user: ApiUser, store: StoreDep):
    return SubscriptionResult(feed_id=body.feed_id, subscribed=True, changed=store.subscribe(user.id, body.feed_id))


@router.delete("/me/subscriptions", response_model=SubscriptionResult,
               summary="Drop a feed: ?feed_id= (with none chosen, you keep every other feed)")
def unsubscribe(user: ApiUser, store: StoreDep, feed_id: int = Query(ge=1, le=MAX_ID)):
    return SubscriptionResult(feed_id=feed_id, subscribed=False, changed=store.unsubscribe(user.id, feed_id))


@router.delete("/me/subscriptions/{feed_id}", response_model=SubscriptionResult,
               summary="Drop a feed (with none chosen, you keep every other feed)")
def unsubscribe_feed(feed_id: IdPath, user: ApiUser, store: StoreDep):
    return SubscriptionResult(feed_id=feed_id, subscribed=False, changed=store.unsubscribe(user.id, feed_id))
