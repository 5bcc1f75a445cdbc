"""One top-to-bottom function per use case.

The CLI, the web app and (later) queue workers call these; nothing else orchestrates.
Ordering rules are written where they apply:

refresh_feed, step by step
  1. Conditional GET of the feed (ETag / Last-Modified kept per feed).
     A transport or HTTP error is recorded on the feed (last_error, error_count,
     backoff in next_check_at honouring Retry-After) and ends this feed only.
  2. 304 -> nothing to parse; schedule the next check.
  3. Parse the bytes into entries (parsers take bytes, never URLs).
  4. For each entry not yet stored (canonical URL, or source + GUID):
     fetch its page and extract full text and metadata; when the page cannot be
     fetched or extracted, fall back to the feed's own content or summary.
     The page's rel=canonical is the article's identity, tracking parameters stripped.
  5. Sanitize, then store each article in its own transaction: a crash leaves
     whole articles or none, and a re-run adds nothing.
  6. Record success and schedule the next check.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterable

from ..errors import FetchError, NewsloomError, ParseError
from ..extract.article import extract_article
from ..extract.sanitize import html_to_text, sanitize_html
from ..ingest.discover import discover_feeds
from ..ingest.feeds import parse_feed
from ..ingest.http import Fetcher, FetchPolicy, FetchResult
from ..ingest.opml import export_opml, parse_opml
from ..ingest.schedule import next_check_at
from ..ingest.urls import canonical_url, host_of
from ..models import Article, Entry, Feed, parse_utc, utcnow
from ..settings import Settings
from ..store import Store
from .stories import cluster_articles

__all__ = ["RefreshReport", "ImportReport", "fetch_policy", "refresh", "refresh_feeds", "refresh_feed",
           "select_feeds", "fetch_bytes", "add_feed", "import_opml", "export_feeds_opml", "import_jsonl", "content_hash"]

log = logging.getLogger("newsloom.jobs")
HTML_TYPES = ("text/html", "application/xhtml")


@dataclass
class RefreshReport:
    feed_id: int
    url: str
    status: str = "ok"             # ok | not_modified | error
    new: int = 0
    seen: int = 0
    fallbacks: int = 0             # entries stored from feed content because the page failed
    error: str | None = None


@dataclass
class ImportReport:
    added: int = 0
    skipped: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        user_agent=settings.user_agent, timeout=settings.fetch_timeout, max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects, per_host=settings.fetch_per_host,
        concurrency=settings.fetch_concurrency, allow_networks=tuple(settings.fetch_allow_networks))


def content_hash(text: str) -> str | None:
    """Exact-duplicate key: sha256 of the text with case and whitespace normalised."""
    norm = " ".join(re.findall(r"\w+", text.lower()))
    return hashlib.sha256(norm.encode()).hexdigest() if norm else None


# -- refreshing feeds ------------------------------------------------------

def refresh(store: Store, settings: Settings, *, all_feeds: bool = False, feed_ids: Iterable[int] | None = None,
            progress: Callable[[RefreshReport], None] | None = None,
            now: datetime | None = None) -> list[RefreshReport]:
    """Refresh due feeds (or all of them, or the given ones). Never raises for one bad feed."""
    targets = select_feeds(store, all_feeds=all_feeds, feed_ids=feed_ids, now=now)
    reports = asyncio.run(refresh_feeds(store, settings, targets, progress=progress))
    # Stories last, over everything still unclustered, oldest first: the order the
    # articles were published, whichever feed finished first (and crash leftovers too).
    cluster_articles(store)
    return reports


def select_feeds(store: Store, *, all_feeds: bool = False, feed_ids: Iterable[int] | None = None,
                 now: datetime | None = None) -> list[Feed]:
    """The feeds a refresh would visit: the given ids, all, or those due now."""
    if feed_ids is not None:
        wanted = set(feed_ids)
        return [f for f in store.list_feeds() if f.id in wanted]
    return store.list_feeds(due_before=None if all_feeds else (now or utcnow()))


def fetch_bytes(settings: Settings, url: str) -> bytes:
    """One guarded GET (same policy as feeds), for OPML files and the like."""
    async def go() -> bytes:
        async with Fetcher(fetch_policy(settings)) as fetcher:
            return (await fetcher.fetch(url, accept="*/*")).body

    return asyncio.run(go())


async def refresh_feeds(store: Store, settings: Settings, targets: list[Feed], *,
                        progress: Callable[[RefreshReport], None] | None = None) -> list[RefreshReport]:
    async with Fetcher(fetch_policy(settings)) as fetcher:
        async def one(feed: Feed) -> RefreshReport:
            report = await refresh_feed(store, fetcher, feed, settings)
            if progress:
                progress(report)
            return report

        return list(await asyncio.gather(*(one(f) for f in targets)))


def _schedule(settings: Settings, now: datetime, **kw) -> datetime:
    return next_check_at(now, interval=timedelta(minutes=settings.refresh_interval),
                         max_interval=timedelta(minutes=settings.refresh_max_interval), **kw)


def _record_failure(store: Store, settings: Settings, feed: Feed, exc: NewsloomError, now: datetime) -> RefreshReport:
    feed.last_fetched_at = now
    feed.last_error = exc.message
    feed.last_status = getattr(exc, "status", None)
    feed.error_count += 1
    feed.next_check_at = _schedule(settings, now, error_count=feed.error_count,
                                   retry_after=getattr(exc, "retry_after", None))
    store.save_feed(feed)
    log.warning("feed_failed feed_id=%s url=%s error=%s", feed.id, feed.url, exc.message)
    return RefreshReport(feed.id, feed.url, status="error", error=exc.message)


async def refresh_feed(store: Store, fetcher: Fetcher, feed: Feed, settings: Settings) -> RefreshReport:
    now = utcnow()
    # 1. conditional GET
    try:
        result = await fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
    except FetchError as exc:
        return _record_failure(store, settings, feed, exc, now)
    report = RefreshReport(feed.id, feed.url)
    # 2. not modified
    if result.not_modified:
        report.status = "not_modified"
    else:
        # 3. parse
        try:
            parsed = parse_feed(result.body, result.headers, base_url=result.url)
        except ParseError as exc:
            return _record_failure(store, settings, feed, exc, now)
        if feed.source_id is None:
            source = store.upsert_source(parsed.title or host_of(feed.url), parsed.site_url)
            feed.source_id = source.id
        feed.title = feed.title or parsed.title
        feed.site_url = feed.site_url or parsed.site_url
        # 4-5. entries, oldest first so that "first copy" means first published
        entries = sorted(parsed.entries, key=lambda e: e.published_at or now)
        await _store_entries(store, fetcher, feed, entries, settings, report)
        feed.etag, feed.last_modified = result.etag, result.last_modified
    # 6. success
    feed.last_fetched_at = feed.last_success_at = now
    feed.last_status = result.status
    feed.last_error = None
    feed.error_count = 0
    feed.next_check_at = _schedule(settings, now, max_age=result.max_age,
                                   ttl_minutes=None if result.not_modified else parsed.ttl_minutes)
    store.save_feed(feed)
    log.info("feed_refreshed feed_id=%s url=%s status=%s new=%d", feed.id, feed.url, report.status, report.new)
    return report


async def _store_entries(store: Store, fetcher: Fetcher, feed: Feed, entries: list[Entry], settings: Settings,
                         report: RefreshReport) -> None:
    fresh: list[tuple[Entry, str]] = []
    for entry in entries:
        url = canonical_url(entry.link)
        if store.find_article(url=url, source_id=feed.source_id, guid=entry.guid):
            report.seen += 1
        else:
            fresh.append((entry, url))
    pages = await asyncio.gather(*(_fetch_page(fetcher, e.link) for e, _ in fresh)) if (
        settings.fetch_full_text and fresh) else [None] * len(fresh)
    for (entry, url), page in zip(fresh, pages):
        try:
            article = build_article(entry, url, page, feed)
        except NewsloomError as exc:
            log.warning("entry_skipped feed_id=%s url=%s error=%s", feed.id, entry.link, exc.message)
            continue
        if article is None:
            continue
        if page is None:
            report.fallbacks += 1
        _, created = store.add_article(article)
        report.new += int(created)
        report.seen += int(not created)


async def _fetch_page(fetcher: Fetcher, url: str) -> FetchResult | None:
    try:
        result = await fetcher.fetch(url, accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.5")
    except FetchError as exc:
        log.info("page_failed url=%s error=%s", url, exc.message)
        return None
    ctype = result.headers.get("content-type", "text/html")
    return result if any(t in ctype for t in HTML_TYPES) else None


def build_article(entry: Entry, url: str, page: FetchResult | None, feed: Feed) -> Article | None:
    """Merge what the feed says with what the page says. The page wins for text and
    canonical URL; the feed wins for GUID and fills what extraction missed."""
    extracted = extract_article(page.body, page.url) if page is not None else None
    feed_text = html_to_text(entry.content or "") or html_to_text(entry.summary or "")
    text = extracted.text if extracted else feed_text
    title = (entry.title or (extracted.title if extracted else None) or "").strip()
    if not title or not (text or entry.summary):
        return None
    if extracted and extracted.canonical_url:
        url = canonical_url(extracted.canonical_url)
    return Article(
        url=url, title=title[:1000], source_id=feed.source_id, guid=entry.guid, feed_id=feed.id,
        author=entry.author or (extracted.author if extracted else None),
        published_at=entry.published_at or (extracted.published_at if extracted else None),
        fetched_at=utcnow(), language=entry.language or (extracted.language if extracted else None),
        text=text, summary=sanitize_html(entry.summary) if entry.summary else None,
        content_hash=content_hash(text))


# -- adding and importing feeds -------------------------------------------

async def _discover(settings: Settings, url: str) -> tuple[str, str | None]:
    """Resolve a user-given URL to a feed URL (following HTML discovery) and its title."""
    async with Fetcher(fetch_policy(settings)) as fetcher:
        result = await fetcher.fetch(url)
        if any(t in result.headers.get("content-type", "") for t in HTML_TYPES):
            candidates = discover_feeds(result.body, result.url)
            if not candidates:
                raise ParseError(f"parse: no feed found at {url}")
            url = candidates[0]
            result = await fetcher.fetch(url)
        parsed = parse_feed(result.body, result.headers, base_url=result.url)
        return result.url if result.url else url, parsed.title


def add_feed(store: Store, settings: Settings, url: str, *, verify: bool = True) -> tuple[Feed, bool]:
    """Add a feed by feed URL or by the URL of a page that links to one."""
    title = None
    if verify:
        url, title = asyncio.run(_discover(settings, url))
    return store.add_feed(Feed(url=url, title=title))


def import_opml(store: Store, body: bytes) -> ImportReport:
    report = ImportReport()
    for item in parse_opml(body):
        _, created = store.add_feed(Feed(url=item.url, title=item.title, site_url=item.site_url))
        report.added += int(created)
        report.skipped += int(not created)
    return report


def export_feeds_opml(store: Store) -> bytes:
    return export_opml(store.list_feeds(), title="newsloom feeds")


# -- bulk JSONL -----------------------------------------------------------

def _parse_time(value: object) -> datetime | None:
    try:
        return parse_utc(value)
    except ValueError as exc:
        raise ValueError(f"published: {exc}") from None


def import_jsonl(store: Store, lines: Iterable[str], *, cluster: bool = True) -> ImportReport:
    """Bulk import: one JSON object per line with url, title, text, source, published.

    A bad line is reported with its number and skipped; the rest go in. Re-running adds nothing.
    Then every new article is put into a story (unless cluster=False).
    """
    report = ImportReport()
    sources: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("expected a JSON object")
            missing = [k for k in ("url", "title", "text", "source") if not str(obj.get(k) or "").strip()]
            if missing:
                raise ValueError(f"missing {', '.join(missing)}")
            name = str(obj["source"]).strip()
            if name not in sources:
                sources[name] = store.upsert_source(name).id
            text = html_to_text(str(obj["text"])) if "<" in str(obj["text"]) else str(obj["text"]).strip()
            article = Article(
                url=canonical_url(str(obj["url"])), title=html_to_text(str(obj["title"]))[:1000],
                source_id=sources[name], guid=str(obj["id"]) if obj.get("id") is not None else None,
                author=obj.get("author"), published_at=_parse_time(obj.get("published")),
                language=obj.get("lang") or obj.get("language"), text=text, content_hash=content_hash(text))
        except (ValueError, TypeError) as exc:
            report.errors.append((number, f"import: line {number}: {exc}"))
            continue
        _, created = store.add_article(article)
        report.added += int(created)
        report.skipped += int(not created)
    if cluster:
        cluster_articles(store)
    return report
