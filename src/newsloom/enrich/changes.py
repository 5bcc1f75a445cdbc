"""What changed in a story between two of its insights builds: "new since your last visit".

``story_changes(before, after, articles)`` compares the build that was current when the
reader last looked (``before``) with the newest one (``after``):

1. **new articles**: in ``after`` and not in ``before`` (wire copies included: a copy is a
   new publisher carrying the story), oldest first; **new publishers**: theirs, less those
   the story already had;
2. **new events**: timeline entries of ``after`` whose (day, text) ``before`` did not have
   (an event that only gained a citation is not new);
3. **changed figures**: disagreements of ``after`` that are new, or whose set of values
   changed (a source updated its figure, or a new one disagrees);
4. **what's new**: one paragraph of the new articles' stored summaries (their first sentence
   not said already; else the title), at most :data:`PARAGRAPH_SENTENCES` sentences, each
   cited ``[n]``, one number per new article, pointing at that article and its publisher. A
   wire copy repeating a sentence adds its citation to that sentence.

Pure and deterministic: builds are anything with ``article_ids`` and ``data`` (the store's
``InsightBuild``), articles are :class:`~newsloom.models.Article` with ``source_name``;
summaries come in as a mapping. No store, no settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable, Mapping, Protocol, Sequence

from ..models import Article

__all__ = ["Build", "Citation", "FigureChange", "NewEvent", "Sentence", "StoryChanges", "story_changes",
           "PARAGRAPH_SENTENCES"]

PARAGRAPH_SENTENCES = 4


class Build(Protocol):
    article_ids: Sequence[int]
    data: Mapping[str, Any]


@dataclass(frozen=True)
class NewEvent:
    date: date | None
    text: str
    citations: list[tuple[int, str]]          # (article id, publisher)


@dataclass(frozen=True)
class FigureChange:
    kind: str                                 # figure, spelling, place
    topic: str
    is_new: bool                              # sources did not disagree on this before
    before: list[str]                         # the values sources gave before (empty when new)
    claims: list[tuple[str, int, str, str]]   # now: (value, article id, publisher, sentence)


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: int
    source: str
    title: str


@dataclass(frozen=True)
class Sentence:
    text: str
    cites: list[int]                          # citation numbers


@dataclass
class StoryChanges:
    new_articles: list[Article] = field(default_factory=list)
    new_publishers: list[str] = field(default_factory=list)
    new_events: list[NewEvent] = field(default_factory=list)
    changed_figures: list[FigureChange] = field(default_factory=list)
    whats_new: list[Sentence] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    uncited: int = 0                          # new articles the paragraph had no room for

    @property
    def new_article_ids(self) -> set[int]:
        return {a.id for a in self.new_articles if a.id is not None}

    def __bool__(self) -> bool:
        return bool(self.new_articles or self.new_events or self.changed_figures)


def story_changes(before: Build | None, after: Build, articles: Iterable[Article],
                  summaries: Mapping[int, Sequence[str]] | None = None) -> StoryChanges:
    """What `after` has that `before` had not (``before`` None: everything is new).
    `articles`: the story's articles (copies included); `summaries`: stored summaries by id."""
    by_id = {a.id: a for a in articles if a.id is not None}
    old_ids = {int(i) for i in (before.article_ids if before else [])}
    new = sorted((by_id[i] for i in {int(i) for i in after.article_ids} - old_ids if i in by_id), key=_when)
    old_publishers = {_publisher(by_id[i]) for i in old_ids if i in by_id}
    publishers: list[str] = []
    for a in new:
        name = _publisher(a)
        if name not in old_publishers and name not in publishers:
            publishers.append(name)
    changes = StoryChanges(new_articles=new, new_publishers=publishers,
                           new_events=_new_events(before.data if before else {}, after.data),
                           changed_figures=_changed_figures(before.data if before else {}, after.data))
    _paragraph(changes, new, summaries or {})
    return changes


# -- steps ------------------------------------------------------------------------------------
def _new_events(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[NewEvent]:
    seen = {_event_key(e) for e in before.get("timeline") or []}
    events = []
    for e in after.get("timeline") or []:
        if _event_key(e) in seen:
            continue
        cites = [(int(c[0]), str(c[1])) for c in e.get("citations") or [] if c and c[0] is not None]
        if not cites and e.get("article_id") is not None:
            cites = [(int(e["article_id"]), str(e.get("source") or ""))]
        events.append(NewEvent(date=_day(e.get("date")), text=str(e.get("text") or ""), citations=cites))
    return events


def _changed_figures(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FigureChange]:
    was = {_dispute_key(d): _values(d) for d in before.get("disagreements") or []}
    out = []
    for d in after.get("disagreements") or []:
        key, values = _dispute_key(d), _values(d)
        if key in was and was[key] == values:
            continue
        old = next((d2 for d2 in before.get("disagreements") or [] if _dispute_key(d2) == key), None)
        out.append(FigureChange(
            kind=str(d.get("kind") or ""), topic=str(d.get("topic") or ""), is_new=key not in was,
            before=sorted({str(c[0]) for c in old.get("claims") or []}) if old else [],
            claims=[(str(c[0]), int(c[1]), str(c[2]), str(c[3]) if len(c) > 3 else "")
                    for c in d.get("claims") or [] if len(c) >= 3 and c[1] is not None]))
    return out


def _paragraph(changes: StoryChanges, new: list[Article], summaries: Mapping[int, Sequence[str]]) -> None:
    said: dict[str, int] = {}                    # normalised sentence -> its index in whats_new
    sentences: list[tuple[str, list[int]]] = []
    for a in new:
        candidates = [s for s in [*(summaries.get(a.id) or []), a.title or ""] if _norm(s)]
        pick = candidates[0] if candidates else None
        if pick is not None and _norm(pick) not in said:
            if len(sentences) < PARAGRAPH_SENTENCES:
                said[_norm(pick)] = len(sentences)
                sentences.append((_finish(pick.strip()), []))
            else:       # no room for its own sentence: cite it where it repeats one, if it does
                pick = next((s for s in candidates if _norm(s) in said), None)
        if pick is None:
            changes.uncited += 1
            continue
        n = len(changes.citations) + 1
        changes.citations.append(Citation(n=n, article_id=int(a.id), source=_publisher(a), title=a.title or ""))
        sentences[said[_norm(pick)]][1].append(n)
    changes.whats_new = [Sentence(text, cites) for text, cites in sentences]


# -- small helpers -----------------------------------------------------------------------------
def _when(a: Article) -> tuple:
    t = a.published_at or a.fetched_at
    return (t.timestamp() if isinstance(t, datetime) else 0.0, a.id or 0)


def _publisher(a: Article) -> str:
    return a.source_name or "Unknown source"


_WORD = re.compile(r"\w+")


def _norm(text: str) -> str:
    return " ".join(_WORD.findall((text or "").lower()))


def _finish(sentence: str) -> str:
    return sentence if sentence[-1:] in ".!?\"'”’)" else sentence + "."


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value if not isinstance(value, datetime) else value.date()
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _event_key(e: Mapping[str, Any]) -> tuple:
    return (str(e.get("date") or "")[:10], _norm(str(e.get("text") or "")))


def _dispute_key(d: Mapping[str, Any]) -> tuple:
    return (str(d.get("kind") or ""), _norm(str(d.get("topic") or "")))


def _values(d: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(_norm(str(c[0])) for c in d.get("claims") or [] if c)
