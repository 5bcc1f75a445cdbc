"""AI features of a story, offline by default: hashtags, brief, timeline, where sources
disagree, and answers to questions, each citing its publisher.

Everything here is extractive and runs without a model download. When NEWSLOOM_LLM_URL
names an OpenAI-compatible server, the brief and answers are rewritten by it from the
same retrieved passages, keeping their citations; on any failure the extractive result
stands. Story insights are computed on demand and cached per process, keyed by the
story's article count and last-seen time, so a story is recomputed only when it changes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..enrich.compare import Disagreement, disagreements
from ..enrich.hashtags import Hashtag, hashtags, story_hashtags
from ..enrich.llm import LLMClient
from ..enrich.qa import Answer, answer
from ..enrich.summarize import Cited, story_brief, summarize
from ..enrich.timeline import Event, timeline
from ..models import Article, Tag
from ..settings import Settings
from ..store import Store

__all__ = ["StoryInsights", "story_insights", "ask_story", "article_summary", "tag_article_hashtags", "llm_client"]


@dataclass
class StoryInsights:
    hashtags: list[Hashtag]
    brief: list[Cited]
    timeline: list[Event]
    disagreements: list[Disagreement]
    brief_text: str | None = None          # the LLM's rewrite, when configured
    sources: list[str] = field(default_factory=list)


_CACHE: "OrderedDict[tuple, StoryInsights]" = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 256
TAG_CONTEXT = 30            # story articles consulted when tagging one article


def llm_client(settings: Settings) -> LLMClient | None:
    if not settings.llm_url:
        return None
    return LLMClient(settings.llm_url, settings.llm_model, api_key=settings.llm_api_key or None,
                     timeout=settings.llm_timeout)


def _story_articles(store: Store, story_id: int) -> list[Article]:
    """The story's articles, oldest first, wire copies included (they carry citations too)."""
    return sorted(store.list_articles(story_id=story_id, limit=500),
                  key=lambda a: (a.published_at or a.fetched_at, a.id))


def story_insights(store: Store, story_id: int, settings: Settings | None = None) -> StoryInsights:
    story = store.get_story(story_id)
    key = (store.url, story.id, story.article_count, story.last_seen_at, bool(settings and settings.llm_url))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    articles = _story_articles(store, story.id)
    originals = [a for a in articles if a.duplicate_of is None]
    insights = StoryInsights(
        hashtags=story_hashtags(articles), brief=story_brief(articles), timeline=timeline(articles),
        disagreements=disagreements(originals), sources=sorted({a.source_name or "" for a in articles}))
    client = llm_client(settings) if settings else None
    if client and insights.brief:
        insights.brief_text = client.brief(insights.brief)
    with _CACHE_LOCK:
        _CACHE[key] = insights
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return insights


def ask_story(store: Store, story_id: int, question: str, settings: Settings | None = None) -> Answer:
    """Passages from the story's own articles that answer `question`, cited; or found=False."""
    question = " ".join(question.split())[:300]
    result = answer(question, _story_articles(store, story_id))
    client = llm_client(settings) if settings else None
    if client and result.found:
        rewritten = client.answer(question, result.passages)
        if rewritten:
            result.text = rewritten
    return result


def article_summary(article: Article) -> list[str]:
    return summarize(article, n=3)


def tag_article_hashtags(store: Store, article_id: int) -> list[Tag]:
    """Compute an article's hashtags (in the context of its story) and store them."""
    article = store.get_article(article_id)
    # The story's newest articles are context enough (spellings, kinds) and keep the cost
    # per article bounded however large the story grows.
    story = store.list_articles(story_id=article.story_id, limit=TAG_CONTEXT) if article.story_id else None
    found = hashtags(article, story_articles=story)
    return store.set_article_tags(article.id, [(Tag(name=h.tag, slug=h.slug, kind=h.kind), h.score) for h in found])
