"""API models. Suffixes: *Public for what we return, *Create for what we accept."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict

from ...ingest.urls import http_url

T = TypeVar("T")

# A stored URL as clients will link it: http(s), else null. New rows are only ever http(s)
# (ingest/urls.py); a row from an older version may hold javascript:, never republished.
HttpURL = Annotated[str | None, BeforeValidator(http_url)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class SourcePublic(BaseModel):
    id: int
    name: str
    homepage: HttpURL = None


class ArticlePublic(BaseModel):
    id: int
    url: HttpURL
    title: str
    source_id: int | None
    source_name: str | None
    author: str | None
    published_at: datetime | None
    fetched_at: datetime | None
    language: str | None
    story_id: int | None
    duplicate_of: int | None


class ArticleDetail(ArticlePublic):
    text: str
    summary: str | None


class FeedPublic(BaseModel):
    id: int
    url: HttpURL
    title: str | None
    site_url: HttpURL
    source_id: int | None
    last_fetched_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    last_error: str | None
    error_count: int
    next_check_at: datetime | None
    article_count: int
    healthy: bool


class StoryPublic(BaseModel):
    id: int
    title: str
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    article_count: int
    source_count: int


class StoryHashtagPublic(BaseModel):
    """One of a story's hashtags, best first: its score and the articles that support it."""

    name: str
    slug: str
    kind: str
    score: float
    phrase: str | None = None
    articles: list[int] = []


class StoryDetail(StoryPublic):
    articles: list[ArticlePublic]
    duplicates: list[ArticlePublic]
    hashtags: list[StoryHashtagPublic] = []


class RelatedPublic(BaseModel):
    article: ArticlePublic
    same_story: bool


class TagPublic(BaseModel):
    id: int
    name: str
    slug: str
    kind: str
    article_count: int = 0
    story_count: int = 0


class TagStoriesPage(Page[StoryPublic]):
    """A hashtag and a page of its stories, most recently updated first."""

    tag: TagPublic


class SearchHitPublic(BaseModel):
    article: ArticlePublic
    title_html: str          # HTML-escaped title; the only tags are <mark> around matches
    snippet_html: str        # HTML-escaped excerpt of the text, <mark> around matches
    score: float             # fused (reciprocal-rank) score; 0 when only filters were given
    fts_rank: int | None     # position by full-text rank alone
    semantic: float          # TF-IDF cosine of the query and the title + lead
    story: StoryPublic | None


class SearchPage(Page[SearchHitPublic]):
    """Search results, best first. `query` is the query as understood (safe terms only)."""

    query: str
    publisher: SourcePublic | None = None


class FeedHealthSummary(BaseModel):
    feeds: int
    healthy: int
    failing: int
    last_success_at: datetime | None


class SourceDetail(SourcePublic):
    article_count: int
    health: FeedHealthSummary
    feeds: list[FeedPublic]
    latest_articles: list[ArticlePublic]
    stories: list[StoryPublic]


class StageErrorPublic(BaseModel):
    stage: str
    message: str
    at: datetime | None
    count: int


class HeartbeatPublic(BaseModel):
    name: str
    role: str
    started_at: datetime | None
    beat_at: datetime
    age_seconds: float
    alive: bool
    info: dict[str, Any]


class PipelineStatusPublic(BaseModel):
    """tasks/status.py pipeline_status: the figures of `newsloom status`."""

    model_config = ConfigDict(extra="allow")       # figures a newer pipeline adds are passed on

    backend: str
    insights_version: int
    due_feeds: int
    feeds_in_progress: int
    pending_entries: int
    unclustered_articles: int
    dirty_stories: int
    stale_insights: int
    articles_last_hour: int
    queues: dict[str, int] | None
    last_errors: list[StageErrorPublic]
    heartbeats: list[HeartbeatPublic]
    checked_at: datetime
