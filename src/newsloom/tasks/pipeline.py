"""The pipeline: the one order of work on the write path.

The embedded scheduler inside ``newsloom serve`` (tasks/scheduler.py), the Celery workers
(tasks/queue.py) and the CLI (``newsloom refresh``) all run these steps and nothing else
orchestrates them; no page does any of this work.

  1. refresh_feed     Conditional GET of the feed (ETag / Last-Modified kept per feed). A
                      transport or HTTP error is recorded on the feed (last_error,
                      error_count, backoff in next_check_at honouring Retry-After) and ends
                      this feed only. 304: nothing to parse. Otherwise parse the bytes and
                      record each entry not stored yet as *pending*, in the same transaction
                      as the feed's new state: a crash leaves the old state or the whole set.
                      Parsing and the store work run in threads: a 10,000-item feed does not
                      stall the event loop that the other feeds' refreshes share.
  2. ingest_entry     Per pending entry: fetch the page and extract full text and metadata
                      (the feed's own content when the page fails); the page's rel=canonical
                      is the identity, tracking parameters stripped. Sanitize, then store the
                      article and drop the pending row in one transaction: a crash leaves
                      whole articles or none, and a re-run adds nothing. A feed's entries go
                      a few at a time (ingest_entries: half the fetcher's connections), so
                      a feed with thousands of new items never queues ahead of the others.
  3. cluster_pending  First embed_pending: every article without a vector of the current
                      model gets one for its title and lead and one per passage
                      (enrich/embed.py), written once (store/vectors.py). Then one consumer
                      at a time (the store's cluster lock), oldest first: wire-copy dedupe,
                      online clustering, related articles (nearest vectors in other
                      stories); the stories it touches are marked dirty.
  4. build_insights   Each dirty story once its burst is over (no change for `quiet_for`
                      seconds, or after `max_wait` at most): hashtags, brief, timeline,
                      disagreements, charts and the summaries of its new articles, stored
                      with the pipeline version.

:func:`refresh` runs 1-4 once over the due (or given) feeds, for the CLI and the tests.
A failure in any stage is logged, recorded per stage for ``newsloom status``, and never
stops the other feeds, entries or stories.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterable

from ..enrich.embed import embed_articles
from ..errors import FetchError, NewsloomError, NotFound, ParseError
from ..extract.article import extract_article
from ..extract.sanitize import html_to_text, sanitize_html
from ..ingest.feeds import parse_feed
from ..ingest.http import Fetcher, FetchPolicy, FetchResult
from ..ingest.schedule import next_check_at
from ..ingest.urls import canonical_url, host_of
from ..models import Article, Entry, Feed, utcnow
from ..settings import Settings
from ..store import Store
from .insights import build_story_insights
from .stories import StoryEngine, cluster_articles

__all__ = ["RefreshReport", "SettleReport", "refresh", "refresh_feeds", "refresh_feed", "ingest_entry",
           "ingest_entries", "ingest_workers", "embed_pending", "cluster_pending", "build_insights", "settle", "select_feeds",
           "build_article", "entry_lease", "fetch_policy", "content_hash"]

log = logging.getLogger("newsloom.pipeline")
HTML_TYPES = ("text/html", "application/xhtml")
EMBED_BATCH = 200               # articles per embedding transaction
MAX_ENTRY_ATTEMPTS = 5          # then the entry is stored from the feed's own content, or dropped


@dataclass
class RefreshReport:
    feed_id: int
    url: str
    status: str = "ok"             # ok | not_modified | error
    new: int = 0                   # articles stored
    seen: int = 0                  # entries already stored
    pending: list[int] = field(default_factory=list)   # pending entry ids this refresh recorded
    fallbacks: int = 0             # entries stored from feed content because the page failed
    error: str | None = None


@dataclass
class SettleReport:
    clustered: int = 0
    insights: int = 0
    errors: int = 0


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        user_agent=settings.user_agent, timeout=settings.fetch_timeout, deadline=settings.fetch_deadline,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects, per_host=settings.fetch_per_host,
        concurrency=settings.fetch_concurrency, allow_networks=tuple(settings.fetch_allow_networks))


def content_hash(text: str) -> str | None:
    """Exact-duplicate key: sha256 of the text with case and whitespace normalised."""
    norm = " ".join(re.findall(r"\w+", text.lower()))
    return hashlib.sha256(norm.encode()).hexdigest() if norm else None


def entry_lease(settings: Settings) -> float:
    """Seconds a pending entry is left to whoever took it before the sweep hands it out again."""
    return max(120.0, 4 * settings.fetch_timeout)


def _schedule(settings: Settings, now: datetime, **kw) -> datetime:
    return next_check_at(now, interval=timedelta(minutes=settings.refresh_interval),
                         max_interval=timedelta(minutes=settings.refresh_max_interval), **kw)


def _stage_failed(store: Store, stage: str, message: str) -> None:
    try:
        store.record_stage_error(stage, message)
    except Exception:  # noqa: BLE001 - recording an error must never raise another
        log.exception("stage_error_not_recorded stage=%s", stage)


# -- 1. refresh a feed -------------------------------------------------------------------
def _record_failure(store: Store, settings: Settings, feed: Feed, exc: NewsloomError, now: datetime,
                    stage: str) -> RefreshReport:
    feed.last_fetched_at = now
    feed.last_error = exc.message
    feed.last_status = getattr(exc, "status", None)
    feed.error_count += 1
    feed.next_check_at = _schedule(settings, now, error_count=feed.error_count,
                                   retry_after=getattr(exc, "retry_after", None))
    store.save_feed(feed)
    _stage_failed(store, stage, f"feed {feed.id}: {exc.message}")
    log.warning("feed_failed feed_id=%s url=%s error=%s", feed.id, feed.url, exc.message)
    return RefreshReport(feed.id, feed.url, status="error", error=exc.message)


def _unseen_entries(store: Store, feed: Feed, entries: list[Entry], now: datetime) -> list[tuple[str, Entry]]:
    """(canonical URL, entry) of the entries not stored yet, oldest first ("first copy" means
    first published)."""
    keyed = [(canonical_url(e.link), e) for e in sorted(entries, key=lambda e: e.published_at or now)]
    urls, guids = store.stored_keys(feed.source_id, [u for u, _ in keyed], [e.guid for _, e in keyed if e.guid])
    return [(u, e) for u, e in keyed if u not in urls and not (e.guid and e.guid in guids)]


async def refresh_feed(store: Store, fetcher: Fetcher, feed: Feed, settings: Settings) -> RefreshReport:
    """Step 1: fetch and parse one feed; record its new entries as pending (not yet ingested)."""
    now = utcnow()
    try:
        result = await fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
    except FetchError as exc:
        return _record_failure(store, settings, feed, exc, now, "fetch")
    report = RefreshReport(feed.id, feed.url)
    fresh: list[tuple[str, Entry]] = []
    ttl = None
    if result.not_modified:
        report.status = "not_modified"
    else:
        try:
            parsed = await asyncio.to_thread(parse_feed, result.body, result.headers, result.url)
        except ParseError as exc:
            return _record_failure(store, settings, feed, exc, now, "parse")
        if feed.source_id is None:
            name = parsed.title or host_of(feed.url)
            feed.source_id = (await asyncio.to_thread(store.upsert_source, name, parsed.site_url)).id
        feed.title = feed.title or parsed.title
        feed.site_url = feed.site_url or parsed.site_url
        ttl = parsed.ttl_minutes
        fresh = await asyncio.to_thread(_unseen_entries, store, feed, parsed.entries, now)
        report.seen = len(parsed.entries) - len(fresh)
        feed.etag, feed.last_modified = result.etag, result.last_modified
    feed.last_fetched_at = feed.last_success_at = now
    feed.last_status = result.status
    feed.last_error = None
    feed.error_count = 0
    feed.next_check_at = _schedule(settings, now, max_age=result.max_age, ttl_minutes=ttl)
    report.pending = await asyncio.to_thread(store.save_feed, feed, pending=fresh, lease=entry_lease(settings))
    log.info("feed_refreshed feed_id=%s url=%s status=%s pending=%d", feed.id, feed.url, report.status,
             len(report.pending))
    return report


# -- 2. ingest one entry -------------------------------------------------------------------
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


async def ingest_entry(store: Store, fetcher: Fetcher, pending_id: int, settings: Settings) -> tuple[bool, bool]:
    """Step 2: one pending entry becomes a stored article. Returns (created, fell_back):
    whether a new article was stored, and whether the feed's content stood in for the page."""
    # store calls run in threads: the event loop is shared with every other feed's refresh
    claimed = await asyncio.to_thread(store.get_pending_entry, pending_id)
    if claimed is None:                       # stored meanwhile (another worker, an earlier run)
        return False, False
    try:
        feed = await asyncio.to_thread(store.get_feed, claimed.feed_id)
    except NotFound:
        await asyncio.to_thread(store.forget_pending_entry, pending_id)
        return False, False
    entry = claimed.entry
    # after repeated crashes on this page, stop fetching it: the feed's content stands in
    page = None
    if settings.fetch_full_text and claimed.attempts + 1 < MAX_ENTRY_ATTEMPTS:
        page = await _fetch_page(fetcher, entry.link)
    # The attempt is counted here, just before extraction (the step a hostile page could take the
    # process down with), not when the entry was taken: a run killed while this entry waited for
    # a fetch slot, or while its page was on the way, has not tried it.
    attempts = await asyncio.to_thread(store.count_pending_attempt, pending_id)
    if attempts is None:
        return False, False
    try:
        article = await asyncio.to_thread(build_article, entry, claimed.url, page, feed)
    except Exception as exc:  # noqa: BLE001 - one bad page never fails the batch
        message = exc.message if isinstance(exc, NewsloomError) else f"{type(exc).__name__}: {exc}"
        log.warning("entry_failed feed_id=%s url=%s error=%s", feed.id, entry.link, message)
        await asyncio.to_thread(_stage_failed, store, "extract", f"{entry.link}: {message}")
        if attempts >= MAX_ENTRY_ATTEMPTS:
            await asyncio.to_thread(store.forget_pending_entry, pending_id)
        else:
            await asyncio.to_thread(store.fail_pending_entry, pending_id, message)
        return False, False
    if article is None:                       # nothing usable: no title or no text
        await asyncio.to_thread(store.forget_pending_entry, pending_id)
        return False, False
    _, created = await asyncio.to_thread(store.add_article, article, pending_id=pending_id)
    return created, page is None


