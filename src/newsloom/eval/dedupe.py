"""Dedupe scores and the dedupe stream runner.

**Dedupe** decisions are "doc d is a duplicate". The *group* of a doc is its gold
original: follow gold ``duplicate_of`` links to a doc that has none. A predicted
duplicate d -> p is a true positive when gold also marks d a duplicate and p is in the
same group as d (p is d's gold original or another gold copy of it). Precision = TP /
predicted duplicates, recall = TP / gold duplicates; a ratio whose denominator is empty
is 1.0 (nothing claimed, nothing wrong).

The baseline printed beside newsloom's figures is *exact-text matching* (a doc is a
duplicate of the first earlier doc with the same whitespace- and case-normalised text),
computed in the same run: what a plain hash of the body would find.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import datetime

from newsloom.enrich.dedupe import Deduper
from newsloom.models import parse_utc

__all__ = ["DEDUPE_FIELDS", "dedupe_scores", "run_dedupe", "exact_baseline", "f1", "root"]

#: The rows ``newsloom eval dedupe`` reads (see :func:`newsloom.eval.rows.read_rows`).
DEDUPE_FIELDS = {"id": "str", "text": "text", "published": "datetime", "duplicate_of": "str?"}


def f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def root(d: Hashable, links: Mapping[Hashable, Hashable | None]) -> Hashable:
    """Follow *links* (d -> parent or None) from *d* to the end; cycles stop."""
    seen = set()
    while links.get(d) is not None and d not in seen:
        seen.add(d)
        d = links[d]
    return d


def dedupe_scores(pred_dup_of: Mapping[Hashable, Hashable | None],
                  gold_dup_of: Mapping[Hashable, Hashable | None]) -> tuple[float, float, float]:
    """(precision, recall, F1) of duplicate decisions (see the module docstring)."""
    predicted = {d: o for d, o in pred_dup_of.items() if o is not None}
    gold = {d for d, o in gold_dup_of.items() if o is not None}
    tp = sum(1 for d, o in predicted.items()
             if d in gold and root(o, gold_dup_of) == root(d, gold_dup_of))
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(gold) if gold else 1.0
    return p, r, f1(p, r)


def parse_time(v) -> datetime:
    when = parse_utc(v)
    if when is None:
        raise ValueError("eval: a row has no published time")
    return when


def row_id(row: Mapping) -> Hashable:
    return row["id"] if "id" in row else row["url"]


def sorted_rows(rows: Iterable[Mapping]) -> list[tuple[datetime, Mapping]]:
    """(published, row) in time order; input order breaks ties (the sort is stable)."""
    timed = [(parse_time(r["published"]), r) for r in rows]
    timed.sort(key=lambda x: x[0])
    return timed


def exact_baseline(timed: list[tuple[datetime, Mapping]]) -> dict[Hashable, Hashable | None]:
    """id -> the first earlier id with the same normalised text (None when unique or empty)."""
    first: dict[str, Hashable] = {}
    pred: dict[Hashable, Hashable | None] = {}
    for _, r in timed:
        key = " ".join((r.get("text") or "").lower().split())
        doc_id = row_id(r)
        pred[doc_id] = first.get(key) if key else None
        if key:
            first.setdefault(key, doc_id)
    return pred


def run_dedupe(rows: Iterable[Mapping], deduper_factory: Callable[[], Deduper] = Deduper) -> dict:
    """Stream *rows* (id or url, text, published, duplicate_of) in time order through
    ``check()`` then ``add()``; return n, gold_duplicates, predicted_duplicates,
    dedupe_p/r/f1, seconds, articles_per_s, pred (id -> original or None), and
    ``baseline`` (exact-text matching: name, predicted_duplicates, dedupe_p/r/f1)."""
    timed = sorted_rows(rows)
    deduper = deduper_factory()
    pred: dict[Hashable, Hashable | None] = {}
    gold: dict[Hashable, Hashable | None] = {}
    spent = 0.0
    for published, r in timed:
        doc_id = row_id(r)
        t0 = time.perf_counter()
        original, _ = deduper.check(doc_id, r.get("text") or "")
        deduper.add(doc_id, r.get("text") or "", time=published, duplicate_of=original)
        spent += time.perf_counter() - t0
        pred[doc_id] = original
        gold[doc_id] = r.get("duplicate_of")
    p, rec, f = dedupe_scores(pred, gold)
    base = exact_baseline(timed)
    bp, br, bf = dedupe_scores(base, gold)
    return {"n": len(timed), "gold_duplicates": sum(1 for v in gold.values() if v is not None),
            "predicted_duplicates": sum(1 for v in pred.values() if v is not None),
            "dedupe_p": p, "dedupe_r": rec, "dedupe_f1": f, "seconds": spent,
            "articles_per_s": len(timed) / spent if spent > 0 else float("inf"), "pred": pred,
            "baseline": {"name": "exact-text",
                         "predicted_duplicates": sum(1 for v in base.values() if v is not None),
                         "dedupe_p": bp, "dedupe_r": br, "dedupe_f1": bf}}
