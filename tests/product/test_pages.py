"""Publisher, hashtag, admin and home pages through HTTP on both stores."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient

from newsloom.models import Feed, Story, utcnow
from newsloom.serve import create_app
from newsloom.enrich.rank import rank_stories, story_score
from newsloom.serve.views import top_stories


def test_home_ranks_top_stories_by_recency_publishers_and_velocity(newsroom, demo_client):
    store, _ = newsroom
    top = top_stories(store, limit=30)
    assert len(top) == store.count_stories()
    html = demo_client.get("/").text
    positions = [html.index(f'href="/stories/{s.id}"') for s in top]
    assert positions == sorted(positions)
    assert 'type="application/atom+xml"' in html and 'href="/feeds/home.atom"' in html


def test_rank_stories_formula():
    ref = datetime(2026, 3, 12, 18, tzinfo=timezone.utc)

    def story(i, hours_ago, sources):
        return Story(title=f"s{i}", id=i, source_count=sources, last_seen_at=ref - timedelta(hours=hours_ago))

    fresh_single, older_wide, stale_wide = story(1, 0, 1), story(2, 8, 6), story(3, 48, 7)
    assert story_score(fresh_single, 0, ref) == 1.0
    assert story_score(older_wide, 2, ref) == 0.5 * 6 * 3               # one half-life, 6 publishers, 2 recent
    ranked = rank_stories([stale_wide, fresh_single, older_wide], {2: 2}, ref)
    assert [s.id for s in ranked] == [2, 1, 3]
    # velocity alone breaks a tie between equally fresh, equally wide stories
    a, b = story(4, 1, 3), story(5, 1, 3)
    assert [s.id for s in rank_stories([a, b], {4: 1, 5: 4}, ref)] == [5, 4]


def test_publisher_pages(newsroom, demo_client):
    store, _ = newsroom
    index = demo_client.get("/sources").text
    sources = store.list_sources()
    assert len(sources) == 7 and all(f'href="/sources/{s.id}"' in index for s in sources)
    src = next(s for s in sources if s.name == "Lantern Daily")
    html = demo_client.get(f"/sources/{src.id}").text
    assert "<h1>Lantern Daily</h1>" in html and "1 feed: 1 healthy, 0 failing" in html
    for a in store.list_articles(source_id=src.id, limit=20):
        assert a.title.replace("'", "&#39;") in html
    for s in store.source_stories(src.id):
        assert f'href="/stories/{s.id}"' in html
    assert f'href="/search?publisher={src.id}"' in html
    assert demo_client.get("/sources/999999").status_code == 404


def test_hashtag_pages(newsroom, demo_client):
    store, _ = newsroom
    index = demo_client.get("/tags").text
    assert all(f'href="/tags/{slug}"' in index for slug in ("t-astrolabe", "t-kestrel", "t-flood"))
    html = demo_client.get("/tags/t-kestrel").text
    stories = store.tag_stories("t-kestrel")
    assert stories and "<h1>#TKestrel</h1>" in html and 'href="/tags/t-kestrel.atom"' in html
    assert all(f'href="/stories/{s.id}"' in html for s in stories)
    assert demo_client.get("/tags/no-such-tag").status_code == 404
    assert "t-kestrel" in [t.tag.slug for t in store.story_hashtags(stories[0].id)]


def test_admin_page_behind_its_guard(client, store, settings):
    feed, _ = store.add_feed(Feed(url="https://bad.example/feed.xml", title="Broken <b>feed</b>"))
    feed.last_error, feed.error_count, feed.last_fetched_at = "fetch: HTTP 500 from bad.example", 3, utcnow()
    store.save_feed(feed)
    assert client.get("/admin").status_code == 403                  # anonymous
    from newsloom.serve.auth import SESSION_COOKIE

    app = create_app(settings, store)
    with TestClient(app) as c:
        for name, role, status in (("reader", "user", 403), ("mod", "moderator", 403), ("boss", "admin", 200)):
            user = store.create_user(name, "x", role=role)
            c.cookies.set(SESSION_COOKIE, store.create_session(user.id, max_age=3600).token)
            r = c.get("/admin")
            assert r.status_code == status, name
        html = r.text
    assert "fetch: HTTP 500 from bad.example" in html and "Broken &lt;b&gt;feed&lt;/b&gt;" in html
    assert "(1 failing)" in html and "Last fetch:" in html


def test_pages_render_without_data(client):
    for path in ("/", "/search", "/search?q=anything", "/sources", "/tags", "/feeds/home.atom"):
        r = client.get(path)
        assert r.status_code == 200, path
    html = client.get("/search").text
    assert '<form class="search-form" role="search" method="get" action="/search">' in html
    assert '<label for="search-q">' in html and 'name="from"' in html and 'type="date"' in html
