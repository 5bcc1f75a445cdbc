"""Conditional GET through the real app (TestClient) on both stores: ETag and Last-Modified on
pages and the API, 304 round trips, validators that depend on the viewer, the anonymous page
cache, and story pages that only read what the pipeline stored."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from fastapi.testclient import TestClient

from newsloom.models import Article, Story, utcnow
from newsloom.serve import create_app
from newsloom.serve.auth import SESSION_COOKIE
from newsloom.tasks.insights import build_story_insights

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(settings, store):
    """The page cache off: these tests write to the store directly between requests."""
    return create_app(settings.replace(page_cache_seconds=0), store)


@pytest.fixture
def client(app):
    with TestClient(app, follow_redirects=False) as c:
        yield c


def _story(store, title="Harbor bridge reopens", *, hours_ago=3.0, sources=("Harbor Gazette", "Valley Courier"),
           build=True):
    """A story with one article per publisher, all `hours_ago` old; its insights built by the
    pipeline's own write-path function unless `build` is False."""
    when = utcnow() - timedelta(hours=hours_ago)
    story = store.add_story(Story(title=title, first_seen_at=when, last_seen_at=when, article_count=len(sources),
                                  source_count=len(sources)))
    ids = []
    for n, name in enumerate(sources):
        src = store.upsert_source(name)
        art, _ = store.add_article(Article(
            url=f"https://{n}.example/{story.id}", title=f"{title}, says {name}", source_id=src.id,
            published_at=when, fetched_at=when, story_id=story.id,
            text=f"The {title.lower()} after two years of works. {name} counted 400 cars in the first hour.\n\n"
                 f"The mayor of Port Anselm said on Monday that tolls would end in May."))
        ids.append(art.id)
    if build:
        assert build_story_insights(store, story.id)
    return store.get_story(story.id), ids


def _signed_in(app, store, name="reader", role="user"):
    user = store.create_user(name, "not-a-real-hash", role=role)
    c = TestClient(app, follow_redirects=False)
    c.__enter__()
    c.cookies.set(SESSION_COOKIE, store.create_session(user.id, max_age=3600).token)
    return c


