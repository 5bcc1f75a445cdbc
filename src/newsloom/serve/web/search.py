"""The search page (/search). Parameters and the search itself: serve/search.py, shared with
GET /api/v1/search. Ranking and highlighting: newsloom.store.search."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from ...store.search import MAX_RESULTS
from ..conditional import last_modified
from ..deps import StoreDep
from ..search import BadSearch, SearchParamsDep, run_search
from .render import render

__all__ = ["router", "PAGE_SIZE"]

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, params: SearchParamsDep, store: StoreDep,
                page: int = Query(1, ge=1, le=MAX_RESULTS // PAGE_SIZE)):
    """A plain `def`: a search may rank many candidates; it runs in the thread pool so that it
    never holds up the other pages."""
    error, results, source = None, None, None
    status = 200
    if not params.empty:
        try:
            results, source = run_search(store, params, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        except BadSearch as exc:
            error, status = exc.message, 400
    if results is not None:
        last_modified(request, *(h.article.fetched_at for h in results.hits),
                      *(h.story.last_seen_at for h in results.hits if h.story))
    context = {"params": params, "results": results, "groups": results.by_story() if results else [],
               "source": source, "sources": store.list_sources(), "error": error, "page": page}
    return render(request, "search.html", status=status, **context)
