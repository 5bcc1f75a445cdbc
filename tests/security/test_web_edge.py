"""The web edge against hostile requests: findings 3, 7, 8, 13 and 14 of issue 12.

* 3: request bodies are capped before any route, dependency or login check reads them
  (serve/security.py), seen at the ASGI level (how much of the body the app pulled) and on
  a real uvicorn server over a raw socket (how much was sent before the answer);
* 7: integers past 64 bits, on every route that takes one, and JSON text with a lone
  surrogate, are a 4xx in the project's error shape, never a 500;
* 8: security headers on every page, on cached pages and on 304s; no inline script or
  style in any page; a browser finds nothing the policy blocks;
* 13: /docs loads nothing from another site;
* 14: HEAD is answered wherever GET is.
"""

from __future__ import annotations

import asyncio
import re
import select
import socket
import time
from datetime import timedelta
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any, get_args

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from newsloom.models import Article, Story, Tag, utcnow
from newsloom.serve import create_app
from newsloom.serve.auth import SESSION_COOKIE
from newsloom.settings import load_settings
from newsloom.store import open_store
from newsloom.store.community import hash_secret
from newsloom.tasks.insights import build_story_insights

MiB = 1024 * 1024
HUGE = (2**31, 2**63, 2**64)      # one past PostgreSQL's INTEGER, one past SQLite's INTEGER, 64 bits
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SITE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
GENEROUS = dict(page_cache_seconds=0, argon2_time_cost=1, argon2_memory_cost=8192, comment_rate_limit="10000/minute",
                login_rate_limit="10000/minute", signup_rate_limit="10000/hour")


# -- a small world: a story with an article, a publisher, a hashtag, an admin's comment ---------
def _world(store) -> SimpleNamespace:
    when = utcnow() - timedelta(hours=2)
    story = store.add_story(Story(title="Harbor bridge reopens", first_seen_at=when, last_seen_at=when,
                                  article_count=1, source_count=1))
    source = store.upsert_source("Harbor Gazette")
    article, _ = store.add_article(Article(url="https://harbor.example/bridge", title="Bridge reopens",
                                           source_id=source.id, published_at=when, text="The bridge reopened.",
                                           story_id=story.id))
    store.tag_story(story.id, Tag(name="HarborBridge", slug="harborbridge"))
    admin = store.create_user("edge_admin", "not-a-real-hash", role="admin")
    comment = store.post_comment(story.id, admin.id, "First!")
    token = store.create_api_token("edge_admin", name="edge")
    token_id = store.list_api_tokens(admin.id)[0]["id"]
    unsubscribe = "edge-unsubscribe-" + "0" * 40          # the digest's unsubscribe link (/digests/unsubscribe/{token})
    store.save_digest(admin.id, period="daily", email="edge@example.org")
    store.set_digest_unsubscribe_hash(admin.id, hash_secret(unsubscribe))
    return SimpleNamespace(story_id=story.id, article_id=article.id, source_id=source.id, slug="harborbridge",
                           comment_id=comment.id, token_id=token_id, username="edge_admin", admin=admin,
                           bearer=token, token=unsubscribe)


def _sign_in(client: TestClient, store, world) -> str:
    """The admin's session on `client`; returns its CSRF token."""
    client.cookies.set(SESSION_COOKIE, store.create_session(world.admin.id, max_age=3600).token)
    return CSRF.search(client.get("/account").text).group(1)


@pytest.fixture
def edge_store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'edge.db'}")
    store.reset()
    yield store
    store.close()


@pytest.fixture
def edge_settings(tmp_path):
    return load_settings({}, home=str(tmp_path), env="test", secret_key="edge-test-secret-0123456789",
                         **GENEROUS)


@pytest.fixture
def edge(edge_settings, edge_store):
    """(app, client, store, world) over SQLite; the client sees 500s instead of raising them."""
    world = _world(edge_store)
    app = create_app(edge_settings, edge_store)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        yield SimpleNamespace(app=app, client=client, store=edge_store, world=world)


