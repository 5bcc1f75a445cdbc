"""Story and article insights: built once on the write path, stored, read by every page.

What a story gets (all offline; each cites its publisher):

* hashtags (``enrich/hashtags.py``), stored in ``story_tags``: the one list that story pages,
  hashtag pages and the API show;
* a brief across publishers, a key-events timeline, where sources disagree, the publishers
  and the coverage charts, stored as one JSON document in ``story_insights``;
* when ``NEWSLOOM_LLM_URL`` names an OpenAI-compatible server, the brief is also rewritten by
  it from the same passages (here, on the write path: no page ever waits on a model).

Every row is stamped with :data:`INSIGHTS_VERSION`; a release that changes how insights are
built bumps it, and ``newsloom rebuild-insights`` (or the scheduler, on start) rebuilds what
an older version made. An article's summary is built with its story's first rebuild after
it arrived; its hashtags are its story's.

The one exception to "pages only read" is :func:`ask_story`: a reader's question is answered
from the story's stored articles on request, read-only, the LLM bounded by a timeout.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from ..enrich.charts import story_charts
from ..enrich.compare import Claim, Disagreement, disagreements
from ..enrich.embed import query_vector
from ..enrich.hashtags import story_hashtags
from ..enrich.llm import LLMClient
from ..enrich.qa import Answer, answer
from ..enrich.summarize import Cited, story_brief, summarize
from ..enrich.text import words
from ..enrich.timeline import Event, timeline
from ..models import Article, Tag, parse_utc
from ..settings import Settings
from ..store import Store

__all__ = ["INSIGHTS_VERSION", "StoryInsights", "build_story_insights", "read_story_insights", "summarize_articles",
           "mark_outdated_insights",
           "ask_story", "llm_client"]

log = logging.getLogger("newsloom.insights")

# Bump when the way insights, hashtags or summaries are built changes: stored rows made by
# another version are rebuilt by `newsloom rebuild-insights` and by the scheduler on start.
INSIGHTS_VERSION = 2         # 2: hashtags carry their supporting articles; new splitter, stems, entities
STORY_ARTICLES = 500        # articles a story's insights are built from (newest first)


@dataclass(frozen=True)
class StoredHashtag:
    """A story hashtag as stored (story_tags): the slug is the stored one, the link target."""

    tag: str
    slug: str
    kind: str
    score: float = 0.0
    phrase: str = ""
    articles: tuple[int, ...] = ()      # the story's articles that support it


@dataclass
class StoryInsights:
    hashtags: list[StoredHashtag]
    brief: list[Cited]
    timeline: list[Event]
    disagreements: list[Disagreement]
    brief_text: str | None = None          # the LLM's rewrite, when configured
    sources: list[str] = field(default_factory=list)
    charts: dict[str, str] = field(default_factory=dict)
    version: int = INSIGHTS_VERSION
    built_at: Any = None
    article_count: int = 0


def llm_client(settings: Settings | None, *, timeout: float | None = None) -> LLMClient | None:
    if settings is None or not settings.llm_url:
        return None
    return LLMClient(settings.llm_url, settings.llm_model, api_key=settings.llm_api_key or None,
                     timeout=min(settings.llm_timeout, timeout) if timeout else settings.llm_timeout)


def _story_articles(store: Store, story_id: int) -> list[Article]:
    """The story's articles, oldest first, wire copies included (they carry citations too)."""
    return sorted(store.list_articles(story_id=story_id, limit=STORY_ARTICLES),
                  key=lambda a: (a.published_at or a.fetched_at, a.id))


# -- the write path -------------------------------------------------------------------
def build_story_insights(store: Store, story_id: int, settings: Settings | None = None) -> bool:
    """Compute a story's insights from its stored articles and store them (one transaction).

    A story merged into another, or left empty, keeps nothing. The story's dirty mark is
    cleared unless it changed again while this ran (then the next rebuild catches up).
    Returns True when insights were stored.
    """
    story = store.get_story(story_id)
    if story.merged_into is not None or story.article_count == 0:
        store.drop_story_insights(story_id)
        return False
    mark = store.story_dirty_mark(story_id)
    articles = _story_articles(store, story_id)
    _summarize_new(store, articles)
    originals = [a for a in articles if a.duplicate_of is None]
    tags = story_hashtags(articles)
    brief = story_brief(articles)
    data: dict[str, Any] = {
        "brief": [asdict(c) for c in brief],
        "timeline": [asdict(e) for e in timeline(articles)],
        "disagreements": [{"kind": d.kind, "topic": d.topic, "claims": [list(c) for c in d.claims]}
                          for d in disagreements(originals)],
        "sources": sorted({a.source_name or "" for a in articles}),
        "charts": story_charts(story_id, articles),
        "brief_text": None,
    }
    client = llm_client(settings)
    if client and brief:
        data["brief_text"] = client.brief(brief)
    stored = [(Tag(name=h.tag, slug=h.slug, kind=h.kind), h.score, h.phrase or None, h.articles) for h in tags]
    # the build as the story's history keeps it (what "new since your last visit" compares):
    # every article it was built from, wire copies included, and its events and disagreements
    history = {"timeline": data["timeline"], "disagreements": data["disagreements"]}
    return store.save_story_insights(story_id, version=INSIGHTS_VERSION, article_count=len(articles), data=data,
                                     hashtags=stored, dirty_mark=mark, article_ids=[a.id for a in articles],
                                     history=history)


