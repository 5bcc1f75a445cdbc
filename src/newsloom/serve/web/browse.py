"""Browse pages: publishers (/sources, /sources/{id}), hashtags (/tags, /tags/{slug}) and the
admin pages (/admin, /admin/status; administrators only, deps.AdminUser)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...tasks.status import STALE_AFTER, pipeline_status
from ..conditional import last_modified
from ..deps import AdminUser, IdPath, PageNo, SettingsDep, StoreDep
from ..health import feed_health
from ..views import source_view
from .reading import reading_state
from .render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
SOURCE_PAGE = 20


@router.get("/sources", response_class=HTMLResponse)
async def sources_page(request: Request, store: StoreDep):
    counts = store.source_article_counts()
    rows = [(s, counts.get(s.id, 0)) for s in store.list_sources()]
    return render(request, "sources.html", sources=rows)


@router.get("/sources/{source_id}", response_class=HTMLResponse)
async def source_page(request: Request, source_id: IdPath, store: StoreDep, page: PageNo = 1):
    view = source_view(store, source_id, limit=SOURCE_PAGE, offset=(page - 1) * SOURCE_PAGE)
    last_modified(request, *(a.fetched_at for a in view["articles"]), *(s.last_seen_at for s in view["stories"]),
                  *(f["last_fetched_at"] for f in view["feeds"]))
    reading = reading_state(request, stories=view["stories"], articles=view["articles"], counts=True, feeds=True)
    return render(request, "source.html", page=page, has_next=page * SOURCE_PAGE < view["article_total"], **view,
                  reading=reading)


@router.get("/tags", response_class=HTMLResponse)
async def tags_page(request: Request, store: StoreDep):
    return render(request, "tags.html", tags=store.list_tags(limit=200))


@router.get("/tags/{slug}", response_class=HTMLResponse)
async def tag_page(request: Request, slug: str, store: StoreDep, settings: SettingsDep, page: PageNo = 1):
    size = settings.page_size
    tag = store.get_tag(slug)
    total = store.count_tag_stories(tag.slug)
    stories = store.tag_stories(tag.slug, limit=size, offset=(page - 1) * size)
    last_modified(request, *(s.last_seen_at for s in stories))
    return render(request, "tag.html", tag=tag, stories=stories, total=total, page=page,
                  has_next=page * size < total)


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, _: AdminUser, store: StoreDep):
    rows = feed_health(store)
    failing = sorted((r for r in rows if r["last_error"]), key=lambda r: -r["error_count"])
    return render(request, "admin.html", summary=store.admin_summary(), failing=failing,
                  never=[r for r in rows if r["last_fetched_at"] is None])


@router.get("/admin/status", response_class=HTMLResponse)
def admin_status(request: Request, _: AdminUser, store: StoreDep, settings: SettingsDep):
    """What the pipeline is doing (the same figures as `newsloom status` and /api/v1/status).
    A plain `def`: reading queue depths may wait on the broker, off the event loop."""
    return render(request, "admin_status.html", pipeline=pipeline_status(store, settings),
                  stale_after=int(STALE_AFTER.total_seconds()))