def _api_routes(routes, prefix: str = ""):
    """(full path, APIRoute) for every route of the app, whether FastAPI copied the included
    routers' routes (older releases) or keeps each included router whole (newer ones)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes, prefix + route.include_context.prefix)


# -- finding 3: bodies capped before anything reads them ------------------------------------------
def _asgi(app, method: str, path: str, headers: dict[str, str], chunks) -> SimpleNamespace:
    """One request straight into the ASGI app, its body pulled from `chunks` only when the app
    asks for it. Returns the status, the response body and how many body bytes were pulled."""
    out = SimpleNamespace(status=None, body=b"", pulled=0)
    source = iter(chunks)

    async def receive():
        chunk = next(source, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        out.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        if message["type"] == "http.response.start":
            out.status = message["status"]
        elif message["type"] == "http.response.body":
            out.body += message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    return out


def _megabytes(n: int, chunk: int = 64 * 1024):
    block = b"x" * chunk
    return (block for _ in range(n * MiB // chunk))


def test_finding_03_json_body_over_the_cap_is_refused_before_reading(edge):
    """An anonymous comment post declaring 300 MB: 413 before a byte of the body is read
    (before this, the app read it all and then answered 401)."""
    url = f"/api/v1/stories/{edge.world.story_id}/comments"
    r = _asgi(edge.app, "POST", url, {"content-type": "application/json", "content-length": str(300 * MiB)},
              _megabytes(4))
    assert r.status == 413 and r.pulled == 0, (r.status, r.pulled)
    assert b'"too_large"' in r.body and b"request: body over the 1048576-byte limit" in r.body
    declared = edge.client.post(url, content=b'{"body": "hi"}',
                                headers={"Content-Type": "application/json", "Content-Length": str(300 * MiB)})
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "too_large"
    assert declared.headers["connection"] == "close"                      # the rest is never read


def test_finding_03_chunked_body_is_counted_and_refused_once_over_the_cap(edge):
    url = f"/api/v1/stories/{edge.world.story_id}/comments"
    r = _asgi(edge.app, "POST", url, {"content-type": "application/json"}, _megabytes(8))
    assert r.status == 413, r.status
    assert MiB < r.pulled <= MiB + 64 * 1024, r.pulled                    # stopped right past the cap
    chunked = edge.client.post(url, content=_megabytes(3), headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "too_large"


def test_finding_03_forms_have_their_own_cap(edge, edge_settings, edge_store):
    r = _asgi(edge.app, "POST", "/login", {"content-type": "application/x-www-form-urlencoded",
                                           "content-length": str(500 * MiB)}, _megabytes(2))
    assert r.status == 413 and r.pulled == 0
    page = edge.client.post("/login", content=b"username=a&password=" + b"x" * (2 * MiB),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert page.status_code == 413 and "body over the" in page.text and "<html" in page.text
    assert page.headers["content-security-policy"] == SITE_CSP
    roomy = create_app(edge_settings.replace(max_form_bytes=4 * MiB), edge_store)
    with TestClient(roomy):
        r = _asgi(roomy, "POST", "/login", {"content-type": "application/x-www-form-urlencoded"}, _megabytes(2))
    assert r.status != 413 and r.pulled > MiB                       # under its own cap: read past the default


@pytest.fixture(scope="module")
def live(tmp_path_factory, live_server):
    """A real uvicorn server on 127.0.0.1 in a thread, over SQLite: (port, world)."""
    home = tmp_path_factory.mktemp("edge-live")
    settings = load_settings({}, home=str(home), env="test", secret_key="edge-test-secret-0123456789", **GENEROUS)
    store = open_store(settings.db_url)
    store.reset()
    world = _world(store)
    build_story_insights(store, world.story_id)                # the story page draws its charts
    port = live_server.free_port()
    with live_server.running(create_app(settings, store), port) as base:
        yield SimpleNamespace(port=port, base=base, world=world)
    store.close()


def _upload(port: int, head: bytes, chunk: bytes, give_up_after: int) -> tuple[bytes, int]:
    """Send `head`, then `chunk` over and over until the server answers (or `give_up_after`
    bytes went out). Returns (the start of the answer, body bytes sent before it came)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        while sent < give_up_after:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable or not writable:
                break
            try:
                sent += sock.send(chunk)
            except (BlockingIOError, InterruptedError):
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        sock.settimeout(5)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, sent


