"""The whole API route table (/api/v1). Handlers are thin: they call the Store or a job."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request

from ...store.search import MAX_RESULTS, TOP_CANDIDATES
from ..health import feed_health
from ..views import article_view, story_view
from ..web.browse import source_view
from ..web.search import SearchParams, run_search, search_params
from .schemas import (ArticleDetail, ArticlePublic, FeedHealthSummary, FeedPublic, Page, RelatedPublic,
                      SearchHitPublic, SearchPage, SourceDetail, SourcePublic, StoryDetail, StoryPublic, TagPublic,
                      TagStoriesPage)

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


@router.get("/stories", response_model=Page[StoryPublic],
            summary="Stories, most recently updated first (order=top: the home page's ranking)")
def list_stories(request: Request, limit: int = Query(30, ge=1, le=200), offset: int = Query(0, ge=0),
                 min_sources: int = Query(1, ge=1),
                 order: Literal["updated", "top"] = Query("updated", description=(
                     "updated: last_seen_at, newest first. top: recency x publishers x velocity over the "
                     f"{TOP_CANDIDATES} most recently updated stories"))):
    store = _store(request)
    if order == "top":
        ranked = [s for s in store.top_stories(limit=TOP_CANDIDATES) if s.source_count >= min_sources]
        items, total = ranked[offset:offset + limit], len(ranked)
    else:
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


@router.get("/sources/{source_id}", response_model=SourceDetail,
            summary="A publisher: its feeds' health, latest articles and the stories it covered")
def get_source(request: Request, source_id: int):
    view = source_view(_store(request), source_id, limit=20)
    return SourceDetail(**asdict(view["source"]), article_count=view["article_total"],
                        health=FeedHealthSummary(**view["health"]), feeds=[FeedPublic(**f) for f in view["feeds"]],
                        latest_articles=[ArticlePublic(**asdict(a)) for a in view["articles"]],
                        stories=[StoryPublic(**asdict(s)) for s in view["stories"]])


def _tag_public(t) -> TagPublic:
    return TagPublic(**asdict(t.tag), article_count=t.article_count, story_count=t.story_count)


@router.get("/tags", response_model=Page[TagPublic], summary="Hashtags with their article and story counts")
def list_tags(request: Request, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)):
    store = _store(request)
    items = store.list_tags(limit=limit, offset=offset)
    total = store.count_tags()
    nxt = offset + limit if offset + limit < total else None
    return Page[TagPublic](items=[_tag_public(t) for t in items], total=total, limit=limit, offset=offset,
                           next_offset=nxt)


@router.get("/tags/{slug}", response_model=TagStoriesPage, summary="A hashtag and its stories")
def get_tag(request: Request, slug: str, limit: int = Query(30, ge=1, le=200), offset: int = Query(0, ge=0)):
    store = _store(request)
    tag = store.get_tag(slug)
    items = store.tag_stories(tag.slug, limit=limit, offset=offset)
    total = store.count_tag_stories(tag.slug)
    nxt = offset + limit if offset + limit < total else None
    return TagStoriesPage(tag=TagPublic(**asdict(tag), story_count=total), items=[StoryPublic(**asdict(s)) for s in items],
                          total=total, limit=limit, offset=offset, next_offset=nxt)


@router.get("/search", response_model=SearchPage,
            summary="Full-text search with hybrid ranking, highlights and filters")
def search(request: Request, params: SearchParams = Depends(search_params), limit: int = Query(20, ge=1, le=100),
           offset: int = Query(0, ge=0, le=MAX_RESULTS)):
    """Any `q` is accepted (quotes, operators and punctuation are reduced to safe terms).
    Ranking: reciprocal-rank fusion of the full-text rank, a TF-IDF similarity of the query to
    title + lead, and recency. `title_html` / `snippet_html` are escaped HTML whose only tags
    are `<mark>`. An empty `q` with filters lists the filtered articles, newest first."""
    results, source = run_search(_store(request), params, limit=limit, offset=offset)
    items = [SearchHitPublic(article=ArticlePublic(**asdict(h.article)), title_html=h.title_html,
                             snippet_html=h.snippet_html, score=h.score, fts_rank=h.fts_rank, semantic=h.semantic,
                             story=StoryPublic(**asdict(h.story)) if h.story else None) for h in results.hits]
    return SearchPage(items=items, total=results.total, limit=limit, offset=offset, next_offset=results.next_offset,
                      query=str(results.query), publisher=SourcePublic(**asdict(source)) if source else None)
