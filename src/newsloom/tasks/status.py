"""What the pipeline is doing, for ``newsloom status``, ``/admin/status`` and ``/api/v1/status``.

Due feeds and pending work come from the store (the same queries the schedulers use); queue
depths from the Celery broker when workers have beaten (the scaled-out deployment); the last
error of each stage and every scheduler's and worker's heartbeat from their tables.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..models import utcnow
from ..settings import Settings
from ..store import Store
from .insights import INSIGHTS_VERSION

__all__ = ["pipeline_status", "STALE_AFTER"]

STALE_AFTER = timedelta(minutes=2)       # a heartbeat older than this is reported as stale


def pipeline_status(store: Store, settings: Settings, *, with_queues: bool = True) -> dict[str, Any]:
    now = utcnow()
    counts = store.pipeline_counts(now)
    beats = []
    for hb in store.heartbeats():
        age = (now - hb.beat_at).total_seconds()
        beats.append({"name": hb.name, "role": hb.role, "started_at": hb.started_at, "beat_at": hb.beat_at,
                      "age_seconds": round(age, 1), "alive": age <= STALE_AFTER.total_seconds(), "info": hb.info})
    queues: dict[str, int] | None = None
    if with_queues and any(b["role"] in ("worker", "scheduler") for b in beats):
        from .queue import queue_depths          # only the scaled-out deployment has a broker

        queues = queue_depths(settings)
    return {
        "backend": "sqlite" if store.is_sqlite else "postgresql",
        "insights_version": INSIGHTS_VERSION,
        "due_feeds": counts["due_feeds"],
        "feeds_in_progress": counts["feeds_in_progress"],
        "pending_entries": counts["pending_entries"],
        "unclustered_articles": counts["unclustered_articles"],
        "dirty_stories": store.count_dirty_stories(),
        "stale_insights": len(store.stale_insight_story_ids(INSIGHTS_VERSION)),
        "articles_last_hour": counts["articles_last_hour"],
        "queues": queues,
        "last_errors": [{"stage": e.stage, "message": e.message, "at": e.at, "count": e.count}
                        for e in store.stage_errors()],
        "heartbeats": beats,
        "checked_at": now,
    }
