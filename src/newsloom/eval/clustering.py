"""Story-clustering scores, the stream runner, and a TF-IDF baseline.

Pure: rows in, numbers out. Conventions:

* Clustering scores are computed over the ids of ``gold``; an id missing from ``pred``
  counts as a singleton of its own. A ratio whose denominator is empty is 1.0 (nothing
  claimed, nothing wrong), and F1 of P = R = 0 is 0.0. (``newsloom eval`` refuses an
  empty file before any of this runs.)
* **BCubed** (Bagga & Baldwin 1998; Amigó et al. 2009): per item, precision is the share
  of its predicted cluster that shares its gold label, recall the share of its gold
  class found in its predicted cluster; both averaged over items. Computed from the
  contingency counts n(c, l): P = sum n(c,l)^2 / |c| / N, R = sum n(c,l)^2 / |l| / N.
* **Pairwise**: over unordered pairs of items, a pair is predicted together when the
  two share a predicted cluster and gold-together when they share a label. TP =
  sum C(n(c,l), 2), predicted pairs = sum C(|c|, 2), gold pairs = sum C(|l|, 2);
  O(items), never O(items^2).
* **Dedupe** scores (when rows carry ``duplicate_of``): see :mod:`newsloom.eval.dedupe`.

**The baseline** (:func:`tfidf_baseline`), computed in the same run: TF-IDF vectors of
title + text (lower-cased letter words of two or more characters, English stop words
dropped; raw term counts times the smoothed idf ln((1 + N) / (1 + df)) + 1, L2-normed,
as scikit-learn's ``TfidfVectorizer`` defaults), cosine distance, average-linkage
agglomerative clustering over the whole batch (order-free, deterministic: ties go to the
lowest index pair). It ignores time, source and language.

The cut is chosen without the gold labels: the distance threshold among 0.30, 0.35, ...,
0.95 whose clustering has the highest mean silhouette (Rousseeuw 1987) on the same cosine
distances, a singleton scoring 0 as usual; ties go to the lower threshold. So the
baseline is a fixed recipe, not one fitted to the file it is scored on. It needs an
N x N matrix (float64: about 8 * N^2 bytes), which is fine for evaluation files of a few
thousand rows.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping

from newsloom.enrich.cluster import Doc, StoryClusterer
from newsloom.eval.dedupe import dedupe_scores, f1, root, row_id, sorted_rows

__all__ = ["CLUSTERING_FIELDS", "bcubed", "pairwise", "run_clustering", "tfidf_baseline", "f1"]

#: The rows ``newsloom eval clustering`` reads (see :func:`newsloom.eval.rows.read_rows`).
CLUSTERING_FIELDS = {"id": "str", "title": "text", "text": "text", "source": "text",
                     "published": "datetime", "story": "str", "lang": "str?"}

BASELINE_THRESHOLDS = tuple(round(0.30 + 0.05 * i, 2) for i in range(14))   # 0.30 .. 0.95


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


def run_clustering(rows: Iterable[Mapping],
                   clusterer_factory: Callable[[], StoryClusterer] = StoryClusterer) -> dict:
    """Stream *rows* (id or url, title, text, source, published ISO, story [, lang]
    [, duplicate_of]) in time order through ``add()``; return the metrics.

    Keys: n, stories_gold, stories_pred, bcubed_p/r/f1, pairwise_p/r/f1, merges,
    seconds (time inside ``add`` only), articles_per_s, pred (id -> story, merges
    applied); and dedupe_p/r/f1 when rows carry ``duplicate_of``.
    """
    timed = sorted_rows(rows)
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
        doc = Doc(row_id(r), r.get("title") or "", r.get("text") or "", r.get("source") or "",
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
    final = {d: root(s, alias) for d, s in pred.items()}
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


# --------------------------------------------------------------------------- baseline

_WORD = re.compile(r"[^\W\d_]{2,}")


def _stopwords() -> frozenset[str]:
    from newsloom.enrich.text import STOPWORDS
    return STOPWORDS.get("en", frozenset())


def _tfidf_matrix(texts: list[str]):
    import numpy as np

    stop = _stopwords()
    bags = [Counter(w for w in _WORD.findall(t.lower()) if w not in stop) for t in texts]
    vocab: dict[str, int] = {}
    for bag in bags:
        for w in sorted(bag):
            vocab.setdefault(w, len(vocab))
    m = np.zeros((len(texts), max(len(vocab), 1)))
    for i, bag in enumerate(bags):
        for w, k in bag.items():
            m[i, vocab[w]] = k
    df = (m > 0).sum(axis=0)
    n = len(texts)
    m *= np.log((1 + n) / (1 + df)) + 1
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return m / norms


def _average_linkage(dist) -> list[tuple[float, int, int]]:
    """The merges (distance, a, b) of average-linkage clustering, in order, up to the
    largest threshold tried (Lance-Williams update; ties to the lowest index pair)."""
    import numpy as np

    n = dist.shape[0]
    d = dist.astype(float).copy()
    np.fill_diagonal(d, np.inf)
    size = np.ones(n)
    alive = np.ones(n, dtype=bool)
    merges = []
    limit = BASELINE_THRESHOLDS[-1]
    for _ in range(n - 1):
        flat = int(np.argmin(d))
        a, b = divmod(flat, n)
        best = d[a, b]
        if not best <= limit:
            break
        a, b = min(a, b), max(a, b)
        merges.append((float(best), a, b))
        new = (d[a] * size[a] + d[b] * size[b]) / (size[a] + size[b])
        d[a, :] = new
        d[:, a] = new
        d[a, a] = np.inf
        d[b, :] = np.inf
        d[:, b] = np.inf
        size[a] += size[b]
        alive[b] = False
    return merges


def _labels_at(n: int, merges: list[tuple[float, int, int]], threshold: float) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for dist, a, b in merges:
        if dist > threshold + 1e-12:
            break
        parent[find(b)] = find(a)
    return [find(i) for i in range(n)]


def _silhouette(dist, labels: list[int]) -> float:
    import numpy as np

    lab = np.asarray(labels)
    uniq, inv = np.unique(lab, return_inverse=True)
    k = len(uniq)
    n = len(lab)
    if k < 2 or k >= n:
        return -1.0 if k < 2 else 0.0
    onehot = np.zeros((n, k))
    onehot[np.arange(n), inv] = 1.0
    sums = dist @ onehot                        # sum of distances from i to each cluster
    sizes = onehot.sum(axis=0)
    own = sizes[inv]
    a = np.where(own > 1, sums[np.arange(n), inv] / np.maximum(own - 1, 1), 0.0)
    mean_to = sums / sizes
    mean_to[np.arange(n), inv] = np.inf
    b = mean_to.min(axis=1)
    s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def tfidf_baseline(rows: list[Mapping]) -> dict:
    """Cluster *rows* with the TF-IDF average-linkage baseline (module docstring).

    Returns name, threshold (the chosen cut), silhouette, stories_pred and pred
    (id -> cluster label)."""
    import numpy as np

    ids = [row_id(r) for r in rows]
    n = len(ids)
    if n == 0:
        return {"name": "tfidf-average-linkage", "threshold": None, "silhouette": None,
                "stories_pred": 0, "pred": {}}
    m = _tfidf_matrix([f"{r.get('title') or ''}\n{r.get('text') or ''}" for r in rows])
    dist = np.clip(1.0 - m @ m.T, 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    merges = _average_linkage(dist)
    best = None
    for t in BASELINE_THRESHOLDS:
        labels = _labels_at(n, merges, t)
        s = _silhouette(dist, labels)
        if best is None or s > best[0] + 1e-12:
            best = (s, t, labels)
    s, t, labels = best
    return {"name": "tfidf-average-linkage", "threshold": t,
            "silhouette": None if math.isnan(s) else s,
            "stories_pred": len(set(labels)), "pred": dict(zip(ids, labels))}


def evaluate_clustering(rows: list[Mapping]) -> dict:
    """newsloom's stream clustering and the TF-IDF baseline on the same rows, as one
    JSON-ready dict (the shape ``newsloom eval clustering --json`` prints)."""
    ours = run_clustering(rows)
    gold = {row_id(r): r["story"] for r in rows}
    t0 = time.perf_counter()
    base = tfidf_baseline(rows)
    base_s = time.perf_counter() - t0
    bp = bcubed(base["pred"], gold)
    pp = pairwise(base["pred"], gold)

    def prf(t):
        return {"precision": t[0], "recall": t[1], "f1": t[2]}

    out = {"n": ours["n"], "stories_gold": ours["stories_gold"], "stories_pred": ours["stories_pred"],
           "merges": ours["merges"],
           "bcubed": prf((ours["bcubed_p"], ours["bcubed_r"], ours["bcubed_f1"])),
           "pairwise": prf((ours["pairwise_p"], ours["pairwise_r"], ours["pairwise_f1"])),
           "articles_per_s": ours["articles_per_s"]}
    if "dedupe_f1" in ours:
        out["dedupe"] = prf((ours["dedupe_p"], ours["dedupe_r"], ours["dedupe_f1"]))
    out["baseline"] = {"name": base["name"], "threshold": base["threshold"],
                       "silhouette": base["silhouette"], "stories_pred": base["stories_pred"],
                       "bcubed": prf(bp), "pairwise": prf(pp),
                       "articles_per_s": len(rows) / base_s if base_s > 0 else None}
    return out
