"""Follow stories, publishers and hashtags; the "For you" page ranks stories by them."""

from __future__ import annotations

import re

import pytest

from newsloom.errors import NotFound

from .conftest import logged_in, make_story, post_form


def _follow(client, kind, target, action="follow", next_url="/for-you"):
    return post_form(client, "/follow", {"kind": kind, "target": str(target), "action": action, "next": next_url})


def _titles(html: str) -> list[str]:
    return re.findall(r'<a class="title" href="/stories/\d+">([^<]+)</a>', html)


def test_for_you_falls_back_to_top_stories_with_a_hint(client, store):
    make_story(store, "Rates rise again", sources=("Harbor Gazette", "Meridian Wire"))
    anon = client.get("/for-you")
    assert anon.status_code == 303 and anon.headers["location"] == "/login?next=/for-you"
    logged_in(client, store, "alice")
    page = client.get("/for-you").text
    assert "You don't follow anything yet." in page and "Rates rise again" in page


def test_follow_buttons_on_the_story_page(client, store):
    story = make_story(store, "Kestrel-1 reaches orbit", sources=("Harbor Gazette",))
    assert "Log in to follow this story" in client.get(f"/stories/{story.id}").text
    logged_in(client, store, "alice")
    page = client.get(f"/stories/{story.id}").text
    assert "Follow this story" in page and "Follow Harbor Gazette" in page
    r = _follow(client, "story", story.id, next_url=f"/stories/{story.id}")
    assert r.status_code == 303 and r.headers["location"] == f"/stories/{story.id}"
    page = client.get(f"/stories/{story.id}").text
    assert "Unfollow this story" in page
    assert _follow(client, "story", story.id, action="unfollow").status_code == 303
    assert "Follow this story" in client.get(f"/stories/{story.id}").text


def test_for_you_ranking(client, store):
    old_followed = make_story(store, "Followed story, two days old", sources=("Valley Courier",), hours_ago=48)
    both = make_story(store, "Publisher and hashtag", sources=("Harbor Gazette",), tags=("Kestrel",), hours_ago=2, n=1)
    tag_only = make_story(store, "Hashtag only", sources=("Meridian Wire",), tags=("Kestrel",), hours_ago=1, n=2)
    old_tag = make_story(store, "Hashtag only, old", sources=("Meridian Wire",), tags=("kestrel",), hours_ago=30, n=3)
    make_story(store, "Nothing followed", sources=("Lantern Daily",), tags=("Weather",), hours_ago=0.5, n=4)
    logged_in(client, store, "alice")
    harbor = store.upsert_source("Harbor Gazette")
    assert _follow(client, "story", old_followed.id).status_code == 303
    assert _follow(client, "source", harbor.id).status_code == 303
    assert _follow(client, "tag", "#Kestrel").status_code == 303            # by name, # and case ignored
    assert _follow(client, "tag", "kestrel").status_code == 303             # twice is harmless

    page = client.get("/for-you").text
    # score = matches x 0.5 ** (age / 24h): 2 x 0.94 > 1 x 0.97 > 2 x 0.25 > 1 x 0.42
    assert _titles(page) == ["Publisher and hashtag", "Hashtag only", "Followed story, two days old",
                             "Hashtag only, old"]
    assert "Because: Harbor Gazette, #Kestrel" in page
    user = store.find_user("alice")
    items = store.for_you(user.id)
    assert [i.story.id for i in items] == [both.id, tag_only.id, old_followed.id, old_tag.id]
    assert items[0].score == pytest.approx(2 * 0.5 ** (2 / 24), rel=0.01)
    assert {f.label for f in store.list_follows(user.id)} == {"Followed story, two days old", "Harbor Gazette",
                                                              "#Kestrel"}
    # a shorter half-life makes recency count more
    fast = store.for_you(user.id, half_life_hours=1)
    assert [i.story.id for i in fast][:2] == [tag_only.id, both.id]

    assert _follow(client, "tag", "kestrel", action="unfollow").status_code == 303
    assert _titles(client.get("/for-you").text) == ["Publisher and hashtag", "Followed story, two days old"]


def test_following_unknown_things_fails_clearly(client, store):
    logged_in(client, store, "alice")
    r = _follow(client, "tag", "nosuchtag")
    assert r.status_code == 404 and "No hashtag #nosuchtag." in r.text and 'value="nosuchtag"' in r.text
    assert _follow(client, "story", "424242", next_url="/").status_code == 404
    assert _follow(client, "planet", "1", next_url="/").status_code == 400
    with pytest.raises(NotFound):
        store.follow(store.find_user("alice").id, "source", 424242)


def test_merged_story_keeps_its_followers(client, store):
    a = make_story(store, "First telling", hours_ago=3)
    b = make_story(store, "Merged telling", hours_ago=2, n=1)
    logged_in(client, store, "alice")
    _follow(client, "story", a.id)
    with store.cluster_section() as section:
        section.merge(a.id, b.id)
        section.refresh_story(b.id)
    assert [i.story.id for i in store.for_you(store.find_user("alice").id)] == [b.id]

