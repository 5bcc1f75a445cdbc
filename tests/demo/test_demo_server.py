"""The demo newsroom: content rules, rendered site, and the local HTTP server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import feedparser
import httpx
import pytest
from lxml import etree, html as lxml_html

from newsloom.demo import (DATA_FILE, SITE_DIR, default_now, format_date, load_data, load_gold,
                           load_gold_articles, render)
from newsloom.demo.build import BROKEN_ENDPOINTS, diff_site, render_site
from newsloom.demo.server import PRIVATE_REDIRECT_TARGET, DemoServer

NOW = datetime(2024, 3, 14, 12, 0, tzinfo=timezone.utc)
FEEDPARSER_VERSION = {"rss20": "rss20", "rss10": "rss10", "rss091": "rss091u", "atom10": "atom10"}
FEED_CTYPE = {"rss20": "application/rss+xml", "rss10": "application/rss+xml",
              "rss091": "application/rss+xml", "atom10": "application/atom+xml",
              "json11": "application/feed+json"}


@pytest.fixture(scope="module")
def data():
    return load_data()


@pytest.fixture(scope="module")
def server():
    with DemoServer(now=NOW) as srv:
        yield srv


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=5) as c:
        yield c


@pytest.fixture(scope="module")
def gold(server):
    return load_gold(server.base_url, server.now)


def _articles_of(data, pub_slug):
    return [a for a in data["articles"] if a["publisher"] == pub_slug]


# --------------------------------------------------------------------------- content

def test_committed_site_is_up_to_date(tmp_path, data):
    files = render_site(data)
    assert diff_site(files, SITE_DIR) == [], "run: python -m newsloom.demo.build"
    # and rendering twice, through the CLI into a fresh directory, gives the same bytes
    out = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "newsloom.demo.build", "--out", str(out)],
                   check=True, capture_output=True)
    assert diff_site(files, out) == []


def test_content_shape(data):
    assert len(data["publishers"]) == 7
    assert Counter(p["format"] for p in data["publishers"]) == {
        "rss20": 2, "rss10": 1, "rss091": 1, "atom10": 2, "json11": 1}
    assert sum(p["full_content_in_feed"] for p in data["publishers"]) == 1
    arts = data["articles"]
    assert len(arts) >= 48
    offsets = [a["published_offset_h"] for a in arts]
    assert max(offsets) < 0 and min(offsets) <= -96  # spans about five days
    by_story = defaultdict(set)
    for a in arts:
        by_story[a["story"]].add(a["publisher"])
        assert 4 <= len(a["paragraphs"]) <= 9
        assert 150 <= sum(len(p.split()) for p in a["paragraphs"]) <= 450
    multi = [s for s, pubs in by_story.items() if len(pubs) >= 2]
    singles = [s for s, pubs in by_story.items() if len(pubs) == 1]
    assert len(multi) == 10 and all(2 <= len(by_story[s]) <= 6 for s in multi)
    assert len(singles) >= 4
    assert all(sum(a["story"] == s for a in arts) == 1 for s in singles)


def test_wire_copies_share_their_body(data):
    by_slug = {a["slug"]: a for a in data["articles"]}
    dups = [a for a in data["articles"] if a["duplicate_of"]]
    assert len(dups) >= 3
    assert len({a["story"] for a in dups}) >= 3
    for copy in dups:
        orig = by_slug[copy["duplicate_of"]]
        assert copy["title"] != orig["title"]
        shared = set(copy["paragraphs"]) & set(orig["paragraphs"])
        assert len(shared) >= len(orig["paragraphs"]) - 1
        assert copy["paragraphs"] != orig["paragraphs"]  # trimmed and/or boilerplate added


# --------------------------------------------------------------------------- feeds

def test_every_feed_is_served_and_parses(server, client, data):
    formats = Counter()
    for pub in data["publishers"]:
        expected = _articles_of(data, pub["slug"])
        r = client.get(server.url(pub["feed"]))
        assert r.status_code == 200, pub["slug"]
        assert r.headers["content-type"].startswith(FEED_CTYPE[pub["format"]])
        assert b"__BASE__" not in r.content and b"__DATE(" not in r.content
        formats[pub["format"]] += 1
        if pub["format"] == "json11":
            # feedparser 6.0 cannot read JSON Feed; check the structure directly
            feed = r.json()
            assert feed["version"] == "https://jsonfeed.org/version/1.1"
            assert feed["feed_url"] == server.url(pub["feed"])
            items = feed["items"]
            assert len(items) == len(expected)
            for it in items:
                assert it["id"].startswith(pub["slug"] + ":")
                assert it["url"].startswith(server.base_url) and "utm_source=" in it["url"]
                assert it["title"] and it["summary"] and it["authors"][0]["name"]
                assert (it.get("content_text") or it.get("content_html"))
                datetime.fromisoformat(it["date_published"])
            dates = [datetime.fromisoformat(it["date_published"]) for it in items]
            assert dates == sorted(dates, reverse=True)
            continue
        parsed = feedparser.parse(r.content)
        assert not parsed.bozo, (pub["slug"], parsed.get("bozo_exception"))
        assert parsed.version == FEEDPARSER_VERSION[pub["format"]]
        assert len(parsed.entries) == len(expected)
        for e in parsed.entries:
            assert e.link.startswith(server.base_url + "/" + pub["slug"] + "/")
            assert "utm_" in e.link
            assert e.title and e.summary
            assert e.get("published_parsed") or e.get("updated_parsed")
            if pub["format"] != "rss091":  # 0.91 has neither guid nor author
                assert e.id and e.author
        if pub["format"] == "rss20":
            assert all(e.id == f"{pub['slug']}:{e.link.split('/')[-1].split('.html')[0]}"
                       for e in parsed.entries)
        if pub["format"] == "atom10":
            assert all(e.id.startswith("tag:") for e in parsed.entries)
        has_content = any(e.get("content") for e in parsed.entries)
        assert has_content == pub["full_content_in_feed"]
    assert formats == {"rss20": 2, "rss10": 1, "rss091": 1, "atom10": 2, "json11": 1}


def test_feed_dates_follow_demo_now(server, client, data):
    pub = next(p for p in data["publishers"] if p["slug"] == "harbor-gazette")
    parsed = feedparser.parse(client.get(server.url(pub["feed"])).content)
    newest = max(_articles_of(data, pub["slug"]), key=lambda a: a["published_offset_h"])
    e = parsed.entries[0]
    assert parsedate_to_datetime(e.published) == NOW + timedelta(hours=newest["published_offset_h"])
    body = e.content[0].value
    assert newest["paragraphs"][0][:60] in body


def test_opml_lists_all_feeds(server, client, data):
    r = client.get(server.url("/opml/demo.opml"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/x-opml")
    root = etree.fromstring(r.content)
    assert root.get("version") == "2.0"
    feeds = root.findall(".//outline[@xmlUrl]")
    assert len(feeds) == 7
    assert all(f.getparent().get("text") == "Demo newsroom" for f in feeds)
    assert {f.get("xmlUrl") for f in feeds} == {server.url(p["feed"]) for p in data["publishers"]}
    assert all(f.get("htmlUrl") and f.get("title") and f.get("text") for f in feeds)
    assert "/broken/" not in r.text
    broken = etree.fromstring(client.get(server.url("/opml/broken.opml")).content)
    assert {o.get("xmlUrl") for o in broken.findall(".//outline[@xmlUrl]")} == \
        {server.url(p) for p, _ in BROKEN_ENDPOINTS}


def test_homepages_advertise_their_feed(server, client, data):
    for pub in data["publishers"]:
        r = client.get(server.url(pub["homepage"]))
        assert r.status_code == 200
        doc = lxml_html.fromstring(r.content)
        alt = doc.xpath('//link[@rel="alternate"]')
        assert [(a.get("type"), a.get("href")) for a in alt] == [(FEED_CTYPE[pub["format"]], pub["feed"])]
        assert len(doc.xpath('//div[@class="teaser"]')) == len(_articles_of(data, pub["slug"]))


# --------------------------------------------------------------------------- pages

def test_article_pages(server, client, data):
    pubs = {p["slug"]: p for p in data["publishers"]}
    for a in data["articles"]:
        path = f"/{a['publisher']}/{a['slug']}.html"
        r = client.get(server.url(path) + "?utm_source=rss&utm_medium=feed")
        assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
        assert b"__BASE__" not in r.content and b"__DATE(" not in r.content
        doc = lxml_html.fromstring(r.content)
        assert doc.get("lang") == "en"
        assert doc.xpath('//link[@rel="canonical"]/@href') == [server.url(path)]
        assert doc.xpath('//meta[@property="og:title"]/@content') == [a["title"]]
        assert doc.xpath('//meta[@name="author"]/@content') == [a["author"]]
        assert doc.xpath('//meta[@property="og:site_name"]/@content') == [pubs[a["publisher"]]["name"]]
        published = format_date(NOW + timedelta(hours=a["published_offset_h"]), "iso")
        assert doc.xpath('//meta[@property="article:published_time"]/@content') == [published]
        art = doc.xpath("//article")[0]
        assert art.xpath("./h1")[0].text_content() == a["title"]
        assert art.xpath("./time/@datetime") == [published]
        assert [p.text_content() for p in art.xpath("./p[not(@class)]")] == a["paragraphs"]
        assert doc.xpath('//*[contains(@class, "cookie-banner")]')
        n_pub = sum(o["publisher"] == a["publisher"] for o in data["articles"])
        assert len(doc.xpath('//aside[@class="most-read"]//li')) == min(5, n_pub - 1)
    assert server.hits[f"/{a['publisher']}/{a['slug']}.html"] >= 1  # counted without the query


# --------------------------------------------------------------------------- HTTP behaviour

def test_conditional_get(server, client):
    path = "/feeds/civic-ledger.xml"
    first = client.get(server.url(path))
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert parsedate_to_datetime(last_modified) == NOW
    before = server.hits[path]
    again = client.get(server.url(path), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get(server.url(path), headers={"If-Modified-Since": last_modified}).status_code == 304
    assert client.get(server.url(path), headers={"If-None-Match": '"stale"'}).status_code == 200
    old = format_date(NOW - timedelta(days=1), "rfc822")
    assert client.get(server.url(path), headers={"If-Modified-Since": old}).status_code == 200
    assert server.hits[path] == before + 4
    raw_path, headers = server.requests[-4]
    assert raw_path == path and headers["if-none-match"] == etag


def test_content_types(server, client):
    assert client.get(server.url("/gold/stories.jsonl")).headers["content-type"].startswith("application/x-ndjson")
    assert client.get(server.url("/")).headers["content-type"] == "text/html; charset=utf-8"
    assert client.get(server.url("/robots.txt")).status_code == 200
    assert client.get(server.url("/no/such/page.html")).status_code == 404
    head = client.head(server.url("/feeds/meridian-wire.xml"))
    assert head.status_code == 200 and int(head.headers["content-length"]) > 1000


def test_no_path_traversal(server):
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=2) as s:
        s.sendall(b"GET /../../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 404")


def test_broken_endpoints(server, client):
    r = client.get(server.url("/broken/invalid.xml"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/rss+xml")
    parsed = feedparser.parse(r.content)
    assert parsed.bozo and not parsed.entries
    assert client.get(server.url("/broken/500")).status_code == 500
    r = client.get(server.url("/broken/429"))
    assert r.status_code == 429 and r.headers["retry-after"] == "120"
    r = client.get(server.url("/broken/redirect-private.xml"))  # httpx does not follow by default
    assert r.status_code == 302 and r.headers["location"] == PRIVATE_REDIRECT_TARGET
    r = client.get(server.url("/broken/redirect-loop.xml"))
    assert r.status_code == 302 and r.headers["location"] == server.url("/broken/redirect-loop.xml")
    r = client.get(server.url("/broken/xxe.xml"))
    assert r.status_code == 200 and b"<!ENTITY lol9" in r.content
    r = client.get(server.url("/broken/xxe-external.xml"))
    assert r.status_code == 200 and b'SYSTEM "file:///etc/passwd"' in r.content
    assert client.get(server.url("/broken/missing.xml")).status_code == 404


def test_slow_and_huge_endpoints(server, client):
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.get(server.url("/broken/slow.xml"), timeout=0.3)
    assert time.monotonic() - started < 2
    received = 0
    with client.stream("GET", server.url("/broken/huge.xml"), timeout=2) as r:
        assert r.status_code == 200 and "content-length" not in r.headers
        for chunk in r.iter_bytes():
            received += len(chunk)
            if received > 2_000_000:
                break
    assert received > 2_000_000
    # the server is still healthy afterwards
    assert client.get(server.url("/feeds/lantern-daily.xml")).status_code == 200


def test_server_lifecycle_and_quiet(capfd):
    srv = DemoServer()
    assert srv.now == default_now() or srv.now == default_now() - timedelta(hours=1)
    assert srv.now.minute == 0 and srv.now.tzinfo is not None
    srv.start()
    assert srv.base_url.startswith("http://127.0.0.1:") and srv.url("/x") == srv.base_url + "/x"
    with httpx.Client(timeout=2) as c:
        assert c.get(srv.url("/feeds/pocket-bulletin.json")).status_code == 200
        try:  # a slow request in flight must not hold up stop()
            c.get(srv.url("/broken/slow.xml"), timeout=0.2)
        except httpx.ReadTimeout:
            pass
    started = time.monotonic()
    srv.stop()
    srv.stop()  # idempotent
    assert time.monotonic() - started < 2
    assert capfd.readouterr().err == ""


def test_cli_runs_in_foreground():
    proc = subprocess.Popen([sys.executable, "-m", "newsloom.demo.server", "--port", "0",
                             "--now", "2024-03-14T12:00:00+00:00"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:")
        r = httpx.get(base + "/opml/demo.opml", timeout=5)
        assert r.status_code == 200 and base + "/feeds/" in r.text
    finally:
        proc.terminate()
        proc.wait(timeout=5)


# --------------------------------------------------------------------------- gold

def test_gold_lists_every_article_once(server, client, data, gold):
    urls = [g["url"] for g in gold]
    assert len(urls) == len(set(urls)) == len(data["articles"])
    assert set(urls) == {server.url(f"/{a['publisher']}/{a['slug']}.html") for a in data["articles"]}
    assert all("?" not in u for u in urls)
    names = {p["name"] for p in data["publishers"]}
    assert {g["publisher"] for g in gold} == names
    pubs_per_story = defaultdict(set)
    count_per_story = Counter()
    for g in gold:
        pubs_per_story[g["story"]].add(g["publisher"])
        count_per_story[g["story"]] += 1
        assert datetime.fromisoformat(g["published"]) == NOW + timedelta(hours=g["published_offset_h"])
    singletons = [s for s, n in count_per_story.items() if n == 1]
    assert len(singletons) >= 4
    for story, pubs in pubs_per_story.items():
        assert story in singletons or len(pubs) >= 2, story
    # served over HTTP identically
    served = [json.loads(line) for line in client.get(server.url("/gold/stories.jsonl")).text.splitlines()]
    assert served == gold


def test_gold_duplicates(gold):
    by_url = {g["url"]: g for g in gold}
    dups = [g for g in gold if g["duplicate_of"]]
    assert len(dups) >= 3
    for g in dups:
        orig = by_url[g["duplicate_of"]]
        assert orig["duplicate_of"] is None
        assert orig["story"] == g["story"] and orig["publisher"] != g["publisher"]
        assert orig["published_offset_h"] < g["published_offset_h"]


def test_gold_articles_bulk_format(server, gold):
    bulk = load_gold_articles(server.base_url, server.now)
    assert [b["url"] for b in bulk] == [g["url"] for g in gold]
    for b in bulk:
        assert set(b) == {"url", "title", "text", "source", "published", "story"}
        assert b["text"].count("\n\n") >= 3
        datetime.fromisoformat(b["published"])


def test_render_helper():
    text = "__BASE__/x __DATE(-2,iso)__ __DATE(0,rfc822)__ __DATE(-1.5,human)__"
    out = render(text, "http://127.0.0.1:9/", NOW)
    assert out == ("http://127.0.0.1:9/x 2024-03-14T10:00:00+00:00 Thu, 14 Mar 2024 12:00:00 GMT "
                   "14 March 2024, 10:30 UTC")
    assert render("__DATE(0,iso)__", "http://h", datetime(2024, 3, 14, 12)) == "2024-03-14T12:00:00+00:00"
    assert DATA_FILE.is_file() and (SITE_DIR / "gold" / "stories.jsonl").is_file()
