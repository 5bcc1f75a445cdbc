"""Store methods for search, ranking and browsing (mixed into Store).

Full text, one interface over two engines (indexes from migrations 0004, 0010, 0011 and 0012):

* SQLite: the FTS5 table ``articles_fts`` (external content over articles.title/text and
  the facets, porter stemming, kept in step by triggers). Rank ``bm25(articles_fts, 5.0,
  1.0, 0.0)`` (a title hit weighs five text hits, the facets nothing); highlights ``highlight()`` on the title and
  ``snippet()`` on the text.
* PostgreSQL: ``article_search``, each article's weighted tsvector (title weight A, text
  weight B) stored by triggers and indexed by GIN; rank ``ts_rank_cd`` over the stored
  documents; highlights ``ts_headline``.

Both also index each article's *facets* (migration 0011): a token for its publisher and for
its published day, month and year (:func:`facet_terms`), so a publisher or date filter is
intersected inside the engine instead of being tested on every text match.

Both rank only the newest :data:`RANK_WINDOW` matches (highest article ids: arrival order),
so a word in every other article costs a bounded amount, and counts stop at MAX_RESULTS + 1
(nothing past it is reachable). FTS5 streams matches in id order; PostgreSQL reads them in
bands of the newest ids, which its facets also index (id-block tokens, migration 0012:
:func:`id_facets`).

A user's query never reaches either engine as written. :func:`parse_query` reduces it to
terms made of letters and digits (words, "quoted phrases", ``-excluded``, ``a OR b``);
each engine gets a query built from those terms only (FTS5: every term double-quoted;
PostgreSQL: one ``websearch_to_tsquery()`` per term, bound as a parameter, combined with
``&&`` / ``||`` / ``!!``). Unbalanced quotes, ``AND OR``, ``NEAR(``, ``title:``, ``*``
are plain text to the parser, so no query is a syntax error.

Meaning, too: given the query's embedding, the :data:`VECTOR_POOL` nearest stored articles
(store/vectors.py) that pass the same filters join the candidates, so "prisoner swap" can find
a story that only says "detainee exchange".

SQL only: ranking policy lives in enrich/rank.py. :meth:`SearchMixin.search` hands the top
:data:`POOL` full-text matches and the vector candidates (id, title, lead, time, and each one's
cosine to the query) to the caller's re-ranker (the hybrid fusion) and pages through the
result; matches past the pool follow in full-text order, so pages never repeat or skip a
result; at most :data:`MAX_RESULTS` are reachable. The home
page's ranking reads :meth:`list_stories` and :meth:`recent_article_counts`.
"""

from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable

import numpy as np
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from ..errors import NewsloomError, NotFound
from ..models import Article, Source, Story, Tag
from .rows import to_model
from .schema import MAX_ID, articles, comments, feeds, sources, stories, story_tags, tags, users

__all__ = ["SearchMixin", "SearchHit", "SearchResults", "TagCount", "ParsedQuery", "Term", "parse_query",
           "facet_terms", "facets_are_exact", "id_facets", "mark_html", "Reranker", "POOL", "VECTOR_POOL", "MAX_RESULTS"]

POOL = 200                 # full-text candidates that get the hybrid (fused) ranking
VECTOR_POOL = 100          # nearest stored articles that join them (hybrid search)
MAX_RESULTS = 1000         # deepest reachable result
RANK_WINDOW = 500          # the newest this many text matches are ranked (_fts_sqlite, _fts_pg)
MAX_QUERY_CHARS = 256
MAX_TERMS = 12
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"   # private-use markers, turned into <mark> after escaping
# (query words, rows (id, title, lead, when) of every candidate, full-text pool ids best first,
#  cosine to the query per candidate that has a vector) -> (order, fused score per id, semantic score per id)
Reranker = Callable[[list[str], list[Any], list[int], dict[int, float]],
                    tuple[list[int], dict[int, float], dict[int, float]]]

_PG_CONFIG = "'english'::regconfig"
_PG_TITLE_OPTS = f"HighlightAll=true, StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}"
_PG_TEXT_OPTS = (f'MaxFragments=2, MaxWords=28, MinWords=10, FragmentDelimiter=" … ", '
                 f"StartSel={MARK_OPEN}, StopSel={MARK_CLOSE}")

