"""A larger synthetic stream (shared topic vocabulary, twins, recurring names, spelling
variants, wire copies): floors on clustering and dedupe, so the thresholds are not
tuned to the 50 demo articles only. Seed 11 is used by nothing else (tuning uses 1, 2,
3 and 5). Lowering a floor is an explicit, reviewed act."""

import pytest

from newsloom.eval.clustering import run_clustering
from newsloom.eval.synth import generate


@pytest.fixture(scope="module")
def result():
    return run_clustering(list(generate(2000, seed=11)))


def test_synthetic_clustering_floor(result):
    assert result["stories_gold"] > 150
    assert result["bcubed_p"] >= FLOOR_P
    assert result["bcubed_r"] >= FLOOR_R
    assert result["bcubed_f1"] >= FLOOR_F1


def test_synthetic_dedupe_floor(result):
    assert result["dedupe_p"] >= 0.99
    assert result["dedupe_r"] >= 0.97


# measured at pinning: P 0.985, R 0.977, F1 0.981; dedupe P 1.000, R 0.993
# (seeds 12-14 of the same size: F1 0.993, 0.993, 0.987)
FLOOR_P, FLOOR_R, FLOOR_F1 = 0.97, 0.965, 0.97
