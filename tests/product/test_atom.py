"""Atom 1.0 feeds: they parse (feedparser), carry the right entries, proper ids and links."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import feedparser

from newsloom.models import Article, Tag, utcnow
from newsloom.serve.views import story_view, top_stories
from newsloom.tasks.pipeline import settle

from .conftest import BASE_URL

ATOM = "{http://www.w3.org/2005/Atom}"


def _parse(response):
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert feed.version == "atom10" and not feed.bozo, feed.get("bozo_exception")
    ET.fromstring(response.content)                     # well-formed XML
    return feed


def _links(obj):
    return {link.rel: link.href for link in obj.links}


def test_home_feed_is_the_top_stories(newsroom, demo_client):
    store, _ = newsroom
    feed = _parse(demo_client.get("/feeds/home.atom"))
    top = top_stories(store, limit=30)
    assert [e.title for e in feed.entries] == [s.title for s in top]
    assert _links(feed.feed) == {"self": f"{BASE_URL}/feeds/home.atom", "alternate": f"{BASE_URL}/"}
    assert feed.feed.id == f"{BASE_URL}/feeds/home.atom" and feed.feed.updated_parsed
    ids = [e.id for e in feed.entries]
    assert len(set(ids)) == len(ids) and ids[0] == f"{BASE_URL}/stories/{top[0].id}"
    first = feed.entries[0]
    assert first.updated_parsed and first.link == f"{BASE_URL}/stories/{top[0].id}"
    assert f"{top[0].source_count} publisher" in first.summary


def test_story_feed_lists_its_articles(newsroom, demo_client):
    store, _ = newsroom
    story = max(store.list_stories(limit=100), key=lambda s: s.source_count)
    feed = _parse(demo_client.get(f"/stories/{story.id}.atom"))
    view = story_view(store, story.id)
    assert sorted(e.title for e in feed.entries) == sorted(a.title for a in view["articles"])
    assert _links(feed.feed)["self"] == f"{BASE_URL}/stories/{story.id}.atom"
    for e in feed.entries:
        assert e.id.startswith(f"{BASE_URL}/articles/") and e.author and e.published_parsed
        assert any(link.rel == "related" and link.href.startswith("http") for link in e.links)
    page = demo_client.get(f"/stories/{story.id}").text
    assert f'href="/stories/{story.id}.atom"' in page
    assert demo_client.get("/stories/999999.atom").status_code == 404


def test_tag_feed_lists_its_stories(newsroom, demo_client):
    store, _ = newsroom
    feed = _parse(demo_client.get("/tags/t-astrolabe.atom"))
    assert [e.title for e in feed.entries] == [s.title for s in store.tag_stories("t-astrolabe")]
    assert feed.entries and all(e.tags[0].term == "t-astrolabe" for e in feed.entries)
    assert demo_client.get("/tags/nope.atom").status_code == 404


def test_feeds_escape_hostile_text(client, store):
    src = store.upsert_source('Evil <script>alert("s")</script> & Sons')
    title = '<script>alert("t")</script> Bad & "worse" \x01 title'
    a, _ = store.add_article(Article(url="https://e.example/1?a=1&b=<2>", title=title, source_id=src.id,
                                     published_at=utcnow(), text="<img src=x onerror=alert(1)> body ]]> text"))
    settle(store, None)
    story_id = store.get_article(a.id).story_id
    store.tag_story(story_id, Tag(name='<b>Tag</b>', slug="evil"))
    for path in ("/feeds/home.atom", f"/stories/{story_id}.atom", "/tags/evil.atom"):
        r = client.get(path)
        feed = _parse(r)
        assert b"<script" not in r.content and b"<img" not in r.content and b"<b>" not in r.content, path
        root = ET.fromstring(r.content)
        titles = [t.text for t in root.iter(f"{ATOM}title")]
        assert title.replace("\x01", "") in titles, path
        assert feed.entries
