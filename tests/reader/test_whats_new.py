"""What changed since your last visit (issue 13, item 2): enrich/changes.py on fictional
snapshots; the insight history and the visits on the real store (SQLite and PostgreSQL);
then the story page through TestClient while new articles arrive through the real pipeline
(a local feed server, ingest, clustering, insights)."""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import lxml.html
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from feedserver import FeedServer, story_article  # noqa: E402

from newsloom.enrich.changes import PARAGRAPH_SENTENCES, story_changes  # noqa: E402
from newsloom.models import Article, Feed, Story, utcnow  # noqa: E402
from newsloom.serve import create_app  # noqa: E402
from newsloom.serve.auth import SESSION_COOKIE  # noqa: E402
from newsloom.store.insights import HISTORY_BUILDS  # noqa: E402
from newsloom.store.visits import REVISIT_SECONDS  # noqa: E402
from newsloom.tasks.pipeline import refresh  # noqa: E402

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)


# -- enrich/changes.py ---------------------------------------------------------------------------
@dataclass
class Snap:
    article_ids: list[int]
    data: dict = field(default_factory=dict)


def _art(i: int, source: str, minutes: int, title: str, duplicate_of: int | None = None) -> Article:
    return Article(url=f"https://{source.lower().replace(' ', '-')}.example/{i}", title=title, id=i,
                   source_name=source, published_at=T0 + timedelta(minutes=minutes), duplicate_of=duplicate_of)


ARTICLES = [
    _art(1, "Brindle Herald", 0, "Kettleby weir gates jammed"),
    _art(2, "Oakhollow Times", 10, "Weir at Kettleby stuck open"),
    _art(3, "Marsh Lantern", 40, "Engineers free the Kettleby weir"),
    _art(4, "Brindle Herald", 50, "Kettleby weir repaired (wire)", duplicate_of=3),
    _art(5, "Oakhollow Times", 30, "Kettleby residents count the damage"),
]
SUMMARIES = {
    1: ["The weir gates at Kettleby jammed on Monday."],
    2: ["The Kettleby weir stuck open after the storm."],
    3: ["Engineers freed the Kettleby weir gates on Wednesday.", "The river fell by a metre."],
    4: ["Engineers freed the Kettleby weir gates on Wednesday.", "The river fell by a metre."],
    5: ["Twelve houses in Kettleby were flooded, the parish said."],
}


def _event(day: str, text: str, *cites: tuple[int, str]) -> dict:
    return {"date": day, "text": text, "article_id": cites[0][0], "source": cites[0][1],
            "citations": [list(c) for c in cites]}


def test_new_articles_publishers_and_a_cited_paragraph():
    before = Snap([1, 2])
    after = Snap([1, 2, 3, 4, 5])
    ch = story_changes(before, after, ARTICLES, SUMMARIES)
    assert [a.id for a in ch.new_articles] == [5, 3, 4]                    # oldest first
    assert ch.new_article_ids == {3, 4, 5}
    assert ch.new_publishers == ["Marsh Lantern"]                          # the others ran it already
    # one sentence per new article; the wire copy cites the sentence it repeats
    assert [s.text for s in ch.whats_new] == ["Twelve houses in Kettleby were flooded, the parish said.",
                                              "Engineers freed the Kettleby weir gates on Wednesday."]
    assert [s.cites for s in ch.whats_new] == [[1], [2, 3]]
    assert [(c.n, c.article_id, c.source) for c in ch.citations] == [
        (1, 5, "Oakhollow Times"), (2, 3, "Marsh Lantern"), (3, 4, "Brindle Herald")]
    assert ch and ch.uncited == 0
    assert story_changes(before, after, list(reversed(ARTICLES)), SUMMARIES) == ch     # deterministic


def test_nothing_new_is_false_and_before_none_is_everything():
    same = Snap([1, 2], {"timeline": [_event("2026-05-04", "The gates jammed", (1, "Brindle Herald"))]})
    ch = story_changes(same, same, ARTICLES, SUMMARIES)
    assert not ch and ch.new_articles == [] and ch.whats_new == [] and ch.new_events == []
    first = story_changes(None, same, ARTICLES, SUMMARIES)
    assert first.new_article_ids == {1, 2} and len(first.new_events) == 1


def test_titles_stand_in_for_missing_summaries_and_the_paragraph_is_bounded():
    many = [_art(10 + i, f"Paper {i}", i, f"Kettleby update number {i}") for i in range(PARAGRAPH_SENTENCES + 2)]
    ch = story_changes(Snap([]), Snap([a.id for a in many]), many, {})
    assert [s.text for s in ch.whats_new] == [f"Kettleby update number {i}." for i in range(PARAGRAPH_SENTENCES)]
    assert ch.uncited == 2 and len(ch.citations) == PARAGRAPH_SENTENCES
    shuffled = many[:]
    random.Random(3).shuffle(shuffled)
    assert story_changes(Snap([]), Snap([a.id for a in shuffled]), shuffled, {}) == ch