# Facets (migration 0011): each article's full-text entry also holds these tokens of its
# publisher and of its published (else fetched) UTC day, month and year, so a filter is a
# posting list the engine intersects with the words' instead of a test on every match.
FACET_SOURCE = "src{}"
FACET_DAY, FACET_MONTH, FACET_YEAR = "day%Y%m%d", "mon%Y%m", "yr%Y"
# Dates outside these years get no date facet in a query (the plain condition still applies).
FACET_YEARS = (1970, 2100)
# PostgreSQL only (migration 0012): tokens of the article id's blocks, at four sizes (2^10,
# 2^13, 2^16 and 2^19 ids), so "the matches among the newest N articles" is an intersection
# in the GIN index too (SQLite's FTS5 streams matches in id order and needs none).
FACET_ID_LEVELS = (("ida", 10), ("idb", 13), ("idc", 16), ("idd", 19))
# The newest ids _fts_pg reads first; each next band of ids is sized from the
# density of matches found in the last.
FIRST_WINDOW = 4096

_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ue000\ue001]")
_PG_TEXT_STRIP = re.compile(r"[^\w\s'.-]|_")


# -- query parsing ----------------------------------------------------------------
@dataclass(frozen=True)
class Term:
    """A word or an exact phrase: lower-case letters and digits only."""

    words: tuple[str, ...]
    text: str                  # sanitised original (letters, digits, - . ') for websearch_to_tsquery

    def fts5(self) -> str:
        return '"' + " ".join(self.words) + '"'

    def websearch(self) -> str:
        return f'"{self.text}"'

    def __str__(self) -> str:
        return self.fts5() if len(self.words) > 1 else self.words[0]


@dataclass(frozen=True)
class ParsedQuery:
    """AND of OR-groups of terms, minus the excluded terms."""

    groups: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.groups)

    @property
    def words(self) -> list[str]:
        return [w for g in self.groups for t in g for w in t.words]

    def fts5(self) -> str:
        """An FTS5 MATCH expression: only quoted strings, AND, OR, NOT and parentheses, over
        the title and text columns (never the facets: a user's word is no filter)."""
        if not self.groups:
            return ""
        positive = " AND ".join("(" + " OR ".join(t.fts5() for t in g) + ")" for g in self.groups)
        if self.excluded:
            positive = f"({positive}) NOT (" + " OR ".join(t.fts5() for t in self.excluded) + ")"
        return "{title text} : (" + positive + ")"

    def tsquery(self) -> sa.ColumnElement:
        """The PostgreSQL tsquery: websearch_to_tsquery() per term (bound), && / || / !!."""
        def one(t: Term) -> sa.ColumnElement:
            return func.websearch_to_tsquery(sa.literal_column(_PG_CONFIG), sa.literal(t.websearch(), sa.Text))

        def any_of(ts: Iterable[Term]) -> sa.ColumnElement:
            exprs = [one(t) for t in ts]
            out = exprs[0]
            for e in exprs[1:]:
                out = sa.Grouping(out.op("||")(e))
            return out

        out = any_of(self.groups[0])
        for g in self.groups[1:]:
            out = sa.Grouping(out.op("&&")(any_of(g)))
        if self.excluded:
            out = sa.Grouping(out.op("&&")(func.tsquery_not(any_of(self.excluded))))
        return out

    def __str__(self) -> str:
        parts = [" OR ".join(str(t) for t in g) for g in self.groups]
        parts += [f"-{t}" for t in self.excluded]
        return " ".join(parts)


def _term(chunk: str) -> Term | None:
    words = tuple(w for w in _WORD.findall(chunk.lower()) if len(w) <= 64)[:8]
    if not words:
        return None
    text = " ".join(_PG_TEXT_STRIP.sub(" ", chunk).split()).strip("-. '")[:120]
    return Term(words=words, text=text or " ".join(words))


