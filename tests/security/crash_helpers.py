"""What the crash-safety tests share: the one check of a store after crashes, and where a kill landed.

:func:`crash_problems` is the whole verdict on a store that ingesting processes were
killed over and then restarted on: every published URL stored exactly once, the pipeline
finished (nothing pending, unclustered, dirty or without current insights), the store's
invariants (``integrity_problems`` of tests/service/conftest_celery.py, shared with the
scaled-out tests) and the database's own checks: on SQLite ``PRAGMA integrity_check``,
``PRAGMA foreign_key_check`` and the FTS5 index against its table; on PostgreSQL
``amcheck`` over the schema's B-tree indexes and tables when the extension can be had
(without it, the logical checks above stand alone).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import sqlalchemy as sa

SERVICE_TESTS = Path(__file__).resolve().parent.parent / "service"
if str(SERVICE_TESTS) not in sys.path:
    sys.path.insert(0, str(SERVICE_TESTS))

from conftest_celery import FeedServer, integrity_problems  # noqa: E402

from newsloom.store import Store  # noqa: E402
from newsloom.store.schema import articles  # noqa: E402
from newsloom.tasks.insights import INSIGHTS_VERSION  # noqa: E402

__all__ = ["crash_problems", "storage_problems", "settled", "landed", "feed_hits", "kill_point"]


def feed_hits(server: FeedServer) -> int:
    """Feed documents served so far: a process fetching them has started to ingest."""
    return sum(n for path, n in list(server.hits.items()) if path.startswith("/feeds/"))


def kill_point(rng: random.Random, backlog: int, *, page_delay: float, settle: float) -> tuple[int, float]:
    """A random moment of a run that has `backlog` entries to ingest, as (articles stored in
    this run to wait for, seconds to wait then). About one kill in three lands after its last
    article, in the `settle` seconds of clustering and insights that follow; the others among
    its pages (0 articles: while it saves the feeds or fetches the first pages). Counted in
    articles, not seconds, so that the spread holds on a slow machine too."""
    if backlog == 0 or rng.random() < 1 / 3:
        return backlog, rng.uniform(0, settle)
    return rng.randrange(backlog), rng.uniform(0, page_delay)


def settled(store: Store, expected: int) -> bool:
    """The pipeline has nothing left to do for `expected` articles."""
    counts = store.pipeline_counts()
    return (store.count_articles() >= expected and counts["pending_entries"] == 0
            and counts["unclustered_articles"] == 0 and store.count_dirty_stories() == 0
            and not store.stale_insight_story_ids(INSIGHTS_VERSION))


def landed(store: Store, expected: int) -> str:
    """Where a kill left the pipeline, read from the store: the work it interrupted."""
    counts = store.pipeline_counts()
    if counts["pending_entries"]:
        return "ingest"                  # entries recorded, not all stored
    if store.count_articles() < expected:
        return "feeds"                   # a feed fetched but its entries not recorded yet
    if counts["unclustered_articles"]:
        return "cluster"
    if store.count_dirty_stories() or store.stale_insight_story_ids(INSIGHTS_VERSION):
        return "insights"
    return "done"


def crash_problems(store: Store, published: list[str]) -> list[str]:
    """Everything wrong with `store` once its pipeline should have stored `published` (empty: all is well)."""
    problems = []
    with store.read() as conn:
        stored = dict(conn.execute(sa.select(articles.c.url, sa.func.count()).group_by(articles.c.url)).all())
        empty = conn.execute(sa.select(sa.func.count()).select_from(articles).where(
            sa.or_(articles.c.title == "", articles.c.text == ""))).scalar_one()
    missing = sorted(set(published) - set(stored))
    unexpected = sorted(set(stored) - set(published))
    twice = sorted(url for url, n in stored.items() if n > 1)
    if missing:
        problems.append(f"lost {len(missing)} of {len(published)} articles: {missing[:5]}")
    if unexpected:
        problems.append(f"stored {len(unexpected)} articles never published: {unexpected[:5]}")
    if twice:
        problems.append(f"stored {len(twice)} articles more than once: {twice[:5]}")
    if sum(stored.values()) != len(published):
        problems.append(f"{sum(stored.values())} articles stored for {len(published)} published")
    if empty:
        problems.append(f"{empty} articles without title or text")

    counts = store.pipeline_counts()
    for what in ("pending_entries", "unclustered_articles"):
        if counts[what]:
            problems.append(f"{what}: {counts[what]}")
    if dirty := store.count_dirty_stories():
        problems.append(f"dirty stories: {dirty}")
    if stale := store.stale_insight_story_ids(INSIGHTS_VERSION):
        problems.append(f"stories without current insights: {stale[:10]}")
    problems += integrity_problems(store)
    problems += storage_problems(store)
    return problems


def storage_problems(store: Store) -> list[str]:
    """The database engine's own verdict on its files and indexes."""
    return _sqlite_problems(store) if store.is_sqlite else _postgres_problems(store)


def _sqlite_problems(store: Store) -> list[str]:
    problems = []
    with store.read() as conn:
        verdict = list(conn.exec_driver_sql("PRAGMA integrity_check").scalars())
        if verdict != ["ok"]:
            problems.append(f"sqlite integrity_check: {verdict[:10]}")
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            problems.append(f"sqlite foreign_key_check: {[tuple(r) for r in broken[:10]]}")
    # the search index is kept by triggers in the articles' own transactions: after a crash it
    # must still agree with the table (rank 1: compare with the content table too)
    try:
        with store.write() as conn:
            conn.exec_driver_sql("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")
    except sa.exc.DBAPIError as exc:
        problems.append(f"sqlite search index: {exc.orig}")
    return problems


def _postgres_problems(store: Store) -> list[str]:
    problems = []
    with store.engine.connect() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
        conn.commit()
        try:
            # in public, not in the test's schema: the extension outlives the schema dropped after
            # the session, and a concurrent session may have created it first
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA public"))
            conn.commit()
        except sa.exc.DBAPIError:            # not installed on this server, or not ours to create
            conn.rollback()
        amcheck = conn.execute(sa.text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                                       "ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'")).scalar_one_or_none()
        conn.commit()
        if amcheck is None:
            return problems
        relations = conn.execute(sa.text(
            "SELECT c.oid, c.relname, c.relkind, am.amname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_am am ON am.oid = c.relam "
            "WHERE n.nspname = :schema AND c.relkind IN ('r', 'i') ORDER BY c.relname"), {"schema": schema}).all()
        conn.commit()
        for oid, name, kind, method in relations:
            if kind == "i" and method == "btree":
                # heapallindexed: every row of the table is found through the index too
                sql = f'SELECT "{amcheck}".bt_index_check(CAST(CAST(:oid AS oid) AS regclass), true)'
            elif kind == "r":
                sql = f'SELECT msg FROM "{amcheck}".verify_heapam(CAST(CAST(:oid AS oid) AS regclass))'
            else:
                continue                     # GIN and other methods: no checker before PostgreSQL 18
            try:
                found = [row[0] for row in conn.execute(sa.text(sql), {"oid": oid}).all() if row[0]]
                conn.commit()
            except sa.exc.DBAPIError as exc:
                conn.rollback()
                found = [str(exc.orig).strip()]
            if found:
                problems.append(f"postgres amcheck {name}: {found[:5]}")
    return problems
