"""The Store contract: the same tests on SQLite and on PostgreSQL (both real)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from newsloom.errors import NotFound, StoreError
from newsloom.models import Article, Feed, Story, Tag
from newsloom.store import open_store
from newsloom.store.schema import metadata

T0 = datetime(2026, 3, 10, 9, 30, tzinfo=timezone.utc)


def test_schema_is_migrated_to_head_and_matches_tables(store):
    assert store.schema_revision() == "0012"
    names = set(sa.inspect(store.engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= names
    for table in metadata.sorted_tables:
        cols = {c["name"] for c in sa.inspect(store.engine).get_columns(table.name)}
        assert cols == set(table.c.keys()), table.name


def test_migrate_twice_is_harmless(store):
    store.migrate()
    store.migrate()
    assert store.schema_revision() == "0012"


def test_source_upsert_is_idempotent(store):
    a = store.upsert_source("Harbor Gazette", "https://harbor.example/")
    b = store.upsert_source("  Harbor   Gazette ")
    assert a.id == b.id and b.homepage == "https://harbor.example/"
    assert [s.name for s in store.list_sources()] == ["Harbor Gazette"]


def test_feed_roundtrip_and_state(store):
    feed, created = store.add_feed(Feed(url="https://a.example/feed.xml", title="A"))
    again, created_again = store.add_feed(Feed(url="https://a.example/feed.xml"))
    assert created and not created_again and again.id == feed.id
    feed.etag, feed.last_error, feed.error_count = '"abc"', "fetch: HTTP 500", 2
    feed.next_check_at = T0 + timedelta(hours=1)
    store.save_feed(feed)
    loaded = store.get_feed(feed.id)
    assert (loaded.etag, loaded.last_error, loaded.error_count) == ('"abc"', "fetch: HTTP 500", 2)
    assert loaded.next_check_at == T0 + timedelta(hours=1) and loaded.next_check_at.tzinfo is not None
    assert [f.id for f in store.list_feeds(due_before=T0)] == []
    assert [f.id for f in store.list_feeds(due_before=T0 + timedelta(hours=2))] == [feed.id]
    with pytest.raises(NotFound):
        store.get_feed(feed.id + 999)


def _article(source_id, n=1, **kw):
    base = dict(url=f"https://a.example/news/{n}", title=f"Title {n}", source_id=source_id, guid=f"g{n}",
                published_at=T0 + timedelta(hours=n), text=f"Body {n}\n\nSecond paragraph.")
    base.update(kw)
    return Article(**base)


def test_article_insert_is_idempotent_by_url_and_guid(store):
    src = store.upsert_source("A")
    stored, created = store.add_article(_article(src.id))
    assert created and stored.id and stored.source_name == "A" and stored.fetched_at is not None
    _, created = store.add_article(_article(src.id))                          # same URL
    assert not created
    _, created = store.add_article(_article(src.id, url="https://a.example/other"))  # same GUID
    assert not created
    other = store.upsert_source("B")
    _, created = store.add_article(_article(other.id, url="https://b.example/1"))   # same GUID, other source
    assert created
    assert store.count_articles() == 2
    assert store.get_article(stored.id).published_at == T0 + timedelta(hours=1)


def test_list_articles_newest_first_with_filters(store):
    a, b = store.upsert_source("A"), store.upsert_source("B")
    for n in range(1, 6):
        store.add_article(_article(a.id if n % 2 else b.id, n))
    items = store.list_articles(limit=3)
    assert [i.title for i in items] == ["Title 5", "Title 4", "Title 3"]
    assert [i.title for i in store.list_articles(limit=3, offset=3)] == ["Title 2", "Title 1"]
    assert {i.source_name for i in store.list_articles(source_id=b.id)} == {"B"}
    assert store.count_articles(source_id=a.id) == 3
    assert store.count_sources_with_articles() == 2


def test_naive_datetimes_are_refused(store):
    src = store.upsert_source("A")
    with pytest.raises(Exception):
        store.add_article(_article(src.id, published_at=datetime(2026, 1, 1)))
    assert store.count_articles() == 0


def test_failed_write_leaves_nothing_behind(store):
    """A failure inside a write transaction rolls the whole article back."""
    src = store.upsert_source("A")
    from newsloom.store.schema import articles

    with pytest.raises(RuntimeError):
        with store.write() as conn:
            conn.execute(articles.insert().values(url="https://x.example/half", title="half", source_id=src.id,
                                                  text="", created_at=T0))
            raise RuntimeError("crash mid-ingest")
    assert store.count_articles() == 0


def test_concurrent_writers_do_not_duplicate(store_url):
    stores = [open_store(store_url) for _ in range(4)]
    src = stores[0].upsert_source("A")
    results = []

    def worker(s):
        for n in range(10):
            results.append(s.add_article(_article(src.id, n))[1])

    threads = [threading.Thread(target=worker, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 10
    assert stores[0].count_articles() == 10
    stores[0].reset()
    for s in stores:
        s.close()


def test_stories_tags_users_comments(store):
    src = store.upsert_source("A")
    art, _ = store.add_article(_article(src.id))
    story = store.add_story(Story(title="Harbour strike", first_seen_at=T0, last_seen_at=T0, article_count=1,
                                  source_count=1))
    store.update_article(art.id, story_id=story.id)
    assert store.get_article(art.id).story_id == story.id
    assert [s.title for s in store.list_stories()] == ["Harbour strike"]
    store.tag_story(story.id, Tag(name="PrisonerSwap", slug="prisonerswap"), 0.9)
    store.tag_story(story.id, Tag(name="PrisonerSwap", slug="prisonerswap"), 0.9)
    assert [t.tag.name for t in store.story_hashtags(story.id)] == ["PrisonerSwap"]
    assert store.story_hashtags(story.id)[0].articles == ()
    user = store.create_user("ada", "x")
    with pytest.raises(StoreError) as taken:
        store.create_user("Ada", "y")
    assert taken.value.code == "conflict"
    assert store.find_user("ada").id == user.id == store.get_user(user.id).id
    c = store.post_comment(story.id, user.id, "<b>hi</b>")
    hidden = store.post_comment(story.id, user.id, "hidden")
    store.set_comment_hidden(hidden.id, True)
    assert [x.body for x in store.comment_thread(story.id)] == ["<b>hi</b>"]
    assert store.count_comments(story.id) == 1
    assert c.created_at is not None
    with pytest.raises(StoreError):
        store.update_article(art.id, nope=1)


def test_story_hashtags_keep_their_score_phrase_and_supporting_articles(store):
    src = store.upsert_source("A")
    a1, _ = store.add_article(_article(src.id))
    a2, _ = store.add_article(_article(src.id, 2))
    story = store.add_story(Story(title="Harbour strike", first_seen_at=T0, last_seen_at=T0, article_count=2,
                                  source_count=1))
    tags = [(Tag(name="Harbour", slug="harbour", kind="place"), 0.9, "Harbour", [a2.id, a1.id]),
            (Tag(name="DockStrike", slug="dockstrike", kind="keyphrase"), 0.4, "dock strike", [a2.id])]
    assert store.save_story_insights(story.id, version=1, article_count=2, data={}, hashtags=tags,
                                     dirty_mark=None, article_ids=[a1.id, a2.id])
    got = store.story_hashtags(story.id)
    assert [(t.tag.slug, t.score, t.phrase, t.articles) for t in got] == [
        ("harbour", 0.9, "Harbour", tuple(sorted([a1.id, a2.id]))), ("dockstrike", 0.4, "dock strike", (a2.id,))]
