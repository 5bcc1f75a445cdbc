"""Evaluation maths for the story engine: clustering and dedupe scores, stream runners.

Pure: rows in, numbers out. Conventions:

* Clustering scores are computed over the ids of ``gold``; an id missing from ``pred``
  counts as a singleton of its own. A ratio whose denominator is empty is 1.0 (nothing
  claimed, nothing wrong), and F1 of P = R = 0 is 0.0.
* **BCubed** (Bagga & Baldwin 1998; Amigó et al. 2009): per item, precision is the share
  of its predicted cluster that shares its gold label, recall the share of its gold
  class found in its predicted cluster; both averaged over items. Computed from the
  contingency counts n(c, l): P = sum n(c,l)^2 / |c| / N, R = sum n(c,l)^2 / |l| / N.
* **Pairwise**: over unordered pairs of items, a pair is predicted together when the
  two share a predicted cluster and gold-together when they share a label. TP =
  sum C(n(c,l), 2), predicted pairs = sum C(|c|, 2), gold pairs = sum C(|l|, 2);
  O(items), never O(items^2).
* **Dedupe**: the decisions are "doc d is a duplicate". The *group* of a doc is its gold
  original: follow gold ``duplicate_of`` links to a doc that has none. A predicted
  duplicate d -> p is a true positive when gold also marks d a duplicate and p is in
  the same group as d (p is d's gold original or another gold copy of it). Precision
  = TP / predicted duplicates, recall = TP / gold duplicates.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import datetime

from newsloom.enrich.cluster import Doc, StoryClusterer
from newsloom.enrich.dedupe import Deduper
from newsloom.models import parse_utc

__all__ = ["bcubed", "pairwise", "dedupe_scores", "run_clustering", "run_dedupe", "f1"]


def f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _contingency(pred: Mapping, gold: Mapping) -> tuple[Counter, Counter, Counter, int]:
    cells: Counter = Counter()
    csize: Counter = Counter()
    lsize: Counter = Counter()
    for i, label in gold.items():
        c = pred[i] if i in pred else ("\x00missing", i)
        cells[(c, label)] += 1
        csize[c] += 1
        lsize[label] += 1
    return cells, csize, lsize, len(gold)


def bcubed(pred: Mapping[Hashable, Hashable], gold: Mapping[Hashable, Hashable]) -> tuple[float, float, float]:
    """BCubed (precision, recall, F1) of clustering *pred* against labels *gold*."""
    cells, csize, lsize, n = _contingency(pred, gold)
    if n == 0:
        return 1.0, 1.0, 1.0
    p = sum(k * k / csize[c] for (c, _), k in cells.items()) / n
    r = sum(k * k / lsize[l] for (_, l), k in cells.items()) / n
    return p, r, f1(p, r)


def pairwise(pred: Mapping[Hashable, Hashable], gold: Mapping[Hashable, Hashable]) -> tuple[float, float, float]:
    """Pair-counting (precision, recall, F1), from contingency counts."""
    cells, csize, lsize, _ = _contingency(pred, gold)
    tp = sum(k * (k - 1) // 2 for k in cells.values())
    pp = sum(k * (k - 1) // 2 for k in csize.values())
    gp = sum(k * (k - 1) // 2 for k in lsize.values())
    p = tp / pp if pp else 1.0
    r = tp / gp if gp else 1.0
    return p, r, f1(p, r)


def _root(d: Hashable, links: Mapping[Hashable, Hashable | None]) -> Hashable:
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
             if d in gold and _root(o, gold_dup_of) == _root(d, gold_dup_of))
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(gold) if gold else 1.0
    return p, r, f1(p, r)


def _parse_time(v) -> datetime:
    when = parse_utc(v)
    if when is None:
        raise ValueError("eval: a row has no published time")
    return when


def _row_id(row: Mapping) -> Hashable:
    return row["id"] if "id" in row else row["url"]


def _sorted_rows(rows: Iterable[Mapping]) -> list[tuple[datetime, Mapping]]:
    timed = [(_parse_time(r["published"]), r) for r in rows]
    timed.sort(key=lambda x: x[0])           # stable: input order breaks ties
    return timed


def run_clustering(rows: Iterable[Mapping],
                   clusterer_factory: Callable[[], StoryClusterer] = StoryClusterer) -> dict:
    """Stream *rows* (id or url, title, text, source, published ISO, story [, lang]
    [, duplicate_of]) in time order through ``add()``; return the metrics.

    Keys: n, stories_gold, stories_pred, bcubed_p/r/f1, pairwise_p/r/f1, merges,
    seconds (time inside ``add`` only), articles_per_s, pred (id -> story, merges
    applied); and dedupe_p/r/f1 when rows carry ``duplicate_of``.
    """
    timed = _sorted_rows(rows)
    clusterer = clusterer_factory()
    pred: dict[Hashable, int] = {}
    gold: dict[Hashable, Hashable] = {}
    pred_dup: dict[Hashable, Hashable | None] = {}
    gold_dup: dict[Hashable, Hashable | None] = {}
    has_dup = False
    alias: dict[int, int] = {}
    merges = 0
    spent = 0.0
    for published, r in timed:
        doc = Doc(_row_id(r), r.get("title") or "", r.get("text") or "", r.get("source") or "",
                  published, r.get("lang"))
        t0 = time.perf_counter()
        a = clusterer.add(doc)
        spent += time.perf_counter() - t0
        pred[doc.id] = a.story
        gold[doc.id] = r["story"]
        pred_dup[doc.id] = a.duplicate_of
        if "duplicate_of" in r:
            has_dup = True
            gold_dup[doc.id] = r["duplicate_of"]
        for absorbed, into in a.merged:
            alias[absorbed] = into
            merges += 1
    final = {d: _root(s, alias) for d, s in pred.items()}
    out = {"n": len(timed), "stories_gold": len(set(gold.values())),
           "stories_pred": len(set(final.values())), "merges": merges,
           "seconds": spent, "articles_per_s": len(timed) / spent if spent > 0 else float("inf")}
    out["bcubed_p"], out["bcubed_r"], out["bcubed_f1"] = bcubed(final, gold)
    out["pairwise_p"], out["pairwise_r"], out["pairwise_f1"] = pairwise(final, gold)
    if has_dup:
        out["dedupe_p"], out["dedupe_r"], out["dedupe_f1"] = dedupe_scores(pred_dup, gold_dup)
    out["pred"] = final
    out["pred_duplicate_of"] = pred_dup
    return out


def run_dedupe(rows: Iterable[Mapping], deduper_factory: Callable[[], Deduper] = Deduper) -> dict:
    """Stream *rows* (id or url, text, published, duplicate_of) in time order through
    ``check()`` then ``add()``; return n, gold_duplicates, predicted_duplicates,
    dedupe_p/r/f1, seconds, articles_per_s, pred (id -> original or None)."""
    timed = _sorted_rows(rows)
    deduper = deduper_factory()
    pred: dict[Hashable, Hashable | None] = {}
    gold: dict[Hashable, Hashable | None] = {}
    spent = 0.0
    for published, r in timed:
        doc_id = _row_id(r)
        t0 = time.perf_counter()
        original, _ = deduper.check(doc_id, r.get("text") or "")
        deduper.add(doc_id, r.get("text") or "", time=published, duplicate_of=original)
        spent += time.perf_counter() - t0
        pred[doc_id] = original
        gold[doc_id] = r.get("duplicate_of")
    p, rec, f = dedupe_scores(pred, gold)
    return {"n": len(timed), "gold_duplicates": sum(1 for v in gold.values() if v is not None),
            "predicted_duplicates": sum(1 for v in pred.values() if v is not None),
            "dedupe_p": p, "dedupe_r": rec, "dedupe_f1": f, "seconds": spent,
            "articles_per_s": len(timed) / spent if spent > 0 else float("inf"), "pred": pred}
