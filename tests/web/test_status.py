"""/api/v1/status and /admin/status through the real app, on both stores."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from newsloom.models import Feed, utcnow
from newsloom.serve import create_app
from newsloom.serve.auth import SESSION_COOKIE
from newsloom.tasks.insights import INSIGHTS_VERSION


@pytest.fixture
def app(settings, store):
    return create_app(settings.replace(page_cache_seconds=0, secret_key="a-secret-that-must-not-leak"), store)


def _as(app, store, name, role):
    user = store.create_user(name, "not-a-real-hash", role=role)
    c = TestClient(app, follow_redirects=False)
    c.__enter__()
    c.cookies.set(SESSION_COOKIE, store.create_session(user.id, max_age=3600).token)
    return c


def test_api_status_shape(app, store, settings):
    store.add_feed(Feed(url="https://due.example/feed.xml", title="Due"))      # never fetched: due now
    store.beat("serve-1", "embedded", {"ticks": 3}, started_at=utcnow() - timedelta(minutes=10))
    with TestClient(app) as client:
        r = client.get("/api/v1/status")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    counts = ("due_feeds", "feeds_in_progress", "pending_entries", "unclustered_articles", "dirty_stories",
              "stale_insights", "articles_last_hour")
    assert all(isinstance(body[k], int) for k in counts)
    assert body["due_feeds"] == 1 and body["backend"] in ("sqlite", "postgresql")
    assert body["insights_version"] == INSIGHTS_VERSION and body["queues"] is None      # no worker has beaten
    assert body["last_errors"] == []
    (beat,) = body["heartbeats"]
    assert (beat["name"], beat["role"], beat["alive"], beat["info"]) == ("serve-1", "embedded", True, {"ticks": 3})
    assert 0 <= beat["age_seconds"] < 60
    datetime.fromisoformat(body["checked_at"].replace("Z", "+00:00"))
    text = r.text
    assert "a-secret-that-must-not-leak" not in text and settings.db_url not in text
    assert "/api/v1/status" in client.app.openapi()["paths"]


def test_admin_status_is_for_admins_and_lists_heartbeats(app, store):
    store.beat("worker-7@host", "embedded", {"jobs": 12}, started_at=utcnow() - timedelta(hours=2))
    anon = TestClient(app, follow_redirects=False)
    user, admin = _as(app, store, "reader", "user"), _as(app, store, "boss", "admin")
    try:
        assert anon.get("/admin/status").status_code == 403
        assert user.get("/admin/status").status_code == 403
        r = admin.get("/admin/status")
        assert r.status_code == 200 and "<h1>Pipeline status</h1>" in r.text
        row = r.text[r.text.index("worker-7@host"):]
        row = row[:row.index("</tr>")]
        assert "embedded" in row and "alive" in row and " s</td>" in row and "2 hours ago" in row
        for heading in ("Work waiting", "Queues", "Last error per stage", "Heartbeats", "Feeds due",
                        "Pending entries", "Articles in the last hour"):
            assert heading in r.text, heading
        assert 'href="/admin/status"' in admin.get("/admin").text                # linked from /admin
        assert "private" in r.headers["cache-control"]
    finally:
        for c in (user, admin):
            c.__exit__(None, None, None)


def test_admin_status_shows_the_last_error_of_each_stage(app, store):
    store.beat("old-scheduler", "embedded", {})
    store.record_stage_error("extract", "extract: page too large (https://x.example/a)")
    admin = _as(app, store, "boss", "admin")
    try:
        html = admin.get("/admin/status").text
        assert "extract: page too large" in html and "old-scheduler" in html
    finally:
        admin.__exit__(None, None, None)
