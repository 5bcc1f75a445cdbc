"""eval.clustering and eval.dedupe: the scores on small hand-computed examples."""

from datetime import datetime, timedelta, timezone

import pytest

from newsloom.eval.clustering import bcubed, pairwise, run_clustering
from newsloom.eval.dedupe import dedupe_scores, run_dedupe

# Bagga & Baldwin (1998): truth {1..5} {6,7} {8..12}
GOLD = {i: "a" for i in range(1, 6)} | {6: "b", 7: "b"} | {i: "c" for i in range(8, 13)}


def test_bcubed_bagga_baldwin_examples():
    merged_small = {i: ("x" if i <= 5 else "y") for i in range(1, 13)}   # {1..5} {6..12}
    p, r, f = bcubed(merged_small, GOLD)
    assert p == pytest.approx(64 / 84)            # the paper's 76%
    assert r == pytest.approx(1.0)
    assert f == pytest.approx(2 * p / (p + 1))
    merged_big = {i: ("y" if i in (6, 7) else "x") for i in range(1, 13)}  # {1..5,8..12} {6,7}
    p, r, _ = bcubed(merged_big, GOLD)
    assert p == pytest.approx(7 / 12)             # the paper's 58%
    assert r == pytest.approx(1.0)


def test_bcubed_split_and_perfect():
    gold = {1: "A", 2: "A", 3: "A", 4: "B", 5: "B"}
    pred = {1: "x", 2: "x", 3: "y", 4: "y", 5: "y"}
    p, r, f = bcubed(pred, gold)
    assert (p, r) == (pytest.approx(11 / 15), pytest.approx(11 / 15))
    assert f == pytest.approx(11 / 15)
    assert bcubed(gold, gold) == (1.0, 1.0, 1.0)
    # a missing prediction counts as a singleton
    assert bcubed({}, {1: "A", 2: "A"})[:2] == (1.0, 0.5)


def test_pairwise_counts():
    merged_small = {i: ("x" if i <= 5 else "y") for i in range(1, 13)}
    p, r, f = pairwise(merged_small, GOLD)
    assert p == pytest.approx(21 / 31) and r == 1.0
    gold = {1: "A", 2: "A", 3: "A", 4: "B", 5: "B"}
    pred = {1: "x", 2: "x", 3: "y", 4: "y", 5: "y"}
    p, r, f = pairwise(pred, gold)     # TP: (1,2) (4,5); predicted 1+3; gold 3+1
    assert (p, r, f) == (pytest.approx(0.5), pytest.approx(0.5), pytest.approx(0.5))
    assert pairwise({1: "x", 2: "y"}, {1: "A", 2: "B"}) == (1.0, 1.0, 1.0)


def test_dedupe_scores_credit_the_original_group():
    gold = {"a": None, "b": "a", "c": "a", "d": None, "e": "d", "f": None}
    pred = {"a": None, "b": "a", "c": "b", "d": None, "e": None, "f": "a"}
    # b -> a right; c -> b right (b is a copy of a); e missed; f wrongly flagged
    p, r, f = dedupe_scores(pred, gold)
    assert (p, r) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert dedupe_scores({"x": "y"}, {"x": "z", "y": None, "z": None})[:2] == (0.0, 0.0)
    assert dedupe_scores({"a": None}, {"a": None}) == (1.0, 1.0, 1.0)


def _rows():
    t0 = datetime(2026, 1, 5, 8, tzinfo=timezone.utc)
    body = ("Flood water rose across Kharvik as the River Dvena burst its banks overnight, "
            "forcing hundreds of residents from their homes near the old bridge, officials said. ")
    other = ("The Bank of Veltria raised its main interest rate to 4.5 percent, its third "
             "increase this year, as inflation fell more slowly than expected, Governor Marrant said. ")
    return [
        {"id": "r3", "title": "Rates up again", "text": other * 3, "source": "C",
         "published": (t0 + timedelta(hours=2)).isoformat(), "story": "rate", "duplicate_of": None},
        {"id": "r1", "title": "Kharvik flood", "text": body * 3, "source": "A",
         "published": t0.isoformat(), "story": "flood", "duplicate_of": None},
        {"id": "r2", "title": "Dvena floods Kharvik", "text": body * 3 + "Credit line here.",
         "source": "B", "published": (t0 + timedelta(hours=1)).isoformat(), "story": "flood",
         "duplicate_of": "r1"},
    ]


def test_run_clustering_streams_in_time_order():
    out = run_clustering(_rows())
    assert out["n"] == 3 and out["stories_gold"] == 2 and out["stories_pred"] == 2
    assert out["bcubed_f1"] == 1.0 and out["pairwise_f1"] == 1.0
    assert out["dedupe_p"] == 1.0 and out["dedupe_r"] == 1.0
    assert out["pred_duplicate_of"]["r2"] == "r1"
    assert out["articles_per_s"] > 0


def test_run_dedupe():
    out = run_dedupe(_rows())
    assert out["gold_duplicates"] == 1 and out["predicted_duplicates"] == 1
    assert out["pred"]["r2"] == "r1" and out["dedupe_f1"] == 1.0
