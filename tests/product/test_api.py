"""The API additions: stories (top order), tags, a tag's stories, a publisher, search; one pagination shape."""

from __future__ import annotations

from newsloom.enrich.rank import TOP_CANDIDATES
from newsloom.serve.views import top_stories

PAGE_KEYS = {"items", "total", "limit", "offset", "next_offset"}


def test_stories_top_order(newsroom, demo_client):
    store, _ = newsroom
    page = demo_client.get("/api/v1/stories", params={"order": "top", "limit": 5}).json()
    assert PAGE_KEYS <= set(page) and page["next_offset"] == 5
    assert [s["id"] for s in page["items"]] == [s.id for s in top_stories(store, limit=5)]
    assert page["total"] == min(TOP_CANDIDATES, store.count_stories())
    wide = demo_client.get("/api/v1/stories", params={"order": "top", "min_sources": 5}).json()
    assert wide["items"] and all(s["source_count"] >= 5 for s in wide["items"])
    assert demo_client.get("/api/v1/stories", params={"order": "best"}).status_code == 422


def test_tags_and_tag_stories(newsroom, demo_client):
    store, _ = newsroom
    tags = demo_client.get("/api/v1/tags", params={"limit": 2}).json()
    assert PAGE_KEYS <= set(tags) and tags["total"] == store.count_tags() >= 3 and tags["next_offset"] == 2
    first = tags["items"][0]
    assert {"slug", "name", "kind", "article_count", "story_count"} <= set(first) and first["article_count"] >= 1
    everything = demo_client.get("/api/v1/tags", params={"limit": 500}).json()["items"]
    counts = [t["article_count"] for t in everything]
    assert counts == sorted(counts, reverse=True) and len(everything) == tags["total"]
    mine = next(t for t in everything if t["slug"] == "t-kestrel")
    kestrel_articles = [a for a in store.list_articles(limit=1000) if "kestrel" in f"{a.title} {a.text}".lower()]
    assert mine["article_count"] == len(kestrel_articles) and mine["story_count"] == 1
    detail = demo_client.get("/api/v1/tags/t-kestrel").json()
    assert PAGE_KEYS <= set(detail) and detail["tag"]["slug"] == "t-kestrel"
    assert [s["id"] for s in detail["items"]] == [s.id for s in store.tag_stories("t-kestrel")]
    missing = demo_client.get("/api/v1/tags/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_source_detail(newsroom, demo_client):
    store, _ = newsroom
    src = next(s for s in store.list_sources() if s.name == "Valley Courier")
    d = demo_client.get(f"/api/v1/sources/{src.id}").json()
    assert d["name"] == "Valley Courier" and d["article_count"] == store.count_articles(source_id=src.id)
    assert d["health"]["feeds"] == 1 and d["health"]["failing"] == 0 and d["feeds"][0]["healthy"] is True
    assert {a["source_id"] for a in d["latest_articles"]} == {src.id} and d["stories"]
    assert demo_client.get("/api/v1/sources/999999").status_code == 404


def test_openapi_lists_the_new_endpoints(demo_client):
    spec = demo_client.get("/openapi.json").json()
    assert {"/api/v1/stories", "/api/v1/articles", "/api/v1/tags", "/api/v1/tags/{slug}", "/api/v1/search",
            "/api/v1/sources/{source_id}"} <= set(spec["paths"])
    params = {p["name"] for p in spec["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert {"q", "publisher", "from", "to", "tag", "limit", "offset"} <= params
