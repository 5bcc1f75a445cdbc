"""Hostile URL schemes: only http and https URLs are ever stored as feeds or article links,
and the pages, Atom feeds and API only ever link http(s) (or relative) URLs.

Findings 1, 2 and 6: ``feeds add --no-verify`` and an OPML import stored ``javascript:``,
``data:``, ``file:`` and ``gopher:`` feed URLs, ``import-jsonl`` stored a ``javascript:``
article URL, and the feed list, the admin page, "Read the original", the story's Atom feed
and the API turned them into links. The edges are checked through the CLI and the import
functions; the rendering through the app, over rows written with plain SQL into a real
SQLite store, as a database from an older version would hold them. Every name is fictional.
"""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from fastapi.testclient import TestClient

from newsloom.cli import main
from newsloom.errors import StoreError
from newsloom.models import Article, Feed, Story, utcnow
from newsloom.serve import create_app
from newsloom.serve.auth import SESSION_COOKIE
from newsloom.settings import load_settings
from newsloom.store import open_store
from newsloom.tasks.jobs import import_opml

# Each is read by a browser as a non-http scheme: case, leading blanks and control
# characters and a tab inside the scheme are all ignored by the URL parser.
HOSTILE = [
    "javascript:alert(document.domain)",
    " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "\x01javascript:alert(1)",
    "\njavascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "gopher://gopher.example.org/1",
    "feed:https://quay.example.org/feed.xml",
    "https:no-host",
]
IDS = ["javascript", "mixed-case", "tab", "control", "newline", "data", "vbscript", "file", "gopher",
       "feed", "no-host"]
GOOD = "https://quay.example.org/feed.xml"


class Cli:
    """`newsloom ...` in-process against the test database (as tests/cli's fixture)."""

    def __init__(self, env: dict[str, str]):
        self.env, self.runner = env, CliRunner()

    def __call__(self, *args: str):
        return self.runner.invoke(main, list(args), env=self.env, catch_exceptions=False)


@pytest.fixture
def cli(tmp_path, store_url, store):
    return Cli({"NEWSLOOM_HOME": str(tmp_path), "NEWSLOOM_DATABASE_URL": store_url,
                "NEWSLOOM_FETCH_ALLOW_NETWORKS": "127.0.0.1/32", "NEWSLOOM_FETCH_TIMEOUT": "2"})


def output_of(result) -> str:
    return result.output + (result.stderr if result.stderr_bytes is not None else "")


# --------------------------------------------------------------------------- the edges

@pytest.mark.parametrize("url", HOSTILE, ids=IDS)
def test_finding_06_non_http_feed_urls_are_not_stored(cli, store, url):
    for args in (("feeds", "add", "--no-verify", url), ("feeds", "add", url)):
        result = cli(*args)
        assert result.exit_code == 1, output_of(result)
        assert "error: feeds: refused" in output_of(result)
        assert "only http and https" in output_of(result)
    assert store.list_feeds() == []
    with pytest.raises(StoreError) as err:              # the store's own last line of defence
        store.add_feed(Feed(url=url))
    assert err.value.code == "invalid" and err.value.message.startswith("store: ")
    assert store.list_feeds() == []


def test_finding_06_http_and_https_feed_urls_are_still_stored(cli, store):
    for url in (f"  {GOOD}\n", "HTTP://Pier.example.org/rss"):
        result = cli("feeds", "add", "--no-verify", url)
        assert result.exit_code == 0, output_of(result)
    assert [f.url for f in store.list_feeds()] == [GOOD, "HTTP://Pier.example.org/rss"]


