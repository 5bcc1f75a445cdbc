"""The whole API route table (/api/v1). Handlers are thin: they call the Store or a job."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Query, Request

from ..health import feed_health
from ..views import article_view, story_view
from .schemas import (ArticleDetail, ArticlePublic, FeedPublic, Page, RelatedPublic, SourcePublic, StoryDetail,
                      StoryPublic)

router = APIRouter(tags=["v1"])


def _store(request: Request):
    return request.app.state.store


@router.get("/articles", response_model=Page[ArticlePublic], summary="Latest articles, newest first")
def list_articles(request: Request, limit: int = Query(30, ge=1, le=200), offset: int = Query(0, ge=0),
                  source_id: int | None = None):
    store = _store(request)
    items = store.list_articles(limit=limit, offset=offset, source_id=source_id)
    total = store.count_articles(source_id=source_id)
    nxt = offset + limit if offset + limit < total else None
    return Page[ArticlePublic](items=[ArticlePublic(**asdict(a)) for a in items], total=total, limit=limit,
                               offset=offset, next_offset=nxt)


@router.get("/articles/{article_id}", response_model=ArticleDetail, summary="One article with its full text")
def get_article(request: Request, article_id: int):
    return ArticleDetail(**asdict(_store(request).get_article(article_id)))


@router.get("/feeds", response_model=list[FeedPublic], summary="Feeds with their health")
def list_feeds(request: Request):
    store = _store(request)
    return [FeedPublic(**row) for row in feed_health(store)]


@router.get("/sources", response_model=list[SourcePublic], summary="Publishers")
def list_sources(request: Request):
    return [SourcePublic(**asdict(s)) for s in _store(request).list_sources()]


@router.get("/articles/{article_id}/related", response_model=list[RelatedPublic],
            summary="Related articles: the rest of its story first, then near neighbours")
def related_articles(request: Request, article_id: int):
    view = article_view(_store(request), article_id)
    return [RelatedPublic(article=ArticlePublic(**asdict(a)), same_story=a.id in view["same_story_ids"])
            for a in view["related"]]


@router.get("/stories", response_model=Page[StoryPublic], summary="Stories, most recently updated first")
def list_stories(request: Request, limit: int = Query(30, ge=1, le=200), offset: int = Query(0, ge=0),
                 min_sources: int = Query(1, ge=1)):
    store = _store(request)
    items = store.list_stories(limit=limit, offset=offset, min_sources=min_sources)
    total = store.count_stories()
    nxt = offset + limit if offset + limit < total else None
    return Page[StoryPublic](items=[StoryPublic(**asdict(s)) for s in items], total=total, limit=limit,
                             offset=offset, next_offset=nxt)


@router.get("/stories/{story_id}", response_model=StoryDetail, summary="A story with its coverage")
def get_story(request: Request, story_id: int):
    view = story_view(_store(request), story_id)
    dups = [d for copies in view["copies"].values() for d in copies]
    return StoryDetail(**asdict(view["story"]), articles=[ArticlePublic(**asdict(a)) for a in view["articles"]],
                       duplicates=[ArticlePublic(**asdict(a)) for a in dups])
