"""Search relevance on a fictional newsroom with graded judgments (tests/search/data/relevance.json):
nDCG@10 of full text alone against the hybrid search the site runs, on both stores.

* full text: ``store.search(parse_query(q), limit=10)``, the engine's rank order (FTS5 bm25 /
  PostgreSQL ts_rank_cd), no re-ranker and no vector;
* hybrid: ``run_search(store, SearchParams(q=q), limit=10, offset=0)``, full text + the query's
  embedding fused by enrich/rank.py ``hybrid_order``.

nDCG@10: gain 2^rel - 1, discount log2(rank + 1), ideal DCG from every judged article of the
query. The judgments were written from the article texts before any system was run; a drop
here is a finding about search, never a reason to edit them. ``pytest -s`` prints the
per-query table; the one-line summary is printed without ``-s`` too.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

from newsloom.models import Article
from newsloom.serve.search import SearchParams, run_search
from newsloom.store.search import parse_query
from newsloom.tasks.pipeline import embed_pending

CORPUS = Path(__file__).parent / "data" / "relevance.json"
K = 10
MAX_LOSS = 0.30            # no query may lose more nDCG@10 than this going from full text to hybrid


def ndcg(ranked: list[str], judged: dict[str, int], k: int = K) -> float:
    def dcg(rels: list[int]) -> float:
        return sum((2 ** r - 1) / math.log2(n + 2) for n, r in enumerate(rels[:k]))

    ideal = dcg(sorted(judged.values(), reverse=True))
    return dcg([judged.get(a, 0) for a in ranked]) / ideal if ideal else 0.0


def load(store, corpus: dict) -> dict[int, str]:
    """Add the corpus through the store, then run the pipeline's embed stage. Returns {db id: corpus id}."""
    sources = {name: store.upsert_source(name).id for name in sorted({a["publisher"] for a in corpus["articles"]})}
    by_db = {}
    for a in corpus["articles"]:
        host = a["publisher"].lower().replace(" ", "-")
        stored, created = store.add_article(Article(
            url=f"https://{host}.example/{a['id']}", title=a["title"], text=a["text"],
            source_id=sources[a["publisher"]], published_at=datetime.fromisoformat(a["published"].replace("Z", "+00:00"))))
        assert created, a["id"]
        by_db[stored.id] = a["id"]
    assert embed_pending(store) == len(corpus["articles"])
    return by_db


def test_hybrid_search_beats_full_text_on_graded_queries(store, pytestconfig, capsys):
    corpus = json.loads(CORPUS.read_text())
    by_db = load(store, corpus)
    backend = "sqlite" if store.is_sqlite else "postgresql"

    rows = []   # (query, nDCG full text, nDCG hybrid, each found a relevant one, how many hits each)
    for item in corpus["queries"]:
        q, judged = item["q"], item["judgments"]
        fts = [by_db[h.article.id] for h in store.search(parse_query(q), limit=K).hits]
        hyb = [by_db[h.article.id] for h in run_search(store, SearchParams(q=q), limit=K, offset=0)[0].hits]
        rows.append((q, ndcg(fts, judged), ndcg(hyb, judged),
                     any(judged.get(a, 0) for a in fts), any(judged.get(a, 0) for a in hyb), len(fts), len(hyb)))

    mean_fts = sum(r[1] for r in rows) / len(rows)
    mean_hyb = sum(r[2] for r in rows) / len(rows)
    worst = min(rows, key=lambda r: r[2] - r[1])
    rescued_from = [r for r in rows if not r[3]]
    rescued = [r for r in rescued_from if r[4]]

    table = [f"nDCG@{K} on {backend}: {len(corpus['articles'])} articles, {len(rows)} queries",
             f"{'query':<24} {'full text':>9} {'hybrid':>7} {'delta':>7}  hits(ft/hy)"]
    table += [f"{q:<24} {f:9.3f} {h:7.3f} {h - f:+7.3f}  {nf:>2}/{nh:<2}" for q, f, h, _, _, nf, nh in rows]
    table.append(f"{'MEAN':<24} {mean_fts:9.3f} {mean_hyb:7.3f} {mean_hyb - mean_fts:+7.3f}")
    summary = (f"search relevance [{backend}]: nDCG@{K} full text {mean_fts:.3f}, hybrid {mean_hyb:.3f} "
               f"over {len(rows)} queries; hybrid finds a relevant article for {len(rescued)}/{len(rescued_from)} "
               f"queries where full text finds none; worst change {worst[2] - worst[1]:+.3f} ({worst[0]!r})")
    with capsys.disabled():          # the summary line shows under -q too; the table under -s
        print("\n" + "\n".join(table + [summary] if pytestconfig.getoption("capture") == "no" else [summary]))

    assert mean_hyb > mean_fts, summary
    assert not rescued_from or len(rescued) * 2 > len(rescued_from), summary
    assert worst[2] - worst[1] >= -MAX_LOSS, summary


def test_corpus_is_well_formed():
    corpus = json.loads(CORPUS.read_text())
    ids = [a["id"] for a in corpus["articles"]]
    assert len(ids) == len(set(ids))
    for item in corpus["queries"]:
        assert set(item["judgments"]) <= set(ids), item["q"]
        assert set(item["judgments"].values()) <= {1, 2} and 2 in item["judgments"].values(), item["q"]
