"""A merge decided by the engine lands in the store and in the log, on both backends."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi.testclient import TestClient

from newsloom.demo import load_gold_articles
from newsloom.models import Article
from newsloom.serve import create_app
from newsloom.tasks.stories import StoryEngine

NOW = datetime(2026, 3, 12, 18, tzinfo=timezone.utc)


def _report():
    return next(r for r in load_gold_articles("http://demo.test", NOW) if r["story"] == "kharvik-flood")


def test_bridging_article_merges_two_stories(store, settings):
    row = _report()
    when = datetime.fromisoformat(row["published"])
    ids = []
    for n, name in enumerate(["Harbor Gazette", "Valley Courier", "Lantern Daily"]):
        src = store.upsert_source(name)
        art, _ = store.add_article(Article(url=f"https://{n}.example/flood", title=row["title"], text=row["text"],
                                           source_id=src.id, published_at=when))
        ids.append(art.id)
    engine = StoryEngine(store, dedupe_threshold=None)     # copies, yet not marked duplicates here
    assert engine.cluster(ids[0])
    # Another worker kept the second copy apart (its decision is in the log, not in our memory).
    with store.cluster_section() as section:
        apart = section.new_story(row["title"], when)
        section.assign(ids[1], apart, None)
        section.refresh_story(apart)
    first = store.get_article(ids[0]).story_id
    assert apart != first
    assert engine.cluster(ids[2])                            # replays the log, then bridges both
    stories = {store.get_article(i).story_id for i in ids}
    assert len(stories) == 1
    (kept,) = stories
    absorbed = ({first, apart} - {kept}).pop()
    assert store.get_story(absorbed).merged_into == kept
    merged = store.get_story(kept)
    assert (merged.article_count, merged.source_count) == (3, 3)
    assert store.count_stories() == 1
    with TestClient(create_app(settings, store), follow_redirects=False) as client:
        r = client.get(f"/stories/{absorbed}")
        assert r.status_code == 301 and r.headers["location"] == f"/stories/{kept}"
    fresh = StoryEngine(store, dedupe_threshold=None)       # a new worker agrees after replaying the log
    with store.cluster_section() as section:
        fresh._replay(section)
    assert all(fresh.clusterer.story_of(i) == kept for i in ids)
