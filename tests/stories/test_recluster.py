"""`newsloom recluster`: every stored article through a fresh clusterer, story ids kept,
follows and comments attached, the clustering log rewritten so engines agree; on both stores.

The articles are fictional. A clusterer with ``threshold=2.0`` (above the highest possible
score) joins nothing but wire copies: clustering with it and then with the default one (or
the other way round) gives a merge (or a split) whatever the clusterer's internal numbers.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from newsloom.cli import main
from newsloom.models import Article
from newsloom.store.base import ClusterSection
from newsloom.store.schema import article_related, articles, cluster_events, comments, follows, stories
from newsloom.tasks.pipeline import cluster_pending
from newsloom.tasks.recluster import recluster
from newsloom.tasks.stories import StoryEngine, cluster_articles

T0 = datetime(2026, 3, 10, 6, 0, tzinfo=timezone.utc)
APART = {"threshold": 2.0}          # no article scores this high: every story is one article (+ its wire copies)

BRIDGE = [
    ("Harbor Gazette", "Varnholt footbridge collapses into the Tamsk after night of storms",
     "The Varnholt footbridge collapsed into the River Tamsk early on Tuesday after a night of storms, the town "
     "council said. Mayor Elsbeth Moravec said nobody was on the span when it fell and divers found no sign of "
     "anyone in the water. Engineers from the Tamsk Valley Authority had closed the bridge to cyclists last month "
     "after cracks appeared in two piers.\n\nResidents of the Lower Quay district now face a detour of four "
     "kilometres to reach the railway station. The council will open a ferry service on Thursday while inspectors "
     "examine the remaining piers."),
    ("Valley Courier", "Storm brings down Varnholt bridge; mayor Moravec says no one hurt",
     "Mayor Elsbeth Moravec said no one was hurt when the Varnholt footbridge fell into the River Tamsk before "
     "dawn. Cracks in two of the bridge piers had been reported last month by the Tamsk Valley Authority, which "
     "closed the span to cyclists. Divers searched the river through the morning and found nobody in the water."
     "\n\nA temporary ferry will carry Lower Quay residents to the railway station from Thursday, the council said."),
    ("Lantern Daily", "Varnholt council orders inspection of all Tamsk crossings after footbridge collapse",
     "After the collapse of the Varnholt footbridge into the River Tamsk, the council ordered inspectors to examine "
     "every crossing in the town. Mayor Elsbeth Moravec told reporters the Tamsk Valley Authority would report "
     "within a week on the cracked piers. The Lower Quay ferry starts on Thursday; residents said the detour to "
     "the railway station had doubled their journey."),
]
ORCHESTRA = [
    ("Harbor Gazette", "Quillon Philharmonic announces free open-air season in Bresk park",
     "The Quillon Philharmonic will play eight free open-air concerts in Bresk park this summer, conductor Ida "
     "Lindqvarn announced. The season opens in June with a programme of marches and waltzes and closes with a "
     "night of film music.\n\nLindqvarn said the orchestra wanted to reach families who never visit the concert hall."),
    ("Meridian Wire", "Conductor Lindqvarn takes Quillon Philharmonic outdoors for summer in Bresk",
     "Conductor Ida Lindqvarn said the Quillon Philharmonic would give eight free concerts in Bresk park from "
     "June. Marches and waltzes open the open-air season; film music closes it. The orchestra hopes to meet "
     "families who have never been to the concert hall, Lindqvarn said."),
]
MINE = ("Valley Courier", "Drossel copper mine to reopen with three hundred jobs",
        "The Drossel copper mine, closed for eleven years, will reopen next spring with three hundred jobs, its new "
        "owner Kestrova Metals said. Pumps have begun draining the flooded lower galleries.")
FOLLOW_UP = ("Lantern Daily", "Ferry to Lower Quay starts as Varnholt footbridge inquiry opens",
             "The ferry across the River Tamsk to Lower Quay carried its first passengers on Thursday, two days after "
             "the Varnholt footbridge collapsed. Mayor Elsbeth Moravec opened the inquiry into the cracked piers with "
             "the Tamsk Valley Authority.")


def _add(store, key, publisher, title, text, when):
    src = store.upsert_source(publisher)
    art, _ = store.add_article(Article(url=f"https://{key}.example/news", title=title, text=text,
                                       source_id=src.id, published_at=when, fetched_at=when))
    return art.id


@pytest.fixture
def corpus(store):
    """The fictional articles, stored (not clustered): {name: article id}."""
    ids = {}
    for i, row in enumerate(BRIDGE):
        ids[f"bridge{i}"] = _add(store, f"bridge{i}", *row, T0 + timedelta(hours=i))
    for i, row in enumerate(ORCHESTRA):
        ids[f"orchestra{i}"] = _add(store, f"orchestra{i}", *row, T0 + timedelta(hours=1, minutes=30 + 20 * i))
    ids["mine"] = _add(store, "mine", *MINE, T0 + timedelta(hours=2, minutes=10))
    # a wire copy of the first bridge report, word for word, from another publisher
    ids["wire"] = _add(store, "wire", "Meridian Wire", BRIDGE[0][1], BRIDGE[0][2], T0 + timedelta(hours=3))
    return ids


def _story(store, article_id):
    return store.get_article(article_id).story_id


def _snapshot(store):
    """Everything clustering, follows and comments keep, as plain rows."""
    with store.read() as conn:
        return {t.name: [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
                for t in (articles, stories, cluster_events, article_related, follows, comments)}


def _user(store, name):
    return store.create_user(name, "not-a-real-hash")


def _last_seq(store):
    with store.read() as conn:
        return ClusterSection(store, conn).last_seq()


def _engine_agrees(store, **options):
    """A StoryEngine started now replays the log into exactly the stored assignments."""
    engine = StoryEngine(store, **options)
    with store.cluster_section() as section:
        engine._replay(section)
    for a in store.list_articles(limit=1000):
        assert engine.clusterer.story_of(a.id) == a.story_id, a.id
    return engine


def test_split_keeps_the_id_where_most_articles_stay(store, corpus):
    assert cluster_articles(store) == len(corpus)                        # the default clusterer
    bridge, orchestra, mine = (_story(store, corpus[k]) for k in ("bridge0", "orchestra0", "mine"))
    assert len({bridge, orchestra, mine}) == 3
    assert {_story(store, corpus[k]) for k in ("bridge1", "bridge2", "wire")} == {bridge}
    reader = _user(store, "marit")
    store.follow(reader.id, "story", bridge)
    comment = store.post_comment(bridge, reader.id, "Glad nobody was on it.")
    with store.write() as conn:                      # as if the pipeline had rebuilt every story's insights
        conn.execute(stories.update().values(dirty_since=None, touched_at=None))

    report = recluster(store, **APART)

    assert (report.articles, report.old_stories, report.new_stories) == (7, 3, 6)
    assert (report.kept, report.merged, report.created) == (3, 0, 3)
    # the bridge story keeps its id with its first report and that report's wire copy (2 of 4)
    assert _story(store, corpus["bridge0"]) == _story(store, corpus["wire"]) == bridge
    assert store.get_article(corpus["wire"]).duplicate_of == corpus["bridge0"]
    split_off = {_story(store, corpus[k]) for k in ("bridge1", "bridge2")}
    assert len(split_off) == 2 and bridge not in split_off
    assert _story(store, corpus["orchestra0"]) == orchestra                # tie: the older cluster keeps it
    assert _story(store, corpus["orchestra1"]) != orchestra
    assert _story(store, corpus["mine"]) == mine
    kept = store.get_story(bridge)
    assert (kept.article_count, kept.source_count, kept.merged_into) == (2, 2, None)
    assert kept.title == BRIDGE[0][1]
    for story_id in split_off:
        new = store.get_story(story_id)
        assert new.article_count == 1 and new.merged_into is None
        assert new.title in (BRIDGE[1][1], BRIDGE[2][1])
    # every changed story waits for its insights; the untouched one does not
    with store.read() as conn:
        dirty = set(conn.execute(sa.select(stories.c.id).where(stories.c.dirty_since.is_not(None))).scalars())
    assert {bridge, orchestra, *split_off} <= dirty and mine not in dirty
    # follows and comments stay on the story that kept the id
    assert store.is_following(reader.id, "story", bridge)
    assert [i.story.id for i in store.for_you(reader.id, now=T0 + timedelta(days=1))][:1] == [bridge]
    assert [c.id for c in store.comment_thread(bridge)] == [comment.id]
    _engine_agrees(store, **APART)


def test_merge_maps_emptied_stories_into_the_story_that_took_their_articles(store, corpus):
    assert cluster_articles(store, engine=StoryEngine(store, **APART)) == len(corpus)
    first, second, third = (_story(store, corpus[f"bridge{i}"]) for i in range(3))
    assert len({first, second, third}) == 3 and _story(store, corpus["wire"]) == first
    o0, o1 = _story(store, corpus["orchestra0"]), _story(store, corpus["orchestra1"])
    # an older merge: an empty story already merged into the third bridge story, followed by a reader
    with store.cluster_section() as section:
        older = section.new_story("Varnholt crossing closed to cyclists", T0 - timedelta(days=20))
        section.merge(older, third)
    reader, other = _user(store, "oskar"), _user(store, "ilse")
    store.follow(reader.id, "story", third)
    store.follow(other.id, "story", older)
    on_second = store.post_comment(second, reader.id, "The ferry is a good idea.")
    reply = store.post_comment(second, other.id, "Until the river floods.", parent_id=on_second.id)
    seq_before = _last_seq(store)

    report = recluster(store)                                            # the default clusterer

    assert (report.articles, report.old_stories, report.new_stories) == (7, 6, 3)
    assert (report.kept, report.merged, report.created) == (3, 3, 0)
    # the whole bridge story takes the id that held most of its articles: the first (with its wire copy)
    assert {_story(store, corpus[k]) for k in ("bridge0", "bridge1", "bridge2", "wire")} == {first}
    assert {_story(store, corpus[k]) for k in ("orchestra0", "orchestra1")} == {o0}  # tie: the older id
    for gone, into in ((second, first), (third, first), (o1, o0)):
        story = store.get_story(gone)
        assert (story.merged_into, story.article_count) == (into, 0)
    assert store.get_story(older).merged_into == first                     # re-pointed: one level, as merges keep it
    merged = store.get_story(first)
    assert (merged.article_count, merged.source_count) == (4, 4)
    assert store.count_stories() == 3
    # follows and comments reach the story their story maps to, through the existing APIs
    assert store.is_following(reader.id, "story", third) and store.is_following(other.id, "story", older)
    for user in (reader, other):
        items = store.for_you(user.id, now=T0 + timedelta(days=1))
        assert [i.story.id for i in items] == [first] and items[0].reasons == ["You follow this story"]
    thread = store.comment_thread(first)
    assert [c.id for c in thread] == [on_second.id] and [r.id for r in thread[0].replies] == [reply.id]
    assert [c.id for c in store.comment_thread(second)] == [on_second.id]
    assert store.count_comments(first) == 2
    # the log: the old entries replaced by the new state, sequence numbers still growing
    with store.read() as conn:
        events = list(conn.execute(sa.select(cluster_events).order_by(cluster_events.c.seq)))
    assert events[0].seq > seq_before
    assert [(e.article_id, e.story_id) for e in events if e.kind == "assign"] == \
        [(a, _story(store, a)) for a in sorted(corpus.values(), key=lambda i: store.get_article(i).published_at)]
    assert sorted((e.story_id, e.into_story_id) for e in events if e.kind == "merge") == \
        sorted([(second, first), (third, first), (o1, o0)])
    _engine_agrees(store)


def test_second_run_changes_nothing(store, corpus):
    cluster_articles(store, engine=StoryEngine(store, **APART))
    reader = _user(store, "vera")
    store.follow(reader.id, "story", _story(store, corpus["bridge2"]))
    store.post_comment(_story(store, corpus["bridge1"]), reader.id, "Which piers cracked?")
    assert recluster(store).changed
    after_first = _snapshot(store)
    again = recluster(store)
    assert not again.changed and (again.moved, again.merged, again.created, again.touched) == (0, 0, 0, 0)
    assert again.kept == again.new_stories == 3
    assert _snapshot(store) == after_first


def test_articles_never_clustered_get_stories(store, corpus):
    report = recluster(store)
    assert (report.old_stories, report.new_stories, report.created, report.moved) == (0, 3, 3, 7)
    assert all(a.story_id is not None for a in store.list_articles(limit=1000))
    bridge = store.get_story(_story(store, corpus["bridge0"]))
    assert (bridge.article_count, bridge.source_count) == (4, 4)
    assert store.get_article(corpus["wire"]).duplicate_of == corpus["bridge0"]
    assert store.count_stories() == 3
    _engine_agrees(store)
    assert not recluster(store).changed


def test_engine_clustering_already_matching_is_left_alone(store, corpus):
    cluster_articles(store)
    before = _snapshot(store)
    report = recluster(store)
    assert not report.changed and report.kept == 3 and report.moved == 0
    assert _snapshot(store) == before


@pytest.mark.parametrize("before, after", [(APART, {}), ({}, APART)], ids=["merge", "split"])
def test_result_is_what_a_fresh_engine_decides(store, corpus, before, after):
    """Stories (as sets of articles), titles, duplicate marks and related articles after a
    recluster equal those of a StoryEngine clustering the same articles from scratch."""
    cluster_articles(store, engine=StoryEngine(store, **before))

    def state():
        with store.read() as conn:
            rows = list(conn.execute(sa.select(articles.c.id, articles.c.story_id, articles.c.duplicate_of)))
            related = {(a, b): round(s, 9) for a, b, s in conn.execute(sa.select(article_related))}
            titles = {r.id: r.title for r in conn.execute(sa.select(stories.c.id, stories.c.title))}
        groups = {}
        for aid, sid, _ in rows:
            groups.setdefault(sid, set()).add(aid)
        return ({frozenset(g): titles[sid] for sid, g in groups.items()},
                {aid: dup for aid, _, dup in rows}, related)

    old = state()
    recluster(store, **after)
    new = state()
    assert new[0] != old[0] and new[2] != old[2]
    with store.write() as conn:                      # forget all clustering, then let an engine redo it
        conn.execute(articles.update().values(story_id=None, duplicate_of=None))
        for table in (cluster_events, article_related, stories):
            conn.execute(table.delete())
    cluster_articles(store, engine=StoryEngine(store, **after))
    assert state() == new


def test_running_engine_rebuilds_from_the_rewritten_log(store, corpus):
    cluster_articles(store, engine=StoryEngine(store, **APART))
    running = StoryEngine(store)                     # a worker that has replayed the old log
    assert running.cluster_many([]) == 0 and len(running.clusterer) == len(corpus)
    recluster(store)
    bridge = _story(store, corpus["bridge0"])
    late = _add(store, "followup", *FOLLOW_UP, T0 + timedelta(days=2))
    # Its memory is stale: it sees that the log it read was replaced, starts again from the
    # new log, and places the article from the new state, in its very next batch.
    assert cluster_pending(store, running) == 1
    assert _story(store, late) == bridge
    assert {_story(store, corpus[k]) for k in ("bridge1", "bridge2", "wire")} == {bridge}
    assert all(running.clusterer.story_of(a.id) == a.story_id for a in store.list_articles(limit=1000))


def test_a_failure_midway_keeps_the_old_state(store, corpus, monkeypatch):
    cluster_articles(store, engine=StoryEngine(store, **APART))
    store.follow(_user(store, "nils").id, "story", _story(store, corpus["bridge1"]))
    before = _snapshot(store)

    def crash(self, story_ids):
        raise RuntimeError("power cut")

    monkeypatch.setattr(ClusterSection, "mark_dirty", crash)      # fails after articles, log and merges
    with pytest.raises(RuntimeError):
        recluster(store)
    assert _snapshot(store) == before
    monkeypatch.undo()
    assert recluster(store).merged == 3                              # and a re-run does the whole job


def _cli(store_url, tmp_path, *args):
    env = {"NEWSLOOM_HOME": str(tmp_path), "NEWSLOOM_DATABASE_URL": store_url}
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_on_an_empty_database(store, store_url, tmp_path):
    out = _cli(store_url, tmp_path, "recluster")
    assert "no articles stored; nothing to do" in out


def test_cli_dry_run_then_run_then_nothing(store, store_url, tmp_path, corpus):
    cluster_articles(store, engine=StoryEngine(store, **APART))
    second = _story(store, corpus["bridge1"])
    first = _story(store, corpus["bridge0"])
    before = _snapshot(store)

    dry = _cli(store_url, tmp_path, "recluster", "--dry-run")
    summary = ("recluster: 7 articles; 6 old stories -> 3 new stories; 3 ids kept, 3 stories merged, "
               "0 stories created; 3 articles moved")
    assert summary in dry
    assert f"story {second} merged into story {first} (1 article)" in dry
    assert "dry run; nothing written" in dry
    assert _snapshot(store) == before

    out = _cli(store_url, tmp_path, "recluster")
    assert summary in out and "recluster: done; 2 stories marked for an insights rebuild" in out
    assert store.get_story(second).merged_into == first

    again = _cli(store_url, tmp_path, "recluster")
    assert "3 ids kept, 0 stories merged, 0 stories created; 0 articles moved" in again
    assert "nothing changed" in again
