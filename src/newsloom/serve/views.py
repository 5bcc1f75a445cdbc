"""View data shared by the pages and the API: a story with its coverage, an article with
its related articles. Reads only."""

from __future__ import annotations

from typing import Any

from ..models import Article
from ..store import Store


def _coverage(store: Store, story_id: int) -> list[Article]:
    return store.list_articles(story_id=story_id, limit=500, include_duplicates=False)


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
