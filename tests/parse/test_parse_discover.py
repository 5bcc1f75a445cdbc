"""newsloom.ingest.discover.discover_feeds."""

from __future__ import annotations

from pathlib import Path

from newsloom.ingest.discover import discover_feeds

PAGES = Path(__file__).resolve().parent.parent / "data" / "pages"


def test_link_alternate_in_document_order_deduplicated():
    html = (PAGES / "discovery.html").read_bytes()
    assert discover_feeds(html, "https://gazette.example.com/news/") == [
        "https://gazette.example.com/rss.xml",
        "https://gazette.example.com/opinion/atom.xml",
        "https://gazette.example.com/news/feeds/all.json",
    ]  # <a href=/sport/rss> ignored when link tags exist; wp-json / oembed ignored


def test_anchor_fallback_with_base_href():
    html = (PAGES / "discovery_fallback.html").read_text()
    assert discover_feeds(html, "https://millpond.example.com/x") == [
        "https://millpond.example.com/blog/feed",
        "https://millpond.example.com/feed/",
        "https://millpond.example.com/blog/episodes.rss",
        "https://other.example.net/atom.xml",
    ]  # sitemap.xml, javascript: and mailto: ignored


def test_nothing_found():
    assert discover_feeds("<p>No feeds here</p>", "https://a.example/") == []
    assert discover_feeds(b"", "https://a.example/") == []
    assert discover_feeds(b"\x00\xff\xfe", "https://a.example/") == []


def test_feed_scheme_and_json():
    html = ('<link rel="alternate" type="application/rss+xml" href="feed://b.example/rss">'
            '<link rel="alternate" type="application/json" href="/feed.json">')
    assert discover_feeds(html, "https://b.example/") == ["https://b.example/rss", "https://b.example/feed.json"]
