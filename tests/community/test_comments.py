"""Comments and replies on the story page: post, edit, delete, report, rate limit, escaping."""

from __future__ import annotations

import re

from .conftest import logged_in, make_story, post_form


def _post(client, story_id, body, parent_id=None):
    data = {"body": body} | ({"parent_id": str(parent_id)} if parent_id else {})
    return post_form(client, f"/stories/{story_id}/comments", data, csrf_page="/account")


def _comment_id(response) -> int:
    return int(re.search(r"#comment-(\d+)$", response.headers["location"]).group(1))


def test_comment_reply_edit_delete(make_client, store):
    story = make_story(store, "Kestrel-1 reaches orbit")
    alice, bob, reader = make_client(), make_client(), make_client()
    logged_in(alice, store, "alice"), logged_in(bob, store, "bob")

    anon = reader.get(f"/stories/{story.id}").text
    assert "No comments yet..." in anon and "Log in</a> or" in anon
    assert f'action="/stories/{story.id}/comments"' not in anon

    r = _post(alice, story.id, "Great launch.\nWatched it live.")
    assert r.status_code == 303 and r.headers["location"].startswith(f"/stories/{story.id}#comment-")
    first = _comment_id(r)
    reply = _comment_id(_post(bob, story.id, "Me too!", parent_id=first))
    page = reader.get(f"/stories/{story.id}").text
    assert "Comments <span class=\"count\">(2)</span>" in page
    assert "Great launch.<br>" in page and "Watched it live." in page
    assert page.index(f'id="comment-{first}"') < page.index('class="comment-replies"') < page.index("Me too!")

    r = post_form(alice, f"/comments/{first}/edit", {"body": "Great launch, edited."}, csrf_page="/account")
    assert r.status_code == 303
    page = reader.get(f"/stories/{story.id}").text
    assert "Great launch, edited." in page and "edited</span>" in page
    # only the author may edit or delete
    assert post_form(bob, f"/comments/{first}/edit", {"body": "hijack"}).status_code == 403
    assert post_form(bob, f"/comments/{first}/delete").status_code == 403
    assert post_form(alice, f"/comments/{first}/edit", {"body": "   "}).status_code == 400

    assert post_form(alice, f"/comments/{first}/delete").status_code == 303
    page = reader.get(f"/stories/{story.id}").text                   # it has a reply: a placeholder stays
    assert "[deleted]" in page and "Great launch" not in page and "Me too!" in page
    assert post_form(bob, f"/comments/{reply}/delete").status_code == 303
    page = reader.get(f"/stories/{story.id}").text                   # the last reply went: so does the placeholder
    assert "[deleted]" not in page and "No comments yet..." in page
    assert store.comment_thread(story.id) == []


def test_comment_errors_keep_the_draft(client, store):
    story = make_story(store, "Rates rise")
    logged_in(client, store, "carol")
    r = _post(client, story.id, "   ")
    assert r.status_code == 400 and "The text is empty." in r.text and "<h1>Add a comment</h1>" in r.text
    r = _post(client, story.id, "x" * 10_001)
    assert r.status_code == 400 and "longer than 10000" in r.text and "x" * 10_001 in r.text
    other = make_story(store, "Other story")
    elsewhere = _comment_id(_post(client, other.id, "hello"))
    r = _post(client, story.id, "reply across stories", parent_id=elsewhere)
    assert r.status_code == 400 and "not on this story" in r.text and "reply across stories" in r.text
    mine = _comment_id(_post(client, story.id, "first line\nsecond line"))
    r = _post(client, story.id, "", parent_id=mine)
    assert r.status_code == 400 and "Reply to carol" in r.text and f'name="parent_id" value="{mine}"' in r.text
    page = client.get(f"/comments/{mine}/edit").text                     # the no-details edit page
    assert "Edit your comment" in page and ">first line\nsecond line</textarea>" in page
    r = post_form(client, f"/comments/{mine}/edit", {"body": ""})
    assert r.status_code == 400 and "The text is empty." in r.text


def test_commenting_needs_a_login_and_a_story(client, store):
    story = make_story(store, "Ferry strike")
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(f"/stories/{story.id}/comments", data={"body": "hi", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    logged_in(client, store, "dave")
    assert post_form(client, "/stories/999999/comments", {"body": "hello"}).status_code == 404


def test_report_once_per_user(make_client, store):
    story = make_story(store, "Registry breach")
    alice, bob = make_client(), make_client()
    logged_in(alice, store, "alice"), logged_in(bob, store, "bob")
    cid = _comment_id(_post(alice, story.id, "Something rude"))
    r = post_form(bob, f"/comments/{cid}/report", {"reason": "rude"})
    assert r.status_code == 303 and f"reported={cid}" in r.headers["location"]
    assert "a moderator will look at this comment" in bob.get(r.headers["location"]).text
    assert post_form(bob, f"/comments/{cid}/report", {"reason": "still rude"}).status_code == 303
    assert post_form(alice, f"/comments/{cid}/report").status_code == 400      # not your own
    [item] = store.moderation_queue()["reported"]
    assert item.comment.id == cid and item.report_count == 1 and item.reasons == ["rude"]


def test_comment_rate_limit_per_user_and_ip(make_client, store):
    story = make_story(store, "Flood at Kharvik")
    alice = make_client(comment_rate_limit="2/minute")
    bob = make_client(comment_rate_limit="2/minute")
    logged_in(alice, store, "alice"), logged_in(bob, store, "bob")
    assert [_post(alice, story.id, f"c{i}").status_code for i in range(2)] == [303, 303]
    r = _post(alice, story.id, "one too many")
    assert r.status_code == 429 and "too many comments" in r.text and int(r.headers["retry-after"]) >= 1
    # bob has his own user budget, but shares the IP address ("testclient") with alice
    r = _post(bob, story.id, "same address")
    assert r.status_code == 429
    assert "one too many" not in alice.get(f"/stories/{story.id}").text


XSS = ['<script>alert("x")</script>', '<img src=x onerror="alert(1)">',
       '<a href="javascript:alert(1)">click me</a>', '"><svg onload=alert(1)>', "line one\n<b>line two</b>"]


def test_comment_text_is_escaped(make_client, store):
    story = make_story(store, "Stolen astrolabe found")
    alice, reader = make_client(), make_client()
    logged_in(alice, store, "alice")
    for body in XSS:
        assert _post(alice, story.id, body).status_code == 303
    for html in (reader.get(f"/stories/{story.id}").text, alice.get(f"/stories/{story.id}").text):
        assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html
        assert 'href="javascript:' not in html and "<b>line two</b>" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
        assert "&lt;a href=&#34;javascript:alert(1)&#34;&gt;click me&lt;/a&gt;" in html
        assert "line one<br>" in html and "&lt;b&gt;line two&lt;/b&gt;" in html


def test_comments_follow_a_merged_story(client, store):
    a = make_story(store, "Early telling", hours_ago=3)
    b = make_story(store, "Later telling", hours_ago=2, n=1)
    logged_in(client, store, "alice")
    first = store.post_comment(a.id, store.find_user("alice").id, "On the early story")
    with store.cluster_section() as section:
        section.merge(a.id, b.id)
        section.refresh_story(b.id)
    store.post_comment(a.id, store.find_user("alice").id, "Reply after the merge", parent_id=first.id)
    page = client.get(f"/stories/{b.id}").text
    assert "On the early story" in page and "Reply after the merge" in page and store.count_comments(b.id) == 2
