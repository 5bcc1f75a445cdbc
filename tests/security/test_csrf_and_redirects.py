"""What held when the site was attacked, kept holding: CSRF on every state-changing route
(enumerated from the app, not listed by hand), cross-user and cross-role actions refused,
no redirect leaving the site, and the session and CSRF cookies' flags. Through the real app
on both stores.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import routing
from fastapi.testclient import TestClient

from newsloom.models import Article, Feed, Story, utcnow
from newsloom.serve import create_app
from newsloom.serve.auth import CSRF_COOKIE, SESSION_COOKIE
from newsloom.store.community import hash_secret
from newsloom.tasks.digests import unsubscribe_token

PASSWORD = "correct horse battery"
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def app(settings, store):
    return create_app(settings.replace(argon2_time_cost=1, argon2_memory_cost=8192, page_cache_seconds=0,
                                       login_rate_limit="1000/minute", login_address_rate_limit="10000/minute",
                                       signup_rate_limit="1000/hour", comment_rate_limit="1000/minute",
                                       token_rate_limit="1000/hour", login_backoff_max=0), store)


@pytest.fixture
def connect(app):
    opened = []

    def make(*, base_url: str = "http://testserver", on=None):
        client = TestClient(on or app, base_url=base_url, follow_redirects=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for c in opened:
        c.__exit__(None, None, None)


def csrf_from(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no csrf_token in the page"
    return m.group(1)


def as_user(connect, store, username: str, role: str = "user", **kw):
    user = store.find_user(username) or store.create_user(username, PASSWORD_HASH, role=role)
    client = connect(**kw)
    client.cookies.set(SESSION_COOKIE, store.create_session(user.id, max_age=3600).token)
    return client


def post_form(client, path: str, data: dict | None = None):
    return client.post(path, data={**(data or {}), "csrf_token": csrf_from(client.get("/account").text)})


def make_story(store, title: str = "Harbour lights return"):
    when = utcnow() - timedelta(hours=1)
    story = store.add_story(Story(title=title, first_seen_at=when, last_seen_at=when, article_count=1,
                                  source_count=1))
    src = store.upsert_source("Harbor Gazette")
    store.add_article(Article(url=f"https://a.example/{story.id}", title=title, source_id=src.id,
                              published_at=when, text=f"{title}.", story_id=story.id))
    return story


def write_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every state-changing route the app serves, read from its route table."""
    if hasattr(routing, "iter_route_contexts"):          # FastAPI that wraps included routers lazily
        routes = list(routing.iter_route_contexts(app.routes))
    else:
        routes = list(app.routes)
    found = set()
    for route in routes:
        for method in (getattr(route, "methods", None) or set()) & WRITES:
            found.add((method, route.path))
    return sorted(found, key=lambda mp: (mp[1], mp[0]))


@pytest.fixture
def world(store, settings):
    """A story, a comment by alice with a report on it, alice's API token, a banned-able user."""
    story = make_story(store)
    alice = store.create_user("alice", PASSWORD_HASH)
    store.create_user("bob", PASSWORD_HASH)
    store.create_user("carol", PASSWORD_HASH)
    comment = store.post_comment(story.id, alice.id, "The quay is lit again.")
    store.report_comment(comment.id, store.find_user("bob").id, "test")
    store.create_api_token("alice", name="script")
    [token] = store.list_api_tokens(alice.id)
    # {token}: alice's digest unsubscribe link (/digests/unsubscribe/{token}). Its form is posted
    # by nobody signed in: the CSRF token is derived from the link's token, so forged ones fail too
    store.save_digest(alice.id, period="daily", email="alice@example.org")
    unsubscribe = unsubscribe_token(settings, alice.id)
    store.set_digest_unsubscribe_hash(alice.id, hash_secret(unsubscribe))
    # {article_id}, {feed_id}: read marks and subscriptions (serve/web/reading.py, serve/api/reading.py)
    feed, _ = store.add_feed(Feed(url="https://a.example/feed.xml"))
    article_id = store.list_articles(story_id=story.id)[0].id
    return {"story_id": story.id, "comment_id": comment.id, "token_id": token["id"], "username": "carol",
            "token": unsubscribe, "article_id": article_id, "feed_id": feed.id}


def _fill(path: str, world: dict) -> str:
    try:
        return path.format(**world)
    except KeyError as exc:
        pytest.fail(f"{path}: a new path parameter {exc}; give it a real value in `world`")