def test_new_events_are_new_by_day_and_text_not_by_citations():
    before = Snap([1, 2], {"timeline": [_event("2026-05-04", "The gates jammed", (1, "Brindle Herald"))]})
    after = Snap([1, 2, 3], {"timeline": [
        _event("2026-05-04", "The gates  jammed.", (1, "Brindle Herald"), (2, "Oakhollow Times")),  # more cites
        _event("2026-05-06", "Engineers freed the gates", (3, "Marsh Lantern"))]})
    ch = story_changes(before, after, ARTICLES, SUMMARIES)
    assert [(e.date.isoformat(), e.text, e.citations) for e in ch.new_events] == [
        ("2026-05-06", "Engineers freed the gates", [(3, "Marsh Lantern")])]


def test_changed_figures_new_disputes_and_updated_values():
    flooded = {"kind": "figure", "topic": "houses flooded",
               "claims": [["12 houses", 5, "Oakhollow Times", "Twelve houses..."], ["9 houses", 1, "Brindle Herald", "Nine."]]}
    updated = {**flooded, "claims": [["14 houses", 5, "Oakhollow Times", "Fourteen."], ["9 houses", 1, "Brindle Herald", "Nine."]]}
    spelling = {"kind": "spelling", "topic": "Kettleby", "claims": [["Ketleby", 3, "Marsh Lantern", "In Ketleby."],
                                                                      ["Kettleby", 1, "Brindle Herald", "In Kettleby."]]}
    unchanged = story_changes(Snap([1], {"disagreements": [flooded]}), Snap([1], {"disagreements": [flooded]}), ARTICLES)
    assert unchanged.changed_figures == [] and not unchanged
    ch = story_changes(Snap([1], {"disagreements": [flooded]}), Snap([1, 3], {"disagreements": [updated, spelling]}),
                       ARTICLES)
    assert [(f.kind, f.topic, f.is_new, f.before) for f in ch.changed_figures] == [
        ("figure", "houses flooded", False, ["12 houses", "9 houses"]), ("spelling", "Kettleby", True, [])]
    assert ch.changed_figures[0].claims[0][:3] == ("14 houses", 5, "Oakhollow Times")


# -- the store: history and visits (both backends) --------------------------------------------------
def _story(store, title="Kettleby weir") -> int:
    return store.add_story(Story(title=title, first_seen_at=utcnow(), last_seen_at=utcnow(), article_count=1,
                                 source_count=1)).id


def _save(store, story_id: int, ids: list[int], events: list[dict] | None = None) -> None:
    assert store.save_story_insights(story_id, version=1, article_count=len(ids),
                                     data={"timeline": events or [], "disagreements": [], "brief": []},
                                     hashtags=[], dirty_mark=None, article_ids=ids)


def test_every_build_is_kept_with_its_time_and_the_newest_50_stay(store):
    sid, other = _story(store), _story(store, "Another")
    assert store.latest_insight_build(sid) is None and store.insight_build_at(sid, utcnow()) is None
    _save(store, sid, [1, 2], [_event("2026-05-04", "The gates jammed", (1, "Brindle Herald"))])
    between = utcnow()
    _save(store, sid, [3, 1, 2])
    _save(store, other, [9])
    first, latest = store.insight_build_at(sid, between), store.latest_insight_build(sid)
    assert first.article_ids == [1, 2] and first.data["timeline"][0]["text"] == "The gates jammed"
    assert latest.article_ids == [1, 2, 3] and latest.built_at > between >= first.built_at
    assert store.insight_build_at(sid, first.built_at - timedelta(seconds=1)) is None
    assert store.get_story_insights(sid).article_count == 3          # the current row as before
    for n in range(HISTORY_BUILDS + 2):
        _save(store, sid, [n])
    kept = store.insight_builds(sid)
    assert len(kept) == HISTORY_BUILDS and [b.article_ids for b in kept][-1] == [HISTORY_BUILDS + 1]
    assert kept[0].article_ids == [2]                                   # the oldest went first
    assert [b.article_ids for b in store.insight_builds(other)] == [[9]]


def test_a_build_without_ids_keeps_the_story_articles(store):
    sid = _story(store)
    src = store.upsert_source("Brindle Herald")
    art, _ = store.add_article(Article(url="https://brindle.example/w", title="Weir", source_id=src.id,
                                       text="Weir.", story_id=sid))
    assert store.save_story_insights(sid, version=1, article_count=1, data={"timeline": [], "disagreements": []},
                                     hashtags=[], dirty_mark=None)
    assert store.latest_insight_build(sid).article_ids == [art.id]


