"""enrich.cluster: the StoryClusterer's contract (ids, duplicates, replay, related, window)."""

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from newsloom.demo import load_gold, load_gold_articles
from newsloom.enrich.cluster import Assignment, Doc, StoryClusterer

NOW = datetime(2026, 3, 12, 18, tzinfo=timezone.utc)


def _docs() -> list[tuple[Doc, dict]]:
    gold = {g["url"]: g for g in load_gold("http://demo.test", NOW)}
    rows = sorted(load_gold_articles("http://demo.test", NOW), key=lambda r: r["published"])
    return [(Doc(r["url"], r["title"], r["text"], r["source"],
                 datetime.fromisoformat(r["published"])), dict(r, **gold[r["url"]]))
            for r in rows]


DOCS = _docs()


def _first_of(story: str) -> Doc:
    return next(d for d, g in DOCS if g["story"] == story)


def test_story_ids_from_counter_or_callback():
    c = StoryClusterer()
    first = c.add(_first_of("astrolabe-theft"))
    assert first == Assignment(1, True, first.score, None, [])
    ids = iter([100, 101, 102])
    a = c.add(_first_of("kestrel-launch"), new_story_id=lambda: next(ids))
    assert a.created and a.story == 100
    assert c.add(_first_of("kharvik-flood")).story == 101    # never an id in use


def test_same_doc_twice_is_refused():
    c = StoryClusterer()
    c.add(DOCS[0][0])
    with pytest.raises(ValueError, match="cluster:"):
        c.add(DOCS[0][0])


def test_wire_copy_joins_its_original():
    c = StoryClusterer()
    out = {}
    for doc, _ in DOCS:
        out[doc.id] = c.add(doc)
    for doc, g in DOCS:
        if g["duplicate_of"]:
            a = out[doc.id]
            assert a.duplicate_of == g["duplicate_of"] and not a.created and a.score >= 0.4
            assert a.story == c.story_of(g["duplicate_of"])


def test_observe_replays_to_identical_state():
    head, tail = DOCS[:30], DOCS[30:]
    leader, follower = StoryClusterer(), StoryClusterer()
    for doc, _ in head:
        a = leader.add(doc)
        follower.observe(doc, a.story, a.duplicate_of)
        for absorbed, into in a.merged:
            follower.apply_merge(absorbed, into)
    for doc, _ in tail:
        assert leader.add(doc) == follower.add(doc)
    assert leader.stories() == follower.stories()
    assert [leader.related(d.id) for d, _ in DOCS] == [follower.related(d.id) for d, _ in DOCS]


def test_observe_creates_unknown_story_and_advances_counter():
    c = StoryClusterer()
    c.observe(DOCS[0][0], 41)
    assert c.story_of(DOCS[0][0].id) == 41
    assert c.add(DOCS[-1][0]).story == 42


def test_apply_merge_moves_docs():
    c = StoryClusterer()
    a = c.add(DOCS[0][0])
    b = c.add(DOCS[-1][0])
    assert a.story != b.story
    c.apply_merge(b.story, a.story)
    assert c.story_of(DOCS[-1][0].id) == a.story
    states = c.stories()
    assert list(states) == [a.story] and states[a.story].size == 2
    c.apply_merge(999, a.story)                    # unknown: no error


def test_merge_reported_when_a_doc_bridges_two_stories():
    # another worker kept two copies of one report apart; a third copy bridges them
    c = StoryClusterer(dedupe_threshold=None)
    doc = _first_of("kharvik-flood")
    c.observe(doc, 7)
    c.observe(Doc("copy1", doc.title, doc.text, "B", doc.published), 8)
    a = c.add(Doc("copy2", doc.title, doc.text, "C", doc.published))
    assert (a.story, a.created, a.merged) == (7, False, [(8, 7)])
    assert c.story_of("copy1") == 7 and list(c.stories()) == [7]
    assert c.stories()[7].sources == {doc.source, "B", "C"}


def test_related_are_nearest_docs_in_other_stories():
    c = StoryClusterer()
    for doc, _ in DOCS:
        c.add(doc)
    for doc, _ in DOCS:
        rel = c.related(doc.id, k=3)
        assert len(rel) <= 3
        own = c.story_of(doc.id)
        stories = [c.story_of(d) for d, _ in rel]
        assert own not in stories and len(set(stories)) == len(stories)
        scores = [s for _, s in rel]
        assert scores == sorted(scores, reverse=True) and all(0 < s <= 1.0 + 1e-9 for s in scores)
    assert c.related("unknown") == []
    # the other flood is among the floods' related stories, the other court case among
    # the court cases'
    story = {d.id: g["story"] for d, g in DOCS}
    for mine, other in (("kharvik-flood", "lowmarsh-flood"),
                        ("ashcombe-water-ruling", "brannock-trial")):
        found = {story[r] for d, g in DOCS if g["story"] == mine for r, _ in c.related(d.id, k=3)}
        assert other in found


def test_window_forgets_stale_stories():
    c = StoryClusterer(window=timedelta(days=2))
    first = DOCS[0][0]
    c.add(first)
    late = Doc("late", first.title, first.text + " Updated.", first.source,
               first.published + timedelta(days=3))
    a = c.add(late)
    assert a.created and a.duplicate_of is None
    with pytest.raises(KeyError):
        c.story_of(first.id)
    assert list(c.stories()) == [a.story]


def test_languages_are_clustered_apart():
    c = StoryClusterer(dedupe_threshold=None)
    doc = DOCS[0][0]
    a = c.add(Doc("en", doc.title, doc.text, "A", doc.published, "en"))
    b = c.add(Doc("de", doc.title, doc.text, "B", doc.published, "de"))
    d = c.add(Doc("en2", doc.title, doc.text, "C", doc.published, "en"))
    assert b.created and b.story != a.story
    assert d.story == a.story and not d.created


def test_naive_times_are_taken_as_utc():
    c = StoryClusterer()
    doc = DOCS[0][0]
    c.add(Doc("x", doc.title, doc.text, "A", doc.published.replace(tzinfo=None)))
    assert c.stories()[1].first_seen == doc.published


_DETERMINISM = """
import hashlib
from newsloom.eval.clustering import run_clustering
from newsloom.eval.synth import generate
out = run_clustering(list(generate(400, seed=9)))
print(hashlib.sha256(repr(sorted(out["pred"].items())).encode()).hexdigest())
"""


def test_same_input_same_output_across_processes():
    digests = set()
    for hash_seed in ("1", "2"):
        env = {"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"}
        out = subprocess.run([sys.executable, "-c", _DETERMINISM], env=env, check=True,
                             capture_output=True, text=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1