def parse_query(raw: str | None) -> ParsedQuery:
    """Reduce anything a user types to safe terms. Never raises.

    ``word``, ``"exact phrase"``, ``-excluded`` / ``NOT excluded``, ``a OR b``; ``AND`` is
    implied. A token with punctuation inside ("Kestrel-1", "1.2") is a phrase of its parts,
    the way the FTS tokenizer splits it. Operators with nothing to apply to are dropped.
    """
    raw = _CONTROL.sub(" ", raw or "")[:MAX_QUERY_CHARS]
    groups: list[tuple[Term, ...]] = []
    excluded: list[Term] = []
    pending_or = pending_not = False
    for m in _TOKEN.finditer(raw):
        if len(groups) + len(excluded) >= MAX_TERMS:
            break
        minus, quoted, bare = m.groups()
        if quoted is not None:
            chunk, negated = quoted, bool(minus)
        else:
            if bare == "OR" or bare == "|":
                pending_or = bool(groups)
                continue
            if bare in ("AND", "&", "&&", "+"):
                continue
            if bare == "NOT":
                pending_not = True
                continue
            negated = bare.startswith("-")
            chunk = bare.lstrip("-")
        term = _term(chunk)
        if term is None:
            continue
        if negated or pending_not:
            excluded.append(term)
        elif pending_or and groups:
            groups[-1] = groups[-1] + (term,)
        else:
            groups.append((term,))
        pending_or = pending_not = False
    return ParsedQuery(tuple(groups), tuple(excluded))


_WORKERS: ThreadPoolExecutor | None = None


def _workers() -> ThreadPoolExecutor:
    """Threads for the part of a search that runs beside the text query (the vector scan)."""
    global _WORKERS
    if _WORKERS is None:
        _WORKERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="newsloom-search")
    return _WORKERS


def _id_array(ids: list[int]) -> sa.BindParameter:
    """*ids* as one PostgreSQL integer[] parameter (``= ANY(...)``), not thousands of them."""
    return sa.bindparam(None, ids, type_=sa.ARRAY(sa.Integer))


