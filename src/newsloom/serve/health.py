"""Feed health, shared by the feed-health page, the API and `newsloom feeds list`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..store import Store


def feed_health(store: Store) -> list[dict[str, Any]]:
    counts = store.feed_article_counts()
    rows = []
    for feed in store.list_feeds():
        row = asdict(feed)
        row["article_count"] = counts.get(feed.id, 0)
        row["healthy"] = feed.last_error is None and feed.last_fetched_at is not None
        rows.append(row)
    return rows