FORM = {"body": "Written by someone else's page.", "kind": "story", "target": "1", "action": "follow",
        "name": "stolen", "username": "dave", "password": PASSWORD, "password2": PASSWORD, "reason": "x",
        "next": "/"}


def _unchanged(store, world) -> None:
    comment = store.get_comment(world["comment_id"])
    assert comment.state == "visible" and comment.body == "The quay is lit again."
    assert store.list_banned_users() == [] and store.find_user("dave") is None
    assert [t["name"] for t in store.list_api_tokens(store.find_user("alice").id)] == ["script"]
    assert store.list_follows(store.find_user("alice").id) == []
    assert store.moderation_queue()["reported"][0].report_count == 1
    assert store.get_digest(store.find_user("alice").id).period == "daily"
    alice = store.find_user("alice").id
    assert store.unread_counts(alice).total == 1 and store.chosen_feed_ids(alice) == []
    assert store.starred_ids(alice) == set()


# -- CSRF ----------------------------------------------------------------------------
# The feed-reader apps' protocols (serve/api/greader.py, serve/api/fever.py) never read a session
# cookie: a call is its own credentials (GoogleLogin token plus write token T; the Fever api_key).
# A page on another site cannot make a browser send those, so there is nothing for a CSRF token
# to protect; test_reader_protocols_ignore_session_cookies below holds them to it.
NO_COOKIE_PROTOCOLS = ("/accounts/ClientLogin", "/reader/api/0/", "/fever/")


def test_every_form_post_needs_a_csrf_token(app, connect, store, world):
    forms = [(m, p) for m, p in write_routes(app) if not p.startswith(("/api/", *NO_COOKIE_PROTOCOLS))]
    assert len(forms) >= 15 and ("POST", "/login") in forms          # the table was read, not guessed
    admin = as_user(connect, store, "boss", "admin")                  # every role guard lets an admin by
    author = as_user(connect, store, "alice")                         # ...and the author guard, alice
    anonymous_token = csrf_from(connect().get("/login").text)         # valid only without a session
    for method, path in forms:
        url = _fill(path, world)
        for client in (admin, author, connect()):
            for token in (None, "forged", anonymous_token):
                if token == anonymous_token and SESSION_COOKIE not in client.cookies:
                    continue                                          # (that one is a real anonymous token)
                data = FORM if token is None else {**FORM, "csrf_token": token}
                r = client.request(method, url, data=data)
                assert r.status_code == 403 and "csrf" in r.text, (method, path, token, r.status_code)
    assert "Log out" in admin.get("/").text                           # the logout was refused too
    _unchanged(store, world)


def test_every_api_write_needs_a_bearer_token_or_the_csrf_header(app, connect, store, world):
    writes = [(m, p) for m, p in write_routes(app) if p.startswith("/api/")]
    assert len(writes) >= 4
    alice = as_user(connect, store, "alice")
    session_token = csrf_from(alice.get("/account").text)
    anonymous_token = csrf_from(connect().get("/login").text)
    for method, path in writes:
        url = _fill(path, world)
        for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": anonymous_token}):
            r = alice.request(method, url, json={"body": "cookie only", "reason": "x"}, headers=headers)
            assert r.status_code == 403, (method, path, headers, r.status_code)
            assert r.json()["error"]["message"].startswith("csrf:"), r.text
        r = connect().request(method, url, json={"body": "no credentials", "reason": "x"})
        assert r.status_code == 401, (method, path)
    _unchanged(store, world)
    # the same session with its header is let in (the checks above refused for the token alone)
    r = alice.post(f"/api/v1/stories/{world['story_id']}/comments", json={"body": "with the header"},
                   headers={"X-CSRF-Token": session_token})
    assert r.status_code == 201


