"""search: the filters in the text index (publisher, day, month and year tokens)

A search with a publisher or a date range used to test each text match against the filter,
newest first: a common word with a filter that leaves a dozen matches walked every match of
the word (hundreds of milliseconds at 1,000,000 articles). Each article's full-text entry
now also holds its *facets*: ``src<source id>``, ``day<YYYYMMDD>``, ``mon<YYYYMM>`` and
``yr<YYYY>`` of its published (else fetched) time, UTC, so the engine intersects the word's
matches with the filter's (store/search.py, ``facet_terms``, writes the same tokens).

SQLite: ``articles_fts`` gets a third column, ``facets``. Its external content becomes the
view ``articles_fts_content`` (articles plus the computed facets), so 'rebuild' and the
'delete' of the triggers see exactly what was indexed; the update trigger also fires when the
publisher or the times change.

PostgreSQL: ``article_search`` gets a ``facets`` tsvector (the same tokens, 'simple'
configuration), set by the same trigger function, which now also runs when the publisher or
the times change. One GIN index covers the document and the facets together (it replaces
0010's index on the document alone).

Both: an index on ``coalesce(published_at, fetched_at)``, the time search filters and sorts by.

Revision ID: 0011
Revises: 0010
"""
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# The token formats are store/search.py's FACET_* (kept in step by tests/store/test_search_facets.py).
SQLITE_FACETS = ("'src' || coalesce({row}source_id, 0) || ' ' || coalesce(strftime('day%Y%m%d mon%Y%m yr%Y', "
                 "coalesce({row}published_at, {row}fetched_at)), '')")
SQLITE_COLUMNS = "rowid, title, text, facets"
SQLITE_NEW = "new.id, new.title, new.text, " + SQLITE_FACETS.format(row="new.")
SQLITE_OLD = "old.id, old.title, old.text, " + SQLITE_FACETS.format(row="old.")
SQLITE_WATCHED = "title, text, source_id, published_at, fetched_at"

SQLITE_UP = [
    "DROP TRIGGER IF EXISTS articles_fts_ai",
    "DROP TRIGGER IF EXISTS articles_fts_ad",
    "DROP TRIGGER IF EXISTS articles_fts_au",
    "DROP TABLE IF EXISTS articles_fts",
    f"CREATE VIEW articles_fts_content AS SELECT id, title, text, {SQLITE_FACETS.format(row='')} AS facets "
    "FROM articles",
    "CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, facets, content='articles_fts_content', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN "
    f"INSERT INTO articles_fts({SQLITE_COLUMNS}) VALUES ({SQLITE_NEW}); END",
    f"CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN "
    f"INSERT INTO articles_fts(articles_fts, {SQLITE_COLUMNS}) VALUES ('delete', {SQLITE_OLD}); END",
    f"CREATE TRIGGER articles_fts_au AFTER UPDATE OF {SQLITE_WATCHED} ON articles BEGIN "
    f"INSERT INTO articles_fts(articles_fts, {SQLITE_COLUMNS}) VALUES ('delete', {SQLITE_OLD}); "
    f"INSERT INTO articles_fts({SQLITE_COLUMNS}) VALUES ({SQLITE_NEW}); END",
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
]

# 0004's table and triggers, for downgrade.
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS articles_fts_ai",
    "DROP TRIGGER IF EXISTS articles_fts_ad",
    "DROP TRIGGER IF EXISTS articles_fts_au",
    "DROP TABLE IF EXISTS articles_fts",
    "DROP VIEW IF EXISTS articles_fts_content",
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

DOCUMENT = ("setweight(to_tsvector('english'::regconfig, coalesce({row}title, '')), 'A') || "
            "setweight(to_tsvector('english'::regconfig, left(coalesce({row}text, ''), 100000)), 'B')")
PG_FACETS = ("to_tsvector('simple'::regconfig, 'src' || coalesce({row}source_id, 0) || ' ' || "
             "coalesce(to_char(coalesce({row}published_at, {row}fetched_at), "
             "'\"day\"YYYYMMDD \"mon\"YYYYMM \"yr\"YYYY'), ''))")


def _pg_function(facets: bool) -> str:
    columns, values, update = "article_id, doc", f"NEW.id, {DOCUMENT.format(row='NEW.')}", "doc = EXCLUDED.doc"
    if facets:
        columns += ", facets"
        values += f", {PG_FACETS.format(row='NEW.')}"
        update += ", facets = EXCLUDED.facets"
    return ("CREATE OR REPLACE FUNCTION newsloom_article_search() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO article_search ({columns}) VALUES ({values}) "
            f"ON CONFLICT (article_id) DO UPDATE SET {update}; RETURN NEW; END $$")


PG_UP = [
    "ALTER TABLE article_search ADD COLUMN facets tsvector",
    f"UPDATE article_search SET facets = {PG_FACETS.format(row='a.')} FROM articles a "
    "WHERE a.id = article_search.article_id",
    "ALTER TABLE article_search ALTER COLUMN facets SET NOT NULL",
    # One GIN index over both columns: a query on the text and the facets is one index
    # scan that skips through the larger posting lists at the smaller one's entries (with
    # two indexes the planner ANDed two whole bitmaps: 55 ms for a rare word and a month).
    "CREATE INDEX ix_article_search_doc_facets ON article_search USING gin (doc, facets)",
    "DROP INDEX ix_article_search_doc",
    _pg_function(facets=True),
    "DROP TRIGGER IF EXISTS articles_search_au ON articles",
    "CREATE TRIGGER articles_search_au AFTER UPDATE OF title, text, source_id, published_at, fetched_at "
    "ON articles FOR EACH ROW EXECUTE FUNCTION newsloom_article_search()",
    "ANALYZE article_search",
]

PG_DOWN = [
    _pg_function(facets=False),
    "DROP TRIGGER IF EXISTS articles_search_au ON articles",
    "CREATE TRIGGER articles_search_au AFTER UPDATE OF title, text ON articles FOR EACH ROW "
    "EXECUTE FUNCTION newsloom_article_search()",
    "CREATE INDEX ix_article_search_doc ON article_search USING gin (doc)",
    "DROP INDEX IF EXISTS ix_article_search_doc_facets",
    "ALTER TABLE article_search DROP COLUMN facets",
]


# Both: an index on the time search filters and sorts by. Without it PostgreSQL guessed that
# a year of articles was 0.5% of them and scanned every article to test the date (1.2 s at
# 1,000,000 articles for a rare word and a year).
WHEN_INDEX = "CREATE INDEX ix_articles_when ON articles (coalesce(published_at, fetched_at))"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UP, "postgresql": PG_UP}.get(dialect, []):
        op.execute(statement)
    op.execute(WHEN_INDEX)
    if dialect == "postgresql":
        op.execute("ANALYZE articles")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_articles_when")
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWN, "postgresql": PG_DOWN}.get(dialect, []):
        op.execute(statement)
