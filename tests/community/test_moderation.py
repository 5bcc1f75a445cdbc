"""Moderators: hide and restore comments, the queue, bans. Roles come from Store.set_role."""

from __future__ import annotations

import re

from .conftest import PASSWORD, logged_in, login, make_story, post_form


def _post(client, story_id, body, parent_id=None):
    data = {"body": body} | ({"parent_id": str(parent_id)} if parent_id else {})
    r = post_form(client, f"/stories/{story_id}/comments", data, csrf_page="/account")
    assert r.status_code == 303, r.text[:300]
    return int(re.search(r"#comment-(\d+)$", r.headers["location"]).group(1))


def _people(make_client, store):
    clients = {name: make_client() for name in ("mod", "alice", "bob")}
    for name, c in clients.items():
        logged_in(c, store, name)
    assert store.set_role("mod", "moderator").role == "moderator"
    return clients


def test_moderation_page_is_for_moderators_only(make_client, store):
    people = _people(make_client, store)
    assert people["alice"].get("/moderation").status_code == 403
    anon = make_client().get("/moderation")
    assert anon.status_code == 303 and anon.headers["location"] == "/login?next=/moderation"
    page = people["mod"].get("/moderation")
    assert page.status_code == 200 and "No open reports." in page.text
    assert 'href="/moderation"' in page.text                              # the header links it for moderators
    assert 'href="/moderation"' not in people["alice"].get("/").text
    assert post_form(people["alice"], "/comments/1/hide").status_code == 403


def test_hide_and_restore(make_client, store):
    people = _people(make_client, store)
    story = make_story(store, "Ex-mayor found guilty")
    reader = make_client()
    bad = _post(people["alice"], story.id, "A nasty remark")
    _post(people["bob"], story.id, "A fair reply", parent_id=bad)
    assert post_form(people["bob"], f"/comments/{bad}/report", {"reason": "abusive"}).status_code == 303

    queue = people["mod"].get("/moderation").text
    assert "A nasty remark" in queue and "1 open report" in queue and "<q>abusive</q>" in queue

    r = post_form(people["mod"], f"/comments/{bad}/hide", {"next": "/moderation"})
    assert r.status_code == 303 and r.headers["location"] == "/moderation"
    for viewer in (reader, people["bob"]):
        page = viewer.get(f"/stories/{story.id}").text
        assert "A nasty remark" not in page and "[removed by a moderator]" in page and "A fair reply" in page
    assert "A nasty remark" in people["alice"].get(f"/stories/{story.id}").text     # the author still sees it
    assert "hidden by a moderator" in people["alice"].get(f"/stories/{story.id}").text
    mod_view = people["mod"].get(f"/stories/{story.id}").text
    assert "A nasty remark" in mod_view and "Restore" in mod_view
    queue = people["mod"].get("/moderation").text
    assert "No open reports." in queue and "Hidden comments (1)" in queue
    assert post_form(people["alice"], f"/comments/{bad}/edit", {"body": "sneaky"}).status_code == 403
    api = reader.get(f"/api/v1/stories/{story.id}/comments").json()
    assert [c["state"] for c in api] == ["removed", "visible"] and api[0]["body"] == "" and api[0]["author"] is None

    assert post_form(people["mod"], f"/comments/{bad}/restore").status_code == 303
    assert "A nasty remark" in reader.get(f"/stories/{story.id}").text
    assert "Hidden comments (0)" in people["mod"].get("/moderation").text


def test_hidden_comment_without_replies_disappears(make_client, store):
    people = _people(make_client, store)
    story = make_story(store, "Moss species found")
    cid = _post(people["alice"], story.id, "spam spam spam")
    post_form(people["mod"], f"/comments/{cid}/hide")
    page = make_client().get(f"/stories/{story.id}").text
    assert "spam spam" not in page and "[removed" not in page and "No comments yet..." in page


def test_dismiss_reports_keeps_the_comment(make_client, store):
    people = _people(make_client, store)
    story = make_story(store, "Sea wall failed")
    cid = _post(people["alice"], story.id, "An unpopular opinion")
    post_form(people["bob"], f"/comments/{cid}/report")
    assert post_form(people["mod"], f"/comments/{cid}/dismiss", {"next": "/moderation"}).status_code == 303
    assert store.moderation_queue()["reported"] == []
    assert "An unpopular opinion" in make_client().get(f"/stories/{story.id}").text


def test_ban_and_unban(make_client, store):
    people = _people(make_client, store)
    story = make_story(store, "Detainee swap sealed")
    _post(people["alice"], story.id, "before the ban")
    token = store.create_api_token("alice")
    r = post_form(people["mod"], "/users/alice/ban", {"next": "/moderation"})
    assert r.status_code == 303 and store.find_user("alice").banned
    assert "alice" in people["mod"].get("/moderation").text

    # the ban ended alice's session: her next comment is sent to the login page, and not stored
    page = people["alice"].get(f"/stories/{story.id}").text
    assert "Log out" not in page and "Add a comment" not in page
    r = people["alice"].post(f"/stories/{story.id}/comments", data={"body": "after", "csrf_token": "x"})
    assert r.status_code in (303, 403)
    r = login(people["alice"], "alice")
    assert r.status_code == 403 and "This account is banned." in r.text
    api = people["bob"].post(f"/api/v1/stories/{story.id}/comments", json={"body": "via api"},
                             headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 403
    assert [c.body for c in store.comment_thread(story.id)] == ["before the ban"]

    # moderators cannot ban moderators, nor themselves; an admin can
    assert post_form(people["mod"], "/users/mod/ban").status_code == 403
    store.set_role("bob", "moderator")
    assert post_form(people["mod"], "/users/bob/ban").status_code == 403

    assert post_form(people["mod"], "/users/alice/unban").status_code == 303
    assert login(people["alice"], "alice", PASSWORD).status_code == 303
    _post(people["alice"], story.id, "back again")


def test_set_role_validates(store):
    import pytest

    from newsloom.errors import NotFound, StoreError

    with pytest.raises(NotFound):
        store.set_role("ghost", "admin")
    store.create_user("root", "$argon2id$fake")
    with pytest.raises(StoreError, match="role must be one of"):
        store.set_role("root", "emperor")
    assert store.set_role("root", "admin").role == "admin"