def test_reader_protocols_ignore_session_cookies(app, connect, store, world):
    """Every write route of the reader protocols, called with a signed-in admin's session cookie
    and its CSRF token but none of the protocol's credentials: 401 (Fever: auth 0), nothing changed."""
    routes = [(m, p) for m, p in write_routes(app) if p.startswith(NO_COOKIE_PROTOCOLS)]
    assert ("POST", "/reader/api/0/edit-tag") in routes and ("POST", "/fever/") in routes
    admin = as_user(connect, store, "boss", "admin")
    csrf = csrf_from(admin.get("/account").text)
    fields = {"i": str(world["article_id"]), "a": "user/-/state/com.google/read", "s": "user/-/state/com.google/"
              "reading-list", "ac": "unsubscribe", "quickadd": "https://a.example/feed.xml", "mark": "group",
              "as": "read", "id": "0", "csrf_token": csrf}
    for method, path in routes:
        r = admin.request(method, path, data=fields, headers={"X-CSRF-Token": csrf})
        if path == "/fever/":
            assert r.status_code == 200 and r.json() == {"api_version": 3, "auth": 0}, r.text
        elif path == "/accounts/ClientLogin":
            assert r.status_code == 401, (path, r.status_code)            # no Email/Passwd: no sign-in
        else:
            assert r.status_code == 401 and r.headers["x-reader-google-bad-token"] == "true", (path, r.status_code)
    boss = store.find_user("boss").id
    assert store.read_ids(boss, [world["article_id"]]) == set() and store.chosen_feed_ids(boss) == []
    assert store.list_api_tokens(boss) == []
    _unchanged(store, world)


# -- cross-user and cross-role -------------------------------------------------------
def _routes_under(app, prefix: str) -> list[str]:
    if hasattr(routing, "iter_route_contexts"):
        routes = list(routing.iter_route_contexts(app.routes))
    else:
        routes = list(app.routes)
    return sorted({r.path for r in routes if "GET" in (getattr(r, "methods", None) or set())
                   and (r.path == prefix or r.path.startswith(prefix + "/"))})


def test_a_user_cannot_change_another_users_comment_or_token(app, connect, store, world):
    bob = as_user(connect, store, "bob")
    cid = world["comment_id"]
    assert bob.get(f"/comments/{cid}/edit").status_code == 403
    assert post_form(bob, f"/comments/{cid}/edit", {"body": "hijacked"}).status_code == 403
    assert post_form(bob, f"/comments/{cid}/delete").status_code == 403
    bearer = {"Authorization": f"Bearer {store.create_api_token('bob')}"}
    assert bob.patch(f"/api/v1/comments/{cid}", json={"body": "hijacked"}, headers=bearer).status_code == 403
    assert bob.delete(f"/api/v1/comments/{cid}", headers=bearer).status_code == 403
    post_form(bob, f"/account/tokens/{world['token_id']}/revoke")              # alice's token: not bob's to revoke
    assert [t["name"] for t in store.list_api_tokens(store.find_user("alice").id)] == ["script"]
    _unchanged(store, world)


def test_users_and_moderators_stay_out_of_the_rooms_above_them(app, connect, store, world):
    user, mod = as_user(connect, store, "bob"), as_user(connect, store, "mod", "moderator")
    admin = as_user(connect, store, "boss", "admin")
    cid = world["comment_id"]
    moderation = [f"/comments/{cid}/hide", f"/comments/{cid}/restore", f"/comments/{cid}/dismiss",
                  "/users/carol/ban", "/users/carol/unban"]
    assert {_fill(p, world) for _, p in write_routes(app)} >= set(moderation)    # they are all still routes
    for path in moderation:
        assert post_form(user, path).status_code == 403, path
    admin_pages = _routes_under(app, "/admin")
    assert admin_pages, "no /admin pages found"
    for path in _routes_under(app, "/moderation") + admin_pages:
        assert user.get(path).status_code == 403, path
    for path in admin_pages:
        assert mod.get(path).status_code == 403, path
        assert admin.get(path).status_code == 200, path
    assert post_form(mod, "/users/boss/ban").status_code == 403                 # a moderator never bans an admin
    _unchanged(store, world)


# -- open redirects ------------------------------------------------------------------
PAYLOADS = ["//evil.example", "//evil.example/path", "///evil.example", "////evil.example", "/\\evil.example",
            "\\\\evil.example", "\\/evil.example", "/\\/evil.example", "https:evil.example", "https://evil.example",
            "http://evil.example/", "HTTPS://EVIL.EXAMPLE", "%2F%2Fevil.example", "/%2F%2Fevil.example",
            "\t//evil.example", "/\t/evil.example", "/\n/evil.example", "\n//evil.example", " //evil.example",
            "\x00//evil.example", "/\x00/evil.example", "javascript:alert(1)", "data:text/html,<script>x</script>",
            "evil.example", "//evil.example@testserver", "https://testserver@evil.example", "//%65vil.example",
            "/\u3000/evil.example", "\u3000//evil.example", "/.//evil.example", "//evil.example\\@testserver",
            "/%09/evil.example", "/%5C%5Cevil.example"]


