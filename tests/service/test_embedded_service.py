"""`newsloom serve` as a real process keeps itself up to date, and survives kill -9.

The embedded deployment: SQLite in a private NEWSLOOM_HOME, the scheduler inside `serve`,
fictional publishers on a local HTTP server. No CLI command runs while the service lives;
the test only adds items to the feeds and reads the pages and the database.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feedserver import TOPICS, FeedServer, ServeProcess, service_env, story_article, wait_for  # noqa: E402

from newsloom.models import Feed  # noqa: E402
from newsloom.store import open_store  # noqa: E402
from newsloom.tasks.insights import INSIGHTS_VERSION  # noqa: E402

# a healthy feed is due again 0.6 s after a check; the scheduler looks every 0.3 s
LIVELY = {"refresh_interval": 0.01, "scheduler_tick": 0.3, "insights_debounce": 0.3, "insights_max_wait": 5,
          "fetch_timeout": 5}
MAX_TICKS = 150         # ticks allowed from "the feed gained an item" to "its story page shows it"


@pytest.fixture
def feeds():
    with FeedServer() as srv:
        yield srv


def scheduler_ticks(store) -> int:
    beats = [b for b in store.heartbeats() if b.role == "embedded"]
    return max((b.info.get("ticks", 0) for b in beats), default=0)


def settled(store) -> bool:
    """Nothing left for the pipeline: no pending entry, unclustered article, dirty story or
    story without current insights."""
    return (store.count_pending_entries() == 0 and not store.unclustered_article_ids(limit=1)
            and store.count_dirty_stories() == 0 and store.stale_insight_story_ids(INSIGHTS_VERSION) == [])


def story_of(store, url: str) -> int | None:
    article = store.find_article(url=url)
    return article.story_id if article else None


def test_new_items_and_their_story_reach_the_story_page(tmp_path, feeds):
    env = service_env(tmp_path, **LIVELY)
    store = open_store(f"sqlite:///{tmp_path / 'newsloom.db'}")
    feeds.add_feed("tidewater", "Tidewater Post")
    feeds.add_feed("fenland", "Fenland Herald")
    [bridge] = feeds.publish("tidewater", story_article("bridge", 0))
    feeds.publish("fenland", story_article("orchard", 0))
    for name in ("tidewater", "fenland"):
        store.add_feed(Feed(url=feeds.feed_url(name)))

    with ServeProcess(env) as serve:
        # the service subscribes, ingests, clusters and builds insights by itself
        story_id = wait_for("the first story", lambda: story_of(store, bridge), alive=serve.check_alive)
        wait_for("the first insights", lambda: settled(store) and store.get_story_insights(story_id),
                 alive=serve.check_alive)
        page = serve.get(f"/stories/{story_id}")
        assert page.status_code == 200
        assert "Corvel Bridge shut after cracks found in Dunmarrow" in page.text
        assert 'class="hashtags"' in page.text and "Brief from 1 publisher" in page.text
        assert "Dunmarrow traffic diverted" not in page.text

        # the second publisher's feed gains an item on the same story, and one on a new story
        ticks = scheduler_ticks(store)
        follow_up, lighthouse = story_article("bridge", 1), story_article("lighthouse", 0)
        [follow_url, light_url] = feeds.publish("fenland", follow_up, lighthouse)

        def story_page_updated() -> str | None:
            sid = story_of(store, follow_url)
            if sid is None or not settled(store):
                return None
            text = serve.get(f"/stories/{sid}").text
            return text if follow_up.title in text and "Brief from 2 publishers" in text else None

        text = wait_for("the follow-up on the story page, with rebuilt insights", story_page_updated, timeout=45,
                        every=0.2, alive=serve.check_alive)
        elapsed = scheduler_ticks(store) - ticks
        assert elapsed <= MAX_TICKS, f"took {elapsed} scheduler ticks"
        assert "Corvel Bridge shut after cracks found in Dunmarrow" in text     # the same story, grown
        assert story_of(store, follow_url) == story_of(store, bridge)
        assert 'class="hashtags"' in text and "Tidewater Post" in text and "Fenland Herald" in text

        light_story = story_of(store, light_url)
        assert light_story not in (None, story_id)
        light = serve.get(f"/stories/{light_story}").text
        assert lighthouse.title in light and "Brief from 1 publisher" in light
        assert store.get_story_insights(light_story).article_count == 1
    store.close()


def test_kill_9_mid_ingest_then_restart_stores_everything_once(tmp_path, feeds):
    env = service_env(tmp_path, **LIVELY)
    store = open_store(f"sqlite:///{tmp_path / 'newsloom.db'}")
    # 30 items whose pages stop answering after the 8th: the kill lands mid-ingest
    feeds.add_feed("tidewater", "Tidewater Post", serve_pages=8)
    topics = list(TOPICS)
    expected = feeds.publish("tidewater", *(story_article(topics[n % len(topics)], n) for n in range(30)))
    # a feed whose answer is held back: the kill lands while its refresh holds the feed's lease
    feeds.add_feed("fenland", "Fenland Herald", hold_feed=True)
    expected += feeds.publish("fenland", *(story_article(topics[n % len(topics)], 100 + n) for n in range(4)))
    for name in ("tidewater", "fenland"):
        store.add_feed(Feed(url=feeds.feed_url(name)))

    serve = ServeProcess(env).start()
    try:
        wait_for("some articles stored", lambda: store.count_articles() >= 8, alive=serve.check_alive)
        assert feeds.feed_hits("fenland") == 1
        serve.kill()
    finally:
        serve.stop()
    before = store.count_articles()
    assert 8 <= before < len(expected) and store.count_pending_entries() > 0
    feeds.release("tidewater")
    feeds.release("fenland")

    with ServeProcess(env) as again:
        wait_for("every article stored and settled",
                 lambda: store.count_articles() == len(expected) and settled(store), timeout=60,
                 every=0.2, alive=again.check_alive)
        with store.read() as conn:
            counts = dict(conn.execute(sa.text("SELECT url, COUNT(*) FROM articles GROUP BY url")).all())
        assert sorted(counts) == sorted(expected)
        assert set(counts.values()) == {1}, "an article was stored twice"
        assert store.count_pending_entries() == 0
        assert store.stale_insight_story_ids(INSIGHTS_VERSION) == []
        story_ids = {store.find_article(url=u).story_id for u in expected}
        assert None not in story_ids
        for sid in story_ids:
            assert store.get_story_insights(sid) is not None
        assert all(f.last_success_at and not f.last_error for f in store.list_feeds())
    store.close()
