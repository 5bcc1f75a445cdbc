"""Stories end to end: the demo newsroom through refresh -> store -> cluster -> web, on both stores."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest
from fastapi.testclient import TestClient

from newsloom.demo import load_gold, load_gold_articles
from newsloom.serve import create_app
from newsloom.store import open_store
from newsloom.tasks.jobs import import_jsonl, import_opml, fetch_bytes
from newsloom.tasks.pipeline import refresh
from newsloom.tasks.stories import StoryEngine, cluster_articles


def _gold(server):
    return {g["url"]: g for g in load_gold(server.base_url, server.now)}


def _by_label(store, gold):
    """gold story label -> set of store story ids its articles landed in."""
    ids = {a.url: a for a in store.list_articles(limit=1000)}
    out = defaultdict(set)
    for url, g in gold.items():
        out[g["story"]].add(ids[url].story_id)
    return out, ids


@pytest.fixture
def refreshed(store, settings, demo_server):
    import_opml(store, fetch_bytes(settings, demo_server.url("/opml/demo.opml")))
    refresh(store, settings, all_feeds=True)
    return store


def test_every_demo_story_is_one_story_with_all_its_publishers(refreshed, demo_server):
    store, gold = refreshed, _gold(demo_server)
    by_label, articles = _by_label(store, gold)
    assert all(len(ids) == 1 for ids in by_label.values()), {k: v for k, v in by_label.items() if len(v) > 1}
    story_ids = [next(iter(ids)) for ids in by_label.values()]
    assert len(set(story_ids)) == len(by_label), "two gold stories were merged"
    for label, ids in by_label.items():
        story = store.get_story(next(iter(ids)))
        members = [g for g in gold.values() if g["story"] == label]
        assert story.article_count == len(members)
        assert story.source_count == len({g["publisher"] for g in members}), label
        assert story.merged_into is None


def test_similar_but_different_events_stay_apart(refreshed, demo_server):
    gold = _gold(demo_server)
    by_label, _ = _by_label(refreshed, gold)
    assert by_label["kharvik-flood"] != by_label["lowmarsh-flood"]
    assert by_label["brannock-trial"] != by_label["ashcombe-water-ruling"]
    counts = defaultdict(int)
    for g in gold.values():
        counts[g["story"]] += 1
    singletons = [label for label, n in counts.items() if n == 1]
    assert len(singletons) >= 4
    for label in singletons:
        assert refreshed.get_story(next(iter(by_label[label]))).article_count == 1, label


def test_wire_copies_are_marked_duplicates_of_the_first_copy(refreshed, demo_server):
    gold = _gold(demo_server)
    _, articles = _by_label(refreshed, gold)
    for url, g in gold.items():
        expected = articles[g["duplicate_of"]].id if g["duplicate_of"] else None
        assert articles[url].duplicate_of == expected, url
    assert sum(1 for g in gold.values() if g["duplicate_of"]) >= 3


def test_rerun_changes_nothing(refreshed, settings):
    before = {a.id: (a.story_id, a.duplicate_of) for a in refreshed.list_articles(limit=1000)}
    refresh(refreshed, settings, all_feeds=True)
    assert cluster_articles(refreshed) == 0
    assert {a.id: (a.story_id, a.duplicate_of) for a in refreshed.list_articles(limit=1000)} == before


def test_two_workers_clustering_at_once_agree_with_one(store, store_url, demo_server, tmp_path):
    rows = load_gold_articles(demo_server.base_url, demo_server.now)
    lines = [__import__("json").dumps(r) for r in rows]
    import_jsonl(store, lines, cluster=False)      # stored, not yet clustered: two workers race over them
    ids = store.unclustered_article_ids()
    assert len(ids) == len(rows)
    workers = [open_store(store_url) for _ in range(2)]
    errors = []

    def run(s, order):
        try:
            cluster_articles(s, order, engine=StoryEngine(s))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(workers[0], ids)),
               threading.Thread(target=run, args=(workers[1], ids))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    gold = {r["url"]: r["story"] for r in rows}
    by_label = defaultdict(set)
    for a in store.list_articles(limit=1000):
        assert a.story_id is not None
        by_label[gold[a.url]].add(a.story_id)
    assert all(len(v) == 1 for v in by_label.values())
    assert len({next(iter(v)) for v in by_label.values()}) == len(by_label)
    assert store.count_stories() == len(by_label)
    for w in workers:
        w.close()


def test_story_page_and_related_articles(refreshed, settings, demo_server):
    gold = _gold(demo_server)
    by_label, articles = _by_label(refreshed, gold)
    story_id = next(iter(by_label["prisoner-exchange"]))
    with TestClient(create_app(settings, refreshed)) as client:
        home = client.get("/").text
        assert f'href="/stories/{story_id}"' in home and "6 publishers" in home
        page = client.get(f"/stories/{story_id}").text
        members = [g for g in gold.values() if g["story"] == "prisoner-exchange"]
        for g in members:
            if not g["duplicate_of"]:
                assert g["title"] in page
        assert page.count('class="publisher"') >= len({g["publisher"] for g in members if not g["duplicate_of"]})
        assert "ago</time>" in page and "also published by" in page
        some = articles[next(g["url"] for g in members if not g["duplicate_of"])]
        art = client.get(f"/articles/{some.id}").text
        related = art.split('id="related-articles"', 1)[1]
        others = [g for g in members if g["url"] != some.url and not g["duplicate_of"]]
        assert all(g["title"] in related for g in others)
        assert related.count('class="publisher"') >= len(others) and "ago</time>" in related
        api = client.get(f"/api/v1/articles/{some.id}/related").json()
        assert api[0]["same_story"] is True and api[0]["article"]["source_name"]
        detail = client.get(f"/api/v1/stories/{story_id}").json()
        assert detail["source_count"] == 6 and detail["duplicates"]
        stories = client.get("/api/v1/stories", params={"min_sources": 2}).json()
        assert story_id in [s["id"] for s in stories["items"]]
