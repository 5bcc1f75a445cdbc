"""Story engine benchmark and tuning (prints figures; never asserts on time).

    .venv/bin/python bench/cluster.py                     # 10,000 and 100,000 articles
    .venv/bin/python bench/cluster.py --sizes 2000,20000  # other sizes
    .venv/bin/python bench/cluster.py --tune              # how WEIGHTS/THRESHOLD were chosen
    .venv/bin/python bench/cluster.py --tune-dedupe       # how the dedupe threshold was chosen

Benchmark: for each N, a fresh process streams N synthetic articles (``synth.generate``:
~300 words, ~9 per story, ~1,300 a day, so the 7-day window holds ~12,000) in
time order through ``StoryClusterer.add``. Only the time inside ``add`` is counted (text
generation is not); peak RSS is the process's ``ru_maxrss``. Prints articles/s, peak
memory, BCubed F1 against the generator's gold stories, and the ratio of per-article
cost at the largest N to the smallest (flat cost: <= 1.5).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

from newsloom.enrich.cluster import WEIGHTS, Doc, StoryClusterer
from newsloom.enrich.dedupe import Deduper
from newsloom.eval.clustering import bcubed, run_clustering
from newsloom.eval.dedupe import row_id, run_dedupe, sorted_rows
from newsloom.eval.synth import PERTURBATIONS, generate, perturb

DEMO_NOW = datetime(2026, 3, 12, 18, tzinfo=timezone.utc)


def demo_rows() -> list[dict]:
    from newsloom.demo import load_gold, load_gold_articles
    gold = {g["url"]: g for g in load_gold("http://demo.test", DEMO_NOW)}
    return [dict(a, id=a["url"], duplicate_of=gold[a["url"]]["duplicate_of"])
            for a in load_gold_articles("http://demo.test", DEMO_NOW)]


def ecbplus_rows() -> dict[str, list[dict]]:
    """The ECB+ dev files (``../shared/data/clustering/``) when present: real news, the
    threshold is chosen on them together with the synthetic streams."""
    base = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "clustering")
    out = {}
    for name in ("synthdates", "samedate"):
        path = os.path.join(base, f"ecbplus_dev_{name}.jsonl")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                out[f"ecb_{name}"] = [json.loads(line) for line in fh if line.strip()]
    return out


# ---------------------------------------------------------------------- benchmark

def bench_one(n: int, seed: int) -> dict:
    clusterer = StoryClusterer()
    pred: dict[str, int] = {}
    gold: dict[str, str] = {}
    alias: dict[int, int] = {}
    spent = 0.0
    for row in generate(n, seed=seed):
        doc = Doc(row["id"], row["title"], row["text"], row["source"],
                  datetime.fromisoformat(row["published"]))
        t0 = time.perf_counter()
        a = clusterer.add(doc)
        spent += time.perf_counter() - t0
        pred[doc.id] = a.story
        gold[doc.id] = row["story"]
        for absorbed, into in a.merged:
            alias[absorbed] = into

    def root(s: int) -> int:
        while s in alias:
            s = alias[s]
        return s

    p, r, f = bcubed({d: root(s) for d, s in pred.items()}, gold)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"n": n, "seconds": spent, "per_article_ms": 1000 * spent / n,
            "articles_per_s": n / spent, "peak_rss_mb": rss_kb / 1024,
            "active_stories": len(clusterer.stories()), "active_docs": len(clusterer),
            "bcubed_p": p, "bcubed_r": r, "bcubed_f1": f}


def bench(sizes: list[int], seed: int) -> None:
    results = []
    print(f"{'N':>8} {'articles/s':>11} {'ms/article':>11} {'peak RSS MB':>12} "
          f"{'active docs':>12} {'BCubed F1':>10}")
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--seed", str(seed)],
                             check=True, capture_output=True, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(r)
        print(f"{r['n']:>8} {r['articles_per_s']:>11.0f} {r['per_article_ms']:>11.2f} "
              f"{r['peak_rss_mb']:>12.0f} {r['active_docs']:>12} {r['bcubed_f1']:>10.3f}",
              flush=True)
    if len(results) > 1:
        ratio = results[-1]["per_article_ms"] / results[0]["per_article_ms"]
        print(f"per-article cost ratio N={results[-1]['n']} / N={results[0]['n']}: {ratio:.2f}"
              f" ({'flat' if ratio <= 1.5 else 'NOT flat'}: limit 1.5)")


# ---------------------------------------------------------------------- tuning

class _CachedClusterer(StoryClusterer):
    """Re-uses each doc's tokens/entities/sketch across runs (they depend on the doc only)."""

    def __init__(self, cache: dict, **kw):
        super().__init__(**kw)
        self._cache = cache

    def _analyse(self, doc):
        got = self._cache.get(doc.id)
        if got is None:
            got = self._cache[doc.id] = super()._analyse(doc)
        return got


