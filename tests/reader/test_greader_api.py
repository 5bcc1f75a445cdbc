"""The Google Reader API (issue 13, item 4) as an app speaks it, through the real HTTP app on
both stores: request and response shapes written here from the protocol's descriptions, a
whole session (sign in, subscriptions, unread, contents, mark read) whose read state is the
one the web side shows, bad credentials, per-user isolation and hostile ids."""

from __future__ import annotations

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
READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
LONG_ID = re.compile(r"tag:google\.com,2005:reader/item/([0-9a-f]{16})")


@pytest.fixture
def app(settings, store):
    return create_app(settings.replace(argon2_time_cost=1, argon2_memory_cost=8192, page_cache_seconds=0,
                                       login_rate_limit="1000/minute", login_address_rate_limit="10000/minute",
                                       login_backoff_max=0), store)


@pytest.fixture
def client(app):
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def news(store):
    """Two publishers with a feed each; Valley Courier ran Harbor Gazette's wire text."""
    when = utcnow() - timedelta(hours=1)
    harbor = store.upsert_source("Harbor Gazette", "https://harbor.example/")
    valley = store.upsert_source("Valley Courier")
    hfeed, _ = store.add_feed(Feed(url="https://harbor.example/feed.xml", title="Harbor Gazette",
                                   site_url="https://harbor.example/", source_id=harbor.id))
    vfeed, _ = store.add_feed(Feed(url="https://valley.example/rss", title="Valley Courier", source_id=valley.id))
    story = store.add_story(Story(title="Ferry strike ends", first_seen_at=when, last_seen_at=when,
                                  article_count=3, source_count=2))

    def add(url, title, source, feed, text, **kw):
        art, _ = store.add_article(Article(url=url, title=title, source_id=source.id, feed_id=feed.id,
                                           published_at=when, text=text, story_id=story.id, author="R. Quay", **kw))
        return art

    wire = add("https://harbor.example/ferry", "Ferry strike ends", harbor, hfeed,
               "Ferries sail again.\n\nThe union & the operator <agreed> at dawn.")
    copy = add("https://valley.example/ferry", "Ferry strike ends (wire)", valley, vfeed, "Ferries sail again.",
               duplicate_of=wire.id)
    own = add("https://valley.example/commuters", "Commuters react", valley, vfeed, "Relief on the quay.")
    store.create_user("alice", PASSWORD_HASH)
    store.create_user("bob", PASSWORD_HASH)
    return {"harbor": hfeed, "valley": vfeed, "wire": wire, "copy": copy, "own": own}


def login(client, username="alice", password=PASSWORD, **extra):
    return client.post("/accounts/ClientLogin", data={"Email": username, "Passwd": password, **extra})


def session_for(client, username="alice"):
    """ClientLogin, then the headers every call sends and the write token T."""
    r = login(client, username)
    assert r.status_code == 200, r.text
    auth = dict(line.split("=", 1) for line in r.text.strip().splitlines())
    headers = {"Authorization": f"GoogleLogin auth={auth['Auth']}"}
    t = client.get("/reader/api/0/token", headers=headers)
    assert t.status_code == 200 and t.headers["content-type"].startswith("text/plain")
    return headers, t.text.strip()


