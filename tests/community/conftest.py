"""Community tests: the app through HTTP (TestClient), real stores (SQLite and PostgreSQL).

Argon2 runs with cheap parameters here (time_cost=1, 8 MiB); production keeps argon2-cffi's
defaults. Rate limits are generous unless a test tightens them.
"""

from __future__ import annotations

import re
from datetime import timedelta

import jinja2
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from newsloom.models import Article, Story, Tag, utcnow
from newsloom.serve import create_app
from newsloom.serve.auth import SESSION_COOKIE

PASSWORD = "correct horse battery"
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class _SharedBytecode(jinja2.BytecodeCache):
    """Compiled templates shared by every app of the session (each app has its own Jinja
    environment and would otherwise compile every template again)."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


BYTECODE = _SharedBytecode()


@pytest.fixture
def community_settings(settings):
    return settings.replace(argon2_time_cost=1, argon2_memory_cost=8192, comment_rate_limit="100/minute",
                            login_rate_limit="100/minute", signup_rate_limit="100/hour")


@pytest.fixture
def make_client(community_settings, store):
    """make_client(**setting_overrides) -> a TestClient with its own cookie jar; several may share one app."""
    opened, apps = [], {}

    def make(*, client_url: str = "http://testserver", **overrides):
        key = tuple(sorted(overrides.items()))
        if key not in apps:
            apps[key] = create_app(community_settings.replace(**overrides), store)
            apps[key].state.templates.env.bytecode_cache = BYTECODE
        client = TestClient(apps[key], base_url=client_url, follow_redirects=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for c in opened:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


def csrf_from(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no csrf_token in the page"
    return m.group(1)


def signup(client, username: str, password: str = PASSWORD, **extra):
    page = client.get("/signup")
    data = {"username": username, "password": password, "password2": password, "csrf_token": csrf_from(page.text)}
    data.update(extra)
    return client.post("/signup", data=data)


def logged_in(client, store, username: str, role: str = "user"):
    """A user (password PASSWORD) and a session on `client`, made through the store: the
    sign-up and login pages have their own tests."""
    user = store.create_user(username, PASSWORD_HASH, role=role)
    client.cookies.set(SESSION_COOKIE, store.create_session(user.id, max_age=3600).token)
    return client


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_from(page.text)})


def token_of(client, path: str = "/account") -> str:
    """The session's CSRF token, read from a page that has a form."""
    return csrf_from(client.get(path).text)


def post_form(client, path: str, data: dict | None = None, *, csrf_page: str = "/account"):
    return client.post(path, data={**(data or {}), "csrf_token": token_of(client, csrf_page)})


def make_story(store, title: str, *, sources=("Harbor Gazette",), tags=(), hours_ago: float = 1.0, n: int = 0):
    when = utcnow() - timedelta(hours=hours_ago)
    story = store.add_story(Story(title=title, first_seen_at=when, last_seen_at=when, article_count=len(sources),
                                  source_count=len(set(sources))))
    for i, name in enumerate(sources):
        src = store.upsert_source(name)
        art, _ = store.add_article(Article(url=f"https://{i}.example/{story.id}/{n}", title=f"{title} ({name})",
                                           source_id=src.id, published_at=when, text=f"{title}.", story_id=story.id))
    for tag in tags:
        store.tag_story(story.id, Tag(name=tag, slug=tag.lower()))
    return story
