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

from ...tasks.insights import ask_story
from ..conditional import last_modified
from ..deps import IdPath, PageNo, SettingsDep, StoreDep
from ..health import feed_health
from ..views import article_view, story_page_data, top_stories
from .community import comments_for
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
    return render(request, "home.html", stories=stories, articles=articles, page=page,
                  has_next=page * size < total, total=total)


@router.get("/stories/{story_id}", response_class=HTMLResponse)
async def story(request: Request, story_id: IdPath, store: StoreDep, settings: SettingsDep, q: str = ""):
    view, insights = story_page_data(store, story_id)       # insights built by the pipeline; never here
    if view["story"].id != story_id:                      # merged into another story
        return RedirectResponse(f"/stories/{view['story'].id}", status_code=301)
    question = q.strip()[:300]
    qa = await run_in_threadpool(ask_story, store, story_id, question, settings,
                                 timeout=settings.qa_timeout) if question else None
    comments = comments_for(request, story_id)
    last_modified(request, view["story"].last_seen_at, insights.built_at if insights else None, comments["newest"])
    return render(request, "story.html", **view, insights=insights, charts=insights.charts if insights else {},
                  question=question, qa=qa, comments=comments)


@router.get("/articles/{article_id}", response_class=HTMLResponse)
async def article(request: Request, article_id: IdPath, store: StoreDep):
    view = article_view(store, article_id)
    art, story = view["article"], view["story"]
    last_modified(request, art.fetched_at, story.last_seen_at if story else None)
    return render(request, "article.html", **view, summary=store.article_summary(article_id),
                  tags=[t.tag for t in store.story_hashtags(art.story_id)] if art.story_id else [])


@router.get("/feeds", response_class=HTMLResponse)
async def feeds(request: Request, store: StoreDep):
    rows = feed_health(store)
    failing = sum(1 for r in rows if r["last_error"])
    return render(request, "feeds.html", feeds=rows, failing=failing)
