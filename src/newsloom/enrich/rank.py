"""Ranking policy, pure: how search results and top stories are ordered.

The store runs the queries (store/search.py: SQL only); the read side (serve/) applies these.

* Search, hybrid (:func:`hybrid_order`): the candidates are the top full-text matches and
  the stored articles nearest to the query's embedding (enrich/embed.py, store/vectors.py).
  They are ranked three ways: (1) by the engine's full-text rank (full-text matches only),
  (2) by meaning: cosine between the query's and the article's (title + lead) embeddings,
  counted only from :data:`SEMANTIC_FLOOR`, (3) by recency, newest first; and merged by
  reciprocal-rank fusion::

      score(d) = sum_i  w_i / (K + rank_i(d))      K = 60, w = (1.0 fts, 1.0 semantic, 0.3 recency)

  ties broken by full-text rank. A candidate found by meaning alone is kept only when its
  cosine is at least SEMANTIC_FLOOR and SEMANTIC_RELATIVE times the best candidate's: a
  query always has *some* nearest article, and a far one is noise, not a result.
* Top stories (:func:`rank_stories`): recency x publishers x velocity, see its docstring.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from ..models import Story

__all__ = ["fuse", "hybrid_order", "SEMANTIC_FLOOR", "SEMANTIC_RELATIVE", "story_score", "rank_stories", "RRF_K",
           "RRF_WEIGHTS", "HALF_LIFE_HOURS", "VELOCITY_WINDOW_HOURS", "TOP_CANDIDATES"]

RRF_K = 60
RRF_WEIGHTS = (1.0, 1.0, 0.3)          # full text, semantic, recency
SEMANTIC_FLOOR = 0.2
SEMANTIC_RELATIVE = 0.8


def fuse(rankings: Sequence[tuple[float, Sequence[int]]], *, k: int = RRF_K) -> dict[int, float]:
    """Reciprocal-rank fusion: each (weight, ids best-first) adds weight / (k + rank), rank from 1."""
    scores: dict[int, float] = {}
    for weight, ids in rankings:
        for rank, i in enumerate(ids, start=1):
            scores[i] = scores.get(i, 0.0) + weight / (k + rank)
    return scores


def hybrid_order(words: list[str], rows: list[Any], pool: list[int],
                 cosines: dict[int, float]) -> tuple[list[int], dict[int, float], dict[int, float]]:
    """Fuse full text and meaning. `rows` (id, title, lead, when) cover every candidate;
    `pool` is the full-text matches best first; `cosines` the query-article cosine of the
    candidates that have a vector. Returns (ids in fused order, fused score, semantic score)."""
    by_id = {r.id: r for r in rows}
    pool = [i for i in pool if i in by_id]
    in_pool = set(pool)
    close = {i: c for i, c in cosines.items() if i in by_id and c >= SEMANTIC_FLOOR}
    if close:                  # meaning-only candidates must be near the best match, not just near
        bar = max(SEMANTIC_FLOOR, SEMANTIC_RELATIVE * max(close.values()))
        close = {i: c for i, c in close.items() if i in in_pool or c >= bar}
    candidates = pool + sorted((i for i in close if i not in in_pool), key=lambda i: (-close[i], i))
    if not candidates:
        return [], {}, {}
    first = {i: n for n, i in enumerate(candidates)}
    by_semantic = sorted(close, key=lambda i: (-close[i], first[i]))
    by_recency = sorted(candidates, key=lambda i: (-(by_id[i].when.timestamp() if by_id[i].when else 0), first[i]))
    scores = fuse([(RRF_WEIGHTS[0], pool), (RRF_WEIGHTS[1], by_semantic), (RRF_WEIGHTS[2], by_recency)])
    semantic = {i: round(cosines.get(i, 0.0), 4) for i in candidates}
    return sorted(candidates, key=lambda i: (-scores[i], first[i])), scores, semantic


# -- top stories -----------------------------------------------------------------------
HALF_LIFE_HOURS = 8.0
VELOCITY_WINDOW_HOURS = 6.0
TOP_CANDIDATES = 200


def story_score(story: Story, recent_articles: int, ref: datetime, *,
                half_life_hours: float = HALF_LIFE_HOURS) -> float:
    """recency x publishers x velocity (see rank_stories)."""
    last = story.last_seen_at or story.first_seen_at or ref
    age_hours = max(0.0, (ref - last).total_seconds() / 3600.0)
    recency = 0.5 ** (age_hours / half_life_hours)
    return recency * max(1, story.source_count) * (1 + recent_articles)


def rank_stories(candidates: Sequence[Story], recent_counts: dict[int, int], ref: datetime) -> list[Story]:
    """Top stories, best first::

        score = recency x publishers x velocity
        recency    = 0.5 ** (age_hours / 8)     age = ref - story.last_seen_at (>= 0)
        publishers = story.source_count          distinct publishers covering it
        velocity   = 1 + its articles published in (ref - 6 h, ref]

    ``ref`` is ``min(now, newest last_seen_at)``: a quiet hour (or an old database) is ranked
    as of its latest news, so the velocity window is never empty for everyone. Ties: newer
    last_seen_at, then higher id.
    """
    def key(s: Story) -> tuple:
        when = s.last_seen_at or s.first_seen_at
        return (-story_score(s, recent_counts.get(s.id, 0), ref), -(when.timestamp() if when else 0), -(s.id or 0))
    return sorted(candidates, key=key)


