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
