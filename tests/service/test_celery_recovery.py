"""kill -9 of workers mid-batch loses nothing and duplicates nothing (acks late, visibility
timeout, leases, idempotent steps), on real processes, PostgreSQL and Redis."""

from __future__ import annotations

import pytest

from newsloom.tasks.insights import INSIGHTS_VERSION

from .conftest_celery import deployment_factory, feed_server_factory, synthetic_rows  # noqa: F401 - fixtures

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]

ROUNDS = 5
PER_ROUND = 8


def test_workers_killed_mid_batch_lose_and_duplicate_nothing(deployment_factory, feed_server_factory):
    rows = synthetic_rows(PER_ROUND * (ROUNDS + 1), seed=23)
    server = feed_server_factory(rows, feeds=2, page_delay=0.3)    # slow pages: a batch takes a while
    dep = deployment_factory()
    dep.add_feeds(server.feed_urls)
    workers = [dep.start("worker", "-c", "2"), dep.start("worker", "-c", "2")]
    dep.start("scheduler")
    dep.wait_for("both workers up", lambda: all(dep.beating(w, "worker") for w in workers), 60)

    at_kill = []
    for n in range(ROUNDS):
        before = dep.count("articles")
        server.publish(PER_ROUND)
        dep.make_feeds_due()
        dep.wait_for(f"round {n}: a batch under way",
                     lambda: dep.count("articles") > before and dep.count("pending_entries") > 0, 60, every=0.02)
        at_kill.append((dep.count("articles") - before, dep.count("pending_entries")))
        victim = n % 2
        dep.kill(workers[victim])                                   # kill -9 of its process group
        workers[victim] = dep.start("worker", "-c", "2")
        dep.wait_for(f"round {n}: the restarted worker up", lambda: dep.beating(workers[victim], "worker"), 60)

    # the last batch, with the restarted workers only
    server.publish(PER_ROUND)
    dep.make_feeds_due()
    dep.wait_for("everything stored once, clustered and given insights", lambda: dep.settled(len(rows)), 90)

    assert len(at_kill) == ROUNDS and all(stored > 0 and pending > 0 for stored, pending in at_kill), at_kill
    urls = dep.article_urls()
    assert len(urls) == len(set(urls)) == len(rows)
    assert set(urls) == set(server.published_urls())
    assert dep.count("pending_entries") == 0
    assert dep.count("unclustered_articles") == 0
    assert dep.count("dirty") == 0
    assert dep.store.stale_insight_story_ids(INSIGHTS_VERSION) == []
    assert dep.integrity_problems() == []
