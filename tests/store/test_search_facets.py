"""Search filters as facets of the text index (migration 0011): a publisher or a date range
is intersected inside the engine, and what comes back is exactly what the plain conditions
keep, on SQLite and PostgreSQL, also after an article changes publisher or date."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from newsloom.models import Article
from newsloom.store import Store, open_store
from newsloom.store import migrate as migrations
from newsloom.store.search import (FACET_DAY, FACET_MONTH, FACET_SOURCE, FACET_YEAR, FACET_YEARS, _date_facets,
                                   facet_terms, facets_are_exact)

T0 = datetime(2026, 2, 20, 6, 0, tzinfo=timezone.utc)


def _days_of(tokens: list[str]) -> set[date]:
    """The days a list of facet tokens stands for."""
    out: set[date] = set()
    for t in tokens:
        if t.startswith("yr"):
            d, end = date(int(t[2:]), 1, 1), date(int(t[2:]), 12, 31)
        elif t.startswith("mon"):
            y, m = int(t[3:7]), int(t[7:9])
            d, end = date(y, m, 1), date(y + m // 12, m % 12 + 1, 1) - timedelta(days=1)
        else:
            d = end = datetime.strptime(t, FACET_DAY).date()
        while d <= end:
            assert d not in out, f"{t} overlaps another token"
            out.add(d)
            d += timedelta(days=1)
    return out


def test_date_facets_cover_exactly_the_days_of_the_range():
    rng = random.Random(7)
    for _ in range(300):
        first = date(2019, 1, 1) + timedelta(days=rng.randrange(3000))
        last = first + timedelta(days=rng.choice([0, 1, 6, 29, 30, 31, 59, 364, 365, 366, 800, rng.randrange(2000)]))
        tokens = _date_facets(first, last)
        want = {first + timedelta(days=i) for i in range((last - first).days + 1)}
        assert _days_of(tokens) == want, (first, last)
        assert len(tokens) <= 2 * (30 + 11) + (last.year - first.year + 1)
    assert _date_facets(date(2026, 1, 1), date(2026, 12, 31)) == ["yr2026"]
    assert _date_facets(date(2026, 3, 1), date(2026, 4, 30)) == ["mon202603", "mon202604"]
    assert _date_facets(date(2026, 3, 31), date(2026, 4, 1)) == ["day20260331", "day20260401"]


def test_facet_terms_for_publisher_open_ends_and_odd_ranges():
    assert facet_terms() == []
    assert facet_terms(source_id=12) == [[FACET_SOURCE.format(12)]]
    # `until` is exclusive: midnight ends the day before; an aware time in another zone is UTC here
    plus2 = timezone(timedelta(hours=2))
    groups = facet_terms(since=datetime(2026, 3, 5, 1, 0, tzinfo=plus2), until=datetime(2026, 3, 7, tzinfo=timezone.utc))
    assert groups == [["day20260304", "day20260305", "day20260306"]]
    open_end = facet_terms(since=datetime(2026, 12, 30, tzinfo=timezone.utc))[0]
    assert open_end[:2] == ["day20261230", "day20261231"] and open_end[-1] == f"yr{FACET_YEARS[1]}"
    open_start = facet_terms(until=datetime(1971, 1, 2, tzinfo=timezone.utc))[0]
    assert open_start == ["yr1970", "day19710101"]
    assert facet_terms(since=datetime(1850, 1, 1, tzinfo=timezone.utc)) == []      # no date group: too old
    assert facet_terms(since=T0, until=T0 - timedelta(days=1)) == [["day0"]]          # empty range
    assert FACET_MONTH == "mon%Y%m" and FACET_YEAR == "yr%Y"
    # the tokens alone keep a range of whole UTC days within FACET_YEARS, and nothing else
    midnight = datetime(2026, 3, 5, tzinfo=timezone.utc)
    assert facets_are_exact(None, None) and facets_are_exact(midnight, None) and facets_are_exact(None, midnight)
    assert facets_are_exact(midnight.astimezone(plus2), midnight + timedelta(days=2))
    assert not facets_are_exact(midnight + timedelta(hours=1), None)
    assert not facets_are_exact(datetime(2026, 3, 5, tzinfo=plus2), None)
    assert not facets_are_exact(datetime(1850, 1, 1, tzinfo=timezone.utc), None)


def _corpus(store) -> list[Article]:
    """40 articles over three publishers and ~16 months, all with the word 'lanthorn'; some
    with no published time (their fetched time counts)."""
    rng = random.Random(3)
    sources = [store.upsert_source(n) for n in ("Lantern Post", "Wick Daily", "Ember Herald")]
    out = []
    for i in range(40):
        when = T0 - timedelta(days=rng.randrange(480), hours=rng.randrange(24))
        published = None if i % 7 == 3 else when
        a, _ = store.add_article(Article(
            url=f"https://l.example/{i}", title=f"Lanthorn report {i}", source_id=sources[i % 3].id,
            published_at=published, fetched_at=when, text=f"The lanthorn guild met for the {i}th time."))
        out.append(store.get_article(a.id))
    return out


def _when(a: Article) -> datetime:
    return a.published_at or a.fetched_at


def test_filtered_search_returns_exactly_what_the_conditions_keep(store):
    arts = _corpus(store)
    sources = sorted({a.source_id for a in arts})
    rng = random.Random(11)
    cases = [(None, None, None), (sources[0], None, None)]
    for n in range(30):
        since = T0 - timedelta(days=rng.randrange(500), hours=rng.randrange(24))
        until = since + timedelta(days=rng.choice([1, 3, 30, 90, 400]), hours=rng.randrange(24))
        if n % 3 == 1:  # whole UTC days, as the search page asks: the facets alone keep the range
            since, until = (d.replace(hour=0, minute=0) for d in (since, until))
            assert facets_are_exact(since, until)
        elif n % 3 == 2:  # ends a minute past one article and at another: their days' facets keep too much
            first, last = sorted(rng.sample([_when(a) for a in arts], 2))
            since, until = first + timedelta(minutes=1), last
        cases.append((rng.choice([None, *sources]), rng.choice([since, None]), rng.choice([until, None])))
    for source_id, since, until in cases:
        want = {a.id for a in arts
                if (source_id is None or a.source_id == source_id)
                and (since is None or _when(a) >= since) and (until is None or _when(a) < until)}
        got = store.search("lanthorn", source_id=source_id, since=since, until=until, limit=100)
        assert {h.article.id for h in got.hits} == want, (source_id, since, until)
        assert got.total == len(want)


def test_facets_follow_a_change_of_publisher_or_date(store):
    a_src, b_src = store.upsert_source("Lantern Post"), store.upsert_source("Wick Daily")
    a, _ = store.add_article(Article(url="https://l.example/move", title="Lanthorn moved", source_id=a_src.id,
                                     published_at=T0, fetched_at=T0, text="The guild hall moved."))

    def found(**filters) -> bool:
        return a.id in {h.article.id for h in store.search("lanthorn", **filters).hits}
    day = dict(since=T0.replace(hour=0), until=T0.replace(hour=0) + timedelta(days=1))
    assert found(source_id=a_src.id, **day) and not found(source_id=b_src.id)
    store.update_article(a.id, source_id=b_src.id, published_at=T0 - timedelta(days=40))
    assert found(source_id=b_src.id) and not found(source_id=a_src.id) and not found(**day)
    assert found(since=T0 - timedelta(days=41), until=T0 - timedelta(days=39))
    with store.write() as conn:
        conn.execute(sa.text("DELETE FROM articles WHERE id = :i"), {"i": a.id})
    assert not found(source_id=b_src.id)


def test_a_users_word_never_matches_a_facet(store):
    src = store.upsert_source("Lantern Post")
    store.add_article(Article(url="https://l.example/f", title="Guild meets", source_id=src.id,
                              published_at=T0, fetched_at=T0, text="Nothing more."))
    for word in (FACET_SOURCE.format(src.id), T0.strftime(FACET_DAY), T0.strftime(FACET_MONTH), T0.strftime(FACET_YEAR)):
        assert store.search(word).total == 0, word
    assert store.search("guild", source_id=src.id).total == 1


def test_upgrading_a_filled_store_indexes_the_facets_of_its_articles(tmp_path, pg_schema_factory):
    """Migrations 0011 and 0012 on a store that already holds articles (0010): the FTS5
    rebuild and the PostgreSQL backfill give every stored article its facets, and later
    edits keep them."""
    for url in (f"sqlite:///{tmp_path / 'old.db'}", pg_schema_factory("nl_upgrade")):
        old = Store(url)
        with old.write() as conn:
            migrations.upgrade(conn, "0010")
        src = old.upsert_source("Lantern Post")
        a, _ = old.add_article(Article(url="https://l.example/old", title="Lanthorn archive", source_id=src.id,
                                       published_at=T0, fetched_at=T0, text="Kept from before."))
        old.close()
        store = open_store(url)                       # migrates to head
        try:
            assert store.schema_revision() == "0012"
            if not store.is_sqlite:                   # 0012: the id-block tokens (test_search_newest.py)
                with store.read() as conn:
                    facets = conn.execute(sa.text("SELECT tsvector_to_array(facets) FROM article_search "
                                                  "WHERE article_id = :i"), {"i": a.id}).scalar_one()
                assert {f"ida{a.id >> 10}", f"idd{a.id >> 19}"} <= set(facets), facets
            day = dict(since=T0.replace(hour=0), until=T0.replace(hour=0) + timedelta(days=1))
            assert [h.article.id for h in store.search("lanthorn", source_id=src.id, **day).hits] == [a.id]
            assert store.search("lanthorn", source_id=src.id + 1).total == 0
            store.update_article(a.id, published_at=T0 + timedelta(days=3))
            assert store.search("lanthorn", **day).total == 0
        finally:
            store.reset()
            store.close()
