"""Shared fixtures: real stores (SQLite file and PostgreSQL), settings, the demo newsroom.

PostgreSQL comes from NEWSLOOM_TEST_PG_URL (default: postgres@127.0.0.1:5432/test). Each
test session gets its own schema, dropped at the end. Locally a missing server skips the
PostgreSQL half; under CI=true it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from newsloom.settings import load_settings
from newsloom.store import Store, open_store

PG_URL = os.environ.get("NEWSLOOM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
DEMO_NOW = datetime(2026, 3, 12, 18, 0, tzinfo=timezone.utc)


def _pg_schema_url(prefix: str = "nl_test"):
    """Create a private schema and return (schema, a URL that uses it)."""
    schema = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no PostgreSQL here"
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL unavailable at {PG_URL}: {exc}")
    sep = "&" if "?" in PG_URL else "?"
    return schema, f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _drop_schemas(schemas):
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        for schema in schemas:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_schema_factory():
    """pg_schema_factory(prefix) -> URL of a fresh private schema (dropped at session end),
    for fixtures that keep data alive beside the per-test `store`."""
    made = []

    def make(prefix: str) -> str:
        schema, url = _pg_schema_url(prefix)
        made.append(schema)
        return url

    yield make
    if made:
        _drop_schemas(made)


@pytest.fixture(scope="session")
def pg_url():
    schema, url = _pg_schema_url()
    yield url
    _drop_schemas([schema])


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'newsloom.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url) -> Store:
    s = open_store(store_url)
    s.reset()
    yield s
    s.reset()
    s.close()


@pytest.fixture
def settings(tmp_path, store_url):
    return load_settings({}, home=str(tmp_path), database_url=store_url, env="test",
                         secret_key="test-secret-not-a-placeholder", fetch_allow_networks=["127.0.0.1/32"],
                         fetch_timeout=2.0, refresh_interval=30)


@pytest.fixture(scope="session")
def demo_server():
    from newsloom.demo.server import DemoServer

    with DemoServer(now=DEMO_NOW) as server:
        yield server


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def demo_ingested(request, tmp_path_factory, demo_server):
    """The demo newsroom ingested once per module and backend through the real path:
    (store, settings, {gold story label: story id}). Tests must not modify it."""
    from newsloom.demo import load_gold
    from newsloom.tasks.jobs import fetch_bytes, import_opml
    from newsloom.tasks.pipeline import refresh

    home = tmp_path_factory.mktemp("demo-home")
    url = f"sqlite:///{home / 'newsloom.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    settings = load_settings({}, home=str(home), database_url=url, env="test",
                             secret_key="test-secret-not-a-placeholder", fetch_allow_networks=["127.0.0.1/32"],
                             fetch_timeout=2.0)
    store = open_store(url)
    store.reset()
    import_opml(store, fetch_bytes(settings, demo_server.url("/opml/demo.opml")))
    refresh(store, settings, all_feeds=True)
    by_url = {a.url: a for a in store.list_articles(limit=1000)}
    stories = {g["story"]: by_url[g["url"]].story_id for g in load_gold(demo_server.base_url, demo_server.now)}
    yield store, settings, stories
    store.reset()
    store.close()


# -- live servers and the browser (tests/browser, tests/security) ------------------------------
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


class LiveServer:
    """uvicorn on 127.0.0.1 in a background thread: ``port = live.free_port()``, then
    ``with live.running(create_app(...), port) as base_url: ...``."""

    @staticmethod
    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    @staticmethod
    @contextmanager
    def running(app, port: int):
        import uvicorn

        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "uvicorn did not start"
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server() -> LiveServer:
    return LiveServer()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright (no browser download). Locally a missing Chromium
    skips; under CI=true it fails."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        if IN_CI:
            pytest.fail("Chromium is required under CI=true (scripts/system-deps.sh installs it)")
        pytest.skip("Debian's chromium is not installed (run scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()
