"""A real browser (Debian's Chromium driven by Playwright) against a real server on 127.0.0.1.

The server is uvicorn in a background thread over a SQLite store filled from the demo
newsroom through the normal ingest path. Screenshots go to ./screenshots/ (gitignored).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

MOD_PASSWORD = "moderator password 1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def _hash(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=8192).hash(password)


@pytest.fixture(scope="module")
def site(tmp_path_factory, demo_server, evil_feed_url, live_server):
    """(base_url, store, settings) of a live newsloom over the demo newsroom."""
    from newsloom.models import Feed
    from newsloom.serve import create_app
    from newsloom.settings import load_settings
    from newsloom.store import open_store
    from newsloom.tasks.jobs import fetch_bytes, import_opml
    from newsloom.tasks.pipeline import refresh

    home = tmp_path_factory.mktemp("browser-home")
    port = live_server.free_port()
    settings = load_settings({}, home=str(home), env="test", secret_key="browser-test-secret-key-0123456789",
                             fetch_allow_networks=["127.0.0.1/32"], base_url=f"http://127.0.0.1:{port}",
                             argon2_time_cost=1, argon2_memory_cost=8192)
    store = open_store(settings.db_url)
    import_opml(store, fetch_bytes(settings, demo_server.url("/opml/demo.opml")))
    store.add_feed(Feed(url=evil_feed_url))
    refresh(store, settings, all_feeds=True)
    store.create_user("mod", _hash(MOD_PASSWORD), role="moderator")
    with live_server.running(create_app(settings, store), port) as base_url:
        yield base_url, store, settings
    store.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs
    yield pg
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def evil_feed_url():
    """tests/data/xss/ served on 127.0.0.1: a feed whose title and content carry script."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    directory = Path(__file__).resolve().parents[1] / "data" / "xss"

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/evil.xml"
    httpd.shutdown()
    httpd.server_close()
