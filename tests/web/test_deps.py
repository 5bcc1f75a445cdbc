"""serve/deps.py and the one error path, through the real app on both stores: guards, the
login redirect, pagination limits, the code -> status table (a taken username is a 409),
and the API's independence from the web pages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import newsloom.serve as serve_pkg
from newsloom.errors import NotFound, StoreError
from newsloom.models import Article, utcnow
from newsloom.serve import create_app
from newsloom.serve.auth import SESSION_COOKIE
from newsloom.serve.errors import status_for

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


@pytest.fixture
def app(settings, store):
    return create_app(settings.replace(page_cache_seconds=0, argon2_time_cost=1, argon2_memory_cost=8192,
                                       signup_rate_limit="100/hour"), store)


@pytest.fixture
def client(app):
    with TestClient(app, follow_redirects=False) as c:
        yield c


def _as(app, store, name, role="user"):
    user = store.create_user(name, "not-a-real-hash", role=role)
    c = TestClient(app, follow_redirects=False)
    c.__enter__()
    c.cookies.set(SESSION_COOKIE, store.create_session(user.id, max_age=3600).token)
    return c


def _signup(client, username):
    token = CSRF.search(client.get("/signup").text).group(1)
    return client.post("/signup", data={"username": username, "password": PASSWORD, "password2": PASSWORD,
                                        "csrf_token": token})


def test_a_taken_username_is_a_409_through_the_real_signup(client, store):
    assert _signup(client, "alice").status_code == 303
    client.cookies.clear()
    r = _signup(client, "ALICE")                             # names are case-insensitive
    assert r.status_code == 409 and "That username is taken." in r.text and "<form" in r.text
    assert [u.username for u in [store.find_user("alice")]] == ["alice"]


def test_the_status_table():
    assert status_for(StoreError("store: username 'a' is taken", code="conflict")) == 409
    assert status_for(StoreError("comment: only its author can change a comment", code="forbidden")) == 403
    assert status_for(StoreError("comment: the text is empty", code="invalid")) == 400
    assert status_for(NotFound("store: no story 1")) == 404
    assert status_for(StoreError("store: something else")) == 400


def test_guards(app, client, store):
    user, mod, admin = _as(app, store, "reader"), _as(app, store, "mod", "moderator"), _as(app, store, "boss", "admin")
    try:
        for path in ("/account", "/for-you", "/moderation"):           # signed-in pages: log in first
            r = client.get(path)
            assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}", path
        r = client.get("/account", headers={"Accept": "application/json"})   # the same error, as JSON
        assert r.status_code == 401 and r.json()["error"]["code"] == "login_required"
        assert user.get("/account").status_code == 200
        assert user.get("/moderation").status_code == 403 and mod.get("/moderation").status_code == 200
        assert admin.get("/moderation").status_code == 200
        for path in ("/admin", "/admin/status"):                          # administrators only
            assert client.get(path).status_code == 403
            assert user.get(path).status_code == 403 and mod.get(path).status_code == 403
            assert admin.get(path).status_code == 200
        r = client.post("/api/v1/stories/1/comments", json={"body": "hi"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    finally:
        for c in (user, mod, admin):
            c.__exit__(None, None, None)


def test_pagination_is_validated_once_for_every_list(client, store):
    src = store.upsert_source("Harbor Gazette")
    for n in range(5):
        store.add_article(Article(url=f"https://h.example/{n}", title=f"Headline {n}", source_id=src.id,
                                  published_at=utcnow(), text="Text."))
    page = client.get("/api/v1/articles", params={"limit": 2, "offset": 2}).json()
    assert (page["total"], page["limit"], page["offset"], page["next_offset"], len(page["items"])) == (5, 2, 2, 4, 2)
    assert client.get("/api/v1/articles", params={"limit": 2, "offset": 4}).json()["next_offset"] is None
    for path, too_big in (("/api/v1/articles", 201), ("/api/v1/stories", 201), ("/api/v1/tags", 501),
                          ("/api/v1/search", 101)):
        assert client.get(path, params={"limit": 0}).status_code == 422, path
        assert client.get(path, params={"limit": too_big}).status_code == 422, path
        assert client.get(path, params={"limit": too_big - 1}).status_code == 200, path
        assert client.get(path, params={"offset": -1}).status_code == 422, path
    assert client.get("/api/v1/search", params={"offset": 100_000}).status_code == 422
    for path in ("/", "/tags/anything", f"/sources/{src.id}"):
        assert client.get(path, params={"page": 0}).status_code in (404, 422), path
        assert client.get(path, params={"page": 10_001}).status_code in (404, 422), path
    assert client.get(f"/sources/{src.id}", params={"page": 2}).status_code == 200


def _imports(path: Path) -> set[str]:
    """Modules a file imports, resolved to absolute names."""
    package = "newsloom." + ".".join(path.relative_to(Path(serve_pkg.__file__).parents[1]).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_the_api_does_not_import_the_web_pages():
    api = Path(serve_pkg.__file__).parent / "api"
    for path in api.glob("*.py"):
        web = {m for m in _imports(path) if m.startswith("newsloom.serve.web")}
        assert not web, f"{path.name} imports {web}"
    assert "newsloom.serve.search" in _imports(api / "routes.py")      # shared code lives beside both


def test_guards_and_store_lookups_are_not_repeated_per_route():
    """Route handlers take the store, the settings and the user from serve/deps.py."""
    for path in (Path(serve_pkg.__file__).parent).rglob("*.py"):
        text = path.read_text()
        assert "def _store(" not in text and "def _moderator(" not in text and "def admin_guard(" not in text, path
        assert "_user_or_login" not in text, path
