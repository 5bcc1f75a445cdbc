"""newsloom.ingest.opml: import nested outlines, export OPML 2.0, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsloom.errors import ParseError
from newsloom.ingest.opml import OpmlFeed, export_opml, parse_opml
from newsloom.models import Feed

OPML = Path(__file__).resolve().parent.parent / "data" / "opml"


def test_nested_categories():
    feeds = parse_opml((OPML / "nested.opml").read_bytes())
    assert feeds == [
        OpmlFeed("https://gazette.example.com/rss.xml", "Harbor Gazette", "https://gazette.example.com/", "News/Local"),
        OpmlFeed("https://courier.example.net/feed", "Lantern Valley Courier", None, "News/Local"),
        OpmlFeed("https://observatory.example.org/index.rdf", "Northwind Observatory",
                 "https://observatory.example.org/", "News"),
        OpmlFeed("https://notes.example.io/feed.json", "Quarry Road Notes", None, "Tech"),
        OpmlFeed("https://garden.example.org/atom.xml", "Allotment Diaries & More", None, "Hobbies/Garden"),
        OpmlFeed("https://toplevel.example.com/rss", "Top-level feed", None, None),
    ]  # duplicate gazette and the type="link" bookmark are dropped


def test_round_trip_models():
    feeds = [
        Feed(url="https://a.example/rss", title="Alpha <&> \"news\"", site_url="https://a.example/"),
        Feed(url="https://b.example/atom.xml", title=None, site_url=None),
        Feed(url="https://c.example/f?x=1&y=2", title="Gamma\x01", site_url="https://c.example/"),
    ]
    body = export_opml(feeds, title="My list")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b'<opml version="2.0">' in body and b"<title>My list</title>" in body
    assert parse_opml(body) == [
        OpmlFeed("https://a.example/rss", 'Alpha <&> "news"', "https://a.example/", None),
        OpmlFeed("https://b.example/atom.xml", None, None, None),
        OpmlFeed("https://c.example/f?x=1&y=2", "Gamma", "https://c.example/", None),
    ]


def test_round_trip_keeps_categories():
    feeds = parse_opml((OPML / "nested.opml").read_bytes())
    assert parse_opml(export_opml(feeds)) == feeds


@pytest.mark.parametrize("body", [
    b"",
    b"not xml at all",
    b"<opml><head/></opml>",
    b'<rss version="2.0"><channel/></rss>',
    b"<opml><body><outline",
])
def test_invalid(body):
    with pytest.raises(ParseError, match="^parse: not OPML"):
        parse_opml(body)


def test_entities_refused():
    body = (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<opml version="2.0"><body><outline text="&x;" xmlUrl="https://a.example/"/></body></opml>')
    with pytest.raises(ParseError, match="refused XML with entity declarations"):
        parse_opml(body)
