"""One handler per page. Pages render templates; all data comes from the Store.

The read pages are ``async def``: their store calls are a few indexed reads, made directly on
the event loop instead of a hop through the thread pool per request (which, under 50
connections on two cores, cost more than the reads). On PostgreSQL each read is a round
trip that holds the loop (well under a millisecond on a local server); use ``serve
--workers N`` for more cores. Anything that may wait (a question's LLM call, a search)
runs in the thread pool. Each page declares the time of the data it
shows (:func:`~newsloom.serve.conditional.last_modified`) for conditional GET.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from ...enrich.changes import StoryChanges, story_changes
from ...store import Store
from ...store.visits import StoryVisit
from ...tasks.insights import ask_story
from ..auth import get_viewer
from ..conditional import last_modified
from ..deps import IdPath, PageNo, SettingsDep, StoreDep
from ..health import feed_health
from ..views import article_view, story_page_data, top_stories
from .community import comments_for
from .reading import reading_state
from .render import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, store: StoreDep, settings: SettingsDep, page: PageNo = 1):
    size = settings.page_size
    # Top stories: recency x publishers x velocity (views.top_stories, enrich/rank.py).
    stories = top_stories(store, limit=size) if page == 1 else []
    articles = store.list_articles(limit=size, offset=(page - 1) * size, include_duplicates=False)
    total = store.count_articles()
    last_modified(request, *(a.fetched_at for a in articles), *(s.last_seen_at for s in stories))
    # a signed-in reader's unread counts and read marks (None for anonymous readers)
    reading = reading_state(request, stories=stories, articles=articles, counts=True)
    return render(request, "home.html", stories=stories, articles=articles, page=page,
                  has_next=page * size < total, total=total, reading=reading)


@router.get("/stories/{story_id}", response_class=HTMLResponse)
async def story(request: Request, story_id: IdPath, store: StoreDep, settings: SettingsDep, q: str = ""):
    view, insights = story_page_data(store, story_id)       # insights built by the pipeline; never here
    if view["story"].id != story_id:                      # merged into another story
        return RedirectResponse(f"/stories/{view['story'].id}", status_code=301)
    question = q.strip()[:300]
    qa = await run_in_threadpool(ask_story, store, story_id, question, settings,
                                 timeout=settings.qa_timeout) if question else None
    comments = comments_for(request, story_id)
    user = get_viewer(request).user
    # a signed-in reader: what is new since their last visit (per viewer, never memoised),
    # and this visit recorded; anonymous readers get the page everyone gets
    visit, changes = await run_in_threadpool(_whats_new, store, user.id, view) if user else (None, None)
    last_modified(request, view["story"].last_seen_at, insights.built_at if insights else None, comments["newest"])
    return render(request, "story.html", **view, insights=insights, charts=insights.charts if insights else {},
                  question=question, qa=qa, comments=comments, visit=visit, changes=changes,
                  new_ids=changes.new_article_ids if changes else set())


def _whats_new(store: Store, user_id: int, view: dict) -> tuple[StoryVisit, StoryChanges | None]:
    """Record the reader's visit, then compare the story's build that was current at their
    previous visit with its newest one. None: nothing to compare (a first visit, no build yet,
    or none kept from that time). Recording first is safe: a visit that fails to render is
    followed by a reload, which keeps the same previous visit."""
    story_id = view["story"].id
    latest = store.latest_insight_build(story_id)
    visit = store.record_story_visit(user_id, story_id, changed_at=latest.built_at if latest else None)
    if visit.previous_at is None or latest is None:
        return visit, None
    before = store.insight_build_at(story_id, visit.previous_at)
    if before is None:
        return visit, None
    articles = [*view["articles"], *(c for copies in view["copies"].values() for c in copies)]
    fresh = set(latest.article_ids) - set(before.article_ids)
    return visit, story_changes(before, latest, articles, store.article_summaries(fresh))


@router.get("/articles/{article_id}", response_class=HTMLResponse)
async def article(request: Request, article_id: IdPath, store: StoreDep):
    view = article_view(store, article_id)
    art, story = view["article"], view["story"]
    user = get_viewer(request).user
    if user is not None:                 # reading it marks it, and its wire copies, read
        store.mark_read(user.id, [art.id])
    reading = reading_state(request, articles=[art, *view["related"]])
    last_modified(request, art.fetched_at, story.last_seen_at if story else None)
    return render(request, "article.html", **view, summary=store.article_summary(article_id),
                  tags=[t.tag for t in store.story_hashtags(art.story_id)] if art.story_id else [], reading=reading)


@router.get("/feeds", response_class=HTMLResponse)
async def feeds(request: Request, store: StoreDep):
    rows = feed_health(store)
    failing = sum(1 for r in rows if r["last_error"])
    return render(request, "feeds.html", feeds=rows, failing=failing,
                  reading=reading_state(request, counts=True, feeds=True))