@pytest.mark.parametrize("kind", ["declared json", "chunked json", "declared form"])
def test_finding_03_live_server_answers_413_after_a_few_megabytes(live, kind):
    """A 300 MB comment post (anonymous) and a 500 MB form post against a real server: the
    answer is a 413 that comes while the client is still sending, not after 300 MB."""
    if kind == "declared form":
        path, ctype, framing = "/login", "application/x-www-form-urlencoded", f"Content-Length: {500 * MiB}"
    else:
        path, ctype = f"/api/v1/stories/{live.world.story_id}/comments", "application/json"
        framing = f"Content-Length: {300 * MiB}" if kind == "declared json" else "Transfer-Encoding: chunked"
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\nContent-Type: {ctype}\r\n{framing}\r\n\r\n"
            ).encode()
    block = b"x" * (64 * 1024)
    chunk = b"10000\r\n" + block + b"\r\n" if kind == "chunked json" else block
    started = time.monotonic()
    answer, sent = _upload(live.port, head, chunk, give_up_after=64 * MiB)
    assert answer.startswith(b"HTTP/1.1 413"), (answer[:200], sent)
    assert sent < 16 * MiB and time.monotonic() - started < 10, (sent, time.monotonic() - started)
    assert httpx.get(f"{live.base}/healthz").status_code == 200              # and it still serves


# -- finding 7: huge integers and lone surrogates ------------------------------------------------
def _takes_int(field) -> bool:
    annotation = field.field_info.annotation
    return annotation is int or int in get_args(annotation)


def _int_params(route: APIRoute):
    """(where, name, body model or None) of every integer the route reads from the request."""
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        stack.extend(dependant.dependencies)
        for where in ("path", "query"):
            for field in getattr(dependant, f"{where}_params"):
                if _takes_int(field):
                    yield where, field.name, None
        for field in dependant.body_params:
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                for name, sub in model.model_fields.items():
                    if sub.annotation is int or int in get_args(sub.annotation):
                        yield "json", name, model
            elif _takes_int(field):
                yield "form", field.name, None


def test_finding_07_huge_integers_are_refused_not_500_on_every_route(settings, store):
    """Every route, every integer it reads (path, query, form, JSON), sent past 32, 63 and 64
    bits, as an admin with a CSRF token and an API token so that guards let it reach the store."""
    world = _world(store)
    app = create_app(settings.replace(**GENEROUS), store)
    tried = set()
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        csrf = _sign_in(client, store, world)
        for path, route in _api_routes(app.routes):
            for where, name, model in _int_params(route):
                for huge in HUGE:
                    values = {**vars(world), name: huge}
                    url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
                    headers = {"X-CSRF-Token": csrf}
                    if url.startswith("/api/"):
                        headers["Authorization"] = f"Bearer {world.bearer}"
                    kwargs: dict[str, Any] = {"params": {name: huge}} if where == "query" else {}
                    if model is not None or (url.startswith("/api/") and route.dependant.body_params):
                        kwargs["json"] = {"body": "A comment", **({name: huge} if where == "json" else {})}
                    elif route.dependant.body_params or "POST" in route.methods:
                        kwargs["data"] = {"body": "A comment", **({name: huge} if where == "form" else {})}
                    for method in route.methods:
                        r = client.request(method, url, headers=headers, **kwargs)
                        assert r.status_code < 500, (method, path, where, name, huge, r.status_code, r.text[:300])
                        if url.startswith("/api/"):
                            assert r.json()["error"]["message"], (path, r.text[:300])
                        tried.add((method, path, name))
        # integers that arrive as text: a publisher id in search, a story or publisher to follow
        for huge in HUGE:
            for path in ("/search", "/api/v1/search"):
                r = client.get(path, params={"publisher": str(huge)})
                assert r.status_code < 500, (path, huge, r.status_code, r.text[:300])
            for kind in ("story", "source"):
                r = client.post("/follow", data={"kind": kind, "target": str(huge), "next": "/"},
                                headers={"X-CSRF-Token": csrf})
                assert r.status_code < 500, (kind, huge, r.status_code, r.text[:300])
    assert len(tried) >= 25, sorted(tried)            # the enumeration found the routes


