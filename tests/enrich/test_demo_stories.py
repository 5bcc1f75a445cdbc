"""The demo newsroom through the story engine: pinned outcomes (quality gate).

Every demo story is exactly one cluster holding all its articles (hence all its
publishers), the four singletons stay alone, the two floods and the two court cases
stay apart, every wire copy is found as a copy of its original and nothing else is.
Lowering a floor here is an explicit, reviewed act.
"""

from collections import defaultdict
from datetime import datetime, timezone

import pytest

from newsloom.demo import load_gold, load_gold_articles
from newsloom.enrich.cluster import Doc, StoryClusterer
from newsloom.eval.clustering import run_clustering

NOW = datetime(2026, 3, 12, 18, tzinfo=timezone.utc)
SINGLETONS = {"aldmoor-cave-moss", "ashgrove-football", "halloway-prize", "marrowby-fish-stew"}


@pytest.fixture(scope="module")
def rows():
    gold = {g["url"]: g for g in load_gold("http://demo.test", NOW)}
    return [dict(a, id=a["url"], duplicate_of=gold[a["url"]]["duplicate_of"],
                 publisher=gold[a["url"]]["publisher"])
            for a in load_gold_articles("http://demo.test", NOW)]


@pytest.fixture(scope="module")
def result(rows):
    return run_clustering(rows)


def test_demo_shape(rows):
    by_story = defaultdict(list)
    for r in rows:
        by_story[r["story"]].append(r)
    assert len(rows) == 50 and len(by_story) == 14
    assert {s for s, v in by_story.items() if len(v) == 1} == SINGLETONS
    assert sum(1 for r in rows if r["duplicate_of"]) == 5


def test_every_story_is_exactly_one_cluster(rows, result):
    pred = result["pred"]
    clusters = defaultdict(set)
    for d, s in pred.items():
        clusters[s].add(d)
    by_story = defaultdict(set)
    for r in rows:
        by_story[r["story"]].add(r["id"])
    for story, ids in by_story.items():
        labels = {pred[i] for i in ids}
        assert len(labels) == 1, f"{story} split over {len(labels)} clusters"
        assert clusters[labels.pop()] == ids, f"{story} shares its cluster"


def test_distinct_floods_and_court_cases_stay_apart(rows, result):
    pred = result["pred"]
    label = {r["story"]: pred[r["id"]] for r in rows}
    assert label["kharvik-flood"] != label["lowmarsh-flood"]
    assert label["ashcombe-water-ruling"] != label["brannock-trial"]


def test_wire_copies_found_and_nothing_else(rows, result):
    got = result["pred_duplicate_of"]
    for r in rows:
        assert got[r["id"]] == r["duplicate_of"], r["id"]


def test_quality_floors(result):
    assert result["bcubed_f1"] == 1.0
    assert result["pairwise_f1"] == 1.0
    assert result["dedupe_p"] == 1.0 and result["dedupe_r"] == 1.0
    assert result["stories_pred"] == 14


def test_story_state_has_every_publisher(rows):
    c = StoryClusterer()
    for r in sorted(rows, key=lambda r: r["published"]):
        c.add(Doc(r["id"], r["title"], r["text"], r["source"],
                  datetime.fromisoformat(r["published"])))
    states = c.stories()
    assert len(states) == 14
    for story in {r["story"] for r in rows}:
        members = [r for r in rows if r["story"] == story]
        state = states[c.story_of(members[0]["id"])]
        assert set(state.doc_ids) == {r["id"] for r in members}
        assert state.sources == {r["source"] for r in members}
        assert state.title in {r["title"] for r in members}
        assert state.first_seen == min(datetime.fromisoformat(r["published"]) for r in members)
        assert state.last_seen == max(datetime.fromisoformat(r["published"]) for r in members)
