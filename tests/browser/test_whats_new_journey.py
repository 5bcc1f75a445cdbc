"""A reader's return to a story they follow, in a real browser: sign up, follow the story,
read it; new articles arrive through the pipeline (a local feed server, ingest, clustering,
insights); the next visit marks exactly those as new and the "what's new" paragraph cites
them. All feeds and pages are fictional (tests/service/feedserver.py)."""

from __future__ import annotations

import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from feedserver import FeedServer, story_article  # noqa: E402

PASSWORD = "a returning reader"


@pytest.fixture(scope="module")
def feed_site(tmp_path_factory, live_server):
    """(base_url, store, settings, feed server) of a live newsloom over three fictional feeds."""
    from newsloom.models import Feed
    from newsloom.serve import create_app
    from newsloom.settings import load_settings
    from newsloom.store import open_store
    from newsloom.tasks.pipeline import refresh

    home = tmp_path_factory.mktemp("whats-new-home")
    port = live_server.free_port()
    settings = load_settings({}, home=str(home), env="test", secret_key="browser-test-secret-key-0123456789",
                             fetch_allow_networks=["127.0.0.1/32"], base_url=f"http://127.0.0.1:{port}",
                             argon2_time_cost=1, argon2_memory_cost=8192)
    store = open_store(settings.db_url)
    with FeedServer() as srv:
        for name, title in (("tide", "Tidewater Post"), ("vale", "Seddon Vale Echo"), ("ash", "Ashlow Courier")):
            store.add_feed(Feed(url=srv.add_feed(name, title)))
        srv.publish("tide", story_article("bridge", 0), story_article("orchard", 0))
        srv.publish("vale", story_article("bridge", 1))
        refresh(store, settings, all_feeds=True)
        with live_server.running(create_app(settings, store), port) as base_url:
            yield base_url, store, settings, srv
    store.close()


def _pipeline(store, settings) -> None:
    """One refresh of every feed (ingest, cluster, insights), off the thread where
    Playwright's event loop runs."""
    from newsloom.tasks.pipeline import refresh

    with ThreadPoolExecutor(1) as pool:
        pool.submit(refresh, store, settings, all_feeds=True).result(timeout=60)


def _new_ids(page) -> set[int]:
    hrefs = page.eval_on_selector_all(
        "section.coverage .new-mark",
        "marks => marks.map(m => { let a = m.previousElementSibling; return a ? a.getAttribute('href') : ''; })")
    return {int(h.rsplit("/", 1)[1]) for h in hrefs}


def test_the_next_visit_shows_what_arrived(feed_site, page, screenshots):
    base, store, settings, srv = feed_site
    story = next(s for s in store.list_stories(limit=10) if "Corvel" in s.title)
    story_url = f"{base}/stories/{story.id}"
    seen = {a.id for a in store.list_articles(story_id=story.id, limit=50)}

    # 1. Sign up, follow the story, read it (an article, then the story again).
    page.goto(f"{base}/signup?next=/stories/{story.id}")
    page.fill("#username", "returner")
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.click("main form button[type=submit]")
    assert page.url == story_url
    page.locator("form.follow-form button.follow").first.click()
    assert page.locator("form.follow-form button.following").first.inner_text().startswith("Unfollow")
    assert page.locator("#whats-new").count() == 0                      # the first visit: nothing to compare
    page.locator(".publisher-group a.title").first.click()
    assert re.search(r"/articles/\d+$", page.url)
    page.goto(story_url)
    assert page.locator("#whats-new").count() == 0 and _new_ids(page) == set()

    # 2. New articles arrive through the pipeline.
    srv.publish("ash", story_article("bridge", 2))
    srv.publish("tide", story_article("bridge", 5))
    _pipeline(store, settings)
    arrived = {a.id for a in store.list_articles(story_id=story.id, limit=50)} - seen
    assert len(arrived) == 2

    # 3. The next visit: exactly those are new, and the paragraph cites them.
    page.goto(story_url)
    section = page.locator("#whats-new")
    assert section.locator("h2").inner_text() == "New since your last visit"
    assert section.locator(".count-articles").inner_text() == "2 new articles"
    assert "Ashlow Courier" in section.locator(".new-publishers").inner_text()
    assert _new_ids(page) == arrived
    cites = section.locator(".whats-new-text a.cite")
    cited = {int(h.rsplit("/", 1)[1]) for h in cites.evaluate_all("as => as.map(a => a.getAttribute('href'))")}
    assert cited == arrived
    assert re.fullmatch(r"\[1\]", cites.first.inner_text())
    page.screenshot(path=str(screenshots / "story-whats-new.png"), full_page=True)

    # 4. A citation leads to the new article; back on the story, the marks are still there.
    cites.first.click()
    assert int(page.url.rsplit("/", 1)[1]) in arrived
    page.goto(story_url)
    assert _new_ids(page) == arrived and page.locator("#whats-new .whats-new-text a.cite").count() == len(cites.all())
