"""The story charts as standalone SVG documents (the story page inlines the same SVGs).

Charts are built by the pipeline with the story's other insights (``enrich/charts.py``,
``tasks/insights.py``); these routes only read what was stored.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from ...tasks.insights import read_story_insights

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_SVG_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                "X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=300"}


def _chart(request: Request, story_id: int, name: str) -> Response:
    insights = read_story_insights(request.app.state.store, story_id)
    svg = insights.charts.get(name) if insights else None
    if not svg:
        raise HTTPException(status_code=404, detail="charts: not built yet for this story")
    return Response(svg, media_type="image/svg+xml", headers=_SVG_HEADERS)


@router.get("/stories/{story_id}/coverage.svg")
def coverage_chart(request: Request, story_id: int):
    return _chart(request, story_id, "coverage")


@router.get("/stories/{story_id}/publishers.svg")
def publishers_chart(request: Request, story_id: int):
    return _chart(request, story_id, "mix")
