"""Use cases beside the pipeline: adding, importing and exporting feeds, bulk JSONL import.

Refreshing feeds and everything after it (extract, cluster, insights) is the pipeline's
(tasks/pipeline.py); a bulk import hands its articles to the same clustering and insight
steps.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from ..errors import NewsloomError, ParseError
from ..extract.sanitize import html_to_text
from ..ingest.discover import discover_feeds
from ..ingest.feeds import parse_feed
from ..ingest.http import Fetcher
from ..ingest.opml import export_opml, parse_opml
from ..ingest.urls import canonical_url, http_url, require_http_url
from ..models import Article, Feed, parse_utc
from ..settings import Settings
from ..store import Store
from .pipeline import HTML_TYPES, content_hash, fetch_policy, settle

__all__ = ["ImportReport", "fetch_bytes", "add_feed", "import_opml", "export_feeds_opml", "import_jsonl"]

log = logging.getLogger("newsloom.jobs")


@dataclass
class ImportReport:
    added: int = 0
    skipped: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def fetch_bytes(settings: Settings, url: str) -> bytes:
    """One guarded GET (same policy as feeds), for OPML files and the like."""
    async def go() -> bytes:
        async with Fetcher(fetch_policy(settings)) as fetcher:
            return (await fetcher.fetch(url, accept="*/*")).body

    return asyncio.run(go())


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
    """Add a feed by feed URL or by the URL of a page that links to one. Only http(s) URLs:
    a feed URL is shown as a link, so a javascript: one would be script on the site."""
    url = require_http_url(url, "feeds")
    title = None
    if verify:
        url, title = asyncio.run(_discover(settings, url))
    return store.add_feed(Feed(url=url, title=title))


def import_opml(store: Store, body: bytes) -> ImportReport:
    """Add every feed of an OPML document; an outline whose URL is not http(s) is reported
    (with its position among the feeds) and skipped, the others go in."""
    report = ImportReport()
    for number, item in enumerate(parse_opml(body), 1):
        try:
            url = require_http_url(item.url, f"import: feed {number}")
        except NewsloomError as exc:
            report.errors.append((number, exc.message))
            continue
        _, created = store.add_feed(Feed(url=url, title=item.title, site_url=http_url(item.site_url)))
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


def import_jsonl(store: Store, lines: Iterable[str], *, cluster: bool = True,
                 settings: Settings | None = None) -> ImportReport:
    """Bulk import: one JSON object per line with url, title, text, source, published.

    A bad line is reported with its number and skipped; the rest go in. Re-running adds nothing.
    Then every new article is put into a story and its story's insights are rebuilt
    (unless cluster=False): the whole file is one burst.
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
            # "Read the original" links this URL: a javascript: one would run on the site
            url = require_http_url(obj["url"], f"import: line {number}: url")
            name = str(obj["source"]).strip()
            if name not in sources:
                sources[name] = store.upsert_source(name).id
            text = html_to_text(str(obj["text"])) if "<" in str(obj["text"]) else str(obj["text"]).strip()
            article = Article(
                url=canonical_url(url), title=html_to_text(str(obj["title"]))[:1000],
                source_id=sources[name], guid=str(obj["id"]) if obj.get("id") is not None else None,
                author=obj.get("author"), published_at=_parse_time(obj.get("published")),
                language=obj.get("lang") or obj.get("language"), text=text, content_hash=content_hash(text))
        except (ValueError, TypeError) as exc:
            report.errors.append((number, f"import: line {number}: {exc}"))
            continue
        except NewsloomError as exc:
            report.errors.append((number, exc.message))
            continue
        _, created = store.add_article(article)
        report.added += int(created)
        report.skipped += int(not created)
    if cluster:
        settle(store, settings)
    return report
