"""The scaled-out deployment end to end: PostgreSQL, Redis, `newsloom worker` x2 and
`newsloom scheduler` as real processes, fictional feeds over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi.testclient import TestClient

from newsloom.serve import create_app
from newsloom.tasks.insights import INSIGHTS_VERSION
from newsloom.tasks.pipeline import refresh
from newsloom.tasks.queue import QUEUES
from newsloom.tasks.status import pipeline_status

from .conftest_celery import deployment_factory, feed_server_factory, synthetic_rows  # noqa: F401 - fixtures

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]


def test_new_items_reach_their_stories_and_pages_without_a_refresh_command(deployment_factory, feed_server_factory):
    rows = synthetic_rows(20, seed=11, dup_rate=0.0)
    server = feed_server_factory(rows, feeds=2)
    dep = deployment_factory()
    dep.add_feeds(server.feed_urls)
    first = server.publish(12)
    workers = [dep.start("worker", "--concurrency", "2"), dep.start("worker", "--concurrency", "2")]
    dep.start("scheduler")

    dep.wait_for("the first items stored, clustered and given insights", lambda: dep.settled(len(first)), 90)
    assert sorted(dep.article_urls()) == sorted(first)

    later = server.publish(len(rows))              # the feeds gain items ...
    dep.make_feeds_due()                           # ... and their next check comes
    dep.wait_for("the new items stored, clustered and given insights", lambda: dep.settled(len(rows)), 60)
    urls = dep.article_urls()
    assert sorted(urls) == sorted(first + later) and len(set(urls)) == len(urls)

    store = dep.store
    new_stories = {store.find_article(url=u).story_id for u in later}
    with TestClient(create_app(dep.settings, store)) as client:
        for story_id in new_stories:
            story = store.get_story(story_id)
            insights = store.get_story_insights(story_id)
            assert insights is not None and insights.version == INSIGHTS_VERSION
            assert insights.article_count == story.article_count
            assert store.story_hashtags(story_id)
            page = client.get(f"/stories/{story_id}")
            assert page.status_code == 200
            members = [a for a in store.list_articles(story_id=story_id, limit=1000)]
            assert len(members) == story.article_count
            for article in members:
                assert f'href="/articles/{article.id}"' in page.text, (story_id, article.url)

    status = pipeline_status(store, dep.settings)
    alive = Counter(hb["role"] for hb in status["heartbeats"] if hb["alive"])
    assert alive == {"worker": 2, "scheduler": 1}
    assert set(status["queues"]) == set(QUEUES) and all(isinstance(n, int) for n in status["queues"].values())
    assert status["last_errors"] == []

    # both stop cleanly on SIGTERM (a worker's warm shutdown finishes what it holds)
    assert dep.terminate("scheduler1") == 0
    for name in workers:
        assert dep.terminate(name) == 0


def test_clustering_does_not_depend_on_the_number_of_workers(deployment_factory, feed_server_factory):
    """The documented guarantee: given the same stored articles, the partition into stories
    is the same however many workers fetched and stored them, in whatever order, and
    whichever worker clusters them: one cluster consumer at a time, oldest article first.
    Each run ingests with N workers consuming only the feeds and entries queues, then N
    workers consuming every queue cluster what was stored; the one-process pipeline
    (`newsloom refresh`) is the reference."""
    rows = synthetic_rows(20, seed=5, dup_rate=0.1)
    server = feed_server_factory(rows, feeds=3)
    server.publish(len(rows))

    partitions = {}
    for n in (1, 2):
        dep = deployment_factory()
        dep.add_feeds(server.feed_urls)
        ingest = [dep.start("worker", "-c", "2", "-Q", "feeds,entries") for _ in range(n)]
        dep.start("scheduler")
        dep.wait_for(f"{n} worker(s): every entry stored",
                     lambda: dep.count("articles") == len(rows) and dep.count("pending_entries") == 0, 60)
        assert dep.count("unclustered_articles") == len(rows)      # nobody consumed the cluster queue
        for name in ingest:
            assert dep.terminate(name) == 0
        for _ in range(n):
            dep.start("worker", "-c", "2")
        dep.wait_for(f"{n} worker(s): settled", lambda: dep.settled(len(rows)), 60)
        assert dep.integrity_problems() == []
        partitions[n] = dep.partition()

    reference = deployment_factory()
    reference.add_feeds(server.feed_urls)
    refresh(reference.store, reference.settings, all_feeds=True)
    partitions[0] = reference.partition()

    assert partitions[1] == partitions[2] == partitions[0]
    assert 1 < len(partitions[0]) < len(rows)                      # a real partition, not a trivial one