def test_finding_06_opml_import_stores_only_http_feeds(store):
    # XML 1.0 has no way to write \x01; a tab and a newline survive as character references
    hostile = [u for u in HOSTILE if "\x01" not in u]
    outlines = "".join(f'<outline type="rss" text="Pier {n}" xmlUrl="{url}"/>'
                       for n, url in enumerate(u.replace("\t", "&#9;").replace("\n", "&#10;")
                                               .replace("<", "&lt;") for u in hostile))
    opml = (f'<?xml version="1.0"?><opml version="2.0"><head><title>Harbour desk</title></head><body>'
            f'<outline text="News">{outlines}'
            f'<outline type="rss" text="Quay" xmlUrl="{GOOD}" htmlUrl="javascript:alert(2)"/>'
            f'<outline type="rss" text="Quay site" xmlUrl="https://quay.example.org/site.xml" '
            f'htmlUrl="https://quay.example.org/"/></outline></body></opml>').encode()
    report = import_opml(store, opml)
    assert report.added == 2
    assert len(report.errors) == len(hostile)
    assert all(message.startswith("import: ") and "only http and https" in message
               for _, message in report.errors)
    feeds = {f.url: f for f in store.list_feeds()}
    assert sorted(feeds) == [GOOD, "https://quay.example.org/site.xml"]
    assert feeds[GOOD].site_url is None                 # a javascript: homepage is dropped
    assert feeds["https://quay.example.org/site.xml"].site_url == "https://quay.example.org/"


def test_finding_06_opml_import_through_the_cli_reports_refused_outlines(cli, store, tmp_path):
    path = tmp_path / "desk.opml"
    path.write_text('<?xml version="1.0"?><opml version="2.0"><head/><body>'
                    '<outline type="rss" text="Bad" xmlUrl="file:///etc/passwd"/>'
                    f'<outline type="rss" text="Quay" xmlUrl="{GOOD}"/></body></opml>')
    result = cli("feeds", "import", str(path))
    assert result.exit_code == 0, output_of(result)
    assert "import: " in output_of(result) and "'file:///etc/passwd'" in output_of(result)
    assert "1 added" in result.output and "1 errors" in result.output
    assert [f.url for f in store.list_feeds()] == [GOOD]


def test_finding_02_javascript_article_url_from_jsonl_is_refused(cli, store, tmp_path):
    rows = [{"url": url, "title": f"Pier {n} reopens", "text": "The pier reopened at dawn.",
             "source": "Harbour Gazette"} for n, url in enumerate(HOSTILE)]
    rows.append({"url": "https://gazette.example.org/pier", "title": "Pier reopens",
                 "text": "The pier reopened at dawn.", "source": "Harbour Gazette"})
    path = tmp_path / "bulk.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = cli("import-jsonl", str(path))
    assert result.exit_code == 0, output_of(result)
    assert f"1 added, 0 already present, {len(HOSTILE)} errors" in result.output
    for n in range(1, len(HOSTILE) + 1):
        assert f"import: line {n}: " in output_of(result)
    assert [a.url for a in store.list_articles()] == ["https://gazette.example.org/pier"]
    source = store.upsert_source("Harbour Gazette")
    with pytest.raises(StoreError) as err:              # the store's own last line of defence
        store.add_article(Article(url="javascript:alert(1)", title="Pier", source_id=source.id, text="Pier."))
    assert err.value.code == "invalid" and err.value.message.startswith("store: ")
    assert store.count_articles() == 1


# ------------------------------------------------------- rows stored by an older version

