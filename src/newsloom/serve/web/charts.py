"""The story charts as standalone SVG documents (the story page inlines the same SVGs).

Charts are built by the pipeline with the story's other insights (``enrich/charts.py``,
``tasks/insights.py``); these routes only read what was stored.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from ...store import Store
from ...tasks.insights import read_story_insights
from ..deps import IdPath, StoreDep

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_SVG_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                "X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=300"}


def _chart(store: Store, story_id: int, name: str) -> Response:
    insights = read_story_insights(store, story_id)
    svg = insights.charts.get(name) if insights else None
    if not svg:
        raise HTTPException(status_code=404, detail="charts: not built yet for this story")
    return Response(svg, media_type="image/svg+xml", headers=_SVG_HEADERS)


@router.get("/stories/{story_id}/coverage.svg")
async def coverage_chart(story_id: IdPath, store: StoreDep):
    return _chart(store, story_id, "coverage")


@router.get("/stories/{story_id}/publishers.svg")
async def publishers_chart(story_id: IdPath, store: StoreDep):
    return _chart(store, story_id, "mix")
