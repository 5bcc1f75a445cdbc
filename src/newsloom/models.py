"""Plain dataclasses shared by every stage.

Every input format (RSS, Atom, JSON Feed, OPML, JSONL, article HTML) is converted
into these at the edge; nothing downstream sees a feedparser dict or an lxml tree.
Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

__all__ = [
    "utcnow", "parse_utc", "Source", "Feed", "Entry", "ParsedFeed", "Extracted", "Article",
    "Story", "Tag", "User",
]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_utc(value: object) -> datetime | None:
    """An aware UTC-or-offset datetime from a datetime, a Unix timestamp or an ISO 8601
    string ("Z" accepted); naive values are taken as UTC. None or "" gives None; anything
    else unreadable raises ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    else:
        try:
            when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@dataclass
class Source:
    """A publisher ("Harbor Gazette"). Feeds and articles belong to one."""

    name: str
    homepage: str | None = None
    id: int | None = None


@dataclass
class Feed:
    url: str
    title: str | None = None
    site_url: str | None = None
    source_id: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_fetched_at: datetime | None = None
    last_success_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    error_count: int = 0
    next_check_at: datetime | None = None
    id: int | None = None


@dataclass
class Entry:
    """One item of a feed, as the feed tells it (before the page is fetched)."""

    link: str
    guid: str | None = None
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    summary: str | None = None        # sanitized HTML from the feed
    content: str | None = None        # sanitized HTML full content, when the feed carries it
    language: str | None = None


@dataclass
class ParsedFeed:
    title: str | None
    site_url: str | None
    language: str | None
    entries: list[Entry] = field(default_factory=list)
    ttl_minutes: int | None = None
    format: str = "unknown"           # rss20, rss10, rss09x, atom10, atom03, json11 ...


@dataclass
class Extracted:
    """What full-text extraction found in an article page."""

    text: str
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    canonical_url: str | None = None
    language: str | None = None
    site_name: str | None = None
    description: str | None = None


@dataclass
class Article:
    url: str                          # canonical URL, tracking parameters stripped
    title: str
    source_id: int | None = None
    guid: str | None = None
    feed_id: int | None = None
    author: str | None = None
    published_at: datetime | None = None
    fetched_at: datetime | None = None
    language: str | None = None
    text: str = ""                    # full plain text, paragraphs separated by blank lines
    summary: str | None = None        # the feed's own summary (sanitized HTML)
    content_hash: str | None = None
    story_id: int | None = None
    duplicate_of: int | None = None
    id: int | None = None
    source_name: str | None = None    # filled on reads for display


@dataclass
class Story:
    title: str
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    article_count: int = 0
    source_count: int = 0
    merged_into: int | None = None    # set when this story was absorbed by another
    id: int | None = None


@dataclass
class Tag:
    name: str                         # display form, e.g. "PrisonerSwap"
    slug: str                         # lower-case key, e.g. "prisonerswap"
    kind: str = "keyphrase"           # person, place, org, keyphrase
    id: int | None = None


@dataclass
class User:
    username: str
    password_hash: str
    email: str | None = None
    role: str = "user"                # user, moderator, admin
    banned: bool = False
    created_at: datetime | None = None
    id: int | None = None