def test_a_google_reader_session_end_to_end(client, store, news):
    # ClientLogin answers the three lines of the protocol; the Auth value is a revocable API token
    r = login(client)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert r.headers["cache-control"] == "no-store"
    lines = r.text.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == ["SID", "LSID", "Auth"] and r.text.endswith("\n")
    alice = store.find_user("alice")
    assert [t["name"] for t in store.list_api_tokens(alice.id)] == ["Google Reader"]
    as_json = login(client, output="json").json()
    assert set(as_json) == {"SID", "LSID", "Auth"} and as_json["Auth"] == as_json["SID"]

    headers, write_token = session_for(client)
    info = client.get("/reader/api/0/user-info", headers=headers).json()
    assert info["userName"] == "alice" and info["userId"] == str(alice.id)

    # subscriptions: a new reader reads every feed of the instance, under the one label
    subs = client.get("/reader/api/0/subscription/list", params={"output": "json"}, headers=headers).json()
    assert [s["id"] for s in subs["subscriptions"]] == [f"feed/{news['harbor'].id}", f"feed/{news['valley'].id}"]
    harbor = subs["subscriptions"][0]
    assert harbor == {"id": f"feed/{news['harbor'].id}", "title": "Harbor Gazette",
                      "categories": [{"id": "user/-/label/newsloom", "label": "newsloom"}],
                      "url": "https://harbor.example/feed.xml", "htmlUrl": "https://harbor.example/",
                      "iconUrl": "", "firstitemmsec": "0", "sortid": harbor["sortid"]}
    tags = client.get("/reader/api/0/tag/list", params={"output": "json"}, headers=headers).json()["tags"]
    assert {"id": STARRED} in tags and any(t["id"] == "user/-/label/newsloom" for t in tags)

    # unread: three in all, per feed and for the reading list
    counts = {c["id"]: c["count"] for c in
              client.get("/reader/api/0/unread-count", params={"output": "json"}, headers=headers)
              .json()["unreadcounts"]}
    assert counts == {f"feed/{news['harbor'].id}": 1, f"feed/{news['valley'].id}": 2, READING_LIST: 3,
                      "user/-/label/newsloom": 3}

    ids_url = "/reader/api/0/stream/items/ids"
    unread = client.get(ids_url, params={"s": READING_LIST, "xt": READ, "n": 1000, "output": "json"},
                        headers=headers).json()
    unread_ids = [int(ref["id"]) for ref in unread["itemRefs"]]
    assert sorted(unread_ids) == sorted([news["wire"].id, news["copy"].id, news["own"].id])
    assert "continuation" not in unread

    # contents, asked for in both id forms: the text as escaped paragraphs, origin, categories
    long_form = f"tag:google.com,2005:reader/item/{news['wire'].id:016x}"
    r = client.post("/reader/api/0/stream/items/contents", data={"i": [long_form, str(news["own"].id)],
                                                                 "output": "json", "T": write_token},
                    headers=headers)
    assert r.status_code == 200, r.text
    items = {int(LONG_ID.fullmatch(it["id"]).group(1), 16): it for it in r.json()["items"]}
    assert set(items) == {news["wire"].id, news["own"].id}
    wire = items[news["wire"].id]
    assert wire["title"] == "Ferry strike ends" and wire["author"] == "R. Quay"
    assert wire["summary"]["content"] == ("<p>Ferries sail again.</p>"
                                          "<p>The union &amp; the operator &lt;agreed&gt; at dawn.</p>")
    assert wire["canonical"] == [{"href": "https://harbor.example/ferry"}]
    assert wire["alternate"] == [{"href": "https://harbor.example/ferry", "type": "text/html"}]
    assert wire["origin"] == {"streamId": f"feed/{news['harbor'].id}", "title": "Harbor Gazette",
                              "htmlUrl": "https://harbor.example/"}
    assert READ not in wire["categories"] and READING_LIST in wire["categories"]
    assert wire["published"] == int(news["wire"].published_at.timestamp())

    # edit-tag: read (and starred) ...
    r = client.post("/reader/api/0/edit-tag", data={"i": long_form, "a": [READ, STARRED], "T": write_token},
                    headers=headers)
    assert r.status_code == 200 and r.text == "OK"
    # ... and the wire copy went with it, as the web UI shows
    assert store.read_ids(alice.id, [news["wire"].id, news["copy"].id, news["own"].id]) == {
        news["wire"].id, news["copy"].id}
    assert store.starred_ids(alice.id) == {news["wire"].id}
    counts = {c["id"]: c["count"] for c in
              client.get("/reader/api/0/unread-count", headers=headers).json()["unreadcounts"]}
    assert counts[READING_LIST] == 1 and f"feed/{news['harbor'].id}" not in counts
    unread = client.get(ids_url, params={"s": READING_LIST, "xt": READ}, headers=headers).json()
    assert [int(ref["id"]) for ref in unread["itemRefs"]] == [news["own"].id]
    read = client.get(ids_url, params={"s": READ}, headers=headers).json()
    assert sorted(int(ref["id"]) for ref in read["itemRefs"]) == sorted([news["wire"].id, news["copy"].id])
    starred = client.get(ids_url, params={"s": STARRED}, headers=headers).json()
    assert [int(ref["id"]) for ref in starred["itemRefs"]] == [news["wire"].id]
    contents = client.get("/reader/api/0/stream/items/contents", params={"i": str(news["copy"].id)},
                          headers=headers).json()["items"]
    assert READ in contents[0]["categories"] and STARRED not in contents[0]["categories"]

    # the web side's API shows the same state (the reader's own article list, with a Bearer token)
    bearer = {"Authorization": f"Bearer {store.create_api_token('alice', name='web check')}"}
    mine = {a["id"]: a for a in client.get("/api/v1/me/articles", headers=bearer).json()["items"]}
    assert mine[news["wire"].id]["read"] and mine[news["copy"].id]["read"] and not mine[news["own"].id]["read"]
    assert client.get("/api/v1/me/unread", headers=bearer).json()["total"] == 1

    # unread again, then mark-all-as-read on one feed
    assert client.post("/reader/api/0/edit-tag", data={"i": str(news["copy"].id), "r": READ, "T": write_token},
                       headers=headers).text == "OK"
    assert store.read_ids(alice.id, [news["wire"].id, news["copy"].id]) == set()
    r = client.post("/reader/api/0/mark-all-as-read", data={"s": f"feed/{news['valley'].id}", "T": write_token,
                                                             "ts": str(int((utcnow().timestamp() + 60) * 1e6))},
                    headers=headers)
    assert r.status_code == 200 and r.text == "OK"
    assert store.read_ids(alice.id, [news["copy"].id, news["own"].id]) == {news["copy"].id, news["own"].id}
    assert news["wire"].id not in store.read_ids(alice.id, [news["wire"].id])      # another feed: untouched