def oracle_pairs(rows, cache) -> tuple[list[tuple[float, ...]], list[int], int, int]:
    """Stream *rows* assigning gold stories; collect (features, is-gold-story) for every
    candidate the index proposes. Also counts how often the gold story (when active)
    was missing from the candidates."""
    c = _CachedClusterer(cache)
    sid: dict = {}
    X, y = [], []
    missed = asked = 0
    for published, r in sorted_rows(rows):
        doc = Doc(row_id(r), r["title"], r["text"], r["source"], published, r.get("lang"))
        p = c._prepare(doc)
        g = r["story"]
        dup = r.get("duplicate_of")
        if g not in sid:
            sid[g] = len(sid) + 1
        elif not dup:
            ids = c._candidate_ids(p.keys, limit=c.n_candidates, lang=p.lang)
            if sid[g] in c._stories:
                asked += 1
                missed += sid[g] not in ids
            for s in ids:
                X.append(c._features(p, c._stories[s]))
                y.append(int(s == sid[g]))
        c._apply(p, sid[g], dup if dup in c._docs else None)
    return X, y, missed, asked


def logistic(X, y, l2=1e-3, steps=4000, lr=2.0):
    import numpy as np
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    Xb = np.hstack([X, np.ones((len(X), 1))])
    w = np.zeros(Xb.shape[1])
    sw = np.where(y > 0, 0.5 / y.mean(), 0.5 / (1 - y.mean()))     # balanced classes
    for _ in range(steps):
        p = 1 / (1 + np.exp(-Xb @ w))
        w -= lr * (Xb.T @ ((p - y) * sw) / len(y) + l2 * np.r_[w[:-1], 0.0])
    return w


def tune() -> None:
    streams = {"synth1": list(generate(3000, seed=1)), "synth2": list(generate(3000, seed=2)),
               "demo": demo_rows(), **ecbplus_rows()}
    held_out = {"synth3": list(generate(3000, seed=3))}
    caches = {k: {} for k in [*streams, *held_out]}
    X, y = [], []
    for name in ("synth1", "synth2"):
        xs, ys, missed, asked = oracle_pairs(streams[name], caches[name])
        X += xs
        y += ys
        print(f"{name}: {len(ys)} candidate pairs, gold story missing from candidates "
              f"{missed}/{asked}")
    w = logistic(X, y)
    scale = sum(w[:4])
    fitted = tuple(round(float(v / scale), 2) for v in w[:5])
    print(f"logistic regression (title, lead, body, entities, time, numbers, bias): "
          f"{[round(float(v), 3) for v in w]}")
    print(f"  rescaled (content weights sum to 1): {fitted}, numbers {w[5] / scale:.2f}, "
          f"p=0.5 at {-w[-1] / scale:.3f}", flush=True)

    def run(name, rows, **kw):
        return run_clustering(rows, lambda: _CachedClusterer(caches[name], **kw))["bcubed_f1"]

    options = [fitted, (0.15, 0.10, 0.35, 0.40, 0.10), (0.15, 0.10, 0.30, 0.45, 0.15),
               (0.20, 0.10, 0.30, 0.40, 0.20), WEIGHTS]
    print("\nBCubed F1 by weights and threshold (merge threshold at its default):")
    print(f"{'weights (title, lead, body, entities, time)':>44} {'thr':>5} "
          + " ".join(f"{k:>7}" for k in streams) + f" {'mean':>7}")
    for weights in options:
        for thr in (0.12, 0.14, 0.155, 0.17, 0.20, 0.23):
            fs = [run(k, rows, weights=weights, threshold=thr) for k, rows in streams.items()]
            print(f"{str(weights):>44} {thr:>5.2f} " + " ".join(f"{f:>7.3f}" for f in fs)
                  + f" {sum(fs) / len(fs):>7.3f}", flush=True)
    print("\nmerge threshold (default weights and threshold):")
    for mt in (None, 0.5, 0.6, 0.7, 0.8):
        fs = [run(k, rows, merge_threshold=mt) for k, rows in streams.items()]
        print(f"  {str(mt):>5} " + " ".join(f"{f:>7.3f}" for f in fs))
    print("\nwindow / half-life (default weights and threshold):")
    for days, hl in ((3, 36), (5, 36), (7, 24), (7, 36), (7, 72)):
        fs = [run(k, rows, window=timedelta(days=days), half_life=timedelta(hours=hl))
              for k, rows in streams.items()]
        print(f"  window {days} d half-life {hl:>3} h " + " ".join(f"{f:>7.3f}" for f in fs))
    for name, rows in held_out.items():
        r = run_clustering(rows, lambda: _CachedClusterer(caches[name]))
        print(f"\nheld-out {name} with defaults: BCubed P {r['bcubed_p']:.3f} R {r['bcubed_r']:.3f}"
              f" F1 {r['bcubed_f1']:.3f}; dedupe P {r['dedupe_p']:.3f} R {r['dedupe_r']:.3f}")


