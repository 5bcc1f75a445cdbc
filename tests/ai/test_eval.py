"""Quality floors (STYLE.md habit 10): ours against a baseline computed in the same run.

Lowering a floor is an explicit, reviewed act; the numbers at the time of writing are in
the comments. Fixtures are fictional and written for newsloom (tests/ai/data/).
"""

from __future__ import annotations

from pathlib import Path

from newsloom.eval.entities import eval_entities, load_jsonl
from newsloom.eval.hashtags import eval_hashtags
from newsloom.eval.summaries import eval_summaries

DATA = Path(__file__).parent / "data"


def test_entities_floor():
    # Lowered (0.90 -> 0.87 overall, 0.85 -> 0.80 per kind on the test set) when the
    # extractor became a CRF trained on real news, stacked on the rules: per-document F1
    # on CoNLL-2003 dev went 0.66 -> 0.92 (docs/entities.md). The rules had been tuned on
    # this very set (0.82 on first run, 0.935 after). The CRF's remaining misses here are
    # single sentences with no document around them: a bare invented word opening a
    # sentence ("Essing said", "Marovia and Kessland signed") read as an organisation, as
    # it often is in wire copy, and CoNLL's conventions ("Marovian Ministry of
    # Agriculture" as one organisation, a city-named club as a place). The held-out
    # floor, written after the rules' tuning, stays.
    test = eval_entities(load_jsonl(DATA / "entities_test.jsonl"))
    held = eval_entities(load_jsonl(DATA / "entities_heldout.jsonl"))
    assert test["all"]["f1"] >= 0.87, test["errors"]          # 0.899 (rules alone: 0.935)
    assert held["all"]["f1"] >= 0.85, held["errors"]          # 0.958 (rules alone: 0.889)
    for kind in ("person", "place", "org"):                   # 0.933, 0.913, 0.824
        assert test[kind]["f1"] >= 0.80, (kind, test[kind])


def test_hashtags_beat_yake():
    # Floors lowered when hashtags were rebuilt for real news (KPCrowd dev F1@10 0.129 ->
    # 0.172, YAKE 0.110; ../shared/data/README.md): this fixture's gold lists every name and
    # the headline's two-word phrases, which the old ranking (two-word phrases at twice a
    # word, fewer candidates) was tuned to; it measured 0.60 / 0.69 here.
    r = eval_hashtags(load_jsonl(DATA / "eval_articles.jsonl"))
    assert r["n"] == 15
    assert r["ours"]["@5"]["f1"] >= 0.38, r                   # 0.42 (YAKE 0.22)
    assert r["ours"]["@10"]["f1"] >= 0.50, r                  # 0.56 (YAKE 0.30)
    for k in ("@5", "@10"):
        assert r["ours"][k]["f1"] > r["yake"][k]["f1"] + 0.15, r


def test_summaries_hold_against_lead3():
    r = eval_summaries(load_jsonl(DATA / "eval_articles.jsonl"))
    assert r["ours"]["rouge1"] >= 0.47, r                     # 0.498 (Lead-3 0.516)
    assert r["ours"]["rouge2"] >= 0.27, r                     # 0.299 (Lead-3 0.293)
    assert r["ours"]["rougeL"] >= 0.36, r                     # 0.384 (Lead-3 0.386)
    for m in ("rouge1", "rouge2", "rougeL"):                  # on par with the strong baseline
        assert r["ours"][m] >= r["lead3"][m] - 0.03, r