def ingest_workers(settings: Settings) -> int:
    """Entries of one feed ingested at a time: half the fetcher's connections, so that a feed
    with thousands of new items leaves the other half to the other feeds' refreshes."""
    return max(1, settings.fetch_concurrency // 2)


async def ingest_entries(store: Store, fetcher: Fetcher, pending_ids: Iterable[int], settings: Settings
                         ) -> list[tuple[bool, bool]]:
    """Step 2 over many pending entries, in order, :func:`ingest_workers` at a time. An entry
    that fails unexpectedly (the store gone a moment) is logged and left pending: its lease
    runs out and the next sweep takes it again. Returns ingest_entry's result per entry."""
    ids = list(pending_ids)
    results: list[tuple[bool, bool]] = [(False, False)] * len(ids)
    todo = iter(enumerate(ids))            # shared by the workers; one event loop, no lock needed

    async def worker() -> None:
        for n, pending_id in todo:
            try:
                results[n] = await ingest_entry(store, fetcher, pending_id, settings)
            except Exception as exc:  # noqa: BLE001 - one entry never stops the others
                log.exception("ingest_failed pending_id=%s", pending_id)
                message = f"entry {pending_id}: {type(exc).__name__}: {exc}"
                await asyncio.to_thread(_stage_failed, store, "ingest", message)

    await asyncio.gather(*(worker() for _ in range(min(ingest_workers(settings), len(ids)))))
    return results


# -- 3 and 4: stories ------------------------------------------------------------------------
def embed_pending(store: Store, *, limit: int | None = None) -> int:
    """Step 3, first half: vectors for every article that has none of the current model,
    EMBED_BATCH articles per transaction. Returns how many articles were embedded."""
    done = 0
    ids = store.unembedded_article_ids(limit=limit)
    for i in range(0, len(ids), EMBED_BATCH):
        rows = store.texts_to_embed(ids[i:i + EMBED_BATCH])
        done += store.put_vectors(zip([r[0] for r in rows], embed_articles([(t, x) for _, t, x in rows])))
    return done


def cluster_pending(store: Store, engine: StoryEngine | None = None, *, limit: int | None = None) -> int:
    """Step 3: vectors for new articles (embed_pending), then every article without a story
    joins one (oldest first); touched stories are marked dirty. A failed embedding is
    recorded and clustering goes on (related articles then come from the clusterer alone)."""
    try:
        embed_pending(store, limit=limit)
    except Exception as exc:  # noqa: BLE001 - recorded; the next run retries
        log.exception("embed_failed")
        _stage_failed(store, "embed", f"{type(exc).__name__}: {exc}")
    try:
        return cluster_articles(store, engine=engine, limit=limit)
    except Exception as exc:  # noqa: BLE001 - recorded; the next run retries (the engine rebuilds from the log)
        log.exception("cluster_failed")
        _stage_failed(store, "cluster", f"{type(exc).__name__}: {exc}")
        return 0


def build_insights(store: Store, settings: Settings | None, *, quiet_for: float = 0.0, max_wait: float = 60.0,
                   story_ids: Iterable[int] | None = None) -> SettleReport:
    """Step 4: rebuild the insights of dirty stories whose burst is over (or the given ones)."""
    report = SettleReport()
    ids = list(story_ids) if story_ids is not None else store.dirty_stories(quiet_for=quiet_for, max_wait=max_wait)
    for story_id in ids:
        try:
            report.insights += int(build_story_insights(store, story_id, settings))
        except NotFound:
            continue
        except Exception as exc:  # noqa: BLE001 - one story's failure never stops the others
            report.errors += 1
            log.exception("insights_failed story_id=%s", story_id)
            _stage_failed(store, "insights", f"story {story_id}: {type(exc).__name__}: {exc}")
    return report


def settle(store: Store, settings: Settings | None, *, engine: StoryEngine | None = None, quiet_for: float = 0.0,
           max_wait: float = 60.0, limit: int | None = None) -> SettleReport:
    """Steps 3 and 4 over whatever is waiting: cluster, then rebuild the quiet dirty stories."""
    clustered = cluster_pending(store, engine, limit=limit)
    report = build_insights(store, settings, quiet_for=quiet_for, max_wait=max_wait)
    report.clustered = clustered
    return report


# -- steps 1-4 once, for the CLI ---------------------------------------------------------------
def select_feeds(store: Store, *, all_feeds: bool = False, feed_ids: Iterable[int] | None = None,
                 now: datetime | None = None) -> list[Feed]:
    """The feeds a refresh would visit: the given ids, all, or those due now."""
    if feed_ids is not None:
        wanted = set(feed_ids)
        return [f for f in store.list_feeds() if f.id in wanted]
    return store.list_feeds(due_before=None if all_feeds else (now or utcnow()))


async def refresh_feeds(store: Store, settings: Settings, targets: list[Feed], *,
                        progress: Callable[[RefreshReport], None] | None = None,
                        leftovers: bool = True) -> list[RefreshReport]:
    """Steps 1 and 2 for each target feed, concurrently (after the entries a crash left pending)."""
    async with Fetcher(fetch_policy(settings)) as fetcher:
        async def one(feed: Feed) -> RefreshReport:
            report = await refresh_feed(store, fetcher, feed, settings)
            results = await ingest_entries(store, fetcher, report.pending, settings)
            report.new = sum(created for created, _ in results)
            report.fallbacks = sum(fell_back for created, fell_back in results if created)
            if progress:
                progress(report)
            return report

        if leftovers:
            # A crashed run's entries: an explicit refresh takes them all, and first, so that a
            # feed still listing them finds them stored and none is ingested twice in one run.
            stale = store.lease_stale_pending(entry_lease(settings), limit=None, take_leased=True)
            await ingest_entries(store, fetcher, stale, settings)
        return list(await asyncio.gather(*(one(f) for f in targets)))


def refresh(store: Store, settings: Settings, *, all_feeds: bool = False, feed_ids: Iterable[int] | None = None,
            progress: Callable[[RefreshReport], None] | None = None,
            now: datetime | None = None) -> list[RefreshReport]:
    """Refresh due feeds (or all, or the given ones), then cluster and rebuild insights.
    Never raises for one bad feed. The whole run is one burst: each story is rebuilt once."""
    targets = select_feeds(store, all_feeds=all_feeds, feed_ids=feed_ids, now=now)
    reports = asyncio.run(refresh_feeds(store, settings, targets, progress=progress))
    settle(store, settings)
    return reports