def test_paging_with_continuation_and_order(client, store, news):
    headers, _ = session_for(client)
    seen, params = [], {"s": READING_LIST, "n": 2, "r": "o"}
    for _ in range(4):
        page = client.get("/reader/api/0/stream/items/ids", params=params, headers=headers).json()
        seen += [int(ref["id"]) for ref in page["itemRefs"]]
        if "continuation" not in page:
            break
        params["c"] = page["continuation"]
    assert seen == [news["wire"].id, news["copy"].id, news["own"].id]          # oldest first, each once
    feed = client.get("/reader/api/0/stream/items/ids", params={"s": f"feed/{news['valley'].id}"},
                      headers=headers).json()
    assert [int(ref["id"]) for ref in feed["itemRefs"]] == [news["own"].id, news["copy"].id]   # newest first


def test_bad_credentials_and_missing_tokens_are_401(client, store, news):
    for username, password in (("alice", "wrong password"), ("nobody", PASSWORD), ("", "")):
        r = login(client, username, password)
        assert r.status_code == 401, (username, r.status_code)
        assert r.json()["error"]["message"].startswith("reader: ")
    assert store.list_api_tokens(store.find_user("alice").id) == []
    for headers in ({}, {"Authorization": "GoogleLogin auth=nl_forged"}, {"Authorization": "Bearer nl_forged"},
                    {"Authorization": "GoogleLogin nothing"}):
        r = client.get("/reader/api/0/subscription/list", headers=headers)
        assert r.status_code == 401 and r.headers["x-reader-google-bad-token"] == "true", headers
        assert r.json()["error"]["code"] == "unauthorized"
    headers, token = session_for(client)
    # a write without the write token, or with a wrong one, changes nothing
    for data in ({"i": str(news["wire"].id), "a": READ}, {"i": str(news["wire"].id), "a": READ, "T": "x" * 57}):
        r = client.post("/reader/api/0/edit-tag", data=data, headers=headers)
        assert r.status_code == 401 and "write token" in r.json()["error"]["message"]
    assert store.read_ids(store.find_user("alice").id, [news["wire"].id]) == set()
    # a revoked token stops working at once
    alice = store.find_user("alice")
    [row] = store.list_api_tokens(alice.id)
    store.revoke_api_token(alice.id, row["id"])
    assert client.get("/reader/api/0/user-info", headers=headers).status_code == 401


