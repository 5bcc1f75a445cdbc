"""Read state (issue 13, item 1): per-reader read marks, wire copies, stars, subscriptions,
the article stream and unread counts; on the real store (SQLite and PostgreSQL), then through
the web pages and the API (TestClient)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from newsloom.errors import NotFound
from newsloom.models import Article, Feed, Story, Tag, utcnow
from newsloom.store.schema import articles as articles_table

# The community tests' clients and sign-in helpers (fixtures imported to be used here too).
from ..community.conftest import community_settings, csrf_from, logged_in, make_client  # noqa: F401

PASSWORD_HASH = "x"          # store-level users never log in


class Newsroom:
    """A small newsroom built with the real store: two publishers with a feed each, a story
    whose wire text Harbor Gazette ran first and Valley Courier copied (duplicate_of set, as
    the pipeline's dedupe does), and a second story."""

    def __init__(self, store):
        self.store = store
        now = utcnow()
        self.harbor = store.upsert_source("Harbor Gazette")
        self.valley = store.upsert_source("Valley Courier")
        self.harbor_feed, _ = store.add_feed(Feed(url="https://harbor.example/feed.xml", title="Harbor",
                                                  source_id=self.harbor.id))
        self.valley_feed, _ = store.add_feed(Feed(url="https://valley.example/feed.xml", title="Valley",
                                                  source_id=self.valley.id))
        self.ferry = store.add_story(Story(title="Ferry strike ends", first_seen_at=now, last_seen_at=now,
                                           article_count=3, source_count=2))
        self.dam = store.add_story(Story(title="Dam inspection", first_seen_at=now, last_seen_at=now,
                                         article_count=1, source_count=1))
        self.wire = self.article("https://harbor.example/ferry", "Ferry strike ends", self.harbor,
                                 self.harbor_feed, self.ferry)
        self.copy = self.article("https://valley.example/ferry", "Ferry strike ends (wire)", self.valley,
                                 self.valley_feed, self.ferry, duplicate_of=self.wire.id)
        self.own = self.article("https://valley.example/ferry-reaction", "Commuters react", self.valley,
                                self.valley_feed, self.ferry)
        self.dam_report = self.article("https://harbor.example/dam", "Dam inspection due", self.harbor,
                                       self.harbor_feed, self.dam)
        store.tag_story(self.ferry.id, Tag(name="FerryStrike", slug="ferrystrike"))
        store.tag_story(self.dam.id, Tag(name="DamWatch", slug="damwatch"))

    def article(self, url, title, source, feed, story, duplicate_of=None):
        art, _ = self.store.add_article(Article(url=url, title=title, source_id=source.id, feed_id=feed.id,
                                                published_at=utcnow(), text=f"{title}.", story_id=story.id,
                                                duplicate_of=duplicate_of))
        return art

    def backdate(self, article, days):
        with self.store.write() as conn:
            conn.execute(articles_table.update().where(articles_table.c.id == article.id)
                         .values(created_at=utcnow() - timedelta(days=days)))

    @property
    def all_ids(self):
        return {self.wire.id, self.copy.id, self.own.id, self.dam_report.id}


@pytest.fixture
def room(store):
    return Newsroom(store)


def _users(store, *names):
    return [store.create_user(n, PASSWORD_HASH) for n in names]


# -- store -------------------------------------------------------------------------------------
def test_reading_one_wire_copy_marks_its_duplicate_read_and_unread(store, room):
    alice, = _users(store, "alice")
    assert store.mark_read(alice.id, [room.copy.id]) == 2            # the copy and its original
    assert store.read_ids(alice.id, room.all_ids) == {room.wire.id, room.copy.id}
    assert store.mark_read(alice.id, [room.wire.id]) == 0            # idempotent
    assert store.mark_read(alice.id, [room.wire.id], read=False) == 2
    assert store.read_ids(alice.id, room.all_ids) == set()
    assert store.mark_read(alice.id, [room.own.id, 2**40, -1]) == 1  # ids naming nothing are ignored


def test_mark_story_read_and_mark_all_read(store, room):
    alice, bob = _users(store, "alice", "bob")
    assert store.mark_story_read(alice.id, room.ferry.id) == 3
    assert store.read_ids(alice.id, room.all_ids) == {room.wire.id, room.copy.id, room.own.id}
    with pytest.raises(NotFound):
        store.mark_story_read(alice.id, 999_999)
    assert store.mark_all_read(bob.id, feed_id=room.valley_feed.id) == 2
    assert store.read_ids(bob.id, room.all_ids) == {room.copy.id, room.own.id}
    assert store.mark_all_read(bob.id, before=utcnow() - timedelta(hours=1)) == 0
    assert store.mark_all_read(bob.id) == 2
    assert store.read_ids(bob.id, room.all_ids) == room.all_ids


def test_unread_counts_per_feed_followed_tag_and_followed_story(store, room):
    alice, bob = _users(store, "alice", "bob")
    store.follow(alice.id, "tag", "ferrystrike")
    store.follow(alice.id, "story", room.dam.id)
    counts = store.unread_counts(alice.id)
    assert counts.total == 4
    assert counts.by_feed == {room.harbor_feed.id: 2, room.valley_feed.id: 2}
    assert counts.by_tag == {"ferrystrike": 3}                        # followed hashtags only
    assert counts.by_story == {room.dam.id: 1}                        # followed stories only
    store.mark_read(alice.id, [room.wire.id])
    counts = store.unread_counts(alice.id)
    assert (counts.total, counts.by_tag, counts.by_feed) == (2, {"ferrystrike": 1},
                                                             {room.harbor_feed.id: 1, room.valley_feed.id: 1})
    assert store.unread_counts(bob.id).total == 4                     # bob's state is his own
    assert store.story_unread_counts(alice.id, [room.ferry.id, room.dam.id]) == {room.ferry.id: 1, room.dam.id: 1}
    assert store.feed_unread_counts(alice.id) == counts.by_feed


def test_the_unread_window_counts_old_articles_as_read(store, room):
    alice, = _users(store, "alice")
    room.backdate(room.dam_report, days=20)
    assert store.unread_counts(alice.id).total == 3                   # default window: 14 days
    assert store.unread_counts(alice.id, since=utcnow() - timedelta(days=30)).total == 4
    ids = [a.id for a in store.article_stream(alice.id, unread_only=True)]
    assert room.dam_report.id not in ids and len(ids) == 3
    store.reader_unread_days = 30
    try:
        assert store.unread_counts(alice.id).total == 4
    finally:
        del store.reader_unread_days


def test_subscriptions_choose_the_readers_feeds(store, room):
    alice, bob = _users(store, "alice", "bob")
    every = [room.harbor_feed.id, room.valley_feed.id]
    assert store.reader_feed_ids(alice.id) == every                   # none chosen: every feed
    assert store.subscribe(alice.id, room.valley_feed.id) is True
    assert store.subscribe(alice.id, room.valley_feed.id) is False
    assert store.reader_feed_ids(alice.id) == [room.valley_feed.id]
    assert store.unread_counts(alice.id).total == 2
    assert {a.id for a in store.article_stream(alice.id)} == {room.copy.id, room.own.id}
    assert store.mark_all_read(alice.id) == 2                          # within her feeds only
    assert store.read_ids(alice.id, [room.wire.id, room.dam_report.id]) == set()
    assert store.reader_feed_ids(bob.id) == every
    # Unsubscribing with none chosen keeps every other feed.
    assert store.unsubscribe(bob.id, room.harbor_feed.id) is True
    assert store.reader_feed_ids(bob.id) == [room.valley_feed.id]
    assert store.unsubscribe(bob.id, room.harbor_feed.id) is False
    with pytest.raises(NotFound):
        store.subscribe(bob.id, 999_999)


def test_stars_are_per_reader(store, room):
    alice, bob = _users(store, "alice", "bob")
    assert store.set_starred(alice.id, [room.own.id, 999_999]) == 1
    assert store.set_starred(alice.id, [room.own.id]) == 0
    assert store.starred_ids(alice.id) == {room.own.id}
    assert store.starred_ids(bob.id) == set()
    assert [a.id for a in store.article_stream(alice.id, starred=True)] == [room.own.id]
    assert store.set_starred(bob.id, [room.own.id], starred=False) == 0
    assert store.starred_ids(alice.id, [room.own.id, room.wire.id]) == {room.own.id}
    assert store.set_starred(alice.id, [room.own.id], starred=False) == 1


def test_article_stream_orders_and_continues(store, room):
    alice, = _users(store, "alice")
    newest = store.article_stream(alice.id, limit=10)
    assert [a.id for a in newest] == sorted(room.all_ids, reverse=True)
    assert newest[0].source_name == "Harbor Gazette"
    first, second = store.article_stream(alice.id, limit=2), None
    second = store.article_stream(alice.id, limit=2, before_id=first[-1].id)
    assert [a.id for a in first + second] == [a.id for a in newest]
    oldest = store.article_stream(alice.id, newest_first=False, limit=2)
    assert [a.id for a in oldest] == sorted(room.all_ids)[:2]
    later = store.article_stream(alice.id, newest_first=False, after_id=oldest[-1].id)
    assert [a.id for a in oldest + later] == sorted(room.all_ids)
    assert [a.id for a in store.article_stream(alice.id, feed_id=room.harbor_feed.id)] == \
        [room.dam_report.id, room.wire.id]
    store.mark_read(alice.id, [room.copy.id])
    assert {a.id for a in store.article_stream(alice.id, unread_only=True)} == {room.own.id, room.dam_report.id}
    assert store.article_stream(alice.id, newer_than=utcnow() + timedelta(minutes=1)) == []
    assert len(store.article_stream(alice.id, older_than=utcnow() + timedelta(minutes=1))) == 4


# -- the site and the API (TestClient) --------------------------------------------------------


@pytest.fixture
def web(make_client, store, room):
    """(anonymous client, alice's client, bob's client), the page cache off."""
    anon = make_client(page_cache_seconds=0)
    alice = logged_in(make_client(page_cache_seconds=0), store, "alice")
    bob = logged_in(make_client(page_cache_seconds=0), store, "bob")
    return anon, alice, bob


def _user(store, name):
    return store.find_user(name)


def test_anonymous_pages_have_no_read_state(web, room, store):
    anon, alice, _ = web
    before = {path: anon.get(path) for path in ("/", f"/articles/{room.wire.id}", f"/sources/{room.valley.id}",
                                                "/feeds")}
    for path, page in before.items():
        assert page.status_code == 200, path
        assert "unread" not in page.text.lower() and "mark-read" not in page.text, path
    assert anon.get(f"/articles/{room.copy.id}").status_code == 200      # an anonymous read marks nothing
    assert store.unread_counts(_user(store, "alice").id).total == 4
    alice.get(f"/articles/{room.copy.id}")                                 # alice reads: anonymous pages unchanged
    for path, page in before.items():
        again = anon.get(path)
        assert again.text == page.text and again.headers["etag"] == page.headers["etag"], path


def test_opening_a_wire_copy_marks_the_original_read_on_the_pages(web, room, store):
    _, alice, bob = web
    home = alice.get("/")
    assert "<strong>4</strong> unread" in home.text
    assert '<span class="unread-badge">3 unread</span>' in home.text        # the ferry story's badge
    page = alice.get(f"/articles/{room.copy.id}")                          # opening it reads it
    assert 'class="read-state">Read<' in page.text and "Mark unread" in page.text
    assert store.read_ids(_user(store, "alice").id, room.all_ids) == {room.wire.id, room.copy.id}
    harbor = alice.get(f"/sources/{room.harbor.id}").text                  # the original, on its publisher's page
    item = harbor.split(f'data-open="/articles/{room.wire.id}"')[0].rsplit("<li", 1)[1]
    assert "is-read" in item
    assert "<strong>2</strong> unread" in alice.get("/").text
    assert "<strong>4</strong> unread" in bob.get("/").text                # bob's state is his own


def test_mark_read_and_unread_forms(web, room, store):
    _, alice, _ = web
    page = alice.get(f"/sources/{room.valley.id}")
    token = csrf_from(page.text)
    assert alice.post(f"/articles/{room.own.id}/read", data={"next": f"/sources/{room.valley.id}"}).status_code == 403
    r = alice.post(f"/articles/{room.own.id}/read", data={"csrf_token": token, "next": f"/sources/{room.valley.id}"})
    assert (r.status_code, r.headers["location"]) == (303, f"/sources/{room.valley.id}")
    uid = _user(store, "alice").id
    assert store.read_ids(uid, [room.own.id]) == {room.own.id}
    r = alice.post(f"/articles/{room.wire.id}/read", data={"csrf_token": token, "read": "1",
                                                           "next": "https://evil.example/"})
    assert r.headers["location"] == f"/articles/{room.wire.id}"           # safe_next
    assert store.read_ids(uid, [room.copy.id]) == {room.copy.id}
    alice.post(f"/articles/{room.copy.id}/read", data={"csrf_token": token, "read": "0"})
    assert store.read_ids(uid, room.all_ids) == {room.own.id}
    assert alice.post("/articles/999999/read", data={"csrf_token": token}).status_code == 404
    r = alice.post(f"/stories/{room.ferry.id}/read", data={"csrf_token": token})
    assert (r.status_code, r.headers["location"]) == (303, f"/stories/{room.ferry.id}")
    assert store.read_ids(uid, room.all_ids) == {room.wire.id, room.copy.id, room.own.id}


def test_story_page_has_a_mark_story_read_button_for_readers(web, room):
    anon, alice, _ = web
    assert "Mark story read" not in anon.get(f"/stories/{room.ferry.id}").text
    assert f'action="/stories/{room.ferry.id}/read"' in alice.get(f"/stories/{room.ferry.id}").text


def test_feed_unread_counts_and_subscriptions_on_the_feeds_page(web, room, store):
    anon, alice, _ = web
    assert "/subscribe" not in anon.get("/feeds").text
    page = alice.get("/feeds").text
    assert page.count('class="unread-count">2<') == 2 and page.count(">Unsubscribe<") == 2
    token = csrf_from(page)
    r = alice.post(f"/feeds/{room.harbor_feed.id}/unsubscribe", data={"csrf_token": token})
    assert (r.status_code, r.headers["location"]) == (303, "/feeds")
    assert store.reader_feed_ids(_user(store, "alice").id) == [room.valley_feed.id]
    page = alice.get("/feeds").text
    assert page.count(">Subscribe<") == 1 and "<strong>2</strong> unread" in alice.get("/").text
    alice.post(f"/feeds/{room.harbor_feed.id}/subscribe", data={"csrf_token": token})
    assert store.reader_feed_ids(_user(store, "alice").id) == [room.harbor_feed.id, room.valley_feed.id]
    assert alice.post("/feeds/999999/subscribe", data={"csrf_token": token}).status_code == 404


def test_for_you_shows_unread_per_followed_hashtag_and_story(web, room, store):
    _, alice, _ = web
    uid = _user(store, "alice").id
    store.follow(uid, "tag", "ferrystrike")
    store.follow(uid, "story", room.dam.id)
    store.mark_read(uid, [room.wire.id])
    page = alice.get("/for-you").text
    assert page.count('class="unread-badge">1 unread<') >= 2              # #FerryStrike: 1, the dam story: 1


def _bearer(store, name):
    return {"Authorization": "Bearer " + store.create_api_token(name)}


def test_api_read_state_is_per_user(web, room, store):
    anon, alice, bob = web
    a, b = _bearer(store, "alice"), _bearer(store, "bob")
    assert anon.post(f"/api/v1/articles/{room.copy.id}/read").status_code == 401
    assert anon.get("/api/v1/me/unread").status_code == 401
    r = anon.post(f"/api/v1/articles/{room.copy.id}/read", headers=a)
    assert r.status_code == 200 and r.json() == {"read": True, "changed": 2}
    assert anon.get("/api/v1/me/unread", headers=a).json()["total"] == 2
    assert anon.get("/api/v1/me/unread", headers=b).json()["total"] == 4
    # bob's token unmarks bob's state, never alice's
    assert anon.delete(f"/api/v1/articles/{room.wire.id}/read", headers=b).json()["changed"] == 0
    assert anon.get("/api/v1/me/unread", headers=a).json()["total"] == 2
    assert anon.delete(f"/api/v1/articles/{room.wire.id}/read", headers=a).json()["changed"] == 2
    assert anon.post(f"/api/v1/stories/{room.ferry.id}/read", headers=a).json()["changed"] == 3
    assert anon.post("/api/v1/stories/999999/read", headers=a).status_code == 404
    assert anon.post("/api/v1/articles/999999/read", headers=a).status_code == 404
    counts = anon.get("/api/v1/me/unread", headers=a).json()
    assert counts["total"] == 1 and counts["by_feed"] == {str(room.harbor_feed.id): 1}
    # a session needs the X-CSRF-Token header for API calls
    assert alice.post(f"/api/v1/articles/{room.dam_report.id}/read").status_code == 403


def test_api_stars_and_the_article_stream(web, room, store):
    anon, _, _ = web
    a, b = _bearer(store, "alice"), _bearer(store, "bob")
    assert anon.post(f"/api/v1/articles/{room.own.id}/star", headers=a).json() == \
        {"article_id": room.own.id, "starred": True, "changed": 1}
    assert anon.delete(f"/api/v1/articles/{room.own.id}/star", headers=b).json()["changed"] == 0
    anon.post(f"/api/v1/articles/{room.copy.id}/read", headers=a)
    page = anon.get("/api/v1/me/articles?unread=1&limit=1", headers=a).json()
    assert (page["total"], page["limit"], page["offset"], page["next_offset"]) == (2, 1, 0, 1)
    nxt = anon.get("/api/v1/me/articles?unread=1&limit=1&offset=1", headers=a).json()
    assert {page["items"][0]["id"], nxt["items"][0]["id"]} == {room.own.id, room.dam_report.id}
    assert nxt["next_offset"] is None
    mine = anon.get(f"/api/v1/me/articles?feed_id={room.valley_feed.id}", headers=a).json()["items"]
    assert {(i["id"], i["read"], i["starred"]) for i in mine} == {(room.copy.id, True, False),
                                                                  (room.own.id, False, True)}
    theirs = anon.get(f"/api/v1/me/articles?feed_id={room.valley_feed.id}", headers=b).json()["items"]
    assert not any(i["read"] or i["starred"] for i in theirs)
    starred = anon.get("/api/v1/me/articles?starred=1", headers=a).json()
    assert [i["id"] for i in starred["items"]] == [room.own.id]
    assert anon.get("/api/v1/me/articles?starred=1", headers=b).json()["total"] == 0


def test_api_subscriptions_are_per_user(web, room, store):
    anon, _, _ = web
    a, b = _bearer(store, "alice"), _bearer(store, "bob")
    every = {room.harbor_feed.id, room.valley_feed.id}
    listed = anon.get("/api/v1/me/subscriptions", headers=a).json()
    assert listed["chosen"] is False and {i["feed_id"] for i in listed["items"]} == every
    r = anon.post("/api/v1/me/subscriptions", json={"feed_id": room.valley_feed.id}, headers=a)
    assert r.json() == {"feed_id": room.valley_feed.id, "subscribed": True, "changed": True}
    assert [i["feed_id"] for i in anon.get("/api/v1/me/subscriptions", headers=a).json()["items"]] == \
        [room.valley_feed.id]
    assert {i["feed_id"] for i in anon.get("/api/v1/me/subscriptions", headers=b).json()["items"]} == every
    assert anon.get("/api/v1/me/unread", headers=a).json()["total"] == 2
    assert anon.delete(f"/api/v1/me/subscriptions?feed_id={room.valley_feed.id}", headers=b).json()["changed"]
    assert [i["feed_id"] for i in anon.get("/api/v1/me/subscriptions", headers=a).json()["items"]] == \
        [room.valley_feed.id]                                               # bob's drop left alice's choice
    assert [i["feed_id"] for i in anon.get("/api/v1/me/subscriptions", headers=b).json()["items"]] == \
        [room.harbor_feed.id]
    assert anon.post("/api/v1/me/subscriptions", json={"feed_id": 999_999}, headers=a).status_code == 404


def test_the_unread_window_setting_applies_to_pages_and_the_api(make_client, store, room):
    alice = logged_in(make_client(page_cache_seconds=0, reader_unread_days=1), store, "alice")
    room.backdate(room.dam_report, days=2)
    assert "<strong>3</strong> unread" in alice.get("/").text
    counts = alice.get("/api/v1/me/unread", headers=_bearer(store, "alice")).json()
    assert counts["total"] == 3 and counts["by_feed"] == {str(room.harbor_feed.id): 1, str(room.valley_feed.id): 2}


def test_the_reading_api_is_in_the_openapi_spec(web):
    paths = web[0].get("/openapi.json").json()["paths"]
    assert {"post", "delete"} <= set(paths["/api/v1/articles/{article_id}/read"])
    assert {"post", "delete"} <= set(paths["/api/v1/articles/{article_id}/star"])
    assert {"get", "post", "delete"} <= set(paths["/api/v1/me/subscriptions"])
    assert "post" in paths["/api/v1/stories/{story_id}/read"]
    assert {"/api/v1/me/unread", "/api/v1/me/articles"} <= set(paths)
    assert "/articles/{article_id}/read" not in paths                      # the site's form routes stay out
