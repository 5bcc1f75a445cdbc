"""A story's timeline: dated events from its articles, relative dates resolved.

Every sentence of every article that carries a date expression becomes an event dated
by resolving the expression against that article's publication date (UTC calendar day):

* ``today``, ``this morning/afternoon/evening``, ``tonight``, ``overnight`` -> the day;
  ``yesterday``, ``last night`` -> the day before; ``tomorrow`` -> the day after;
  ``two days ago``, ``a week ago`` -> counted back.
* A weekday ("on Thursday") -> the most recent such day on or before publication (the
  same day when it is that weekday); ``last Thursday`` strictly before, ``next
  Thursday`` strictly after.
* A calendar date ("on June 2", "2 June", "June 2, 2025") -> that day, in the
  publication's year unless that lands more than six months after publication (then
  the year before).
* ``last week``, ``earlier this week``, ``this week``, ``next week`` -> a week (the date
  is the Monday of that week, precision ``week``); ``earlier this month``, ``last
  month``, ``this month`` -> a month (its first day, precision ``month``).

The most specific expression of a sentence wins (a calendar date over a weekday over a
relative day over a week or month). Sentences that open with a quotation mark (direct
speech) and questions are skipped; an article with no dated sentence contributes its
first sentence, dated the day it was published.

Events are sorted by date, then publication; two events on the same date from
different articles whose content words overlap (Jaccard >= 0.35, or 60% of the shorter)
are one event listing every citation (wire copies, and publishers telling the same
thing). An article's undated first sentence that overlaps an earlier event is that event
reported again (a wire copy a day later), not a new one. Each event names who and where
it is about (:attr:`Event.who`: the people, organisations and places the entity stage
finds in its sentence), shown beside it on the story page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from newsloom.enrich.entities import cached_entities, canonical_key, surname
from newsloom.enrich.summarize import Doc, as_docs, sentences, strip_dateline
from newsloom.enrich.text import tokens

__all__ = ["Event", "timeline", "resolve_dates", "DateMention"]

_MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split())}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_WEEKDAYS = {d: i for i, d in enumerate(
    "monday tuesday wednesday thursday friday saturday sunday".split())}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10}

_MONTH_RE = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("md", re.compile(rf"\b{_MONTH_RE}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?", re.I)),
    ("dm", re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_RE}(?:,?\s+(\d{{4}}))?", re.I)),
    ("weekday", re.compile(r"\b(?:(last|next|this|on|since|until|by|from)\s+)?"
                           r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b", re.I)),
    ("ago", re.compile(r"\b(a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d{1,2})\s+"
                       r"(day|days|week|weeks)\s+ago\b", re.I)),
    ("yesterday", re.compile(r"\b(yesterday|last night)\b", re.I)),
    ("tomorrow", re.compile(r"\btomorrow\b", re.I)),
    ("today", re.compile(r"\b(today|tonight|this (?:morning|afternoon|evening)|overnight|"
                         r"early hours)\b", re.I)),
    ("week", re.compile(r"\b(last week|earlier this week|this week|next week)\b", re.I)),
    ("month", re.compile(r"\b(earlier this month|last month|this month|next month)\b", re.I)),
]
_RANK = {"md": 0, "dm": 0, "weekday": 1, "ago": 2, "yesterday": 2, "tomorrow": 2, "today": 3,
         "week": 4, "month": 5}


@dataclass(frozen=True)
class DateMention:
    date: date
    precision: str        # day, week, month
    expression: str       # the words as written
    rank: int             # lower = more specific


@dataclass
class Event:
    date: date
    text: str
    article_id: Any
    source: str
    precision: str = "day"
    expression: str = ""
    url: str = ""
    citations: list[tuple[Any, str]] = field(default_factory=list)   # (article_id, source)
    who: list[str] = field(default_factory=list)     # people, organisations and places it names


def _day(published: datetime | None) -> date | None:
    if published is None:
        return None
    if published.tzinfo is None:
        published = published.replace(tzinfo=timezone.utc)
    return published.astimezone(timezone.utc).date()


def _calendar(month: int, day: int, year: str | None, pub: date) -> date | None:
    try:
        if year:
            return date(int(year), month, day)
        d = date(pub.year, month, day)
        if d > pub + timedelta(days=183):
            d = date(pub.year - 1, month, day)
        return d
    except ValueError:
        return None


def resolve_dates(sentence: str, published: datetime | date) -> list[DateMention]:
    """Every date expression of *sentence*, resolved against the publication date."""
    pub = published if isinstance(published, date) and not isinstance(published, datetime) \
        else _day(published)  # type: ignore[arg-type]
    if pub is None:
        return []
    out: list[DateMention] = []
    for kind, rx in _PATTERNS:
        for m in rx.finditer(sentence):
            expr = m.group(0)
            d: date | None = None
            precision = "day"
            if kind == "md":
                month = _MONTHS.get(m.group(1).lower().rstrip("."))
                if month == 5 and m.group(1) == "may":      # the verb, not the month
                    continue
                d = _calendar(month, int(m.group(2)), m.group(3), pub) if month else None
            elif kind == "dm":
                month = _MONTHS.get(m.group(2).lower().rstrip("."))
                if month == 5 and m.group(2) == "may":
                    continue
                d = _calendar(month, int(m.group(1)), m.group(3), pub) if month else None
            elif kind == "weekday":
                mod = (m.group(1) or "").lower()
                wd = _WEEKDAYS[m.group(2).lower()]
                back = (pub.weekday() - wd) % 7
                if mod == "next":
                    d = pub + timedelta(days=(wd - pub.weekday()) % 7 or 7)
                elif mod == "last":
                    d = pub - timedelta(days=back or 7)
                else:
                    d = pub - timedelta(days=back)
            elif kind == "ago":
                n = m.group(1).lower()
                count = int(n) if n.isdigit() else _NUMBERS.get(n, 1)
                unit = 7 if m.group(2).lower().startswith("week") else 1
                d = pub - timedelta(days=count * unit)
                precision = "day" if unit == 1 else "week"
            elif kind == "yesterday":
                d = pub - timedelta(days=1)
            elif kind == "tomorrow":
                d = pub + timedelta(days=1)
            elif kind == "today":
                d = pub
            elif kind == "week":
                w = m.group(1).lower()
                monday = pub - timedelta(days=pub.weekday())
                d = monday - timedelta(days=7) if w == "last week" else (
                    monday + timedelta(days=7) if w == "next week" else monday)
                precision = "week"
            elif kind == "month":
                w = m.group(1).lower()
                first = pub.replace(day=1)
                if w == "last month":
                    d = (first - timedelta(days=1)).replace(day=1)
                elif w == "next month":
                    d = (first + timedelta(days=32)).replace(day=1)
                else:
                    d = first
                precision = "month"
            if d is not None:
                out.append(DateMention(d, precision, expr, _RANK[kind]))
    out.sort(key=lambda dm: (dm.rank, sentence.find(dm.expression)))
    return out


def _overlap(a: set[str], b: set[str]) -> bool:
    if not a or not b:
        return False
    inter = len(a & b)
    return inter / len(a | b) >= 0.35 or inter / min(len(a), len(b)) >= 0.6


def _when(doc: Doc) -> float:
    return doc.published.timestamp() if doc.published else 0.0


def timeline(articles: Iterable[Any], *, max_words: int = 45) -> list[Event]:
    """Dated events of a story, in date order, near-duplicates merged (all citations kept)."""
    docs = sorted(as_docs(articles), key=lambda d: (_when(d), str(d.id)))
    raw: list[tuple[Event, set[str], int, int, bool]] = []     # (event, words, article, sentence, dated)
    for rank, doc in enumerate(docs):
        if doc.published is None:
            continue
        found = False
        sents = sentences(doc)
        for s in sents:
            text = strip_dateline(s.text) if s.index == 0 else s.text
            if text[:1] in "\"“‘'" or text.rstrip().endswith("?"):
                continue
            mentions = resolve_dates(text, doc.published)
            if not mentions:
                continue
            best = mentions[0]
            raw.append((_event(doc, text, best.date, best.precision, best.expression, max_words,
                               _who(doc, s.start, s.end)), set(tokens(text)), rank, s.index, True))
            found = True
        if not found and sents:
            text = strip_dateline(sents[0].text)
            raw.append((_event(doc, text, _day(doc.published), "day", "", max_words,
                               _who(doc, sents[0].start, sents[0].end)), set(tokens(text)), rank, 0, False))
    raw.sort(key=lambda r: (r[0].date, r[2], r[3]))
    merged: list[tuple[Event, set[str], set]] = []
    for ev, bag, _, _, dated in raw:
        for other, obag, ids in merged:
            # An undated lead (dated by its article's publication) that tells an event already
            # on the timeline is that event reported again later (a wire copy, a follow-up):
            # it cites the event, whatever day its own article came out.
            same_day = other.date == ev.date and other.precision == ev.precision
            if (same_day or (not dated and other.date <= ev.date)) \
                    and ev.article_id not in ids and _overlap(bag, obag):
                other.citations.append((ev.article_id, ev.source))
                other.who.extend(n for n in ev.who if not _named(n, other.who))
                ids.add(ev.article_id)
                break
        else:
            merged.append((ev, bag, {ev.article_id}))
    return [ev for ev, _, _ in merged]


def _named(name: str, names: list[str]) -> bool:
    """*name* is already in *names*: the same key, or the surname of a full name there."""
    key = canonical_key(name)
    return any(key in (canonical_key(n), canonical_key(surname(n))) for n in names)


def _who(doc: Doc, start: int, end: int) -> list[str]:
    """The people, organisations and places the entity stage finds in ``doc.text[start:end]``
    (read over the whole article, so a surname alone is still that person), one spelling each."""
    out: dict[str, str] = {}
    shift = len(doc.title) + 2            # the text hashtags and compare read (one cache entry)
    for e in cached_entities(f"{doc.title}\n\n{doc.text}"):
        if start <= e.start - shift < end and e.kind in ("person", "org", "place"):
            out.setdefault(canonical_key(e.text), e.text)
    return list(out.values())


def _event(doc: Doc, text: str, d: date, precision: str, expr: str, max_words: int,
           who: list[str]) -> Event:
    words = text.split()
    if len(words) > max_words:
        text = " ".join(words[:max_words]).rstrip(",;:") + " …"
    return Event(d, text, doc.id, doc.source, precision, expr, doc.url, [(doc.id, doc.source)], who)