def test_one_readers_token_never_reads_or_changes_another_readers_state(client, store, news):
    alice_h, alice_t = session_for(client, "alice")
    bob_h, bob_t = session_for(client, "bob")
    alice, bob = store.find_user("alice"), store.find_user("bob")
    store.mark_read(bob.id, [news["own"].id])
    store.set_starred(bob.id, [news["own"].id])
    # alice sees none of bob's state, and her writes touch only hers
    contents = client.get("/reader/api/0/stream/items/contents", params={"i": str(news["own"].id)},
                          headers=alice_h).json()["items"]
    assert READ not in contents[0]["categories"] and STARRED not in contents[0]["categories"]
    assert client.get("/reader/api/0/stream/items/ids", params={"s": STARRED}, headers=alice_h).json() == {
        "itemRefs": []}
    assert client.post("/reader/api/0/edit-tag", data={"i": str(news["own"].id), "r": [READ, STARRED],
                                                       "T": alice_t}, headers=alice_h).text == "OK"
    assert store.read_ids(bob.id, [news["own"].id]) == {news["own"].id} and store.starred_ids(bob.id)
    # another user's stream names are refused; a write token is bound to its own API token
    r = client.get("/reader/api/0/stream/items/ids", params={"s": f"user/{bob.id}/state/com.google/starred"},
                   headers=alice_h)
    assert r.status_code == 403
    own = client.get("/reader/api/0/stream/items/ids", params={"s": f"user/{alice.id}/state/com.google/starred"},
                     headers=alice_h)
    assert own.status_code == 200
    r = client.post("/reader/api/0/edit-tag", data={"i": str(news["wire"].id), "a": READ, "T": bob_t},
                    headers=alice_h)
    assert r.status_code == 401
    assert store.read_ids(alice.id, [news["wire"].id]) == set()


def test_a_session_cookie_alone_is_not_enough(client, store, news):
    """No session cookie is read here (why these routes need no CSRF token): 401."""
    alice = store.find_user("alice")
    client.cookies.set(SESSION_COOKIE, store.create_session(alice.id, max_age=3600).token)
    assert client.get("/reader/api/0/user-info").status_code == 401
    r = client.post("/reader/api/0/edit-tag", data={"i": str(news["wire"].id), "a": READ})
    assert r.status_code == 401
    assert store.read_ids(alice.id, [news["wire"].id]) == set()


ODD = [str(2**31), str(2**63), str(2**64), "-1", "0", "abc", "1e5", "9" * 40,
       "tag:google.com,2005:reader/item/ffffffffffffffff", "tag:google.com,2005:reader/item/zz", "\x00"]


def test_big_and_odd_ids_are_400_not_500(client, news):
    headers, token = session_for(client)
    for value in ODD:
        _refused(client, headers, token, value)


def _refused(client, headers, token, value):
    for method, path, data in (("GET", "/reader/api/0/stream/items/contents", {"i": value}),
                               ("POST", "/reader/api/0/edit-tag", {"i": value, "a": READ, "T": token})):
        kw = {"params": data} if method == "GET" else {"data": data}
        r = client.request(method, path, headers=headers, **kw)
        assert r.status_code == 400, (path, value, r.status_code, r.text[:200])
        assert r.json()["error"]["message"].startswith("reader: ")
    for params in ({"s": f"feed/{value}"}, {"n": value}, {"c": value}, {"ot": value}, {"nt": value}):
        r = client.get("/reader/api/0/stream/items/ids", params=params, headers=headers)
        timestamp = "ot" in params or "nt" in params
        if timestamp and value.isdigit() and int(value) < 2**62:       # a time (2038, or in microseconds)
            assert r.status_code == 200, (params, r.status_code, r.text[:200])
            continue
        assert r.status_code in (400, 404), (params, r.status_code, r.text[:200])
        assert r.json()["error"]["message"].startswith("reader: ")


def test_unserved_calls_say_why(client, news):
    headers, token = session_for(client)
    r = client.post("/reader/api/0/rename-tag", data={"s": "user/-/label/newsloom", "dest": "x", "T": token},
                    headers=headers)
    assert r.status_code == 400 and "labels" in r.json()["error"]["message"]
    r = client.post("/reader/api/0/subscription/edit", data={"ac": "edit", "s": f"feed/{news['harbor'].id}",
                                                             "t": "Renamed", "T": token}, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("reader: ")
    r = client.post("/reader/api/0/subscription/quickadd", data={"quickadd": "https://elsewhere.example/feed",
                                                                 "T": token}, headers=headers)
    assert r.json()["numResults"] == 0
    # unsubscribing from one feed leaves the other; subscribing back works
    r = client.post("/reader/api/0/subscription/edit", data={"ac": "unsubscribe", "s": f"feed/{news['harbor'].id}",
                                                             "T": token}, headers=headers)
    assert r.text == "OK"
    subs = client.get("/reader/api/0/subscription/list", headers=headers).json()["subscriptions"]
    assert [s["id"] for s in subs] == [f"feed/{news['valley'].id}"]
    r = client.post("/reader/api/0/subscription/quickadd", data={"quickadd": "https://harbor.example/feed.xml",
                                                                 "T": token}, headers=headers)
    assert r.json()["streamId"] == f"feed/{news['harbor'].id}"
