"""Search parameters and the search itself, shared by the search page (/search) and
GET /api/v1/search.

Parameters: ``q`` (words, "a phrase", -excluded, a OR b), ``publisher`` (source id or
name), ``from`` / ``to`` (dates, YYYY-MM-DD, inclusive; or ISO 8601 times), ``tag``
(hashtag slug, with or without "#"). Ranking and highlighting: newsloom.store.search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Query

from ..errors import NewsloomError
from ..models import Source
from ..enrich.embed import query_vector
from ..enrich.rank import hybrid_order
from ..store import Store
from ..enrich.entities import spelling_variants
from ..store.search import ParsedQuery, SearchResults, Term, parse_query

__all__ = ["BadSearch", "SearchParams", "SearchParamsDep", "search_params", "run_search", "parse_date", "tag_slug"]


class BadSearch(NewsloomError):
    code = "bad_request"


def parse_date(value: str | None, *, name: str, end: bool = False) -> datetime | None:
    """'2026-03-12' (the whole day; `end` means up to its end) or an ISO 8601 time (naive = UTC)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            when = datetime.combine(day, time(0), tzinfo=timezone.utc)
            return when + timedelta(days=1) if end else when
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise BadSearch(f"search: '{name}' must be a date like 2026-03-12, got {value[:40]!r}") from None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def tag_slug(value: str | None) -> str:
    return re.sub(r"[^\w-]", "", (value or "").strip().lstrip("#").lower())[:200]


@dataclass
class SearchParams:
    q: str = ""
    publisher: str = ""
    from_: str = ""
    to: str = ""
    tag: str = ""

    def query_string(self, **extra: object) -> str:
        pairs = {"q": self.q, "publisher": self.publisher, "from": self.from_, "to": self.to, "tag": self.tag}
        pairs.update({k: str(v) for k, v in extra.items()})
        return urlencode({k: v for k, v in pairs.items() if v})

    @property
    def empty(self) -> bool:
        return not any((self.q.strip(), self.publisher.strip(), self.from_.strip(), self.to.strip(),
                        self.tag.strip()))


async def search_params(
    q: str = Query("", description='Words, "an exact phrase", -excluded, a OR b. Any text is accepted.'),
    publisher: str = Query("", description="Publisher: source id or exact name"),
    from_: str = Query("", alias="from", description="From this date (YYYY-MM-DD, inclusive) or ISO 8601 time"),
    to: str = Query("", description="Up to this date (YYYY-MM-DD, inclusive) or ISO 8601 time"),
    tag: str = Query("", description="Hashtag slug, e.g. prisonerswap"),
) -> SearchParams:
    return SearchParams(q=q, publisher=publisher, from_=from_, to=to, tag=tag)


def with_spellings(query: ParsedQuery) -> ParsedQuery:
    """*query* with each one-word term ORed with the other spellings of that name that the
    entity stage knows (Kiev ~ Kyiv, Zelensky ~ Zelenskyy): a reader finds the story
    whichever spelling a publisher chose. Excluded terms are left as typed."""
    groups = []
    for group in query.groups:
        have = {t.words for t in group}
        extra = [Term((v,), v) for t in group if len(t.words) == 1
                 for v in spelling_variants(t.words[0]) if (v,) not in have]
        groups.append(group + tuple(dict.fromkeys(extra)))
    return ParsedQuery(tuple(groups), query.excluded)


def run_search(store: Store, params: SearchParams, *, limit: int, offset: int) -> tuple[SearchResults, Source | None]:
    """The search both surfaces run. An unknown publisher matches nothing (it is not an error)."""
    since = parse_date(params.from_, name="from")
    until = parse_date(params.to, name="to", end=True)
    source = store.resolve_source(params.publisher) if params.publisher.strip() else None
    if params.publisher.strip() and source is None:
        return SearchResults(parse_query(params.q), [], 0, limit, offset, True), None
    query = parse_query(params.q)
    # Meaning joins plain word queries only: quotes, OR and -exclusions ask for exact matches.
    plain = query and not query.excluded and all(len(g) == 1 and len(g[0].words) == 1 for g in query.groups)
    vector = query_vector(query.words) if plain else None
    results = store.search(with_spellings(query), source_id=source.id if source else None,
                           since=since, until=until, tag=tag_slug(params.tag) or None, limit=limit, offset=offset,
                           rerank=hybrid_order, vector=vector)
    return results, source


SearchParamsDep = Annotated[SearchParams, Depends(search_params)]