def test_visits_reload_keeps_the_previous_one_and_users_are_separate(store):
    sid = _story(store)
    ann = store.create_user("ann", "x").id
    bob = store.create_user("bob", "x").id
    assert store.last_story_visit(ann, sid) is None
    v1 = store.record_story_visit(ann, sid, now=T0)
    assert v1.previous_at is None and v1.visited_at == T0
    later = T0 + timedelta(hours=3)
    v2 = store.record_story_visit(ann, sid, now=later)
    assert (v2.previous_at, v2.visited_at) == (T0, later)
    reload = store.record_story_visit(ann, sid, now=later + timedelta(seconds=REVISIT_SECONDS - 1))
    assert reload.previous_at == T0                                         # still compares with T0
    assert store.last_story_visit(ann, sid) == reload
    # a build after the last visit makes even a quick return a new visit
    built = reload.visited_at + timedelta(seconds=5)
    v3 = store.record_story_visit(ann, sid, now=built + timedelta(seconds=5), changed_at=built)
    assert v3.previous_at == reload.visited_at
    again = store.record_story_visit(ann, sid, now=v3.visited_at + timedelta(seconds=1), changed_at=built)
    assert again.previous_at == reload.visited_at
    assert store.last_story_visit(bob, sid) is None
    assert store.record_story_visit(bob, sid, now=later).previous_at is None
    assert store.last_story_visit(ann, sid).previous_at == reload.visited_at


# -- the story page, while the pipeline adds articles --------------------------------------------------
def _marked_new(html: str) -> set[int]:
    doc = lxml.html.fromstring(html)
    return {int(h.rsplit("/", 1)[1]) for h in doc.xpath('//span[@class="new-mark"]/preceding-sibling::a[1]/@href')}


def _section(html: str):
    found = lxml.html.fromstring(html).xpath('//section[@id="whats-new"]')
    return found[0] if found else None


def _as(client: TestClient, store, username: str) -> int:
    """Sign `client` in as a new reader (a session made through the store); their id."""
    user = store.create_user(username, "x")
    client.cookies.set(SESSION_COOKIE, store.create_session(user.id, max_age=3600).token)
    return user.id


def test_the_next_visit_shows_exactly_what_arrived(settings, store):
    settings = settings.replace(page_cache_seconds=0)
    with FeedServer() as srv:
        for name, title in (("tide", "Tidewater Post"), ("vale", "Seddon Vale Echo"), ("ash", "Ashlow Courier")):
            store.add_feed(Feed(url=srv.add_feed(name, title)))
        srv.publish("tide", story_article("bridge", 0))
        srv.publish("vale", story_article("bridge", 1))
        refresh(store, settings, all_feeds=True)
        (story,) = store.list_stories(limit=5)
        first_ids = {a.id for a in store.list_articles(story_id=story.id, limit=50)}
        app = create_app(settings, store)
        with TestClient(app) as ann, TestClient(app) as bob, TestClient(app) as anon:
            ann_id = _as(ann, store, "ann")
            _as(bob, store, "bob")
            page = ann.get(f"/stories/{story.id}").text
            assert _section(page) is None and _marked_new(page) == set()      # a first visit: nothing to compare

            srv.publish("ash", story_article("bridge", 2))
            srv.publish("tide", story_article("bridge", 5))
            refresh(store, settings, all_feeds=True)
            now_ids = {a.id for a in store.list_articles(story_id=story.id, limit=50)}
            arrived = now_ids - first_ids
            assert len(arrived) == 2 and store.get_story(story.id).merged_into is None

            page = ann.get(f"/stories/{story.id}").text
            section = _section(page)
            assert section is not None and "New since your last visit" in section.text_content()
            assert _marked_new(page) == arrived                                  # exactly those
            counts = section.xpath('.//li[@class="count-articles"]')[0].text_content()
            assert counts.split() == ["2", "new", "articles"]
            assert "Ashlow Courier" in section.xpath('.//span[@class="new-publishers"]')[0].text_content()
            cites = section.xpath('.//p[@class="whats-new-text"]/a[@class="cite"]')
            assert {int(a.get("href").rsplit("/", 1)[1]) for a in cites} == arrived
            assert [a.text for a in cites] == [f"[{n}]" for n in range(1, len(cites) + 1)]
            summaries = store.article_summaries(arrived)
            text = section.xpath('.//p[@class="whats-new-text"]')[0].text_content()
            assert all(summaries[i][0] in text for i in arrived if summaries.get(i))

            again = ann.get(f"/stories/{story.id}").text                         # a reload keeps them
            assert _marked_new(again) == arrived and _section(again) is not None

            other = bob.get(f"/stories/{story.id}").text                          # bob: his own first visit
            assert _section(other) is None and _marked_new(other) == set()
            assert _marked_new(ann.get(f"/stories/{story.id}").text) == arrived  # ann's visit is untouched

            public = anon.get(f"/stories/{story.id}").text                        # anonymous: today's page
            assert _section(public) is None and _marked_new(public) == set()
            assert store.last_story_visit(ann_id, story.id).previous_at is not None
