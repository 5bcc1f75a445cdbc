"""The web app through HTTP, in-process (TestClient), on both stores."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from newsloom.models import Article, Feed, utcnow
from newsloom.serve import create_app
from newsloom.serve.timefmt import relative_time


@pytest.fixture
def client(settings, store):
    with TestClient(create_app(settings, store)) as c:
        yield c


def _seed(store):
    now = utcnow()
    ids = []
    for n, name in enumerate(["Harbor Gazette", "Northern Ledger", "Valley Courier"]):
        src = store.upsert_source(name)
        art, _ = store.add_article(Article(
            url=f"https://{n}.example/a", title=f"Headline {n}", source_id=src.id, author="A. Writer",
            published_at=now - timedelta(hours=10 + n), text=f"First paragraph {n}.\n\nSecond paragraph {n}."))
        ids.append(art.id)
    return ids


def test_home_lists_articles_with_publisher_and_relative_time(client, store):
    _seed(store)
    html = client.get("/").text
    for n, name in enumerate(["Harbor Gazette", "Northern Ledger", "Valley Courier"]):
        assert f"Headline {n}" in html and name in html
    assert "10 hours ago" in html and "12 hours ago" in html
    assert html.index("Headline 0") < html.index("Headline 2")       # newest first


def test_article_page_shows_full_text_and_original_link(client, store):
    ids = _seed(store)
    html = client.get(f"/articles/{ids[1]}").text
    assert "<p>First paragraph 1.</p>" in html and "<p>Second paragraph 1.</p>" in html
    assert 'href="https://1.example/a"' in html and "Northern Ledger" in html and "A. Writer" in html


def test_titles_and_text_are_escaped(client, store):
    src = store.upsert_source("Evil <script>alert(1)</script> Times")
    art, _ = store.add_article(Article(url="https://e.example/x", title='<img src=x onerror="alert(1)">',
                                       source_id=src.id, published_at=utcnow(), text="<script>alert(2)</script>"))
    for path in ("/", f"/articles/{art.id}"):
        html = client.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html or "&lt;img" in html


def test_feed_health_page_shows_errors(client, store):
    feed, _ = store.add_feed(Feed(url="https://bad.example/feed.xml", title="Bad feed"))
    feed.last_error, feed.error_count, feed.last_fetched_at = "fetch: HTTP 500 from bad.example", 1, utcnow()
    store.save_feed(feed)
    store.add_feed(Feed(url="https://new.example/feed.xml"))
    html = client.get("/feeds").text
    assert "fetch: HTTP 500 from bad.example" in html and "2 feeds, 1 failing" in html and "never fetched" in html


def test_api_articles_pagination_and_detail(client, store):
    ids = _seed(store)
    page = client.get("/api/v1/articles", params={"limit": 2}).json()
    assert [i["title"] for i in page["items"]] == ["Headline 0", "Headline 1"]
    assert page["total"] == 3 and page["next_offset"] == 2
    last = client.get("/api/v1/articles", params={"limit": 2, "offset": 2}).json()
    assert last["next_offset"] is None and len(last["items"]) == 1
    detail = client.get(f"/api/v1/articles/{ids[0]}").json()
    assert detail["text"].startswith("First paragraph 0.") and detail["source_name"] == "Harbor Gazette"
    assert client.get("/api/v1/articles", params={"limit": 0}).status_code == 422


def test_api_feeds_and_sources(client, store):
    store.add_feed(Feed(url="https://a.example/feed.xml", title="A"))
    _seed(store)
    feeds = client.get("/api/v1/feeds").json()
    assert feeds[0]["url"] == "https://a.example/feed.xml" and feeds[0]["healthy"] is False
    assert {s["name"] for s in client.get("/api/v1/sources").json()} >= {"Harbor Gazette"}


def test_errors_are_json_for_api_and_html_for_pages(client):
    api = client.get("/api/v1/articles/424242")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    page = client.get("/articles/424242")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"] and "Not found" in page.text


def test_openapi_docs(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/articles", "/api/v1/articles/{article_id}", "/api/v1/feeds"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200


def test_relative_time():
    now = utcnow()
    assert relative_time(now - timedelta(hours=10), now) == "10 hours ago"
    assert relative_time(now - timedelta(minutes=1), now) == "1 minute ago"
    assert relative_time(now - timedelta(seconds=5), now) == "just now"
    assert relative_time(now - timedelta(days=3), now) == "3 days ago"
    assert relative_time(None) == ""


def test_search_finds_every_spelling_of_a_name(client, store):
    """The entity stage's spelling table feeds search: Kiev finds Kyiv and the other way."""
    now = utcnow()
    src = store.upsert_source("Harbor Gazette")
    ids = {}
    for n, (word, text) in enumerate([("kyiv", "Trams in Kyiv ran late on the river line."),
                                      ("kiev", "Trams in Kiev ran late on the river line again."),
                                      ("other", "Trams in Marlow ran late on the river line.")]):
        art, _ = store.add_article(Article(url=f"https://{n}.example/t", title=f"Trams {n}", source_id=src.id,
                                           published_at=now - timedelta(hours=n), text=text))
        ids[word] = art.id

    def found(q):
        return {i["article"]["id"] for i in client.get("/api/v1/search", params={"q": q}).json()["items"]}

    assert found("Kiev") == found("kyiv") == {ids["kyiv"], ids["kiev"]}
    assert found("trams -Kiev") == {ids["kyiv"], ids["other"]}          # an exclusion is taken as typed
    assert "Kyiv" in client.get("/search", params={"q": "kiev"}).text