def _summarize_new(store: Store, articles: list[Article]) -> None:
    """Summaries of the story's articles that have none from this version (an article's
    summary is built once, with its story's first rebuild after it arrived)."""
    missing = store.articles_without_summary([a.id for a in articles], version=INSIGHTS_VERSION)
    if not missing:
        return
    made: dict[int, list[str]] = {}
    # originals first: a wire copy (same text, another publisher) takes its original's summary
    for a in sorted((a for a in articles if a.id in missing), key=lambda a: a.duplicate_of is not None):
        if a.duplicate_of is not None and a.duplicate_of in made:
            made[a.id] = made[a.duplicate_of]
        elif a.duplicate_of is not None and a.duplicate_of not in missing and (kept := store.article_summary(a.duplicate_of)):
            made[a.id] = kept
        else:
            made[a.id] = summarize(a, n=3)
    store.save_article_summaries(list(made.items()), version=INSIGHTS_VERSION)


def summarize_articles(store: Store, article_ids: list[int]) -> None:
    """Summaries of these articles, built and stored (`newsloom rebuild-insights`)."""
    store.save_article_summaries([(i, summarize(store.get_article(i), n=3)) for i in article_ids],
                                 version=INSIGHTS_VERSION)


def mark_outdated_insights(store: Store) -> int:
    """Stories whose insights another pipeline version built (or none) become dirty, so the
    scheduler rebuilds them; every scheduler calls this on start. Returns how many."""
    stale = store.stale_insight_story_ids(INSIGHTS_VERSION)
    if stale:
        store.mark_stories_dirty(stale)
        log.info("insights_outdated stories=%d version=%d", len(stale), INSIGHTS_VERSION)
    return len(stale)


# -- the read path ----------------------------------------------------------------------
def read_story_insights(store: Store, story_id: int) -> StoryInsights | None:
    """What the pipeline stored for a story, or None when it has not been built yet."""
    row = store.get_story_insights(story_id)
    if row is None:
        return None
    data = row.data
    tags = [StoredHashtag(tag=t.tag.name, slug=t.tag.slug, kind=t.tag.kind, score=t.score, phrase=t.phrase or "",
                          articles=t.articles) for t in store.story_hashtags(story_id)]
    brief = [Cited(**{**c, "published": parse_utc(c.get("published"))}) for c in data.get("brief", [])]
    events = [Event(**{**e, "date": date.fromisoformat(e["date"]),
                       "citations": [tuple(c) for c in e.get("citations", [])]}) for e in data.get("timeline", [])]
    disputes = [Disagreement(kind=d["kind"], topic=d["topic"], claims=[Claim(*c) for c in d["claims"]])
                for d in data.get("disagreements", [])]
    return StoryInsights(hashtags=tags, brief=brief, timeline=events, disagreements=disputes,
                         brief_text=data.get("brief_text"), sources=data.get("sources", []),
                         charts=data.get("charts", {}), version=row.version, built_at=row.built_at,
                         article_count=row.article_count)


def ask_story(store: Store, story_id: int, question: str, settings: Settings | None = None,
              *, timeout: float = 10.0) -> Answer:
    """Passages from the story's own articles that answer `question`, cited; or found=False.
    Reads only; the optional LLM rewrite waits at most `timeout` seconds."""
    question = " ".join(question.split())[:300]
    articles = _story_articles(store, story_id)
    vectors = store.article_vectors([a.id for a in articles], parts=True)   # stored by the embed stage
    result = answer(question, articles, question_vector=query_vector(words(question)) if vectors else None,
                    vectors=vectors)
    client = llm_client(settings, timeout=timeout)
    if client and result.found:
        rewritten = client.answer(question, result.passages)
        if rewritten:
            result.text = rewritten
    return result
