"""PostgreSQL: each article's search document stored, not re-derived

0004 indexed an expression (the weighted tsvector of title and text): the index found the
matches, but ranking them, and finding the newest of them, parsed every matching article's
text again (about 0.4 ms an article: two seconds for a common word at 200,000 articles).
This stores the same tsvector in ``article_search`` (one row per article, kept by triggers on
``articles``), indexed by GIN, so ranking reads it and "the newest matches" is a walk down the
article ids that tests each stored document. The expression index goes.

SQLite: nothing (FTS5 already stores its index and ranks from it).

Revision ID: 0010
Revises: 0009
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

DOCUMENT = ("setweight(to_tsvector('english'::regconfig, coalesce({row}title, '')), 'A') || "
            "setweight(to_tsvector('english'::regconfig, left(coalesce({row}text, ''), 100000)), 'B')")

PG_UP = [
    "CREATE TABLE article_search (article_id integer PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE, "
    "doc tsvector NOT NULL)",
    f"INSERT INTO article_search (article_id, doc) SELECT id, {DOCUMENT.format(row='')} FROM articles",
    "CREATE INDEX ix_article_search_doc ON article_search USING gin (doc)",
    "CREATE FUNCTION newsloom_article_search() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"INSERT INTO article_search (article_id, doc) VALUES (NEW.id, {DOCUMENT.format(row='NEW.')}) "
    "ON CONFLICT (article_id) DO UPDATE SET doc = EXCLUDED.doc; RETURN NEW; END $$",
    "CREATE TRIGGER articles_search_ai AFTER INSERT ON articles FOR EACH ROW "
    "EXECUTE FUNCTION newsloom_article_search()",
    "CREATE TRIGGER articles_search_au AFTER UPDATE OF title, text ON articles FOR EACH ROW "
    "EXECUTE FUNCTION newsloom_article_search()",
    "DROP INDEX IF EXISTS ix_articles_search",
    "ANALYZE article_search",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for statement in PG_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"CREATE INDEX ix_articles_search ON articles USING gin (({DOCUMENT.format(row='')}))")
        op.execute("DROP TRIGGER IF EXISTS articles_search_au ON articles")
        op.execute("DROP TRIGGER IF EXISTS articles_search_ai ON articles")
        op.execute("DROP FUNCTION IF EXISTS newsloom_article_search()")
        op.execute("DROP TABLE IF EXISTS article_search")
