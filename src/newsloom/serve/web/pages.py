"""One handler per page. Pages render templates; all data comes from the Store."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from ..health import feed_health

router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, **context):
    return request.app.state.templates.TemplateResponse(request, name, context)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, page: int = Query(1, ge=1)):
    store = request.app.state.store
    size = request.app.state.settings.page_size
    articles = store.list_articles(limit=size, offset=(page - 1) * size)
    total = store.count_articles()
    return _render(request, "home.html", articles=articles, page=page,
                   has_next=page * size < total, total=total)


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article(request: Request, article_id: int):
    store = request.app.state.store
    item = store.get_article(article_id)
    paragraphs = [p.strip() for p in item.text.split("\n\n") if p.strip()]
    return _render(request, "article.html", article=item, paragraphs=paragraphs)


@router.get("/feeds", response_class=HTMLResponse)
def feeds(request: Request):
    rows = feed_health(request.app.state.store)
    failing = sum(1 for r in rows if r["last_error"])
    return _render(request, "feeds.html", feeds=rows, failing=failing)
