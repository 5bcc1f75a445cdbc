"""Browse pages: publishers (/sources, /sources/{id}), hashtags (/tags, /tags/{slug}) and
the admin overview (/admin, behind :func:`admin_guard`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from ...store import Store
from ..health import feed_health

__all__ = ["router", "admin_guard", "source_view"]

router = APIRouter(include_in_schema=False)


def admin_guard(request: Request) -> None:
    """The one gate in front of /admin (a FastAPI dependency): administrators only.
    Make the first one with `newsloom users add NAME --role admin`."""
    from ..auth import get_viewer

    user = get_viewer(request).user
    if user is None or user.role != "admin":
        raise HTTPException(status_code=403, detail="admin: administrators only")


def _render(request: Request, name: str, **context: Any):
    return request.app.state.templates.TemplateResponse(request, name, context)


def _store(request: Request) -> Store:
    return request.app.state.store


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


@router.get("/sources", response_class=HTMLResponse)
def sources_page(request: Request):
    store = _store(request)
    counts = store.source_article_counts()
    rows = [(s, counts.get(s.id, 0)) for s in store.list_sources()]
    return _render(request, "sources.html", sources=rows)


@router.get("/sources/{source_id}", response_class=HTMLResponse)
def source_page(request: Request, source_id: int, page: int = Query(1, ge=1, le=10_000)):
    size = 20
    view = source_view(_store(request), source_id, limit=size, offset=(page - 1) * size)
    return _render(request, "source.html", page=page, has_next=page * size < view["article_total"], **view)


@router.get("/tags", response_class=HTMLResponse)
def tags_page(request: Request):
    return _render(request, "tags.html", tags=_store(request).list_tags(limit=200))


@router.get("/tags/{slug}", response_class=HTMLResponse)
def tag_page(request: Request, slug: str, page: int = Query(1, ge=1, le=10_000)):
    store = _store(request)
    size = request.app.state.settings.page_size
    tag = store.get_tag(slug)
    total = store.count_tag_stories(tag.slug)
    stories = store.tag_stories(tag.slug, limit=size, offset=(page - 1) * size)
    return _render(request, "tag.html", tag=tag, stories=stories, total=total, page=page,
                   has_next=page * size < total)


@router.get("/admin", response_class=HTMLResponse, dependencies=[Depends(admin_guard)])
def admin_page(request: Request):
    store = _store(request)
    rows = feed_health(store)
    failing = sorted((r for r in rows if r["last_error"]), key=lambda r: -r["error_count"])
    return _render(request, "admin.html", summary=store.admin_summary(), failing=failing,
                   never=[r for r in rows if r["last_fetched_at"] is None])
