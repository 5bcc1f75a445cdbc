"""The full-text index objects migrations 0004, 0010, 0011 and 0012 create, per backend, kept in
step with the articles by triggers."""

from __future__ import annotations

import sqlalchemy as sa

from newsloom.models import Article


def test_full_text_index_exists_and_is_used(store):
    with store.read() as conn:
        if store.is_sqlite:
            names = set(conn.execute(sa.text("SELECT name FROM sqlite_master")).scalars())
            assert {"articles_fts", "articles_fts_content", "articles_fts_ai", "articles_fts_ad",
                    "articles_fts_au"} <= names
            plan = " ".join(str(r) for r in conn.execute(sa.text(
                "EXPLAIN QUERY PLAN SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'x'")))
            assert "VIRTUAL TABLE INDEX" in plan
        else:
            conn.execute(sa.text("SET enable_seqscan = off"))
            plan = "\n".join(conn.execute(sa.text(
                "EXPLAIN SELECT article_id FROM article_search WHERE doc @@ websearch_to_tsquery('english', 'x')"
            )).scalars())
            assert "ix_article_search_doc_facets" in plan, plan
            plan = "\n".join(conn.execute(sa.text(
                "EXPLAIN SELECT article_id FROM article_search WHERE facets @@ to_tsquery('simple', 'src1')"
            )).scalars())
            assert "ix_article_search_doc_facets" in plan, plan
        # the originals (not wire copies) that search keeps: 0012, both backends
        plan = "\n".join(str(r) for r in conn.execute(sa.text(
            ("EXPLAIN QUERY PLAN " if store.is_sqlite else "EXPLAIN ")
            + "SELECT id FROM articles WHERE duplicate_of IS NULL AND id > 5 ORDER BY id DESC")))
        assert "ix_articles_original" in plan, plan


def test_postgres_search_documents_follow_inserts_edits_and_deletes(store):
    if store.is_sqlite:
        return      # FTS5's triggers: covered by the search tests' index-freshness test
    src = store.upsert_source("Quarry Times")
    a, _ = store.add_article(Article(url="https://q.example/doc", title="Kiln collapses", source_id=src.id,
                                     text="The old kiln fell in the night."))

    def doc():
        with store.read() as conn:
            return conn.execute(sa.text("SELECT doc::text FROM article_search WHERE article_id = :i"),
                                {"i": a.id}).scalar()
    assert "'kiln':1A" in doc() and "'night'" in doc()
    store.update_article(a.id, text="Rebuilt by spring.")
    assert "'spring'" in doc() and "'night'" not in doc()
    store.reset()
    with store.read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM article_search")).scalar() == 0
