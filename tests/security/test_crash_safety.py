"""Crash safety: the process that ingests is killed with SIGKILL ten times in a row, then runs normally.

What is killed, each time at a random moment of its work (a seeded ``random.Random`` picks
how many of the round's articles to let it store, then a delay): while it saves the feeds,
fetches pages and stores articles, clusters them or builds insights:

* ``newsloom refresh --all`` (the CLI), on SQLite and on PostgreSQL;
* ``newsloom serve`` with its embedded scheduler, on SQLite;
* a Celery ``newsloom worker`` (its whole process group) on PostgreSQL and Redis, beside a
  ``newsloom scheduler`` that lives on.

Every round publishes 3 to 6 new fictional items (tests/service/conftest_celery.py) on two
feeds served over HTTP on 127.0.0.1, pages slowed so that a round takes long enough to be
interrupted. After the tenth kill the process runs normally (the refresh to its end, serve and
the worker until the pipeline is idle), and ``crash_problems`` (crash_helpers.py) checks:
every published URL stored exactly once, nothing pending, unclustered or dirty, every live
story with current insights and the article count it really has, no orphan hashtag, insight,
related or log row, and the database's own checks (SQLite ``integrity_check``,
``foreign_key_check`` and the FTS5 index; PostgreSQL ``amcheck`` when it can be had).

The last test kills refreshes while every page is held back: an entry that only waited its
turn in a killed run must not be taken for a page that crashes the process.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from crash_helpers import crash_problems, feed_hits, kill_point, landed, settled  # noqa: E402
from conftest_celery import deployment_factory, feed_server_factory, synthetic_rows  # noqa: E402,F401 - fixtures
from feedserver import TOPICS, FeedServer, ServeProcess, service_env, story_article, wait_for  # noqa: E402

from newsloom.models import Feed  # noqa: E402
from newsloom.store import open_store  # noqa: E402

KILLS = 10
ITEMS = (3, 6)                 # new items per round, inclusive
PAGE_DELAY = 0.4               # seconds per article page: a round of pages outlasts the test noticing it
MISSES = 5                     # refreshes allowed to end before their kill (those do not count)
REFRESH = [sys.executable, "-m", "newsloom.cli", "refresh", "--all"]


def _rows():
    return synthetic_rows((KILLS + MISSES) * ITEMS[1], seed=41)


def _report(kills: list[str]) -> str:
    return "kills landed in: " + ", ".join(kills)


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_refresh_killed_ten_times_then_rerun_stores_everything_once(backend, request, tmp_path,
                                                                     feed_server_factory):
    rng = random.Random(f"refresh-{backend}")
    server = feed_server_factory(_rows(), feeds=2, page_delay=PAGE_DELAY)
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'newsloom.db'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")("nl_crash")
    store = open_store(url)                         # migrates, as `newsloom init` does
    env = service_env(tmp_path, database_url=url, fetch_timeout=5)
    for feed_url in server.feed_urls:
        store.add_feed(Feed(url=feed_url))
    log = tmp_path / "refresh.log"

    kills: list[str] = []
    attempts = 0
    while len(kills) < KILLS:
        attempts += 1
        assert attempts <= KILLS + MISSES, f"too many refreshes ended before their kill; {_report(kills)}"
        server.publish(rng.randint(*ITEMS))
        stored, hits = store.count_articles(), feed_hits(server)
        # this run's new entries and those the last kill left pending
        target, delay = kill_point(rng, len(server.published_urls()) - stored, page_delay=PAGE_DELAY, settle=0.3)
        with open(log, "ab") as out:
            proc = subprocess.Popen(REFRESH, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(f"kill {len(kills) + 1}: the refresh storing {target} articles",
                     lambda: (feed_hits(server) > hits and store.count_articles() >= stored + target)
                     or proc.poll() is not None, timeout=60, every=0.01)
            time.sleep(delay)
            if proc.poll() is not None:              # it finished first: a normal run, not a kill
                assert proc.returncode == 0, _tail(log)
                continue
            proc.kill()
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
        kills.append(landed(store, len(server.published_urls())))

    # the normal run after the crashes: it takes over what the killed ones left
    done = subprocess.run(REFRESH, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ", 0 failed" in done.stdout, done.stdout
    # a kill that leaves entries half-ingested is what this test is about
    assert "ingest" in kills, _report(kills)
    assert crash_problems(store, server.published_urls()) == [], _report(kills)
    store.close()


@pytest.mark.timeout(240)
def test_serve_killed_ten_times_then_restarted_stores_everything_once(tmp_path, feed_server_factory):
    rng = random.Random("serve")
    server = feed_server_factory(_rows(), feeds=2, page_delay=PAGE_DELAY)
    store = open_store(f"sqlite:///{tmp_path / 'newsloom.db'}")
    debounce = 0.3
    # feeds due again 0.6 s after each check, the scheduler looking every 0.3 s
    env = service_env(tmp_path, refresh_interval=0.01, scheduler_tick=0.3, insights_debounce=debounce,
                      insights_max_wait=5, fetch_timeout=5)
    for feed_url in server.feed_urls:
        store.add_feed(Feed(url=feed_url))

    kills: list[str] = []
    for n in range(KILLS):
        server.publish(rng.randint(*ITEMS))
        stored, hits = store.count_articles(), feed_hits(server)
        # insights wait for `debounce` seconds without change, then take a moment to build
        target, delay = kill_point(rng, len(server.published_urls()) - stored, page_delay=PAGE_DELAY,
                                   settle=debounce + 0.4)
        serve = ServeProcess(env).start(wait=False)
        try:
            wait_for(f"kill {n + 1}: serve storing {target} articles",
                     lambda: feed_hits(server) > hits and store.count_articles() >= stored + target,
                     timeout=60, every=0.01, alive=serve.check_alive)
            time.sleep(delay)
            serve.check_alive()
            serve.kill()
        finally:
            serve.stop()
        kills.append(landed(store, len(server.published_urls())))

    published = server.published_urls()
    with ServeProcess(env) as serve:                 # the normal restart: it answers, then catches up
        wait_for("every article stored and every story settled", lambda: settled(store, len(published)),
                 timeout=90, every=0.2, alive=serve.check_alive)
        story_ids = {store.find_article(url=url).story_id for url in published}
        for story_id in sorted(story_ids):
            assert serve.get(f"/stories/{story_id}").status_code == 200, story_id
    assert "ingest" in kills, _report(kills)
    assert crash_problems(store, published) == [], _report(kills)
    store.close()


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_worker_killed_ten_times_then_restarted_stores_everything_once(deployment_factory, feed_server_factory):
    rng = random.Random("worker")
    server = feed_server_factory(_rows(), feeds=2, page_delay=PAGE_DELAY)
    dep = deployment_factory()
    dep.add_feeds(server.feed_urls)
    worker = dep.start("worker", "-c", "2")
    dep.start("scheduler")

    kills: list[str] = []
    for n in range(KILLS):
        server.publish(rng.randint(*ITEMS))
        stored, hits = dep.count("articles"), feed_hits(server)
        # after the last article: clustering 0.5 s later, then insights once the story is quiet
        target, delay = kill_point(rng, len(server.published_urls()) - stored, page_delay=PAGE_DELAY, settle=1.5)
        # a refresh killed before it saved its feed holds the feed's lease: this waits for the
        # restarted worker to take the refresh over (the broker's redelivery) and finish it
        dep.make_feeds_due()
        dep.wait_for(f"kill {n + 1}: the worker storing {target} articles",
                     lambda: feed_hits(server) > hits and dep.count("articles") >= stored + target, 60, every=0.01)
        time.sleep(delay)
        dep.kill(worker)                             # kill -9 of its process group, pool included
        kills.append(landed(dep.store, len(server.published_urls())))
        worker = dep.start("worker", "-c", "2")

    published = server.published_urls()
    dep.wait_for("every article stored and every story settled", lambda: settled(dep.store, len(published)), 120,
                 every=0.2)
    assert dep.terminate(worker) == 0                # and it stops cleanly: nothing left in hand
    assert "ingest" in kills, _report(kills)
    assert crash_problems(dep.store, published) == [], _report(kills)


@pytest.mark.timeout(120)
def test_refresh_killed_while_entries_wait_keeps_their_pages(tmp_path):
    """Four refreshes killed while every page is held back (one page at a time per host, so
    each run requests one and the other claimed entries wait their turn). After them, an
    entry whose page was never requested is stored from its page, not from the feed's
    summary: waiting in a killed run is not a crash on that page."""
    topics = list(TOPICS)
    articles = [story_article(topics[n % len(topics)], n) for n in range(8)]
    with FeedServer() as feeds:
        feeds.add_feed("tidewater", "Tidewater Post", serve_pages=0)        # every page waits for release()
        urls = feeds.publish("tidewater", *articles)
        store = open_store(f"sqlite:///{tmp_path / 'newsloom.db'}")
        store.add_feed(Feed(url=feeds.feed_url("tidewater")))
        env = service_env(tmp_path, fetch_timeout=30, fetch_per_host=1)
        pages = [urlsplit(u).path for u in urls]
        for n in range(4):
            requested = sum(feeds.hits[p] for p in pages)
            proc = subprocess.Popen(REFRESH, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for(f"run {n + 1}: a page requested", lambda: sum(feeds.hits[p] for p in pages) > requested,
                         timeout=60, every=0.02)
                time.sleep(0.5)        # the run's other ingest workers claim their entries meanwhile
            finally:
                proc.kill()
                proc.wait(10)
        waited = [a for a, p in zip(articles, pages) if not feeds.hits[p]]
        assert waited, "every page was requested: nothing here waited its turn"
        feeds.release("tidewater")
        done = subprocess.run(REFRESH, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr

        from_summary = []
        for article, url in zip(articles, urls):
            if article in waited:
                stored = store.find_article(url=url)
                # the feed's summary is the first paragraph; the page has them all
                if stored is None or article.paragraphs[-1] not in stored.text:
                    from_summary.append(article.slug)
        store.close()
    assert from_summary == [], f"stored from the feed's summary after waiting in killed runs: {from_summary}"



@pytest.mark.timeout(60)
def test_an_entry_that_crashed_extraction_too_often_is_stored_without_its_page(tmp_path):
    """The other side of the rule above: attempts counted at extraction still stop a page that
    keeps taking the process down. An entry left pending after MAX_ENTRY_ATTEMPTS - 1 counted
    attempts (runs that died extracting it) is not fetched again: the feed's own content
    stands in, and it is stored once."""
    import asyncio

    from newsloom.ingest.http import Fetcher
    from newsloom.settings import load_settings
    from newsloom.store.schema import pending_entries
    from newsloom.tasks.pipeline import MAX_ENTRY_ATTEMPTS, fetch_policy, refresh, refresh_feed

    topics = list(TOPICS)
    articles = [story_article(topics[n % len(topics)], n) for n in range(3)]
    with FeedServer() as feeds:
        feeds.add_feed("tidewater", "Tidewater Post")
        urls = feeds.publish("tidewater", *articles)
        pages = [urlsplit(u).path for u in urls]
        settings = load_settings({}, home=str(tmp_path), env="test", secret_key="crash-test-secret-0123456789",
                                 fetch_allow_networks=["127.0.0.0/8"])
        store = open_store(settings.db_url)
        feed, _ = store.add_feed(Feed(url=feeds.feed_url("tidewater")))

        async def record_entries():            # step 1 only: what a run that died after it leaves
            async with Fetcher(fetch_policy(settings)) as fetcher:
                return await refresh_feed(store, fetcher, feed, settings)

        assert len(asyncio.run(record_entries()).pending) == len(articles)
        with store.write() as conn:
            conn.execute(pending_entries.update().values(attempts=MAX_ENTRY_ATTEMPTS - 1))
        refresh(store, settings, all_feeds=True)
        stored = [store.find_article(url=u) for u in urls]
        left = store.count_pending_entries()
        store.close()
        page_requests = sum(feeds.hits[p] for p in pages)
    assert page_requests == 0, dict(feeds.hits)
    assert all(stored) and left == 0
    # the feed's summary (the first paragraph) stood in for the page (which has them all)
    assert all(a.paragraphs[0] in s.text and a.paragraphs[-1] not in s.text for a, s in zip(articles, stored))
