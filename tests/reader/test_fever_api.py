"""The Fever API (issue 13, item 4) as an app speaks it, through the real HTTP app on both
stores: the key made at sign-up and login, a whole session (groups, feeds, items, unread ids,
mark read) whose state is the web side's, bad keys, per-user isolation and hostile ids."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from newsloom.models import Article, Feed, Story, utcnow
from newsloom.serve import create_app
from newsloom.serve.auth import SESSION_COOKIE

PASSWORD = "correct horse battery"
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def api_key(username: str, password: str = PASSWORD) -> str:
    return hashlib.md5(f"{username}:{password}".encode()).hexdigest()


@pytest.fixture
def app(settings, store):
    return create_app(settings.replace(argon2_time_cost=1, argon2_memory_cost=8192, page_cache_seconds=0,
                                       login_rate_limit="1000/minute", login_address_rate_limit="50/minute",
                                       signup_rate_limit="1000/hour", login_backoff_max=0), store)


@pytest.fixture
def client(app):
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as c:
        yield c


def web_login(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    r = client.post("/login", data={"username": username, "password": password,
                                    "csrf_token": CSRF.search(page.text).group(1)})
    assert r.status_code == 303, r.text[:300]
    client.cookies.clear()


@pytest.fixture
def news(store, client):
    """Two feeds, three articles (one a wire copy of another); alice signed up on the web, bob
    was made by an administrator and has logged in once."""
    when = utcnow() - timedelta(hours=1)
    harbor = store.upsert_source("Harbor Gazette")
    valley = store.upsert_source("Valley Courier")
    hfeed, _ = store.add_feed(Feed(url="https://harbor.example/feed.xml", title="Harbor Gazette",
                                   site_url="https://harbor.example/", source_id=harbor.id))
    vfeed, _ = store.add_feed(Feed(url="https://valley.example/rss", title="Valley Courier", source_id=valley.id))
    story = store.add_story(Story(title="Ferry strike ends", first_seen_at=when, last_seen_at=when,
                                  article_count=3, source_count=2))

    def add(url, title, source, feed, text, **kw):
        art, _ = store.add_article(Article(url=url, title=title, source_id=source.id, feed_id=feed.id,
                                           published_at=when, text=text, story_id=story.id, **kw))
        return art

    wire = add("https://harbor.example/ferry", "Ferry strike ends", harbor, hfeed, "Ferries sail again.")
    copy = add("https://valley.example/ferry", "Ferry strike ends (wire)", valley, vfeed, "Ferries sail again.",
               duplicate_of=wire.id)
    own = add("https://valley.example/commuters", "Commuters react", valley, vfeed, "Relief & <calm>.")
    page = client.get("/signup")
    r = client.post("/signup", data={"username": "alice", "password": PASSWORD, "password2": PASSWORD,
                                     "csrf_token": CSRF.search(page.text).group(1)})
    assert r.status_code == 303
    client.cookies.clear()
    store.create_user("bob", PASSWORD_HASH)
    web_login(client, "bob")
    return {"harbor": hfeed, "valley": vfeed, "wire": wire, "copy": copy, "own": own}


def fever(client, query: str, username: str = "alice", key: str | None = None, **form):
    r = client.post(f"/fever/?api&{query}" if query else "/fever/?api",
                    data={"api_key": key if key is not None else api_key(username), **form})
    assert r.status_code < 500, r.text[:300]
    assert r.headers["cache-control"] == "no-store"
    return r


def test_a_fever_session_end_to_end(client, store, news):
    alice = store.find_user("alice")
    base = fever(client, "").json()
    assert base["api_version"] == 3 and base["auth"] == 1 and isinstance(base["last_refreshed_on_time"], int)

    feed_ids = f"{news['harbor'].id},{news['valley'].id}"
    groups = fever(client, "groups").json()
    assert groups["groups"] == [{"id": 1, "title": "newsloom"}]
    assert groups["feeds_groups"] == [{"group_id": 1, "feed_ids": feed_ids}]
    feeds = fever(client, "feeds").json()
    assert feeds["feeds_groups"] == groups["feeds_groups"]
    assert feeds["feeds"][0] == {"id": news["harbor"].id, "favicon_id": 0, "title": "Harbor Gazette",
                                 "url": "https://harbor.example/feed.xml", "site_url": "https://harbor.example/",
                                 "is_spark": 0, "last_updated_on_time": 0}
    assert fever(client, "links").json()["links"] == [] and fever(client, "favicons").json()["favicons"] == []

    items = fever(client, "items&since_id=0").json()
    assert items["total_items"] == 3
    assert [i["id"] for i in items["items"]] == [news["wire"].id, news["copy"].id, news["own"].id]
    own = items["items"][2]
    assert own == {"id": news["own"].id, "feed_id": news["valley"].id, "title": "Commuters react", "author": "",
                   "html": "<p>Relief &amp; &lt;calm&gt;.</p>", "url": "https://valley.example/commuters",
                   "is_saved": 0, "is_read": 0, "created_on_time": int(news["own"].published_at.timestamp())}
    assert [i["id"] for i in fever(client, f"items&since_id={news['wire'].id}").json()["items"]] == [
        news["copy"].id, news["own"].id]
    assert [i["id"] for i in fever(client, f"items&max_id={news['own'].id}").json()["items"]] == [
        news["copy"].id, news["wire"].id]
    assert [i["id"] for i in fever(client, f"items&with_ids={news['own'].id},{news['wire'].id}").json()["items"]] \
        == [news["own"].id, news["wire"].id]
    unread = fever(client, "unread_item_ids").json()["unread_item_ids"]
    assert unread == f"{news['wire'].id},{news['copy'].id},{news['own'].id}"

    # mark the wire story read: its copy goes with it, and the answer carries the new unread ids
    r = fever(client, "", mark="item", **{"as": "read"}, id=str(news["wire"].id)).json()
    assert r["auth"] == 1 and r["unread_item_ids"] == str(news["own"].id)
    assert store.read_ids(alice.id, [news["wire"].id, news["copy"].id, news["own"].id]) == {
        news["wire"].id, news["copy"].id}
    assert fever(client, "items&since_id=0").json()["items"][1]["is_read"] == 1
    # the web side shows it: the reader's own list and unread count through the API
    bearer = {"Authorization": f"Bearer {store.create_api_token('alice', name='web check')}"}
    mine = {a["id"]: a for a in client.get("/api/v1/me/articles", headers=bearer).json()["items"]}
    assert mine[news["copy"].id]["read"] and not mine[news["own"].id]["read"]
    assert client.get("/api/v1/me/unread", headers=bearer).json()["total"] == 1

    r = fever(client, "", mark="item", **{"as": "saved"}, id=str(news["own"].id)).json()
    assert r["saved_item_ids"] == str(news["own"].id) and store.starred_ids(alice.id) == {news["own"].id}
    assert fever(client, "saved_item_ids").json()["saved_item_ids"] == str(news["own"].id)
    fever(client, "", mark="item", **{"as": "unsaved"}, id=str(news["own"].id))
    fever(client, "", mark="item", **{"as": "unread"}, id=str(news["copy"].id))
    assert store.starred_ids(alice.id) == set() and store.read_ids(alice.id, [news["wire"].id]) == set()

    # a feed, then the group, read up to a time
    later = str(int(utcnow().timestamp()) + 60)
    fever(client, "", mark="feed", **{"as": "read"}, id=str(news["valley"].id), before=later)
    assert store.read_ids(alice.id, [news["wire"].id, news["copy"].id, news["own"].id]) == {
        news["copy"].id, news["own"].id}
    r = fever(client, "", mark="group", **{"as": "read"}, id="1", before=later).json()
    assert r["unread_item_ids"] == "" and store.unread_counts(alice.id).total == 0


def test_the_key_follows_sign_up_and_login(client, store, news):
    """alice's key came from the sign-up form, bob's from his first web login; Google Reader's
    ClientLogin refreshes it too. A user who never logged in has none."""
    assert fever(client, "", "alice").json()["auth"] == 1
    assert fever(client, "", "bob").json()["auth"] == 1
    store.create_user("carol", PASSWORD_HASH)
    assert fever(client, "", "carol").json() == {"api_version": 3, "auth": 0}
    assert client.post("/accounts/ClientLogin", data={"Email": "carol", "Passwd": PASSWORD}).status_code == 200
    assert fever(client, "", "carol").json()["auth"] == 1
    carol = store.find_user("carol")
    with store.read() as conn:
        from newsloom.store.schema import users
        kept = conn.execute(users.select().where(users.c.id == carol.id)).first().fever_key_hash
    assert kept == hashlib.sha256(api_key("carol").encode()).hexdigest()           # never the key itself


def test_bad_keys_get_auth_0_and_nothing_else(client, store, news):
    for key in ("", "0" * 32, api_key("alice", "wrong password"), api_key("nobody"), "x" * 500):
        r = fever(client, "items&unread_item_ids&feeds", key=key)
        assert r.status_code == 200 and r.json() == {"api_version": 3, "auth": 0}, key
    r = fever(client, "", key="0" * 32, mark="item", id=str(news["wire"].id), **{"as": "read"})
    assert r.json()["auth"] == 0
    assert store.read_ids(store.find_user("alice").id, [news["wire"].id]) == set()
    banned = store.set_banned("bob", True)
    assert fever(client, "", "bob").json()["auth"] == 0 and banned.banned


def test_wrong_keys_are_rate_limited_per_address(client, store, news):
    for _ in range(50):
        assert fever(client, "", key="1" * 32).json()["auth"] == 0
    r = fever(client, "", key="1" * 32)
    assert r.status_code == 429 and r.headers["retry-after"]
    assert fever(client, "").status_code == 429                  # the right key waits too: no guess gets through


def test_one_readers_key_never_reads_or_changes_another_readers_state(client, store, news):
    alice, bob = store.find_user("alice"), store.find_user("bob")
    store.mark_read(bob.id, [news["own"].id])
    store.set_starred(bob.id, [news["own"].id])
    mine = {i["id"]: i for i in fever(client, "items", "alice").json()["items"]}
    assert mine[news["own"].id]["is_read"] == 0 and mine[news["own"].id]["is_saved"] == 0
    assert fever(client, "saved_item_ids", "alice").json()["saved_item_ids"] == ""
    fever(client, "", "alice", mark="item", **{"as": "unread"}, id=str(news["own"].id))
    fever(client, "", "alice", mark="item", **{"as": "unsaved"}, id=str(news["own"].id))
    fever(client, "", "alice", mark="group", **{"as": "read"}, id="0")
    assert store.read_ids(bob.id, [news["own"].id]) == {news["own"].id} and store.starred_ids(bob.id)
    assert store.read_ids(bob.id, [news["wire"].id]) == set()
    assert store.unread_counts(alice.id).total == 0


def test_a_session_cookie_alone_gets_auth_0(client, store, news):
    alice = store.find_user("alice")
    client.cookies.set(SESSION_COOKIE, store.create_session(alice.id, max_age=3600).token)
    r = client.post("/fever/?api&unread_item_ids", data={"mark": "item", "as": "read", "id": str(news["own"].id)})
    assert r.json() == {"api_version": 3, "auth": 0}
    assert store.read_ids(alice.id, [news["own"].id]) == set()


def test_big_and_odd_ids_are_400_not_500(client, store, news):
    for value in (str(2**31), str(2**63), str(2**64), "-5", "abc", "1.5", "9" * 40):
        for query, form in (("items&since_id=" + value, {}), ("items&max_id=" + value, {}),
                            ("items&with_ids=" + value, {}),
                            ("", {"mark": "item", "as": "read", "id": value}),
                            ("", {"mark": "feed", "as": "read", "id": value, "before": "0"}),
                            ("", {"mark": "group", "as": "read", "id": "1", "before": value})):
            if form.get("before") == str(2**31):
                continue                                     # a time: January 2038
            r = fever(client, query, **form)
            assert r.status_code == 400, (query, form, r.status_code, r.text[:200])
            assert r.json()["error"]["message"].startswith("fever: ")
    r = fever(client, "", mark="item", **{"as": "sideways"}, id=str(news["own"].id))
    assert r.status_code == 400
    r = fever(client, "items&with_ids=" + ",".join(str(i) for i in range(1, 60)))
    assert r.status_code == 400
