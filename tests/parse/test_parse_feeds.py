"""Golden tests for newsloom.ingest.feeds.parse_feed (fixtures in tests/data/feeds)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from newsloom.errors import ParseError
from newsloom.ingest.feeds import XXE_MESSAGE, parse_feed
from newsloom.models import Entry, ParsedFeed

FEEDS = Path(__file__).resolve().parent.parent / "data" / "feeds"
UTC = timezone.utc


def load(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def links(pf: ParsedFeed) -> list[str]:
    return [e.link for e in pf.entries]


def test_models_only_never_feedparser_dicts():
    pf = parse_feed(load("rss20.xml"), base_url="https://gazette.example.com/rss.xml")
    assert type(pf) is ParsedFeed
    assert all(type(e) is Entry for e in pf.entries)
    for e in pf.entries:
        for value in vars(e).values():
            assert value is None or isinstance(value, (str, datetime))


# --------------------------------------------------------------------------- RSS

def test_rss091():
    pf = parse_feed(load("rss091.xml"))
    assert pf.format.startswith("rss091")
    assert pf.title == "Lantern Valley Courier"
    assert pf.site_url == "https://courier.example.net/"
    assert pf.language == "en-us"
    assert [e.title for e in pf.entries] == [
        "Ferry timetable changes for the winter season",
        "Café owners & bakers meet at town hall",
        "Library extends weekend hours",
    ]
    assert links(pf)[0] == "https://courier.example.net/2025/ferry-timetable"
    assert pf.entries[0].guid == pf.entries[0].link  # no guid: the link is the id
    assert pf.entries[0].published_at is None
    assert pf.entries[1].summary == "Local business owners discussed parking <b>again</b>."


def test_rss10_rdf():
    pf = parse_feed(load("rss10.rdf"))
    assert pf.format == "rss10"
    assert pf.title == "Northwind Observatory Bulletin"
    assert pf.language == "en-gb"
    assert links(pf) == [
        "https://observatory.example.org/notes/comet-sighting",
        "https://observatory.example.org/notes/new-mirror",
    ]
    first = pf.entries[0]
    assert first.author == "Imogen Ashdown"
    assert first.published_at == datetime(2025, 3, 14, 20, 45, tzinfo=UTC)
    assert first.published_at.tzinfo is not None


def test_rss20_content_relative_links_ttl_and_skips():
    pf = parse_feed(load("rss20.xml"), headers={"Content-Type": "application/rss+xml"},
                    base_url="https://gazette.example.com/rss.xml")
    assert pf.format == "rss20"
    assert pf.title == "Harbor Gazette & Tidings"
    assert pf.site_url == "https://gazette.example.com/"
    assert pf.language == "en"
    assert pf.ttl_minutes == 45
    # the item with neither link nor URL guid is skipped, the permalink guid is used
    assert links(pf) == [
        "https://gazette.example.com/news/2025/06/seawall-budget?utm_source=rss",
        "https://gazette.example.com/news/2025/06/fleet-returns",
        "https://gazette.example.com/news/2025/05/lighthouse-reopens",
    ]
    seawall, fleet, lighthouse = pf.entries
    assert seawall.guid == "gazette-2025-0611"
    assert seawall.title == "Council approves new seawall budget"  # HTML in title stripped
    assert seawall.author == "Marta Quillfeather"
    assert seawall.published_at == datetime(2025, 6, 3, 7, 30, tzinfo=UTC)
    # summary: sanitized, relative link made absolute, script / on* gone
    assert "<script" not in seawall.summary and "alert" not in seawall.summary
    assert "onclick" not in seawall.summary
    assert 'href="https://gazette.example.com/news/2025/06/seawall-budget"' in seawall.summary
    assert 'rel="noopener noreferrer nofollow"' in seawall.summary
    assert "The council voted 7\u20132 in favour." in seawall.summary
    # content:encoded: kept, sanitized, absolute image, no iframe, no javascript:
    assert seawall.content.startswith("<p>Saltmere's council approved the seawall budget")
    assert 'src="https://gazette.example.com/img/seawall.jpg"' in seawall.content
    assert "iframe" not in seawall.content and "javascript:" not in seawall.content
    assert fleet.author == "Oren Blackwood"
    assert fleet.published_at == datetime(2025, 6, 2, 18, 5, tzinfo=UTC)
    assert fleet.content is None
    assert lighthouse.guid == lighthouse.link
    assert lighthouse.published_at == datetime(2025, 5, 31, 11, 0, tzinfo=UTC)


def test_relative_links_without_base_url_resolve_against_channel_link():
    pf = parse_feed(load("rss20.xml"))
    assert links(pf)[0] == "https://gazette.example.com/news/2025/06/seawall-budget?utm_source=rss"


# --------------------------------------------------------------------------- Atom

def test_atom10_xml_base():
    pf = parse_feed(load("atom10.xml"))
    assert pf.format == "atom10"
    assert pf.title == "Das Bergdorf Journal"  # type="html" title, tags stripped
    assert pf.site_url == "https://blog.example.de/"
    assert pf.language == "de"
    assert links(pf) == ["https://blog.example.de/artikel/seilbahn", "https://blog.example.de/artikel/wetter"]
    seilbahn, wetter = pf.entries
    assert seilbahn.guid == "tag:blog.example.de,2025:seilbahn"
    assert seilbahn.title == "Neue Seilbahn eröffnet"
    assert seilbahn.author == "Lena Hartmann"
    assert seilbahn.published_at == datetime(2025, 4, 1, 6, 15, tzinfo=UTC)
    assert 'href="https://blog.example.de/artikel/fahrplan"' in seilbahn.summary
    assert "Die neue Seilbahn verbindet das Dorf mit dem Gipfel." in seilbahn.content
    assert 'href="https://blog.example.de/bilder/bahn.jpg"' in seilbahn.content
    # type="text": an escaped "<erwartet>" is literal text, not a tag
    assert wetter.title == "Wetter: Schnee bis 1200 m <erwartet>"
    assert wetter.author == "Redaktion Bergdorf"  # inherited from <feed><author>
    assert wetter.published_at == datetime(2025, 3, 30, 17, 45, tzinfo=UTC)  # from <updated>


def test_atom03():
    pf = parse_feed(load("atom03.xml"))
    assert pf.format == "atom03"
    assert pf.title == "Allotment Diaries"
    assert links(pf) == ["https://garden.example.org/diary/runner-beans",
                         "https://garden.example.org/diary/compost-six"]
    beans = pf.entries[0]
    assert beans.published_at == datetime(2025, 5, 9, 18, 30, tzinfo=UTC)
    assert beans.author == "Priya Okonkwo-Lund"
    assert beans.content == "<p>The canes went in before the rain.</p>"
    assert beans.language == "en"


# --------------------------------------------------------------------------- JSON Feed

def test_json_feed_11():
    pf = parse_feed(load("jsonfeed11.json"), headers={"content-type": "application/feed+json"})
    assert pf.format == "json11"
    assert pf.title == "Quarry Road Tech Notes"
    assert pf.site_url == "https://notes.example.io/"
    assert pf.language == "en-gb"
    assert links(pf) == ["https://notes.example.io/2025/cache-invalidation",
                         "https://notes.example.io/2025/small-note"]
    cache, note = pf.entries
    assert cache.title == "Cache invalidation, again"
    assert cache.author == "Dana Whitcombe, Felix Arbuthnot"
    assert cache.published_at == datetime(2025, 2, 20, 13, 0, tzinfo=UTC)
    assert "<script" not in cache.content and "track()" not in cache.content
    assert 'href="https://notes.example.io/2025/part-two"' in cache.content
    assert cache.summary == "<p>Why the cache &lt;still&gt; misbehaves &amp; what we did.</p>"
    assert note.guid == "note-42"
    assert note.title is None
    assert note.author == "Quarry Road Staff"  # feed-level authors
    assert note.content == "<p>Plain text only.</p><p>Second paragraph.</p>"
    assert note.language == "fr"


def test_json_feed_10_detected_without_content_type():
    pf = parse_feed(b"\xef\xbb\xbf  " + load("jsonfeed10.json"))
    assert pf.format == "json10"
    assert pf.title == "Millpond Podcast Log"
    assert links(pf) == ["https://millpond.example.com/episodes/1",
                         "https://elsewhere.example.net/ducks-part-2"]
    assert [e.guid for e in pf.entries] == ["1", "https://millpond.example.com/episodes/2"]
    assert pf.entries[0].author == "Hattie Fernsby"
    assert pf.entries[0].published_at == datetime(2024, 12, 1, 15, 0, tzinfo=UTC)
    assert pf.entries[1].published_at == datetime(2024, 12, 8, 10, 0, tzinfo=UTC)  # date_modified


@pytest.mark.parametrize("body", [b'{"version": ', b"[1, 2, 3]", b'{"title": "no items"}'])
def test_bad_json_is_parse_error(body):
    with pytest.raises(ParseError) as err:
        parse_feed(body)
    assert str(err.value).startswith("parse: not a feed")


# --------------------------------------------------------------------------- safety

@pytest.mark.parametrize("name", ["billion_laughs.xml", "xxe_file.xml"])
def test_entity_declarations_refused(name):
    with pytest.raises(ParseError) as err:
        parse_feed(load(name))
    assert str(err.value) == XXE_MESSAGE
    assert "root:" not in str(err.value) and "lol" not in str(err.value)


def test_xxe_variants_refused():
    param = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % x SYSTEM "file:///etc/passwd"> %x;]>'
             b'<rss version="2.0"><channel><title>T</title></channel></rss>')
    # ill-formed after the DOCTYPE: the XML parser never gets to the declaration check
    broken = (b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
              b"<rss><channel><title>&b;<item></channel></rs>")
    utf16 = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY a "x">]>'
             "<rss><channel><title>&a;<</channel></rss>").encode("utf-16")
    for body in (param, broken, utf16):
        with pytest.raises(ParseError, match="refused XML with entity declarations"):
            parse_feed(body)


def test_plain_doctype_allowed_and_not_fetched():
    body = (b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file:///etc/passwd">'
            b'<rss version="2.0"><channel><title>T</title>'
            b"<item><title>Hi</title><link>https://a.example/1</link></item></channel></rss>")
    pf = parse_feed(body)
    assert [e.title for e in pf.entries] == ["Hi"]


@pytest.mark.parametrize("body", [
    (FEEDS / "garbage.bin").read_bytes(),
    b"",
    b"   \n",
    b"hello world",
    b"/etc/passwd",  # must be treated as data, never as a path to open
    b"<!DOCTYPE html><html><head><title>A web page</title></head><body><p>hi</p></body></html>",
    b'<?xml version="1.0"?><note><to>someone</to></note>',
])
def test_not_a_feed(body):
    with pytest.raises(ParseError) as err:
        parse_feed(body)
    assert str(err.value).startswith("parse: not a feed")


def test_lenient_on_undefined_entities():
    body = (b'<rss version="2.0"><channel><title>Caf&eacute; news</title>'
            b"<item><title>Cr&egrave;me</title><link>https://c.example/1</link></item></channel></rss>")
    pf = parse_feed(body)
    assert pf.title == "Café news"
    assert [e.title for e in pf.entries] == ["Crème"]


def test_empty_channel_is_a_feed():
    pf = parse_feed(b'<rss version="2.0"><channel><title>Quiet</title><link>https://q.example/</link>'
                    b"</channel></rss>")
    assert pf.title == "Quiet" and pf.entries == []


def test_non_http_links_skipped():
    body = (b'<rss version="2.0"><channel><title>T</title>'
            b"<item><title>bad</title><link>javascript:alert(1)</link></item>"
            b"<item><title>ok</title><link>https://ok.example/1</link></item></channel></rss>")
    pf = parse_feed(body)
    assert [e.title for e in pf.entries] == ["ok"]
