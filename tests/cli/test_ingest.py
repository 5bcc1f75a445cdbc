"""Ingest through the CLI, against the demo newsroom served on 127.0.0.1 (real HTTP, real stores)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

from newsloom.demo import SITE_DIR, load_gold


def _opml(tmp_path, server, name="demo.opml"):
    import httpx

    path = tmp_path / name
    path.write_bytes(httpx.get(server.url(f"/opml/{name}")).content)
    return path


def _page_hits(server):
    return sum(n for path, n in server.hits.items() if path.endswith(".html"))


def test_demo_refresh_stores_every_article_once_and_rerun_adds_nothing(cli, store, demo_server, tmp_path):
    gold = load_gold(demo_server.base_url, demo_server.now)
    cli("feeds", "import", str(_opml(tmp_path, demo_server)))
    out = cli("refresh", "--all").output
    assert f"{len(gold)} new articles, 0 failed" in out

    stored = {a.url: a for a in store.list_articles(limit=1000)}
    assert set(stored) == {g["url"] for g in gold}                    # canonical URLs, utm_* stripped
    assert len({a.source_name for a in stored.values()}) >= 6
    for g in gold:
        a = stored[g["url"]]
        assert a.title == g["title"]
        assert a.published_at is not None and a.author
        assert len(a.text) > 400, a.url                               # full text, not the feed summary
        assert "cookie" not in a.text.lower() and "newsletter" not in a.text.lower()

    hits_before = _page_hits(demo_server)
    out = cli("refresh", "--all").output
    assert "0 new articles, 0 failed" in out
    assert store.count_articles() == len(gold)
    assert _page_hits(demo_server) == hits_before                    # known entries: no page fetched again


def test_conditional_get_sends_validators_and_handles_304(cli, store, demo_server, tmp_path):
    cli("feeds", "import", str(_opml(tmp_path, demo_server)))
    cli("refresh", "--all")
    feeds = store.list_feeds()
    assert all(f.etag for f in feeds)
    before = len(demo_server.requests)
    cli("refresh", "--all")
    sent = [h for path, h in demo_server.requests[before:] if path.startswith("/feeds/")]
    assert len(sent) == len(feeds)
    assert all({k.lower() for k in h} & {"if-none-match", "if-modified-since"} for h in sent)
    assert all(f.last_status == 304 for f in store.list_feeds())


def test_broken_feeds_record_errors_and_never_stop_the_others(cli, store, demo_server, tmp_path):
    cli("feeds", "import", str(_opml(tmp_path, demo_server, "broken.opml")))
    good = demo_server.url("/feeds/" + sorted(p.name for p in (SITE_DIR / "feeds").iterdir())[0])
    cli("feeds", "add", good)
    out = cli("refresh", "--all").output
    assert "failed" in out
    feeds = {f.url: f for f in store.list_feeds()}
    assert feeds[good].last_error is None and store.count_articles() > 0
    errors = {url.rsplit("/", 1)[-1]: f.last_error for url, f in feeds.items() if url != good}
    assert errors["invalid.xml"].startswith("parse:")
    assert errors["500"].startswith("fetch:") and "500" in errors["500"]
    assert "timed out" in errors["slow.xml"] or "timeout" in errors["slow.xml"]
    assert errors["huge.xml"].startswith("fetch:") and "2000000 byte limit" in errors["huge.xml"]
    assert "10.255.255.1" in errors["redirect-private.xml"] and "private" in errors["redirect-private.xml"]
    assert "429" in errors["429"] and "redirects" in errors["redirect-loop.xml"]
    assert "entit" in errors["xxe.xml"].lower()
    for url, f in feeds.items():
        if url != good:
            assert f.error_count == 1 and f.next_check_at > f.last_fetched_at, url

    listing = cli("feeds", "list").output
    assert "ERROR" in listing and "10.255.255.1" in listing
    page = cli("get", "/feeds").output
    assert "10.255.255.1" in page and "failing" in page


def test_private_addresses_are_refused_by_default(cli_env, make_cli, demo_server, store):
    Cli = make_cli
    env = dict(cli_env)
    env.pop("NEWSLOOM_FETCH_ALLOW_NETWORKS")
    cli = Cli(env)
    cli("feeds", "add", "--no-verify", demo_server.url("/feeds/x.xml"))
    cli("refresh", "--all")
    (feed,) = store.list_feeds()
    assert "127.0.0.1" in feed.last_error and feed.last_error.startswith("fetch:")
    assert store.count_articles() == 0
    assert cli("feeds", "add", demo_server.url("/feeds/x.xml"), ok=False).exit_code == 1


def test_feed_discovery_and_opml_export_roundtrip(cli, store, demo_server, tmp_path):
    homes = sorted(p.parent.name for p in SITE_DIR.glob("*/index.html"))
    out = cli("feeds", "add", demo_server.url(f"/{homes[0]}/index.html")).output
    assert out.startswith("added:") and "/feeds/" in out
    assert cli("feeds", "add", store.list_feeds()[0].url).output.startswith("already present")
    cli("feeds", "import", str(_opml(tmp_path, demo_server)))
    exported = cli("feeds", "export").output
    path = tmp_path / "out.opml"
    path.write_text(exported)
    urls = sorted(f.url for f in store.list_feeds())
    store.reset()
    cli("feeds", "import", str(path))
    assert sorted(f.url for f in store.list_feeds()) == urls


def test_import_jsonl_reports_bad_lines_and_is_idempotent(cli, store, demo_server, tmp_path):
    import httpx

    from newsloom.demo import render

    lines = render(httpx.get(demo_server.url("/gold/articles.jsonl")).text, demo_server.base_url,
                   demo_server.now).splitlines()
    bad = ['{"url": "https://x.example/a", "title": "no text"}', "not json at all", "[1, 2]"]
    path = tmp_path / "bulk.jsonl"
    path.write_text("\n".join(lines[:5] + bad + lines[5:]) + "\n")
    result = cli("import-jsonl", str(path))
    assert f"{len(lines)} added, 0 already present, 3 errors" in result.output
    assert "line 6: missing text" in result.output and "line 7" in result.output
    assert store.count_articles() == len(lines)
    assert "0 added" in cli("import-jsonl", str(path)).output
    sources = Counter(a.source_name for a in store.list_articles(limit=1000))
    assert len(sources) >= 6


def test_get_prints_api_json(cli, store, demo_server, tmp_path):
    cli("feeds", "import", str(_opml(tmp_path, demo_server)))
    cli("refresh", "--all")
    body = json.loads(cli("get", "/api/v1/articles?limit=5").output)
    assert len(body["items"]) == 5 and body["total"] == store.count_articles() and body["next_offset"] == 5
    assert cli("get", "/api/v1/articles/999999", ok=False).exit_code == 1


def test_killed_refresh_leaves_only_whole_articles(cli_env, make_cli, store, demo_server, tmp_path):
    """SIGKILL a refresh mid-way: every stored article is complete, and a re-run finishes without duplicates."""
    Cli = make_cli

    gold = {g["url"]: g for g in load_gold(demo_server.base_url, demo_server.now)}
    cli = Cli(cli_env)
    cli("feeds", "import", str(_opml(tmp_path, demo_server)))
    env = {**os.environ, **cli_env}
    proc = subprocess.Popen([sys.executable, "-m", "newsloom.cli", "refresh", "--all"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while store.count_articles() == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for a in store.list_articles(limit=1000):
        assert a.url in gold and a.title == gold[a.url]["title"] and len(a.text) > 400
    cli("refresh", "--all")
    urls = [a.url for a in store.list_articles(limit=1000)]
    assert sorted(urls) == sorted(gold)
