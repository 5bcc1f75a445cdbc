"""One handler per page. Pages render templates; all data comes from the Store."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ..health import feed_health
from ...tasks.insights import ask_story, read_story_insights
from ..views import article_view, story_view

router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, **context):
    return request.app.state.templates.TemplateResponse(request, name, context)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, page: int = Query(1, ge=1)):
    store = request.app.state.store
    size = request.app.state.settings.page_size
    # Top stories: recency x publishers x velocity (Store.top_stories, store/search.py rank_stories).
    stories = store.top_stories(limit=size) if page == 1 else []
    articles = store.list_articles(limit=size, offset=(page - 1) * size, include_duplicates=False)
    total = store.count_articles()
    return _render(request, "home.html", stories=stories, articles=articles, page=page,
                   has_next=page * size < total, total=total)


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story(request: Request, story_id: int):
    view = story_view(request.app.state.store, story_id)
    if view["story"].id != story_id:                      # merged into another story
        return RedirectResponse(f"/stories/{view['story'].id}", status_code=301)
    store, settings = request.app.state.store, request.app.state.settings
    question = (request.query_params.get("q") or "").strip()[:300]
    insights = read_story_insights(store, story_id)          # built by the pipeline; never here
    qa = ask_story(store, story_id, question, settings, timeout=settings.qa_timeout) if question else None
    return _render(request, "story.html", **view, insights=insights, charts=insights.charts if insights else {},
                   question=question, qa=qa)


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article(request: Request, article_id: int):
    store = request.app.state.store
    view = article_view(store, article_id)
    return _render(request, "article.html", **view, summary=store.article_summary(article_id),
                   tags=store.article_tags(article_id))


@router.get("/feeds", response_class=HTMLResponse)
def feeds(request: Request):
    rows = feed_health(request.app.state.store)
    failing = sum(1 for r in rows if r["last_error"])
    return _render(request, "feeds.html", feeds=rows, failing=failing)