def test_finding_07_lone_surrogate_in_json_is_refused_not_500(edge):
    """"\\ud800" is valid JSON but no Unicode text: the answer is a 422 that says where, without
    echoing the input (which is what made FastAPI's own handler fail with a 500)."""
    w = edge.world
    auth = {"Authorization": f"Bearer {w.bearer}", "Content-Type": "application/json"}
    for url, method in ((f"/api/v1/stories/{w.story_id}/comments", "POST"), (f"/api/v1/comments/{w.comment_id}",
                                                                            "PATCH")):
        r = edge.client.request(method, url, content=b'{"body": "bad \\ud800 text"}', headers=auth)
        assert r.status_code == 422, (url, r.status_code, r.text[:300])
        error = r.json()["error"]
        assert error["code"] == "invalid_request" and error["message"].startswith("request: body.body")
        assert r.json()["detail"][0]["loc"] == ["body", "body"]
    r = edge.client.post(f"/api/v1/comments/{w.comment_id}/reports", content=b'{"reason": "\\udfff"}', headers=auth)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    broken = edge.client.post(f"/api/v1/stories/{w.story_id}/comments", content=b'{"body": ', headers=auth)
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "invalid_request"
    assert [c.body for c in edge.store.comment_thread(w.story_id)] == ["First!"]      # nothing was stored


