"""The full-text index objects migration 0004 creates, per backend."""

from __future__ import annotations

import sqlalchemy as sa

from newsloom.store.search import PG_DOCUMENT


def test_full_text_index_exists_and_is_used(store):
    with store.read() as conn:
        if store.is_sqlite:
            names = set(conn.execute(sa.text("SELECT name FROM sqlite_master")).scalars())
            assert {"articles_fts", "articles_fts_ai", "articles_fts_ad", "articles_fts_au"} <= names
            plan = " ".join(str(r) for r in conn.execute(sa.text(
                "EXPLAIN QUERY PLAN SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'x'")))
            assert "VIRTUAL TABLE INDEX" in plan
        else:
            conn.execute(sa.text("SET enable_seqscan = off"))
            plan = "\n".join(conn.execute(sa.text(
                f"EXPLAIN SELECT id FROM articles WHERE ({PG_DOCUMENT}) @@ websearch_to_tsquery('english', 'x')"
            )).scalars())
            assert "ix_articles_search" in plan, plan