def _stays_here(location: str) -> bool:
    """True when a browser following Location stays on this site: tabs and newlines are
    dropped and leading blanks or controls stripped (as the URL standard says), backslashes
    read as slashes; what remains must be a path."""
    seen = re.sub(r"[\t\n\r]", "", location).lstrip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
                                                    "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c"
                                                    "\x1d\x1e\x1f ").replace("\\", "/")
    if not seen.startswith("/") or seen.startswith("//"):
        return False
    return httpx.URL("http://testserver/some/page").join(location).host == "testserver"


def test_stays_here_itself():
    assert _stays_here("/for-you") and _stays_here("/stories/1#comment-2") and _stays_here("/%2F%2Fevil.example")
    for bad in ("//evil.example", "/\\evil.example", "https://evil.example", "\t//evil", "evil.example"):
        assert not _stays_here(bad), bad


def test_no_redirect_leaves_the_site(app, connect, store, world):
    mod = as_user(connect, store, "mod", "moderator")
    reader = as_user(connect, store, "reader")
    cid, story = world["comment_id"], world["story_id"]
    checked = 0

    def check(point: str, payload: str, r) -> None:
        nonlocal checked
        assert r.status_code in (302, 303, 307), (point, payload, r.status_code, r.text[:200])
        assert _stays_here(r.headers["location"]), (point, payload, r.headers["location"])
        checked += 1

    fresh = connect()
    for i, payload in enumerate(PAYLOADS):
        # GET /login and /signup when already signed in send the reader on at once
        check("GET /login", payload, reader.get("/login", params={"next": payload}))
        check("GET /signup", payload, reader.get("/signup", params={"next": payload}))
        # logging in and signing up
        fresh.cookies.clear()
        token = csrf_from(fresh.get("/login").text)
        check("POST /login", payload, fresh.post("/login", data={"username": "reader", "password": PASSWORD,
                                                                 "next": payload, "csrf_token": token}))
        fresh.cookies.clear()
        token = csrf_from(fresh.get("/signup").text)
        check("POST /signup", payload, fresh.post("/signup", data={
            "username": f"newcomer{i}", "password": PASSWORD, "password2": PASSWORD, "next": payload,
            "csrf_token": token}))
        # follow and unfollow back links
        for action in ("follow", "unfollow"):
            check(f"POST /follow {action}", payload, post_form(reader, "/follow", {
                "kind": "story", "target": str(story), "action": action, "next": payload}))
        # moderation back links
        for path in (f"/comments/{cid}/hide", f"/comments/{cid}/restore", f"/comments/{cid}/dismiss",
                     "/users/carol/ban", "/users/carol/unban"):
            check(f"POST {path}", payload, post_form(mod, path, {"next": payload}))
    # logging out goes home, whatever it is sent
    check("POST /logout", "", reader.post("/logout", data={"next": "//evil.example",
                                                            "csrf_token": csrf_from(reader.get("/account").text)}))
    assert checked == len(PAYLOADS) * 11 + 1


# -- cookies -------------------------------------------------------------------------
def _cookie(response, name: str) -> str:
    [line] = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    return line


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_session_and_csrf_cookies_are_httponly_samesite_and_secure_behind_https(settings, store, connect, scheme):
    app = create_app(settings.replace(argon2_time_cost=1, argon2_memory_cost=8192, page_cache_seconds=0,
                                      base_url=f"{scheme}://news.example"), store)
    store.create_user("grace", PASSWORD_HASH)
    client = connect(base_url=f"{scheme}://testserver", on=app)
    page = client.get("/login")
    anon = _cookie(page, CSRF_COOKIE)
    r = client.post("/login", data={"username": "grace", "password": PASSWORD, "csrf_token": csrf_from(page.text)})
    assert r.status_code == 303
    session = _cookie(r, SESSION_COOKIE)
    r = client.post("/logout", data={"csrf_token": csrf_from(client.get("/account").text)})
    gone = _cookie(r, SESSION_COOKIE)
    for line in (anon, session, gone):
        attrs = {a.strip().split("=")[0].lower(): a.strip() for a in line.split(";")[1:]}
        assert "httponly" in attrs and attrs["samesite"].lower() == "samesite=lax", line
        assert ("secure" in attrs) == (scheme == "https"), line
        assert attrs["path"] == "Path=/", line