def _round_trip(client, path):
    first = client.get(path)
    assert first.status_code == 200, path
    etag, modified = first.headers["etag"], first.headers.get("last-modified")
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag), etag
    assert "cookie" in first.headers["vary"].lower()
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag, path
    assert client.get(path, headers={"If-None-Match": f'W/{etag}, "other"'}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200
    return first, etag, modified


def test_304_round_trips_with_if_none_match_and_if_modified_since(client, store):
    story, ids = _story(store)
    slug = store.story_hashtags(story.id)[0].tag.slug
    src = store.get_article(ids[0]).source_id
    time.sleep(1.1)              # the insights were built just now: a Last-Modified needs a whole second
    for path in (f"/stories/{story.id}", f"/articles/{ids[0]}", "/", f"/tags/{slug}", f"/sources/{src}",
                 "/search?q=bridge", f"/api/v1/stories/{story.id}", f"/api/v1/articles/{ids[0]}", "/api/v1/stories",
                 f"/api/v1/tags/{slug}", "/api/v1/search?q=bridge"):
        first, etag, modified = _round_trip(client, path)
        assert modified is not None, path                        # anonymous, and the data is old enough
        since = parsedate_to_datetime(modified)
        assert utcnow() - timedelta(hours=4) < since <= utcnow() - timedelta(seconds=1), path
        r = client.get(path, headers={"If-Modified-Since": modified})
        assert r.status_code == 304 and r.headers["last-modified"] == modified and r.content == b"", path
        later = format_datetime(since + timedelta(minutes=5), usegmt=True)
        assert client.get(path, headers={"If-Modified-Since": later}).status_code == 304, path
        earlier = format_datetime(since - timedelta(seconds=1), usegmt=True)
        assert client.get(path, headers={"If-Modified-Since": earlier}).status_code == 200, path
        # If-None-Match wins over If-Modified-Since (RFC 9110): a stale tag is a 200 whatever the date
        assert client.get(path, headers={"If-None-Match": '"stale"', "If-Modified-Since": later}).status_code == 200
        assert client.get(path, headers={"If-Modified-Since": "not a date"}).status_code == 200, path
    story_page = client.get(f"/stories/{story.id}")                # the story page's date: its insights' build
    built = store.get_story_insights(story.id).built_at
    assert parsedate_to_datetime(story_page.headers["last-modified"]) == built.replace(microsecond=0)


def test_a_change_to_the_data_changes_both_validators(client, store):
    story, ids = _story(store)
    path = f"/stories/{story.id}"
    time.sleep(1.1)
    first, etag, modified = _round_trip(client, path)
    assert modified is not None
    # A new article joins the story and the pipeline rebuilds the story's insights.
    newer = utcnow() - timedelta(hours=1)
    src = store.upsert_source("Northern Ledger")
    store.add_article(Article(url=f"https://n.example/{story.id}", title="Bridge tolls end in May", source_id=src.id,
                              published_at=newer, fetched_at=newer, story_id=story.id, text="Tolls end in May."))
    build_story_insights(store, story.id)
    r = client.get(path, headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.headers["etag"] != etag and "Bridge tolls end in May" in r.text
    # rebuilt within the second: no Last-Modified yet, so the old date cannot be confirmed
    assert "last-modified" not in r.headers
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 200
    time.sleep(1.1)
    r = client.get(path, headers={"If-Modified-Since": modified})
    assert r.status_code == 200 and parsedate_to_datetime(r.headers["last-modified"]) > parsedate_to_datetime(modified)


def test_the_viewer_is_part_of_the_validator(app, client, store):
    story, ids = _story(store)
    path = f"/stories/{story.id}"
    time.sleep(1.1)
    anon, anon_etag, anon_modified = _round_trip(client, path)
    assert anon_modified is not None
    alice, bob = _signed_in(app, store, "alice"), _signed_in(app, store, "bob")
    try:
        mine = alice.get(path)
        assert mine.status_code == 200 and "alice" in mine.text
        assert mine.headers["etag"] != anon_etag
        assert "last-modified" not in mine.headers                 # a date cannot tell readers apart
        assert "private" in mine.headers["cache-control"]
        # the anonymous reader's validators never answer a signed-in reader with a 304 ...
        assert alice.get(path, headers={"If-None-Match": anon_etag}).status_code == 200
        assert alice.get(path, headers={"If-Modified-Since": anon_modified}).status_code == 200
        # ... nor the other way round, nor one reader's for another
        assert client.get(path, headers={"If-None-Match": mine.headers["etag"]}).status_code == 200
        assert bob.get(path, headers={"If-None-Match": mine.headers["etag"]}).status_code == 200
        # each reader's own tag still works
        assert alice.get(path, headers={"If-None-Match": mine.headers["etag"]}).status_code == 304
        api = f"/api/v1/stories/{story.id}"
        assert alice.get(api).headers["etag"] != client.get(api).headers["etag"]
    finally:
        alice.__exit__(None, None, None)
        bob.__exit__(None, None, None)


def test_story_page_get_only_reads_stored_insights(client, store):
    story, _ = _story(store)
    before = store.get_story_insights(story.id)
    tags_before = [(t.tag.slug, t.score) for t in store.story_hashtags(story.id)]
    for _ in range(2):
        html = client.get(f"/stories/{story.id}").text
        assert 'id="ai-features"' in html and "being prepared" not in html
    after = store.get_story_insights(story.id)
    assert (after.built_at, after.version, after.article_count) == (before.built_at, before.version,
                                                                     before.article_count)
    assert json.dumps(after.data, sort_keys=True) == json.dumps(before.data, sort_keys=True)
    assert [(t.tag.slug, t.score) for t in store.story_hashtags(story.id)] == tags_before


def test_story_without_insights_says_they_are_being_prepared(client, store):
    story, _ = _story(store, "Ferry strike called off", build=False)
    r = client.get(f"/stories/{story.id}")
    assert r.status_code == 200 and "are being prepared" in r.text
    assert 'id="hashtags-h"' not in r.text and 'id="brief-h"' not in r.text
    assert store.get_story_insights(story.id) is None and store.story_hashtags(story.id) == []   # nothing computed
    assert client.get(f"/stories/{story.id}/coverage.svg").status_code == 404


def test_responses_without_our_validators(client, store):
    _story(store)
    static = client.get("/static/style.css")                 # StaticFiles keeps its own file validators
    assert static.status_code == 200 and "cookie" not in static.headers.get("vary", "").lower()
    for path in ("/healthz", "/readyz"):
        r = client.get(path)
        assert r.status_code == 200 and "etag" not in r.headers and r.headers["cache-control"] == "no-store"
    missing = client.get("/stories/999999")
    assert missing.status_code == 404 and "etag" not in missing.headers
    r = client.get("/login")                                 # sets the CSRF cookie: no shared validator
    assert r.status_code == 200 and "set-cookie" in r.headers and "last-modified" not in r.headers


# -- the anonymous page cache -------------------------------------------------------------------
@pytest.fixture
def cached_app(settings, store):
    return create_app(settings.replace(page_cache_seconds=60), store)


def test_anonymous_pages_come_from_the_cache_until_a_write_through_the_app(cached_app, store):
    story, ids = _story(store)
    with TestClient(cached_app, follow_redirects=False) as anon:
        first = anon.get("/api/v1/stories")
        assert first.status_code == 200 and first.json()["total"] == 1
        _story(store, "Second story")                                  # written behind the app's back
        cached = anon.get("/api/v1/stories")
        assert cached.json()["total"] == 1 and cached.headers["etag"] == first.headers["etag"]
        assert anon.get("/api/v1/stories", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
        assert anon.get("/api/v1/stories?limit=5").json()["total"] == 2        # another query: another key
        reader = _signed_in(cached_app, store, "carol")
        try:
            assert reader.get("/api/v1/stories").json()["total"] == 2         # signed in: never cached
            # a write through this process empties the cache at once
            page = reader.get(f"/stories/{story.id}")
            token = CSRF.search(page.text).group(1)
            r = reader.post(f"/stories/{story.id}/comments", data={"body": "Finally open.", "csrf_token": token})
            assert r.status_code == 303
        finally:
            reader.__exit__(None, None, None)
        assert anon.get("/api/v1/stories").json()["total"] == 2
        assert "Finally open." in anon.get(f"/stories/{story.id}").text


def test_the_cache_never_shares_a_readers_csrf_token(cached_app, store):
    tokens = set()
    for _ in range(2):
        with TestClient(cached_app, follow_redirects=False) as anon:
            for _ in range(2):                              # the second visit sends the cookie it got
                r = anon.get("/login")
                assert r.status_code == 200
                tokens.add(CSRF.search(r.text).group(1))
    assert len(tokens) == 2                                 # one per visitor, never another's


def test_the_cache_is_per_host(cached_app, store):
    with TestClient(cached_app, base_url="http://one.example") as one, \
            TestClient(cached_app, base_url="http://two.example") as two:
        assert "http://one.example/static/style.css" in one.get("/").text
        assert "http://two.example/static/style.css" in two.get("/").text
