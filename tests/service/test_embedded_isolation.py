"""The embedded scheduler keeps every feed on its schedule although others misbehave.

Four publishers, each on its own loopback address (its own host to the fetcher): one that
hangs longer than the fetch timeout, one that answers 500, one whose feed carries 10,000
items, and a normal one. The scheduler runs in-process over a real SQLite store and real
HTTP; nothing is mocked.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feedserver import FeedServer, story_article, wait_for  # noqa: E402

from newsloom.models import Feed  # noqa: E402
from newsloom.settings import load_settings  # noqa: E402
from newsloom.store import open_store  # noqa: E402
from newsloom.tasks.scheduler import EmbeddedScheduler  # noqa: E402

HUGE = 10_000
INTERVAL_MINUTES = 0.01             # a healthy feed is due again 0.6 s after a check


@pytest.fixture
def servers():
    with FeedServer("127.0.0.1") as normal, FeedServer("127.0.0.2") as hanging, \
            FeedServer("127.0.0.3") as failing, FeedServer("127.0.0.4", page_delay=0.01) as huge:
        yield normal, hanging, failing, huge


def test_misbehaving_feeds_delay_nobody(tmp_path, servers):
    normal, hanging, failing, huge = servers
    settings = load_settings({}, home=str(tmp_path), env="test", secret_key="test-secret-not-a-placeholder",
                             fetch_allow_networks=["127.0.0.0/8"], fetch_timeout=8.0,
                             refresh_interval=INTERVAL_MINUTES, scheduler_tick=0.3, insights_debounce=0.2)
    store = open_store(settings.db_url)
    # the troublemakers are older, so they are due first and start first
    huge_url = huge.add_feed("parish", "Wendle Parish Notices", kind="huge", items=HUGE)
    hang_url = hanging.add_feed("stall", "Stalled Courier", kind="hang", hang_seconds=120)
    fail_url = failing.add_feed("broken", "Broken Bugle", kind="status", status=500)
    normal_url = normal.add_feed("tidewater", "Tidewater Post")
    first = normal.publish("tidewater", story_article("bridge", 0), story_article("orchard", 0),
                           story_article("ferry", 0))
    ids = {}
    for name, url in (("huge", huge_url), ("hang", hang_url), ("fail", fail_url), ("normal", normal_url)):
        ids[name] = store.add_feed(Feed(url=url))[0].id

    def stored_urls() -> set[str]:
        return {a.url for a in store.list_articles(limit=1000) if a.feed_id == ids["normal"]}

    def huge_ingesting() -> bool:
        """The 10,000 items are recorded as pending and their pages are being fetched."""
        return store.get_feed(ids["huge"]).last_success_at is not None and store.count_pending_entries() > 0

    def refreshed_with(urls: list[str]):
        checked = store.get_feed(ids["normal"]).last_success_at
        return lambda: set(urls) <= stored_urls() and store.get_feed(ids["normal"]).last_success_at > checked

    with EmbeddedScheduler(store, settings):
        # 1. the normal feed is refreshed and its articles stored while the others are stuck
        wait_for("the normal feed's articles", lambda: set(first) <= stored_urls(), timeout=30)
        fed = store.get_feed(ids["normal"])
        assert fed.last_success_at is not None and fed.last_error is None
        assert store.get_feed(ids["hang"]).last_fetched_at is None, "the hanging feed has not answered yet"
        assert store.feed_article_counts().get(ids["huge"], 0) < HUGE

        # 2. ... and again on its next due time, with what it published meanwhile
        later = normal.publish("tidewater", story_article("library", 0))
        wait_for("the normal feed's next refresh", refreshed_with(later), timeout=30)
        fed = store.get_feed(ids["normal"])
        assert fed.next_check_at - fed.last_success_at >= timedelta(minutes=INTERVAL_MINUTES)

        # 3. ... and still while the 10,000 pages are being fetched
        wait_for("the huge feed's items to be recorded", huge_ingesting, timeout=60, every=0.2)
        for topic in ("chess", "lighthouse"):
            later = normal.publish("tidewater", story_article(topic, 0))
            wait_for(f"a refresh of the normal feed during the huge ingest ({topic})", refreshed_with(later),
                     timeout=30)
        assert store.feed_article_counts().get(ids["huge"], 0) < HUGE and store.count_pending_entries() > 0
        assert huge.feed_hits("parish") == 1, "a feed is not refreshed again while its entries are ingested"

        # 4. the failing feed recorded its error and backs off
        bad = store.get_feed(ids["fail"])
        assert bad.error_count >= 1 and bad.last_status == 500 and "HTTP 500" in bad.last_error
        assert bad.last_success_at is None
        backoff = timedelta(minutes=INTERVAL_MINUTES) * 2 ** (bad.error_count - 1)
        assert bad.next_check_at - bad.last_fetched_at >= backoff - timedelta(milliseconds=1)
        assert failing.feed_hits("broken") <= bad.error_count + 1
        errors = {e.stage: e for e in store.stage_errors()}
        assert "fetch" in errors and errors["fetch"].count >= bad.error_count

        # 5. the hanging feed timed out and is recorded, without having held anyone up
        stalled = wait_for("the hanging feed's timeout",
                           lambda: (f := store.get_feed(ids["hang"])).error_count and f, timeout=30)
        assert "timed out" in stalled.last_error and stalled.next_check_at > stalled.last_fetched_at
    store.close()