# -- finding 8: security headers, no inline script or style --------------------------------------
class _Inline(HTMLParser):
    """What a strict Content-Security-Policy would block: inline scripts, <style>, style= and on*=."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {k for k, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"<{tag} {k}=...>" for k in names if k == "style" or k.startswith("on")]


def _pages(app, world) -> list[str]:
    """Every GET route that is a page (not the API, a feed, a chart or a probe), filled in."""
    values = vars(world)
    return [re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
            for path, route in _api_routes(app.routes)
            if "GET" in route.methods and not path.startswith(("/api/", "/healthz", "/readyz"))
            and not path.endswith((".atom", ".svg"))]


def _assert_headers(r: httpx.Response, csp: str = SITE_CSP) -> None:
    assert r.headers.get("x-content-type-options") == "nosniff", (r.url, dict(r.headers))
    assert r.headers.get("content-security-policy") == csp, (r.url, r.headers.get("content-security-policy"))
    assert r.headers.get("x-frame-options") == "DENY" and "frame-ancestors 'none'" in csp, r.url
    assert r.headers.get("referrer-policy") == "strict-origin-when-cross-origin", r.url


def test_finding_08_security_headers_on_every_html_page(edge):
    pages = _pages(edge.app, edge.world)
    assert len(pages) >= 17 and "/" in pages and f"/stories/{edge.world.story_id}" in pages, pages
    anonymous = TestClient(edge.app, follow_redirects=False)
    seen = 0
    for client in (anonymous, edge.client):
        if client is edge.client:
            _sign_in(client, edge.store, edge.world)
        for path in pages + ["/no/such/page", f"/stories/{edge.world.story_id}?q=bridge"]:
            r = client.get(path)
            assert r.status_code < 500, (path, r.status_code)
            _assert_headers(r)
            if r.headers.get("content-type", "").startswith("text/html"):
                parser = _Inline()
                parser.feed(r.text)
                assert parser.found == [], (path, parser.found)
                seen += 1
    assert seen >= 30, seen
    for path in ("/api/v1/stories", "/static/style.css", "/healthz", f"/stories/{edge.world.story_id}.atom"):
        assert edge.client.get(path).headers.get("x-content-type-options") == "nosniff", path
    assert build_story_insights(edge.store, edge.world.story_id)
    chart = edge.client.get(f"/stories/{edge.world.story_id}/coverage.svg")   # keeps its own, stricter policy
    assert chart.status_code == 200 and chart.headers["content-security-policy"].startswith("default-src 'none'")


def test_finding_08_headers_kept_on_cached_pages_and_304(edge_settings, edge_store):
    _world(edge_store)
    app = create_app(edge_settings.replace(page_cache_seconds=60), edge_store)
    with TestClient(app, follow_redirects=False) as client:
        for path, newcomer in (("/sources", "Valley Courier"), ("/api/v1/sources", "Hill Herald")):
            first = client.get(path)
            edge_store.upsert_source(newcomer)               # not seen while the page is cached
            cached = client.get(path)
            assert cached.text == first.text and newcomer not in cached.text, path
            again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
            assert again.status_code == 304, path
            for r in (first, cached, again):
                _assert_headers(r)


def test_finding_08_a_browser_finds_nothing_the_policy_blocks(live, browser):
    """Pages and /docs in Chromium: no Content-Security-Policy violation, and /docs draws the API."""
    page = browser.new_page()
    violations: list[str] = []
    # Chromium reports each thing the policy blocks on the console ("... violates the following
    # Content Security Policy directive ...").
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    try:
        for path in ("/", f"/stories/{live.world.story_id}", "/search?q=bridge", "/login"):
            page.goto(live.base + path, wait_until="load")
        page.goto(live.base + "/docs", wait_until="load")
        page.wait_for_selector(".opblock", timeout=15000)
        assert page.locator(".opblock").count() >= 15
    finally:
        page.close()
    assert violations == [], violations


# -- finding 13: /docs from local files -----------------------------------------------------------
class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            if attrs.get("src"):
                self.urls.append(attrs["src"])
            else:
                self.inline_scripts += 1
        elif tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


def test_finding_13_docs_load_no_third_party_script(edge):
    r = edge.client.get("/docs")
    assert r.status_code == 200 and "swagger-ui" in r.text
    assets = _Assets()
    assets.feed(r.text)
    assert assets.inline_scripts == 0 and len(assets.urls) >= 3, assets.urls
    for url in assets.urls:
        assert url.startswith("/") and not url.startswith("//"), url                # this site only
        got = edge.client.get(url)
        assert got.status_code == 200 and len(got.content) > 100, url
    assert "https://" not in r.text and "http://" not in r.text
    assert r.headers["content-security-policy"] == SITE_CSP                 # scripts from this site only
    assert edge.client.get("/openapi.json").json()["paths"]
    assert edge.client.get("/redoc").status_code == 404            # FastAPI's CDN pages are gone


# -- finding 14: HEAD ---------------------------------------------------------------------------
def test_finding_14_head_is_answered(edge):
    for path in ("/", f"/stories/{edge.world.story_id}", "/api/v1/stories", "/static/style.css", "/healthz", "/docs"):
        get, head = edge.client.get(path), edge.client.head(path)
        assert head.status_code == 200 and head.content == b"", (path, head.status_code)
        for name in ("content-type", "content-length", "etag", "content-security-policy"):
            assert head.headers.get(name) == get.headers.get(name), (path, name)
    get = edge.client.get("/api/v1/stories")
    assert edge.client.head("/api/v1/stories", headers={"If-None-Match": get.headers["etag"]}).status_code == 304
    assert edge.client.head("/no/such/page").status_code == 404


def test_finding_14_head_on_a_live_server(live):
    get, head = httpx.get(live.base + "/"), httpx.head(live.base + "/")
    assert head.status_code == 200 and head.content == b""
    for name in ("content-length", "etag", "content-security-policy"):
        assert head.headers[name] == get.headers[name], name
