"""Search ranks the newest matches and counts them up to a cap (store/search.py). On
PostgreSQL they are read from windows of the newest ids, intersected in the GIN index through
id-block tokens (migration 0012). Whatever path a query takes, what comes back is what a
plain scan of every article gives, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from newsloom.models import Article
from newsloom.store import search as search_mod
from newsloom.store.search import FACET_ID_LEVELS, id_facets

T0 = datetime(2026, 2, 20, 6, 0, tzinfo=timezone.utc)
MIGRATION = (Path(search_mod.__file__).parent / "migrations" / "versions" / "0012_search_id_blocks.py")


def _block(token: str) -> range:
    for prefix, bits in FACET_ID_LEVELS:
        if token.startswith(prefix):
            n = int(token[len(prefix):])
            return range(n << bits, (n + 1) << bits)
    raise AssertionError(token)


def test_id_facets_cover_the_range_with_few_disjoint_blocks():
    rng = random.Random(5)
    small = 1 << FACET_ID_LEVELS[0][1]
    for _ in range(400):
        first = rng.randrange(3_000_000)
        last = first + rng.choice([0, 1, 100, 4095, 70_000, rng.randrange(3_000_000)])
        blocks = sorted((_block(t) for t in id_facets(first, last)), key=lambda r: r.start)
        for a, b in zip(blocks, blocks[1:]):
            assert a.stop == b.start, (first, last)          # contiguous, no overlap
        assert blocks[0].start == first - first % small       # whole small blocks at the ends
        assert blocks[-1].stop == last - last % small + small
        assert len(blocks) <= 2 * 7 * len(FACET_ID_LEVELS) + (last >> FACET_ID_LEVELS[-1][1]) - (first >> 19) + 1
    assert id_facets(0, 5) == ["ida0"]
    assert id_facets(1, (1 << 19) - 1) == ["idd0"]
    assert id_facets(5000, 5000) == ["ida4"]


def test_the_trigger_writes_the_blocks_search_asks_for(pg_url):
    """The migration's SQL and id_facets agree on every level, for ids small and large."""
    spec = importlib.util.spec_from_file_location("m0012", MIGRATION)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            for i in (1, 1023, 1024, 8191, 8192, 65_536, 524_287, 524_288, 9_876_543):
                sql = "SELECT array_to_string(tsvector_to_array(" + m.ID_BLOCKS.format(id=":i") + "), ' ')"
                got = set(conn.execute(sa.text(sql), {"i": i}).scalar_one().split())
                assert got == {f"{p}{i >> b}" for p, b in FACET_ID_LEVELS}, i
                assert {t for t in got if i in _block(t)} == got
                assert id_facets(i, i)[0] in got
    finally:
        engine.dispose()


@pytest.fixture
def small_caps(monkeypatch):
    """The caps shrunk so that a few hundred articles take every path: windows that hold
    more than the cap, windows that widen, the plain scan, and matches older than every
    window."""
    monkeypatch.setattr(search_mod, "MAX_RESULTS", 24)
    monkeypatch.setattr(search_mod, "RANK_WINDOW", 10)
    monkeypatch.setattr(search_mod, "FIRST_WINDOW", 8)


def test_newest_matches_and_count_equal_a_plain_scan(store, small_caps):
    rng = random.Random(17)
    src = [store.upsert_source(n) for n in ("Lantern Post", "Wick Daily")]
    words: dict[int, set[str]] = {}
    for i in range(220):
        w = {"lanthorn"}
        if rng.random() < 0.6:
            w.add("guild")                         # dense: a window holds more than the cap
        if rng.random() < 0.12:
            w.add("tallow")                        # sparse: windows widen, then a plain scan
        if i < 60:
            w.add("wick")                          # more than the cap, all older than the windows
        if i in (3, 150, 219):
            w.add("snuffer")                       # rare
        a, _ = store.add_article(Article(
            url=f"https://l.example/{i}", title=f"Report {i}", source_id=src[i % 2].id,
            published_at=T0 + timedelta(hours=i), fetched_at=T0 + timedelta(hours=i),
            text=" ".join(sorted(w)) + f" and the hall, meeting {i}."))
        words[a.id] = w
    since = T0 + timedelta(hours=100)
    for q in ("guild", "tallow", "wick", "snuffer", "lanthorn", "guild tallow", "guild -tallow", "nothing"):
        for source_id, frm in ((None, None), (src[0].id, None), (None, since)):
            keep = [i for i, w in words.items()
                    if all(t in w for t in q.split() if not t.startswith("-"))
                    and not any(t[1:] in w for t in q.split() if t.startswith("-"))
                    and (source_id is None or store.get_article(i).source_id == source_id)
                    and (frm is None or store.get_article(i).published_at >= frm)]
            got = store.search(q, source_id=source_id, since=frm, limit=200)
            assert {h.article.id for h in got.hits} == set(sorted(keep)[-10:]), (q, source_id, frm)
            assert got.total == min(len(keep), 24), (q, source_id, frm)