def tune_dedupe() -> None:
    import numpy as np
    from newsloom.enrich.text import split_paragraphs
    rows = demo_rows()
    originals = [r for r in rows if not r["duplicate_of"]]
    d = Deduper()
    sketch = {r["id"]: d.minhash(r["text"]) for r in rows}

    def sim(a, b) -> float:
        return float(np.count_nonzero(a.hashvalues == b.hashvalues)) / len(a.hashvalues)

    demo_pos = [sim(sketch[r["id"]], sketch[r["duplicate_of"]]) for r in rows if r["duplicate_of"]]
    cross = [sim(sketch[a["id"]], sketch[b["id"]]) for a, b in itertools.combinations(rows, 2)
             if a["duplicate_of"] != b["id"] and b["duplicate_of"] != a["id"]
             and not (a["duplicate_of"] and a["duplicate_of"] == b["duplicate_of"])]
    print(f"demo: {len(demo_pos)} wire copies, Jaccard {min(demo_pos):.2f}..{max(demo_pos):.2f};"
          f" {len(cross)} other pairs, max {max(cross):.3f}")
    rng = random.Random(7)
    pos: dict[str, list[float]] = {k: [] for k in PERTURBATIONS}
    for r in originals:
        for kind in PERTURBATIONS:
            _, text = perturb(rng, r["title"], r["text"], kind, source="Meridian Wire Service")
            pos[kind].append(sim(sketch[r["id"]], d.minhash(text)))
    neg = [sim(sketch[a["id"]], sketch[b["id"]]) for a, b in itertools.combinations(originals, 2)]
    quote = []       # same story, B quotes a whole paragraph of A
    for a, b in itertools.combinations(originals, 2):
        if a["story"] == b["story"]:
            pa, pb = split_paragraphs(a["text"]), split_paragraphs(b["text"])
            quote.append(sim(sketch[a["id"]], d.minhash("\n\n".join(pb[:2] + [pa[1]] + pb[2:]))))
    print("perturbed copies of the demo originals (estimated Jaccard, min / mean):")
    for kind, v in pos.items():
        print(f"  {kind:>13}: {min(v):.2f} / {sum(v) / len(v):.2f}")
    print(f"distinct originals: {len(neg)} pairs, max {max(neg):.3f}; same story with a quoted "
          f"paragraph: {len(quote)} pairs, max {max(quote):.3f}")
    allpos = [s for v in pos.values() for s in v]
    synth = list(generate(2000, seed=5))
    print(f"\n{'thr':>5} {'recall (perturbed)':>19} {'FP distinct':>12} {'FP quoted':>10} "
          f"{'synth P':>8} {'synth R':>8}")
    for thr in (0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8):
        rec = sum(s >= thr for s in allpos) / len(allpos)
        fp = sum(s >= thr for s in neg)
        fq = sum(s >= thr for s in quote)
        r = run_dedupe(synth, lambda: Deduper(thr))
        print(f"{thr:>5.2f} {rec:>19.3f} {fp:>12} {fq:>10} {r['dedupe_p']:>8.3f} {r['dedupe_r']:>8.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--tune", action="store_true")
    ap.add_argument("--tune-dedupe", action="store_true")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(bench_one(args.one, args.seed)))
    elif args.tune:
        tune()
    elif args.tune_dedupe:
        tune_dedupe()
    else:
        print(f"story clustering benchmark, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        bench([int(s) for s in args.sizes.split(",")], args.seed)


if __name__ == "__main__":
    main()
