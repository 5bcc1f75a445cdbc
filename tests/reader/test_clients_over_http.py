"""Reader apps over a real HTTP connection: a Google Reader session and a Fever session against
newsloom served by uvicorn on 127.0.0.1, and the read state they change is the one the web UI
shows the same reader, signed in through the login form of the same server. Also: what one
reader follows, and their digest feed, stay theirs."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import httpx
import pytest
from argon2 import PasswordHasher

from newsloom.models import Article, Feed, Story, utcnow
from newsloom.serve import create_app
from newsloom.settings import load_settings
from newsloom.store import open_store

PASSWORD = "tidal lantern orchard"
READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def served(tmp_path_factory, live_server):
    """(base_url, store, articles) of a live newsloom with two publishers and two readers."""
    home = tmp_path_factory.mktemp("reader-http")
    port = live_server.free_port()
    settings = load_settings({}, home=str(home), env="test", secret_key="reader-http-secret-0123456789",
                             base_url=f"http://127.0.0.1:{port}", argon2_time_cost=1, argon2_memory_cost=8192,
                             page_cache_seconds=0)
    store = open_store(settings.db_url)
    when = utcnow() - timedelta(hours=2)
    quay = store.upsert_source("Quayside Herald", "https://quayside.example/")
    moor = store.upsert_source("Moorland Post", "https://moorland.example/")
    qfeed, _ = store.add_feed(Feed(url="https://quayside.example/feed.xml", title="Quayside Herald", source_id=quay.id))
    mfeed, _ = store.add_feed(Feed(url="https://moorland.example/rss", title="Moorland Post", source_id=moor.id))
    story = store.add_story(Story(title="Lighthouse relit", first_seen_at=when, last_seen_at=when,
                                  article_count=3, source_count=2))

    def add(url, title, source, feed, **kw):
        art, _ = store.add_article(Article(url=url, title=title, source_id=source.id, feed_id=feed.id,
                                           published_at=when, text=f"{title}. The keepers cheered.",
                                           story_id=story.id, **kw))
        return art

    wire = add("https://quayside.example/lighthouse", "Lighthouse relit after forty years", quay, qfeed)
    copy = add("https://moorland.example/lighthouse", "Lighthouse relit (wire)", moor, mfeed, duplicate_of=wire.id)
    own = add("https://moorland.example/keepers", "Keepers recall the dark years", moor, mfeed)
    hasher = PasswordHasher(time_cost=1, memory_cost=8192)
    store.create_user("ines", hasher.hash(PASSWORD))
    store.create_user("omar", hasher.hash(PASSWORD))
    with live_server.running(create_app(settings, store), port) as base:
        yield base, store, {"wire": wire, "copy": copy, "own": own, "story": story}
    store.close()


def web_login(base: str, username: str) -> httpx.Client:
    """A browser-like client signed in through the login form."""
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=10)
    form = client.get("/login")
    r = client.post("/login", data={"csrf_token": CSRF.search(form.text).group(1), "username": username,
                                    "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text
    return client


def home_state(client: httpx.Client, article_id: int) -> str:
    """'is-read' or 'is-unread': how the home page's article list shows this article to the reader."""
    m = re.search(r'<li class="article-item (is-read|is-unread)" data-item data-open="/articles/%d"' % article_id,
                  client.get("/").text)
    assert m, "the article is not listed on the home page"
    return m.group(1)


def test_a_google_reader_session_over_http_changes_what_the_web_shows(served):
    base, store, arts = served
    with httpx.Client(base_url=base, timeout=10) as app:
        r = app.post("/accounts/ClientLogin", data={"Email": "ines", "Passwd": PASSWORD})
        assert r.status_code == 200
        auth = dict(line.split("=", 1) for line in r.text.strip().splitlines())["Auth"]
        headers = {"Authorization": f"GoogleLogin auth={auth}"}
        token = app.get("/reader/api/0/token", headers=headers).text.strip()
        subs = app.get("/reader/api/0/subscription/list", params={"output": "json"}, headers=headers).json()
        # a new reader's subscriptions are the instance's feeds
        assert {s["title"] for s in subs["subscriptions"]} == {"Quayside Herald", "Moorland Post"}
        ids = app.get("/reader/api/0/stream/items/ids", headers=headers,
                      params={"s": READING_LIST, "xt": READ, "n": 50, "output": "json"}).json()
        unread = {int(ref["id"]) for ref in ids["itemRefs"]}
        assert unread == {arts["wire"].id, arts["copy"].id, arts["own"].id}
        r = app.post("/reader/api/0/edit-tag", headers=headers,
                     data={"i": str(arts["own"].id), "a": READ, "T": token})
        assert r.status_code == 200 and r.text.strip() == "OK"
        ids = app.get("/reader/api/0/stream/items/ids", headers=headers,
                      params={"s": READING_LIST, "xt": READ, "n": 50, "output": "json"}).json()
        assert {int(ref["id"]) for ref in ids["itemRefs"]} == {arts["wire"].id, arts["copy"].id}
    ines, omar = web_login(base, "ines"), web_login(base, "omar")
    assert home_state(ines, arts["own"].id) == "is-read"
    assert home_state(ines, arts["wire"].id) == "is-unread"
    assert home_state(omar, arts["own"].id) == "is-unread"       # another reader's state is their own
    ines.close(), omar.close()