def _date_facets(first: date, last: date) -> list[str]:
    """Facet tokens covering the days first..last (inclusive): whole years and whole
    months as one token each, the days at either end one by one (at most ~80 tokens
    plus one per year)."""
    out: list[str] = []
    d = first
    while d <= last:
        if d.month == 1 and d.day == 1 and date(d.year, 12, 31) <= last:
            out.append(d.strftime(FACET_YEAR))
            d = date(d.year + 1, 1, 1)
            continue
        next_month = date(d.year + d.month // 12, d.month % 12 + 1, 1)
        if d.day == 1 and next_month - timedelta(days=1) <= last:
            out.append(d.strftime(FACET_MONTH))
            d = next_month
            continue
        out.append(d.strftime(FACET_DAY))
        d += timedelta(days=1)
    return out


def id_facets(first: int, last: int) -> list[str]:
    """Id-block tokens (:data:`FACET_ID_LEVELS`) covering the ids first..last: the largest
    aligned blocks that fit, the smallest blocks at either end (a superset of at most 1,023
    ids either side; the exact condition is still applied)."""
    (_, small), *_ = FACET_ID_LEVELS
    out: list[str] = []
    p, end = (max(first, 0) >> small) << small, ((last >> small) + 1) << small
    while p < end:
        for prefix, bits in reversed(FACET_ID_LEVELS):
            if p % (1 << bits) == 0 and p + (1 << bits) <= end:
                out.append(f"{prefix}{p >> bits}")
                p += 1 << bits
                break
    return out


def facet_terms(source_id: int | None = None, since: datetime | None = None,
                until: datetime | None = None) -> list[list[str]]:
    """The filters as facet tokens: an AND of OR-groups (a superset of what the filters
    keep: the exact conditions are still applied). An open end of a date range runs to
    :data:`FACET_YEARS`; a range reaching past them gets no date group."""
    groups: list[list[str]] = []
    if source_id is not None:
        groups.append([FACET_SOURCE.format(int(source_id))])
    if since is not None or until is not None:
        lo, hi = FACET_YEARS
        first = since.astimezone(timezone.utc).date() if since is not None else date(lo, 1, 1)
        last = ((until.astimezone(timezone.utc) - timedelta(microseconds=1)).date() if until is not None
                else date(hi, 12, 31))
        if first > last:
            groups.append(["day0"])          # an empty range: no article has day 0
        elif first.year >= lo and last.year <= hi:
            groups.append(_date_facets(first, last))
    return groups


def facets_are_exact(since: datetime | None, until: datetime | None) -> bool:
    """Whether :func:`facet_terms` keeps exactly what the date range keeps: both ends (where
    given) at a UTC midnight within :data:`FACET_YEARS` (the search page's dates are). A
    publisher's token is always exact."""
    lo, hi = FACET_YEARS
    for end in (since, until):
        if end is None:
            continue
        utc = end.astimezone(timezone.utc)
        if utc.time() != datetime.min.time() or not lo <= utc.year <= hi:
            return False
    return True


def mark_html(marked: str | None) -> str:
    """Escape everything, then turn marker pairs back into <mark>...</mark>: the only tags
    that can come out. Unpaired markers are dropped."""
    out = html.escape(marked or "", quote=True)
    out = re.sub(f"{MARK_OPEN}([^{MARK_OPEN}{MARK_CLOSE}]*){MARK_CLOSE}", r"<mark>\1</mark>", out)
    return out.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")


# -- results ---------------------------------------------------------------------------
@dataclass
class SearchHit:
    article: Article
    title_html: str            # escaped, with <mark> around matches (safe to render)
    snippet_html: str          # idem, an excerpt of the text
    score: float = 0.0         # fused score (0 for filter-only browsing)
    fts_rank: int | None = None   # 1-based position by full-text rank alone
    semantic: float = 0.0      # TF-IDF cosine of query and title+lead
    story: Story | None = None


@dataclass
class SearchResults:
    query: ParsedQuery
    hits: list[SearchHit]
    total: int
    limit: int
    offset: int
    filtered: bool = False

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None

    def by_story(self) -> list[tuple[Story | None, list[SearchHit]]]:
        """This page's hits grouped by story, groups in order of their best hit."""
        groups: dict[Any, tuple[Story | None, list[SearchHit]]] = {}
        for h in self.hits:
            key = h.story.id if h.story else ("article", h.article.id)
            groups.setdefault(key, (h.story, []))[1].append(h)
        return list(groups.values())


@dataclass
class TagCount:
    tag: Tag
    article_count: int = 0
    story_count: int = 0


_WHEN = func.coalesce(articles.c.published_at, articles.c.fetched_at)


def _lead(text: str, n: int = 240) -> str:
    first = (text or "").strip().split("\n\n", 1)[0]
    return first if len(first) <= n else first[:n].rsplit(" ", 1)[0] + " …"


class SearchMixin:
    """Search, ranking and browse reads. Mixed into Store (uses its engine and helpers)."""

    # -- full-text search ---------------------------------------------------------
    def search(self, query: str | ParsedQuery | None, *, source_id: int | None = None,
               since: datetime | None = None, until: datetime | None = None, tag: str | None = None,
               limit: int = 20, offset: int = 0, rerank: Reranker | None = None,
               vector: np.ndarray | None = None) -> SearchResults:
        """Articles matching `query` (see module docstring), filtered by publisher, date range
        [since, until) on published (else fetched) time and hashtag slug. With no query but
        some filter, the filtered articles newest first. Wire copies (duplicates) are left
        out unless a publisher is chosen. With `vector` (the query's embedding) and no
        excluded term, the VECTOR_POOL stored articles nearest to it that pass the same
        filters join the candidates. The top POOL full-text matches and those are
        ordered by `rerank` (the caller's ranking policy: enrich/rank.py), which may drop
        the vector candidates it finds too far; full-text matches past the pool follow."""
        pq = query if isinstance(query, ParsedQuery) else parse_query(query)
        limit, offset = max(1, min(limit, 200)), max(0, min(offset, MAX_RESULTS))
        filters = dict(source_id=source_id, since=since, until=until, tag=tag)
        conds = self._search_conditions(**filters)
        filtered = source_id is not None or since is not None or until is not None or bool(tag)
        if not pq:
            if not filtered:
                return SearchResults(pq, [], 0, limit, offset)
            return self._browse(pq, conds, limit, offset)
        facets = facet_terms(source_id, since, until)
        text_conds = self._search_conditions(**filters, text_first=True)   # `conds`: the vectors
        want = min(MAX_RESULTS, max(POOL, offset + limit))
        if pq.excluded:             # an exclusion asks for exact matches: full text alone
            vector = None
        # The nearest vectors are scanned (numpy) while the database runs the text query:
        # both release the GIL, so the search costs the slower of the two, not their sum.
        near_job = _workers().submit(self._vector_matches, vector, conds) if vector is not None else None
        try:
            if self.is_sqlite:
                ranked, total = self._fts_sqlite(pq, facets, text_conds, want)
            else:
                ranked, total = self._fts_pg(pq, facets, text_conds, want)
        except DBAPIError as exc:   # a parser bug must not become a 500; say what failed
            raise NewsloomError(f"search: the query could not be run ({type(exc.orig).__name__})",
                                code="bad_query") from None
        finally:
            near = near_job.result() if near_job is not None else []
        pool = ranked[:POOL]
        if rerank:
            cosines = self._cosines(vector, pool) if vector is not None else {}
            cosines.update(near)
            union = list(dict.fromkeys(pool + [i for i, _ in near]))
            order, scores, semantic = rerank(pq.words, self._pool_rows(union), pool, cosines)
        else:
            order, scores, semantic = list(pool), {}, {}
        extra = len(set(order) - set(pool))          # found by meaning only
        total = min(total + extra, MAX_RESULTS)
        order += [i for i in ranked[POOL:] if i not in scores]
        fts_pos = {i: n for n, i in enumerate(ranked, start=1)}
        page_ids = order[offset:offset + limit]
        marks = self._highlights(pq, page_ids)
        hits = self._hits(page_ids, lambda a: marks.get(a.id, (None, None)),
                          lambda i: dict(score=scores.get(i, 0.0), fts_rank=fts_pos.get(i),
                                         semantic=semantic.get(i, 0.0)))
        return SearchResults(pq, hits, total, limit, offset, filtered)

    def _search_conditions(self, *, source_id, since, until, tag, text_first: bool = False) -> list:
        """The filters as SQL conditions. `text_first`: those a full-text query still needs
        beside its facets (:func:`facet_terms`): not the publisher, which its token keeps
        exactly, nor a date range of whole UTC days (:func:`facets_are_exact`). Each condition
        left costs a read of the article for every match (PostgreSQL) or a test per match."""
        conds: list = []
        if source_id is None:
            conds.append(articles.c.duplicate_of.is_(None))
        elif not text_first:
            conds.append(articles.c.source_id == source_id)
        if not (text_first and facets_are_exact(since, until)):
            if since is not None:
                conds.append(_WHEN >= since)
            if until is not None:
                conds.append(_WHEN < until)
        if tag:                  # articles of the stories carrying the hashtag (story_tags)
            conds.append(articles.c.story_id.in_(
                select(story_tags.c.story_id).join(tags, tags.c.id == story_tags.c.tag_id)
                .where(tags.c.slug == tag)))
        return conds

    def _fts_sqlite(self, pq: ParsedQuery, facets: list[list[str]], conds: list,
                    want: int) -> tuple[list[int], int]:
        # FTS5 yields matches in rowid (article id, i.e. arrival) order: the newest
        # RANK_WINDOW of them are taken as they stream, and bm25 is computed for those
        # only, so a word in every other article costs a bounded amount. The filters' facet
        # tokens join the MATCH (the facets column weighs nothing in bm25).
        fts = sa.table("articles_fts", sa.column("rowid"))
        expression = " AND ".join([pq.fts5()] + ["facets : (" + " OR ".join(g) + ")" for g in facets])
        match = sa.literal_column("articles_fts").op("MATCH")(sa.literal(expression, sa.Text))
        rank = func.bm25(sa.literal_column("articles_fts"), 5.0, 1.0, 0.0).label("rank")
        joined = fts.join(articles, articles.c.id == fts.c.rowid)
        window = (select(articles.c.id.label("id"), rank).select_from(joined).where(match, *conds)
                  .order_by(fts.c.rowid.desc()).limit(RANK_WINDOW).subquery())
        q = select(window.c.id).order_by(window.c.rank, window.c.id).limit(want)
        count = select(func.count()).select_from(
            select(fts.c.rowid).select_from(joined).where(match, *conds).limit(MAX_RESULTS + 1).subquery())
        with self.read() as conn:
            return list(conn.execute(q).scalars()), conn.execute(count).scalar_one()

    def _fts_pg(self, pq: ParsedQuery, facets: list[list[str]], conds: list,
                want: int) -> tuple[list[int], int]:
        # article_search holds each article's tsvector (migration 0010) and its facets (0011,
        # 0012), under one GIN index. PostgreSQL has no "newest matches first" index: left to
        # itself the planner walked down the primary key testing every document (260 ms at
        # 200,000 articles for a word in 40 of them), or built the bitmap of every match of a
        # common word (15-65 ms at 1,000,000) and sorted it. So the matches are read newest
        # first, in bands of ids, each band an AND with its id-block tokens in the same GIN
        # index (which skips through the word's posting list at the band's entries: about 2 ms
        # for a common word in 8,000 articles at 1,000,000):
        # 1. the newest FIRST_WINDOW ids, then each next band sized from the density of the
        #    matches found so far, to make 1.2 x (MAX_RESULTS + 1) (at least x2 and at most
        #    x16 the ids read so far), until more than MAX_RESULTS matches pass the conditions
        #    (the count stops there) or every article has been read (a rarer word);
        # 2. the newest RANK_WINDOW of them are ranked.
        # Every band reads all its matches (about 10 us each: the row and its article), so a
        # word far more common in old articles than in new ones costs more than one of steady
        # frequency: the bands grow at most x16 for that reason.
        search = sa.table("article_search", sa.column("article_id"), sa.column("doc"), sa.column("facets"))
        tsq = pq.tsquery()
        joined = search.join(articles, articles.c.id == search.c.article_id)

        def band(first: int, stop: int) -> list[int]:
            """The ids first <= id < stop that match and pass the conditions."""
            groups = facets + ([id_facets(first, stop - 1)] if first > 1 else [])
            where = [search.c.doc.op("@@")(tsq), search.c.article_id < stop] + conds
            if first > 1:
                where.append(search.c.article_id >= first)
            # One @@ per group: each is its own key of the GIN scan, and the scan skips through
            # each key's entries at the others' (in one tsquery, an OR of 40 date tokens was
            # read whole: 25 ms instead of 2 for a year's range and a common word).
            where += [search.c.facets.op("@@")(func.to_tsquery(sa.literal_column("'simple'::regconfig"),
                                                               sa.literal(" | ".join(g), sa.Text)))
                      for g in groups]
            return list(conn.execute(select(search.c.article_id).select_from(joined).where(*where)).scalars())

        with self.read() as conn:
            # Each step reads a few thousand rows at most: parallel workers cost more to start
            # than they save (23 -> 15 ms for a scan at 1,000,000 articles). This transaction only.
            conn.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
            top = conn.execute(select(func.max(search.c.article_id))).scalar() or 0
            found: list[int] = []
            read, stop = FIRST_WINDOW, top + 1        # ids read so far; the band below `stop`
            while stop > 1 and len(found) <= MAX_RESULTS:
                first = max(1, top + 1 - read)
                found += band(first, stop)
                stop = first
                want_ids = 1.2 * (MAX_RESULTS + 1) * read / max(len(found), 1)
                read = int(min(16 * read, max(2 * read, want_ids)))
            total = min(len(found), MAX_RESULTS + 1)
            newest = sorted(found, reverse=True)[:RANK_WINDOW]
            if not newest:
                return [], total
            rank = func.ts_rank_cd(search.c.doc, tsq)
            rows = conn.execute(select(search.c.article_id, rank)
                                .where(search.c.article_id == sa.any_(_id_array(newest)))).all()
        rows.sort(key=lambda r: (-r[1], r[0]))
        return [r[0] for r in rows[:want]], total

    def _vector_matches(self, vector: np.ndarray, conds: list) -> list[tuple[int, float]]:
        """(id, cosine) of the stored articles nearest to `vector` that pass `conds`, best first."""
        near = self.vector_index().search(vector, VECTOR_POOL * (4 if len(conds) > 1 else 1))
        if not near:
            return []
        q = select(articles.c.id).where(articles.c.id.in_([i for i, _ in near]), *conds)
        with self.read() as conn:
            passing = set(conn.execute(q).scalars())
        return [(i, c) for i, c in near if i in passing][:VECTOR_POOL]

    def _cosines(self, vector: np.ndarray, ids: list[int]) -> dict[int, float]:
        """Exact cosine of `vector` to each stored article vector among `ids`."""
        stored = self.article_vectors(ids)
        return {i: float(v[0] @ vector) for i, v in stored.items()}

    def _pool_rows(self, pool: list[int]) -> list[Any]:
        """(id, title, lead, when) of the pool's articles, in pool order: what a re-ranker sees."""
        if not pool:
            return []
        q = select(articles.c.id, articles.c.title, func.substr(articles.c.text, 1, 600).label("lead"),
                   _WHEN.label("when")).where(articles.c.id.in_(pool))
        with self.read() as conn:
            rows = {r.id: r for r in conn.execute(q)}
        return [rows[i] for i in pool if i in rows]

    def _highlights(self, pq: ParsedQuery, ids: list[int]) -> dict[int, tuple[str, str]]:
        if not ids:
            return {}
        if self.is_sqlite:
            fts = sa.table("articles_fts", sa.column("rowid"))
            col = sa.literal_column("articles_fts")
            match = col.op("MATCH")(sa.literal(pq.fts5(), sa.Text))
            q = select(fts.c.rowid, func.highlight(col, 0, MARK_OPEN, MARK_CLOSE),
                       func.snippet(col, 1, MARK_OPEN, MARK_CLOSE, " … ", 28)).where(match, fts.c.rowid.in_(ids))
        else:
            tsq = pq.tsquery()
            cfg = sa.literal_column(_PG_CONFIG)
            q = select(articles.c.id, func.ts_headline(cfg, articles.c.title, tsq, _PG_TITLE_OPTS),
                       func.ts_headline(cfg, func.left(articles.c.text, 20000), tsq, _PG_TEXT_OPTS)
                       ).where(articles.c.id.in_(ids))
        with self.read() as conn:
            return {r[0]: (r[1], r[2]) for r in conn.execute(q)}

    def _browse(self, pq: ParsedQuery, conds: list, limit: int, offset: int) -> SearchResults:
        q = select(articles.c.id).where(*conds).order_by(_WHEN.desc(), articles.c.id.desc()).limit(limit).offset(offset)
        count = select(func.count()).select_from(articles).where(*conds)
        with self.read() as conn:
            ids, total = list(conn.execute(q).scalars()), conn.execute(count).scalar_one()
        hits = self._hits(ids, lambda a: (None, None), lambda i: {})
        return SearchResults(pq, hits, total, limit, offset, True)

    def _hits(self, ids: list[int], marks, extra) -> list[SearchHit]:
        if not ids:
            return []
        with self.read() as conn:
            found = {r.id: to_model(Article, r) for r in conn.execute(self._article_select().where(articles.c.id.in_(ids)))}
            story_ids = {a.story_id for a in found.values() if a.story_id}
            story_rows = conn.execute(select(stories).where(stories.c.id.in_(story_ids))) if story_ids else []
            by_id = {r.id: to_model(Story, r) for r in story_rows}
        hits = []
        for i in ids:
            a = found.get(i)
            if a is None:
                continue
            title_m, snippet_m = marks(a)
            hits.append(SearchHit(article=a, title_html=mark_html(title_m or a.title),
                                  snippet_html=mark_html(snippet_m if snippet_m is not None else _lead(a.text)),
                                  story=by_id.get(a.story_id), **extra(i)))
        return hits

    # -- home ranking --------------------------------------------------------------
    def recent_article_counts(self, story_ids: Iterable[int], since: datetime, until: datetime) -> dict[int, int]:
        """Per story: its (non-duplicate) articles published in (since, until]."""
        ids = list(story_ids)
        if not ids:
            return {}
        q = (select(articles.c.story_id, func.count()).where(articles.c.story_id.in_(ids), _WHEN > since,
                                                               _WHEN <= until, articles.c.duplicate_of.is_(None))
             .group_by(articles.c.story_id))
        with self.read() as conn:
            return {sid: n for sid, n in conn.execute(q)}

    # -- browse reads ------------------------------------------------------------------
    def resolve_source(self, ref: str | int | None) -> Source | None:
        """A publisher by id ("12") or by name, case-insensitively; None when unknown."""
        if ref is None or str(ref).strip() == "":
            return None
        ref = _CONTROL.sub("", str(ref)).strip()
        if ref.isascii() and ref.isdigit():
            cond = sources.c.id == int(ref) if int(ref) <= MAX_ID else sa.false()
        else:
            cond = func.lower(sources.c.name) == " ".join(ref.split()).lower()
        with self.read() as conn:
            row = conn.execute(select(sources).where(cond).limit(1)).first()
        return to_model(Source, row) if row else None

    def get_tag(self, slug: str) -> Tag:
        with self.read() as conn:
            row = conn.execute(select(tags).where(tags.c.slug == slug)).first()
        if row is None:
            raise NotFound(f"store: no tag {slug!r}")
        return to_model(Tag, row)

    def list_tags(self, *, limit: int = 100, offset: int = 0) -> list[TagCount]:
        """Hashtags of live stories (story_tags), most stories first (then articles, then slug)."""
        n_stories = func.count(sa.distinct(story_tags.c.story_id)).label("story_count")
        n_articles = func.sum(stories.c.article_count).label("article_count")
        q = (select(tags, n_articles, n_stories)
             .select_from(tags.join(story_tags, story_tags.c.tag_id == tags.c.id)
                          .join(stories, stories.c.id == story_tags.c.story_id))
             .where(stories.c.merged_into.is_(None))
             .group_by(tags.c.id, tags.c.slug, tags.c.name, tags.c.kind)
             .order_by(n_stories.desc(), n_articles.desc(), tags.c.slug).limit(limit).offset(offset))
        with self.read() as conn:
            return [TagCount(to_model(Tag, r), int(r.article_count or 0), r.story_count) for r in conn.execute(q)]

    def count_tags(self) -> int:
        q = select(func.count(sa.distinct(story_tags.c.tag_id)))
        with self.read() as conn:
            return conn.execute(q).scalar_one()

    def _tagged_story_ids(self, slug: str) -> sa.Select:
        return (select(story_tags.c.story_id).join(tags, tags.c.id == story_tags.c.tag_id)
                .where(tags.c.slug == slug))

    def tag_stories(self, slug: str, *, limit: int = 30, offset: int = 0) -> list[Story]:
        """Stories carrying this hashtag, most recently updated first."""
        q = (select(stories).where(stories.c.id.in_(self._tagged_story_ids(slug)), stories.c.merged_into.is_(None),
                                   stories.c.article_count > 0)
             .order_by(stories.c.last_seen_at.desc(), stories.c.id.desc()).limit(limit).offset(offset))
        with self.read() as conn:
            return [to_model(Story, r) for r in conn.execute(q)]

    def count_tag_stories(self, slug: str) -> int:
        q = select(func.count()).select_from(stories).where(
            stories.c.id.in_(self._tagged_story_ids(slug)), stories.c.merged_into.is_(None),
            stories.c.article_count > 0)
        with self.read() as conn:
            return conn.execute(q).scalar_one()

    def source_stories(self, source_id: int, *, limit: int = 20) -> list[Story]:
        """Stories this publisher covered, most recently updated first."""
        covered = select(articles.c.story_id).where(articles.c.source_id == source_id,
                                                    articles.c.story_id.is_not(None))
        q = (select(stories).where(stories.c.id.in_(covered), stories.c.merged_into.is_(None))
             .order_by(stories.c.last_seen_at.desc(), stories.c.id.desc()).limit(limit))
        with self.read() as conn:
            return [to_model(Story, r) for r in conn.execute(q)]

    def source_article_counts(self) -> dict[int, int]:
        q = select(articles.c.source_id, func.count()).where(articles.c.source_id.is_not(None))\
            .group_by(articles.c.source_id)
        with self.read() as conn:
            return {sid: n for sid, n in conn.execute(q)}

    def admin_summary(self) -> dict[str, Any]:
        """Counts and freshness for the admin page."""
        def count(table: sa.Table, *where: Any) -> sa.ScalarSelect:
            return select(func.count()).select_from(table).where(*where).scalar_subquery()

        q = select(
            count(articles).label("articles"),
            count(articles, articles.c.duplicate_of.is_not(None)).label("duplicates"),
            count(sources).label("sources"),
            count(feeds).label("feeds"),
            count(feeds, feeds.c.last_error.is_not(None)).label("failing_feeds"),
            count(stories, stories.c.merged_into.is_(None), stories.c.article_count > 0).label("stories"),
            count(stories, stories.c.source_count >= 2, stories.c.merged_into.is_(None)).label("multi_source_stories"),
            select(func.count(sa.distinct(story_tags.c.tag_id))).scalar_subquery().label("tags"),
            count(users).label("users"),
            count(comments).label("comments"),
            select(func.max(feeds.c.last_fetched_at)).scalar_subquery().label("last_fetch"),
            select(func.max(feeds.c.last_success_at)).scalar_subquery().label("last_success"),
            select(func.max(articles.c.fetched_at)).scalar_subquery().label("last_article"),
        )
        with self.read() as conn:
            row = dict(conn.execute(q).one()._mapping)
        dt = articles.c.fetched_at.type
        for key in ("last_fetch", "last_success", "last_article"):   # scalar subqueries lose the UTC type
            if row[key] is not None and not isinstance(row[key], datetime):
                row[key] = datetime.fromisoformat(str(row[key]))
            row[key] = dt.process_result_value(row[key], None) if row[key] is not None else None
        row["backend"] = "sqlite" if self.is_sqlite else "postgresql"
        row["schema"] = self.schema_revision()
        return row
