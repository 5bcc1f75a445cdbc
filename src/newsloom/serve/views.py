"""View data shared by the pages and the API: a story with its coverage, an article with
its related articles, a publisher with its feeds' health. Reads only."""

from __future__ import annotations

from typing import Any

from collections import OrderedDict
from datetime import datetime, timedelta

from ..enrich.rank import TOP_CANDIDATES, VELOCITY_WINDOW_HOURS, rank_stories
from ..errors import NotFound
from ..models import Article, Story, utcnow
from ..tasks.insights import read_story_insights
from ..store import Store
from .health import feed_health

__all__ = ["story_view", "article_view", "source_view"]


def top_stories(store: Store, *, limit: int = 30, offset: int = 0, now: datetime | None = None,
                candidates: int = TOP_CANDIDATES) -> list[Story]:
    """The home page's ranking (enrich/rank.py rank_stories) over the `candidates` most
    recently updated stories."""
    pool = store.list_stories(limit=candidates)
    if not pool:
        return []
    newest = max((s.last_seen_at for s in pool if s.last_seen_at), default=None)
    now = now or utcnow()
    ref = min(now, newest) if newest else now
    counts = store.recent_article_counts([s.id for s in pool], ref - timedelta(hours=VELOCITY_WINDOW_HOURS), ref)
    return rank_stories(pool, counts, ref)[offset:offset + limit]


def _coverage(store: Store, story_id: int) -> list[Article]:
    return store.list_articles(story_id=story_id, limit=500, include_duplicates=False)


# Story page data, memoised per process under the story's stamp (Store.story_stamp): one
# small read tells whether the story, its coverage or its insights changed since the page
# was last built, so a reader never sees stale data and an unchanged story costs one query.
# (Comments and everything about the viewer are read per request.)
_MEMO: "OrderedDict[tuple[str, int], tuple[tuple, dict[str, Any], Any]]" = OrderedDict()
_MEMO_SIZE = 256


def story_page_data(store: Store, story_id: int) -> tuple[dict[str, Any], Any]:
    """(story_view, stored insights) of a story page; NotFound for an unknown story."""
    key = (store.url, story_id)
    stamp = store.story_stamp(story_id)
    if stamp is None:
        raise NotFound(f"store: no story {story_id}")
    hit = _MEMO.get(key)
    if hit is not None and hit[0] == stamp and stamp[1] is None:
        _MEMO.move_to_end(key)
        return hit[1], hit[2]
    view = story_view(store, story_id)
    insights = read_story_insights(store, view["story"].id)
    if stamp[1] is None:                     # a merged story redirects: nothing to keep
        _MEMO[key] = (stamp, view, insights)
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return view, insights


def story_view(store: Store, story_id: int) -> dict[str, Any]:
    story = store.get_story(story_id)
    while story.merged_into is not None:
        story = store.get_story(story.merged_into)
    articles = _coverage(store, story.id)
    copies = store.duplicates_of([a.id for a in articles])
    by_publisher: dict[str, list[Article]] = {}
    for a in sorted(articles, key=lambda a: a.published_at or a.fetched_at):
        by_publisher.setdefault(a.source_name or "Unknown source", []).append(a)
    return {"story": story, "lead": articles[0] if articles else None, "articles": articles,
            "by_publisher": by_publisher, "copies": copies}


def article_view(store: Store, article_id: int, *, limit: int = 8) -> dict[str, Any]:
    """Related articles as the seed page shows them: first the rest of the story,
    then near neighbours from other stories."""
    article = store.get_article(article_id)
    original = store.get_article(article.duplicate_of) if article.duplicate_of else None
    same_story = [a for a in _coverage(store, article.story_id) if a.id not in (article.id, article.duplicate_of)] \
        if article.story_id else []
    seen = {article.id, *(a.id for a in same_story)}
    neighbours = [a for a in store.related_articles(article.id, limit=limit) if a.id not in seen]
    related = (same_story + neighbours)[:limit]
    paragraphs = [p.strip() for p in article.text.split("\n\n") if p.strip()]
    story = store.get_story(article.story_id) if article.story_id else None
    return {"article": article, "paragraphs": paragraphs, "story": story, "original": original,
            "copies": store.duplicates_of([article.id]).get(article.id, []), "related": related,
            "same_story_ids": {a.id for a in same_story}}


def source_view(store: Store, source_id: int, *, limit: int = 20, offset: int = 0) -> dict[str, Any]:
    """A publisher with its feeds' health, latest articles and the stories it covered."""
    source = store.get_source(source_id)
    feeds = [row for row in feed_health(store) if row["source_id"] == source_id]
    successes = [f["last_success_at"] for f in feeds if f["last_success_at"]]
    health = {"feeds": len(feeds), "failing": sum(1 for f in feeds if f["last_error"]),
              "healthy": sum(1 for f in feeds if f["healthy"]),
              "last_success_at": max(successes) if successes else None}
    return {"source": source, "feeds": feeds, "health": health,
            "articles": store.list_articles(source_id=source_id, limit=limit, offset=offset),
            "article_total": store.count_articles(source_id=source_id),
            "stories": store.source_stories(source_id, limit=15)}
