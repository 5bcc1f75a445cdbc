"""search: id-block tokens in PostgreSQL's facets (the newest matches without a whole bitmap), an index of originals

PostgreSQL search ranks the newest matches of a query (store/search.py, ``_fts_pg``). A GIN
index returns matches in no useful order, so a common word used to cost the bitmap of all its
matches (15-65 ms at 1,000,000 articles) before the newest could be picked. Each article's
facets now also hold the tokens of the blocks its id falls in, at four sizes: ``ida<id >> 10>``,
``idb<id >> 13>``, ``idc<id >> 16>``, ``idd<id >> 19>`` (store/search.py, ``FACET_ID_LEVELS``
and ``id_facets``), so "the matches among the newest N articles" is an AND inside the same
GIN index, which skips through the word's posting list at the window's entries.

SQLite needs none: FTS5 yields matches in id order.

Both: ``ix_articles_original``, the ids of articles that are not wire copies. Search leaves
copies out, and with this index PostgreSQL checks each match in the index alone instead of
reading the article's row (a band of 2,500 matches at 1,000,000 articles: 26 -> 16 ms).

The tokens are added to every stored row's facets, with the GIN index dropped and built again
(at 1,000,000 articles: 20 s for the rows, 2.3 min for the index, measured with these
statements on the search bench's store), and written by the trigger function from now on; an
article's id never changes, so no trigger needs to watch more columns.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# 0011's facets of a row (see that migration), and the id-block tokens added here.
FACETS_0011 = ("to_tsvector('simple'::regconfig, 'src' || coalesce({row}source_id, 0) || ' ' || "
               "coalesce(to_char(coalesce({row}published_at, {row}fetched_at), "
               "'\"day\"YYYYMMDD \"mon\"YYYYMM \"yr\"YYYY'), ''))")
ID_BLOCKS = ("to_tsvector('simple'::regconfig, 'ida' || ({id} >> 10) || ' idb' || ({id} >> 13) || "
             "' idc' || ({id} >> 16) || ' idd' || ({id} >> 19))")
DOCUMENT = ("setweight(to_tsvector('english'::regconfig, coalesce({row}title, '')), 'A') || "
            "setweight(to_tsvector('english'::regconfig, left(coalesce({row}text, ''), 100000)), 'B')")


def _pg_function(facets: str) -> str:
    return ("CREATE OR REPLACE FUNCTION newsloom_article_search() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO article_search (article_id, doc, facets) VALUES (NEW.id, {DOCUMENT.format(row='NEW.')}, "
            f"{facets}) ON CONFLICT (article_id) DO UPDATE SET doc = EXCLUDED.doc, facets = EXCLUDED.facets; "
            "RETURN NEW; END $$")


# Every row is rewritten, so the GIN index is dropped first and built again after: kept, it
# would take a new entry for every word of every article.
GIN = "CREATE INDEX ix_article_search_doc_facets ON article_search USING gin (doc, facets)"
# Memory for that build, this transaction only (the server's default, 64 MB, builds in more passes).
BUILD_MEMORY = "SET LOCAL maintenance_work_mem = '256MB'"
PG_UP = [
    _pg_function(FACETS_0011.format(row="NEW.") + " || " + ID_BLOCKS.format(id="NEW.id")),
    BUILD_MEMORY,
    "DROP INDEX ix_article_search_doc_facets",
    f"UPDATE article_search SET facets = facets || {ID_BLOCKS.format(id='article_id')}",
    GIN,
    "ANALYZE article_search",
]
PG_DOWN = [
    _pg_function(FACETS_0011.format(row="NEW.")),
    BUILD_MEMORY,
    "DROP INDEX ix_article_search_doc_facets",
    f"UPDATE article_search SET facets = {FACETS_0011.format(row='a.')} FROM articles a "
    "WHERE a.id = article_search.article_id",
    GIN,
]


ORIGINALS = "CREATE INDEX ix_articles_original ON articles (id) WHERE duplicate_of IS NULL"


def upgrade() -> None:
    op.execute(ORIGINALS)
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_UP:
            op.execute(statement)
        op.execute("ANALYZE articles")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_DOWN:
            op.execute(statement)
    op.execute("DROP INDEX IF EXISTS ix_articles_original")
