"""Ranking policy, pure: how search results and top stories are ordered.

The store runs the queries (store/search.py: SQL only); the read side (serve/) applies these.

* Search, hybrid (:func:`hybrid_order`): the top full-text matches are ranked three ways:
  (1) by the engine's full-text rank, (2) semantically, by TF-IDF cosine between the query
  words and the article's title (counted twice) plus lead (first ~600 characters), IDF taken
  over the pool, (3) by recency, newest first. They are merged by reciprocal-rank fusion::

      score(d) = sum_i  w_i / (K + rank_i(d))      K = 60, w = (1.0 fts, 1.0 semantic, 0.3 recency)

  ties broken by full-text rank.
* Top stories (:func:`rank_stories`): recency x publishers x velocity, see its docstring.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from typing import Any, Sequence

from ..models import Story
from .text import tokens

__all__ = ["text_tokens", "tfidf_cosine", "fuse", "hybrid_order", "story_score", "rank_stories", "RRF_K",
           "RRF_WEIGHTS", "HALF_LIFE_HOURS", "VELOCITY_WINDOW_HOURS", "TOP_CANDIDATES"]

RRF_K = 60
RRF_WEIGHTS = (1.0, 1.0, 0.3)          # full text, semantic, recency
def text_tokens(text: str) -> list[str]:
    """Stemmed content words, from the one text toolkit (:func:`newsloom.enrich.text.tokens`)."""
    return tokens(text)


def tfidf_cosine(query: Sequence[str], docs: Sequence[Sequence[str]]) -> list[float]:
    """Cosine between the query and each doc in TF-IDF space (sublinear tf, smoothed IDF over `docs`)."""
    n = len(docs)
    df = Counter(t for d in docs for t in set(d))

    def idf(t: str) -> float:
        return math.log((1 + n) / (1 + df.get(t, 0))) + 1.0

    def vec(tokens: Sequence[str]) -> dict[str, float]:
        return {t: (1.0 + math.log(c)) * idf(t) for t, c in Counter(tokens).items()}

    q = vec(query)
    qn = math.sqrt(sum(v * v for v in q.values()))
    out = []
    for d in docs:
        dv = vec(d)
        dn = math.sqrt(sum(v * v for v in dv.values()))
        dot = sum(w * dv.get(t, 0.0) for t, w in q.items())
        out.append(dot / (qn * dn) if qn and dn else 0.0)
    return out


def fuse(rankings: Sequence[tuple[float, Sequence[int]]], *, k: int = RRF_K) -> dict[int, float]:
    """Reciprocal-rank fusion: each (weight, ids best-first) adds weight / (k + rank), rank from 1."""
    scores: dict[int, float] = {}
    for weight, ids in rankings:
        for rank, i in enumerate(ids, start=1):
            scores[i] = scores.get(i, 0.0) + weight / (k + rank)
    return scores


def hybrid_order(words: list[str], rows: list[Any]) -> tuple[list[int], dict[int, float], dict[int, float]]:
    """Re-rank a full-text pool: `rows` (id, title, lead, when) best-first by full-text rank.
    Returns (ids in fused order, fused score per id, semantic score per id)."""
    if not rows:
        return [], {}, {}
    pool = [r.id for r in rows]
    by_id = {r.id: r for r in rows}
    docs = [text_tokens(f"{r.title} {r.title} {r.lead or ''}") for r in rows]
    semantic = dict(zip(pool, tfidf_cosine(text_tokens(" ".join(words)), docs)))
    fts_pos = {i: n for n, i in enumerate(pool)}
    by_semantic = sorted(pool, key=lambda i: (-semantic[i], fts_pos[i]))
    by_recency = sorted(pool, key=lambda i: (-(by_id[i].when.timestamp() if by_id[i].when else 0), fts_pos[i]))
    scores = fuse([(RRF_WEIGHTS[0], pool), (RRF_WEIGHTS[1], by_semantic), (RRF_WEIGHTS[2], by_recency)])
    return sorted(pool, key=lambda i: (-scores[i], fts_pos[i])), scores, semantic


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


