"""API models. Suffixes: *Public for what we return, *Create for what we accept."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class SourcePublic(BaseModel):
    id: int
    name: str
    homepage: str | None = None


class ArticlePublic(BaseModel):
    id: int
    url: str
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
    url: str
    title: str | None
    site_url: str | None
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


class StoryDetail(StoryPublic):
    articles: list[ArticlePublic]
    duplicates: list[ArticlePublic]


class RelatedPublic(BaseModel):
    article: ArticlePublic
    same_story: bool
