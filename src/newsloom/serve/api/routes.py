"""The whole API route table (/api/v1). Handlers are thin: they call the Store or a job.

Reads are ``async def`` (a few indexed reads, made on the event loop; see serve/web/pages.py)
except search and status, which may take longer and run in the thread pool. Each declares
the time of its data for conditional GET (serve/conditional.py).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Query, Request

from ...enrich.rank import TOP_CANDIDATES
from ...store.search import MAX_RESULTS
from ...tasks.status import pipeline_status
from ..conditional import last_modified
from ..deps import MAX_ID, IdPath, IdQuery, Paging, SettingsDep, StoreDep
from ..health import feed_health
from ..search import SearchParamsDep, run_search
from ..views import article_view, source_view, story_view, top_stories
from .schemas import (ArticleDetail, ArticlePublic, FeedHealthSummary, FeedPublic, Page, PipelineStatusPublic,
                      RelatedPublic, SearchHitPublic, SearchPage, SourceDetail, SourcePublic, StoryDetail,
                      StoryHashtagPublic, StoryPublic,
                      TagPublic, TagStoriesPage)

router = APIRouter(tags=["v1"])

ListPaging = Paging(30, 200)
TagPaging = Paging(50, 500)
SearchPaging = Paging(20, 100, max_offset=MAX_RESULTS)


@router.get("/articles", response_model=Page[ArticlePublic], summary="Latest articles, newest first")
async def list_articles(request: Request, store: StoreDep, paging: ListPaging, source_id: IdQuery = None):
    items = store.list_articles(limit=paging.limit, offset=paging.offset, source_id=source_id)
    last_modified(request, *(a.fetched_at for a in items))
    return Page[ArticlePublic](**paging.page([ArticlePublic(**asdict(a)) for a in items],
                                             store.count_articles(source_id=source_id)))


@router.get("/articles/{article_id}", response_model=ArticleDetail, summary="One article with its full text")
async def get_article(request: Request, article_id: IdPath, store: StoreDep):
    article = store.get_article(article_id)
    last_modified(request, article.fetched_at)
    return ArticleDetail(**asdict(article))


@router.get("/feeds", response_model=list[FeedPublic], summary="Feeds with their health")
async def list_feeds(store: StoreDep):
    return [FeedPublic(**row) for row in feed_health(store)]


@router.get("/sources", response_model=list[SourcePublic], summary="Publishers")
async def list_sources(store: StoreDep):
    return [SourcePublic(**asdict(s)) for s in store.list_sources()]


@router.get("/articles/{article_id}/related", response_model=list[RelatedPublic],
            summary="Related articles: the rest of its story first, then near neighbours")
async def related_articles(request: Request, article_id: IdPath, store: StoreDep):
    view = article_view(store, article_id)
    last_modified(request, view["article"].fetched_at, view["story"].last_seen_at if view["story"] else None)
    return [RelatedPublic(article=ArticlePublic(**asdict(a)), same_story=a.id in view["same_story_ids"])
            for a in view["related"]]


@router.get("/stories", response_model=Page[StoryPublic],
            summary="Stories, most recently updated first (order=top: the home page's ranking)")
async def list_stories(request: Request, store: StoreDep, paging: ListPaging,
                       min_sources: int = Query(1, ge=1, le=MAX_ID),
                       order: Literal["updated", "top"] = Query("updated", description=(
                           "updated: last_seen_at, newest first. top: recency x publishers x velocity over the "
                           f"{TOP_CANDIDATES} most recently updated stories"))):
    if order == "top":
        ranked = [s for s in top_stories(store, limit=TOP_CANDIDATES) if s.source_count >= min_sources]
        items, total = ranked[paging.offset:paging.offset + paging.limit], len(ranked)
    else:
        items = store.list_stories(limit=paging.limit, offset=paging.offset, min_sources=min_sources)
        total = store.count_stories()
    last_modified(request, *(s.last_seen_at for s in items))
    return Page[StoryPublic](**paging.page([StoryPublic(**asdict(s)) for s in items], total))


@router.get("/stories/{story_id}", response_model=StoryDetail, summary="A story with its coverage")
async def get_story(request: Request, story_id: IdPath, store: StoreDep):
    view = story_view(store, story_id)
    dups = [d for copies in view["copies"].values() for d in copies]
    last_modified(request, view["story"].last_seen_at)
    tags = [StoryHashtagPublic(name=t.tag.name, slug=t.tag.slug, kind=t.tag.kind, score=t.score, phrase=t.phrase,
                               articles=list(t.articles)) for t in store.story_hashtags(story_id)]
    return StoryDetail(**asdict(view["story"]), articles=[ArticlePublic(**asdict(a)) for a in view["articles"]],
                       duplicates=[ArticlePublic(**asdict(a)) for a in dups], hashtags=tags)


@router.get("/sources/{source_id}", response_model=SourceDetail,
            summary="A publisher: its feeds' health, latest articles and the stories it covered")
async def get_source(request: Request, source_id: IdPath, store: StoreDep):
    view = source_view(store, source_id, limit=20)
    last_modified(request, *(a.fetched_at for a in view["articles"]), *(s.last_seen_at for s in view["stories"]),
                  *(f["last_fetched_at"] for f in view["feeds"]))
    return SourceDetail(**asdict(view["source"]), article_count=view["article_total"],
                        health=FeedHealthSummary(**view["health"]), feeds=[FeedPublic(**f) for f in view["feeds"]],
                        latest_articles=[ArticlePublic(**asdict(a)) for a in view["articles"]],
                        stories=[StoryPublic(**asdict(s)) for s in view["stories"]])


def _tag_public(t) -> TagPublic:
    return TagPublic(**asdict(t.tag), article_count=t.article_count, story_count=t.story_count)


@router.get("/tags", response_model=Page[TagPublic], summary="Hashtags with their article and story counts")
async def list_tags(store: StoreDep, paging: TagPaging):
    items = store.list_tags(limit=paging.limit, offset=paging.offset)
    return Page[TagPublic](**paging.page([_tag_public(t) for t in items], store.count_tags()))


@router.get("/tags/{slug}", response_model=TagStoriesPage, summary="A hashtag and its stories")
async def get_tag(request: Request, slug: str, store: StoreDep, paging: ListPaging):
    tag = store.get_tag(slug)
    items = store.tag_stories(tag.slug, limit=paging.limit, offset=paging.offset)
    total = store.count_tag_stories(tag.slug)
    last_modified(request, *(s.last_seen_at for s in items))
    return TagStoriesPage(tag=TagPublic(**asdict(tag), story_count=total),
                          **paging.page([StoryPublic(**asdict(s)) for s in items], total))


@router.get("/search", response_model=SearchPage,
            summary="Full-text search with hybrid ranking, highlights and filters")
def search(request: Request, params: SearchParamsDep, store: StoreDep, paging: SearchPaging):
    """Any `q` is accepted (quotes, operators and punctuation are reduced to safe terms).
    Ranking: reciprocal-rank fusion of the full-text rank, a TF-IDF similarity of the query to
    title + lead, and recency. `title_html` / `snippet_html` are escaped HTML whose only tags
    are `<mark>`. An empty `q` with filters lists the filtered articles, newest first."""
    results, source = run_search(store, params, limit=paging.limit, offset=paging.offset)
    last_modified(request, *(h.article.fetched_at for h in results.hits),
                  *(h.story.last_seen_at for h in results.hits if h.story))
    items = [SearchHitPublic(article=ArticlePublic(**asdict(h.article)), title_html=h.title_html,
                             snippet_html=h.snippet_html, score=h.score, fts_rank=h.fts_rank, semantic=h.semantic,
                             story=StoryPublic(**asdict(h.story)) if h.story else None) for h in results.hits]
    return SearchPage(items=items, total=results.total, limit=paging.limit, offset=paging.offset,
                      next_offset=results.next_offset, query=str(results.query),
                      publisher=SourcePublic(**asdict(source)) if source else None)


@router.get("/status", response_model=PipelineStatusPublic,
            summary="What the pipeline is doing: due feeds, pending work, queue depths, errors, heartbeats")
def status(store: StoreDep, settings: SettingsDep):
    """The figures of `newsloom status`. Public: counts, stage errors and heartbeats, no
    settings. Anonymous callers may get an answer up to NEWSLOOM_PAGE_CACHE_SECONDS old
    (`checked_at` says when it was taken)."""
    return pipeline_status(store, settings)
