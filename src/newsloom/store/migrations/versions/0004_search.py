"""search: full-text index over articles (SQLite FTS5 / PostgreSQL tsvector), browse indexes

SQLite: ``articles_fts`` is an external-content FTS5 table over ``articles(title, text)``
(rowid = articles.id, porter + unicode61 tokenizer), kept in step by three triggers on
``articles``. A later migration that rebuilds ``articles`` in batch mode (copy, drop,
rename) drops those triggers with the old table: it must recreate them (``_sqlite_up``)
and run the FTS5 'rebuild' command.

PostgreSQL: a GIN index on the weighted tsvector expression below (title weight A, text
weight B). ``store/search.py`` (PG_DOCUMENT) queries the very same expression, so the
planner can use the index; change both together.

Both: indexes for the publisher and hashtag pages (articles.source_id, article_tags.tag_id).

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

PG_DOCUMENT = ("setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
               "setweight(to_tsvector('english'::regconfig, left(coalesce(text, ''), 100000)), 'B')")

SQLITE_UP = [
    "CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER articles_fts_au AFTER UPDATE OF title, text ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for statement in SQLITE_UP:
            op.execute(statement)
    elif dialect == 'postgresql':
        op.execute(f"CREATE INDEX ix_articles_search ON articles USING gin (({PG_DOCUMENT}))")
    op.create_index('ix_articles_source_id', 'articles', ['source_id'], unique=False)
    op.create_index('ix_article_tags_tag_id', 'article_tags', ['tag_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_article_tags_tag_id', table_name='article_tags')
    op.drop_index('ix_articles_source_id', table_name='articles')
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for name in ('articles_fts_au', 'articles_fts_ad', 'articles_fts_ai'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    elif dialect == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_articles_search")