def test_a_fever_session_over_http_changes_what_the_web_shows(served):
    base, store, arts = served
    # the Fever key exists once the reader has signed in with their password
    web_login(base, "omar").close()
    api_key = hashlib.md5(f"omar:{PASSWORD}".encode()).hexdigest()
    with httpx.Client(base_url=base, timeout=10) as app:
        assert app.post("/fever/?api", data={"api_key": "0" * 32}).json()["auth"] == 0
        hello = app.post("/fever/?api", data={"api_key": api_key}).json()
        assert hello["auth"] == 1 and hello["api_version"] == 3
        feeds = app.post("/fever/?api&feeds", data={"api_key": api_key}).json()["feeds"]
        assert {f["title"] for f in feeds} == {"Quayside Herald", "Moorland Post"}
        items = app.post("/fever/?api&items", data={"api_key": api_key}).json()["items"]
        assert {i["id"] for i in items} >= {arts["wire"].id, arts["copy"].id}
        r = app.post("/fever/?api", data={"api_key": api_key, "mark": "item", "as": "read", "id": arts["copy"].id})
        assert r.json()["auth"] == 1
        unread = app.post("/fever/?api&unread_item_ids", data={"api_key": api_key}).json()["unread_item_ids"]
        left = {int(x) for x in unread.split(",") if x}
    # reading the wire copy marked its original read too
    assert arts["wire"].id not in left and arts["copy"].id not in left
    omar = web_login(base, "omar")
    # the home page lists the original (wire copies are folded under it): read, as the app left it
    assert home_state(omar, arts["wire"].id) == "is-read" and home_state(omar, arts["own"].id) == "is-unread"
    assert store.read_ids(store.find_user("omar").id, [arts["copy"].id]) == {arts["copy"].id}
    omar.close()


def test_follows_and_digest_feeds_stay_with_their_reader(served):
    base, store, arts = served
    ines, omar = web_login(base, "ines"), web_login(base, "omar")
    story_id = arts["story"].id
    page = ines.get(f"/stories/{story_id}")
    r = ines.post("/follow", data={"csrf_token": CSRF.search(page.text).group(1), "kind": "story",
                                   "target": str(story_id), "action": "follow", "next": f"/stories/{story_id}"})
    assert r.status_code == 303
    ines_user, omar_user = store.find_user("ines"), store.find_user("omar")
    assert store.is_following(ines_user.id, "story", story_id)
    # omar sees none of it (his story page offers him Follow), and his unfollow only ever
    # touches his own follows
    follow_forms = re.compile(r'name="kind" value="story">\s*<input type="hidden" name="target" value="%d">\s*'
                              r'<input type="hidden" name="action" value="(\w+)"' % story_id)
    assert follow_forms.search(ines.get(f"/stories/{story_id}").text).group(1) == "unfollow"
    page = omar.get(f"/stories/{story_id}")
    assert follow_forms.search(page.text).group(1) == "follow"
    omar.post("/follow", data={"csrf_token": CSRF.search(page.text).group(1), "kind": "story",
                               "target": str(story_id), "action": "unfollow", "next": f"/stories/{story_id}"})
    assert store.is_following(ines_user.id, "story", story_id)
    assert not store.is_following(omar_user.id, "story", story_id)
    # a digest feed URL is shown once, to its owner; another reader's session cannot use or see it
    account = ines.get("/account")
    made = ines.post("/account/digest/feed", data={"csrf_token": CSRF.search(account.text).group(1)})
    assert made.status_code == 201
    url = re.search(r"/digests/[A-Za-z0-9_-]+\.atom", made.text).group(0)
    assert ines.get(url).status_code == 200
    assert url not in omar.get("/account").text
    assert httpx.get(base + url.replace(".atom", "x.atom"), timeout=10).status_code == 404
    ines.close(), omar.close()
