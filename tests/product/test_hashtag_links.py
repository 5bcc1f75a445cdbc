"""One source of truth for hashtags: every hashtag a story or article page links to is a
hashtag page that lists that story, and the API agrees (stored story_tags, built by the
pipeline, never recomputed on a read)."""

from __future__ import annotations

import re

_TAG_LINK = re.compile(r'href="/tags/([a-z0-9-]+)"')


def test_every_hashtag_link_lists_its_story(newsroom, demo_client):
    store, _ = newsroom
    stories = store.list_stories(limit=100)
    assert stories
    checked = 0
    for story in stories:
        page = demo_client.get(f"/stories/{story.id}").text
        slugs = set(_TAG_LINK.findall(page))
        assert {t.tag.slug for t in store.story_hashtags(story.id)} <= slugs
        lead = store.list_articles(story_id=story.id, limit=1)[0]
        slugs |= set(_TAG_LINK.findall(demo_client.get(f"/articles/{lead.id}").text))
        for slug in slugs:
            tag_page = demo_client.get(f"/tags/{slug}")
            assert tag_page.status_code == 200, slug
            assert f'href="/stories/{story.id}"' in tag_page.text, (slug, story.id)
            api = demo_client.get(f"/api/v1/tags/{slug}", params={"limit": 200}).json()
            assert story.id in [s["id"] for s in api["items"]], (slug, story.id)
            checked += 1
    assert checked >= 2 * len(stories)       # the pipeline gave every story hashtags


def test_each_hashtag_names_the_articles_that_support_it(newsroom, demo_client):
    """A stored hashtag carries its score and the story's articles whose text mentions it;
    the story API shows them, best first. (The fixture's own DEMO_TAGS, added beside the
    pipeline's with Store.tag_story, carry no articles.)"""
    from .conftest import DEMO_TAGS

    store, _ = newsroom
    checked = 0
    for story in store.list_stories(limit=100):
        story_ids = {a.id for a in store.list_articles(story_id=story.id, limit=500)}
        api = demo_client.get(f"/api/v1/stories/{story.id}").json()
        stored = store.story_hashtags(story.id)
        assert [h["slug"] for h in api["hashtags"]] == [t.tag.slug for t in stored]
        for h in api["hashtags"]:
            if h["slug"] in DEMO_TAGS:
                assert h["articles"] == []
                continue
            assert h["articles"] and set(h["articles"]) <= story_ids, (story.id, h)
            assert h["score"] > 0
            checked += 1
    assert checked