class _Links(HTMLParser):
    """Every href/src/action of a page, entities decoded as a browser decodes them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.links += [v for k, v in attrs if k in ("href", "src", "action", "formaction") and v is not None]


def bad_links(links) -> list[str]:
    """Links that are neither relative nor http(s), as a browser would read their scheme."""
    return [u for u in links if urlsplit(u).scheme.lower() not in ("", "http", "https")]


def page_links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.links


def json_links(value, key: str = "") -> list[str]:
    if isinstance(value, dict):
        return [u for k, v in value.items() for u in json_links(v, k)]
    if isinstance(value, list):
        return [u for v in value for u in json_links(v, key)]
    return [value] if key in ("url", "site_url", "homepage") and isinstance(value, str) else []


@pytest.fixture
def old_site(tmp_path):
    """A SQLite store holding, for each hostile URL, a failing feed with that URL and site
    URL, a publisher with that homepage and an article with that URL in a story; written
    with plain SQL past the store's guards. Yields (client logged in as an admin, ids)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = open_store(url)
    store.reset()
    when = utcnow() - timedelta(hours=1)
    ids = []
    for n, bad in enumerate(HOSTILE):
        source = store.upsert_source(f"Harbour Gazette {n}")
        feed, _ = store.add_feed(Feed(url=f"https://gazette{n}.example.org/feed.xml", source_id=source.id))
        story = store.add_story(Story(title=f"Pier {n} reopens", first_seen_at=when, last_seen_at=when,
                                      article_count=1, source_count=1))
        article, _ = store.add_article(Article(url=f"https://gazette{n}.example.org/pier", title=f"Pier {n} reopens",
                                               source_id=source.id, feed_id=feed.id, story_id=story.id,
                                               published_at=when, text="The pier reopened at dawn."))
        ids.append((source.id, story.id, article.id))
        db = sqlite3.connect(tmp_path / "old.db")
        with db:
            db.execute("UPDATE feeds SET url = ?, site_url = ?, last_error = 'fetch: refused', error_count = 3, "
                       "last_fetched_at = created_at WHERE id = ?", (bad, bad, feed.id))
            db.execute("UPDATE sources SET homepage = ? WHERE id = ?", (bad, source.id))
            db.execute("UPDATE articles SET url = ? WHERE id = ?", (bad, article.id))
        db.close()
    settings = load_settings({}, home=str(tmp_path), database_url=url, env="test",
                             secret_key="test-secret-not-a-placeholder", base_url="https://news.example.org",
                             page_cache_seconds=0)
    admin = store.create_user("harbourmaster", PasswordHasher(time_cost=1, memory_cost=8192).hash("x" * 12),
                              role="admin")
    with TestClient(create_app(settings, store)) as client:
        client.cookies.set(SESSION_COOKIE, store.create_session(admin.id, max_age=3600).token)
        yield client, ids
    store.close()


def get_ok(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response


def test_finding_01_javascript_feed_url_is_refused_and_never_a_link(cli, store, old_site):
    result = cli("feeds", "add", "--no-verify", "javascript:alert(document.domain)")
    assert result.exit_code == 1 and "feeds: refused" in output_of(result)
    assert store.list_feeds() == []

    client, ids = old_site
    n = len(HOSTILE)
    listed = {"/feeds": f"{n} feeds, {n} failing", "/admin": "Feeds with errors", "/sources": "Harbour Gazette 0"}
    listed |= {f"/sources/{source_id}": "1 failing" for source_id, _, _ in ids}
    for path, shown in listed.items():
        html = get_ok(client, path).text
        assert shown in html, path                                      # the rows are there
        assert 'href="javascript:' not in html.lower(), path
        assert bad_links(page_links(html)) == [], path
    for path in ["/api/v1/feeds", "/api/v1/sources"] + [f"/api/v1/sources/{s}" for s, _, _ in ids]:
        body = get_ok(client, path).json()
        assert bad_links(json_links(body)) == [], path


def test_finding_02_javascript_article_url_is_never_a_link(old_site):
    client, ids = old_site
    for _, story_id, article_id in ids:
        html = get_ok(client, f"/articles/{article_id}").text
        assert "Pier " in html and "Read the original" not in html     # shown, not linked
        assert 'href="javascript:' not in html.lower()
        assert bad_links(page_links(html)) == [], article_id
        html = get_ok(client, f"/stories/{story_id}").text
        assert bad_links(page_links(html)) == [], story_id

        atom = ET.fromstring(get_ok(client, f"/stories/{story_id}.atom").content)
        links = [el.get("href") for el in atom.iter("{http://www.w3.org/2005/Atom}link")]
        assert links and bad_links(links) == [], story_id
        assert all(urlsplit(u).scheme == "https" for u in links)

        for path in (f"/api/v1/articles/{article_id}", f"/api/v1/stories/{story_id}",
                     f"/api/v1/articles/{article_id}/related"):
            assert bad_links(json_links(get_ok(client, path).json())) == [], path
    for path in ("/api/v1/articles?limit=100", "/api/v1/search?q=pier", "/feeds/home.atom"):
        response = get_ok(client, path)
        links = (json_links(response.json()) if "json" in response.headers["content-type"]
                 else [el.get("href") for el in ET.fromstring(response.content).iter()
                       if el.get("href") is not None])
        assert bad_links(links) == [], path
