"""Fixtures for the product surfaces: the demo newsroom loaded once per store for this
directory.

`newsroom` is (store, settings) with the demo refreshed through the real path (OPML ->
fetch -> extract -> store -> stories), plus a few story hashtags written beside the pipeline's
own (Store.tag_story). Read-only tests share it; tests that write use conftest's `store`.
PostgreSQL gets its own schema, dropped afterwards.
"""

from __future__ import annotations


import pytest
from fastapi.testclient import TestClient

from newsloom.models import Tag
from newsloom.serve import create_app
from newsloom.settings import load_settings
from newsloom.store import open_store
from newsloom.tasks.jobs import fetch_bytes, import_opml
from newsloom.tasks.pipeline import refresh

BASE_URL = "https://news.example.org"
# hashtag slug -> (name, word that puts an article under it, in title or text). Slugs that
# enrich's own hashtags never take (those are letters only), so counts here are exact.
DEMO_TAGS = {"t-astrolabe": ("TAstrolabe", "astrolabe"), "t-kestrel": ("TKestrel", "kestrel"),
             "t-flood": ("TFlood", "flood")}


def product_settings(home, url, **extra):
    values = dict(home=str(home), database_url=url, env="test", secret_key="test-secret-not-a-placeholder",
                  fetch_allow_networks=["127.0.0.1/32"], fetch_timeout=2.0, base_url=BASE_URL)
    values.update(extra)
    return load_settings({}, **values)


@pytest.fixture(scope="package", params=["sqlite", "postgres"])
def newsroom(request, tmp_path_factory, demo_server):
    home = tmp_path_factory.mktemp("newsroom")
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'newsloom.db'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")("nl_product")
    store = open_store(url)
    store.reset()
    settings = product_settings(home, url)
    import_opml(store, fetch_bytes(settings, demo_server.url("/opml/demo.opml")))
    refresh(store, settings, all_feeds=True)
    for a in store.list_articles(limit=1000):
        for slug, (name, word) in DEMO_TAGS.items():
            if a.story_id and (word in a.title.lower() or word in a.text.lower()):
                store.tag_story(a.story_id, Tag(name=name, slug=slug, kind="keyphrase"), 1.0)
    yield store, settings
    store.reset()
    store.close()


@pytest.fixture(scope="package")
def demo_client(newsroom):
    store, settings = newsroom
    with TestClient(create_app(settings, store)) as client:
        yield client


@pytest.fixture
def client(settings, store):
    """A client over conftest's (empty, per-test) store, for tests that write. They write to
    the store directly, not through the app, so the anonymous page cache is off: every GET
    sees the last write."""
    with TestClient(create_app(settings.replace(base_url=BASE_URL, page_cache_seconds=0), store)) as c:
        yield c
