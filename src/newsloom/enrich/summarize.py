"""Extractive summaries: one article's key sentences, and a cited brief of a whole story.

Also the small shared vocabulary of the AI modules: :class:`Doc` (an article as these
modules see it), :func:`as_doc`, :func:`sentences` and :class:`Cited` (a sentence with the
article and publisher it comes from).

:func:`summarize` - TextRank over one article: sentences are TF-IDF vectors (content
words from :func:`newsloom.enrich.text.tokens`, IDF over the article's own sentences),
edges are cosine similarities, PageRank (d=0.85, fixed 40 iterations) ranks them. The
final score mixes that rank (0.35), a position prior (0.50, 1/sqrt(1+i): news puts the
point first) and similarity to the headline (0.15); sentences more than 0.6 similar to one
already chosen are skipped; the chosen ones come back in article order.

:func:`story_brief` - centroid + MMR across every article of a story: each candidate
sentence is scored by cosine similarity to the story's TF-IDF centroid times a position
prior, a slight preference for later articles (x0.85 for the first to x1.0 for the
latest: a story's brief should reach its latest development), and x0.7 for a sentence
that opens with a pronoun or connective ("That changed...": it needs context the brief
lacks); the greedy pick (MMR, lambda 0.7) never takes a sentence whose word set overlaps an
already chosen one by Jaccard >= 0.5 (or containment >= 0.7: wire copies repeat
sentences verbatim or trimmed), and discounts a publisher already cited (x0.5 per
sentence) so the brief covers several publishers. A sentence present in several
articles cites the earliest one. Output is in story order (publication, then position).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from newsloom.enrich.text import split_sentences, tokens, words
from newsloom.models import parse_utc

__all__ = ["Doc", "as_doc", "as_docs", "Sentence", "sentences", "split_sentences", "Cited", "summarize",
           "story_brief", "lead_sentences", "jaccard", "is_credit_line", "strip_dateline"]


@dataclass(frozen=True)
class Doc:
    """An article as the AI modules see it (store models and dicts convert via :func:`as_doc`)."""

    id: Any
    title: str
    text: str
    source: str = ""
    published: datetime | None = None
    url: str = ""


def _parse_dt(v: Any) -> datetime | None:
    try:
        return parse_utc(v)
    except ValueError:
        return None


def as_doc(obj: Any, default_id: Any = None) -> Doc:
    """A :class:`Doc` from a Doc, a mapping (``id/url, title, text, source, published``) or
    an object with those attributes (``models.Article``: ``source_name``, ``published_at``)."""
    if isinstance(obj, Doc):
        return obj
    get = obj.get if isinstance(obj, Mapping) else (lambda k, d=None: getattr(obj, k, d))
    url = get("url") or ""
    ident = get("id")
    if ident is None:
        ident = url or default_id
    source = get("source") or get("source_name") or get("publisher") or ""
    if not isinstance(source, str):
        source = getattr(source, "name", str(source))
    published = get("published")
    if published is None:
        published = get("published_at")
    return Doc(id=ident, title=get("title") or "", text=get("text") or "", source=source,
               published=_parse_dt(published), url=url)


def as_docs(articles: Iterable[Any]) -> list[Doc]:
    return [as_doc(a, default_id=i) for i, a in enumerate(articles)]


# --------------------------------------------------------------------------- sentences

@dataclass(frozen=True)
class Sentence:
    text: str
    index: int          # position in the article (0 = first sentence of the body)
    para: int           # paragraph number
    start: int          # character offsets into the article text
    end: int


@dataclass(frozen=True)
class Cited:
    """A sentence (or passage) and where it comes from."""

    sentence: str
    article_id: Any
    source: str
    url: str = ""
    published: datetime | None = None
    score: float = 0.0

    @property
    def text(self) -> str:
        return self.sentence


_DATELINE_RE = re.compile(r"^[A-Z][A-Z'’\- ]+\s*\([^)]{2,40}\)\s*[—–-]+\s*")
_CREDIT_RE = re.compile(r"^(this|the) (article|story|report|piece) (was|is|has been) "
                        r"(provided|supplied|written|distributed|produced|republished)\b", re.I)
def strip_dateline(s: str) -> str:
    """"PORT ANSELM (Meridian) — Veltria and..." -> "Veltria and..."."""
    return _DATELINE_RE.sub("", s, count=1)


def is_credit_line(s: str) -> bool:
    return bool(_CREDIT_RE.match(s.strip()))


@lru_cache(maxsize=4096)
def _sentences_of(text: str) -> tuple[Sentence, ...]:
    out: list[Sentence] = []
    para_re = re.compile(r"\n\s*\n" if "\n\n" in text or "\n \n" in text else r"\n")
    pos = 0
    pieces = []
    for m in para_re.finditer(text):
        pieces.append((pos, m.start()))
        pos = m.end()
    pieces.append((pos, len(text)))
    para = 0
    for a, b in pieces:
        chunk = text[a:b]
        if not chunk.strip():
            continue
        lead_ws = len(chunk) - len(chunk.lstrip())
        body = chunk.strip()
        base = a + lead_ws
        for s, e in split_sentences(body):
            raw = body[s:e].strip()
            if not raw:
                continue
            out.append(Sentence(raw, len(out), para, base + s, base + e))
        para += 1
    return tuple(out)


def sentences(doc: Doc | str) -> list[Sentence]:
    """The sentences of an article body (or of a plain text), in order."""
    text = doc if isinstance(doc, str) else doc.text
    return list(_sentences_of(text or ""))


def _clean(s: str, index: int) -> str:
    return strip_dateline(s) if index == 0 else s


def lead_sentences(article: Any, n: int = 3) -> list[str]:
    """The first *n* sentences (the Lead-n baseline)."""
    doc = as_doc(article)
    return [_clean(s.text, s.index) for s in sentences(doc)[:n]]


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


# --------------------------------------------------------------------------- vectors

def _tfidf(bags: list[list[str]], idf: Mapping[str, float] | None = None) -> list[dict[str, float]]:
    if idf is None:
        df: Counter[str] = Counter()
        for b in bags:
            df.update(set(b))
        n = len(bags)
        idf = {w: math.log(1 + n / c) for w, c in df.items()}
    out = []
    for b in bags:
        tf = Counter(b)
        v = {w: (1 + math.log(c)) * idf.get(w, 1.0) for w, c in tf.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        out.append({w: x / norm for w, x in v.items()})
    return out


def _cos(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(w, 0.0) for w, x in a.items())


def _pagerank(sim: list[list[float]], d: float = 0.85, iters: int = 40) -> list[float]:
    n = len(sim)
    if n == 0:
        return []
    out_sum = [sum(row) for row in sim]
    r = [1.0 / n] * n
    for _ in range(iters):
        r = [(1 - d) / n + d * sum(sim[j][i] * r[j] / out_sum[j] for j in range(n) if out_sum[j])
             for i in range(n)]
    return r


def _candidate(s: Sentence) -> bool:
    t = s.text.strip()
    return (len(t.split()) >= 5 and not t.endswith("?") and not is_credit_line(t))


def summarize(article: Any, n: int = 3) -> list[str]:
    """The *n* (2-3 sensible) most central sentences of one article, in article order."""
    doc = as_doc(article)
    sents = [s for s in sentences(doc) if _candidate(s)]
    if not sents:
        return [doc.title] if doc.title else []
    if len(sents) <= n:
        return [_clean(s.text, s.index) for s in sents]
    bags = [tokens(s.text) for s in sents]
    vecs = _tfidf(bags)
    size = len(sents)
    sim = [[_cos(vecs[i], vecs[j]) if i != j else 0.0 for j in range(size)] for i in range(size)]
    rank = _pagerank(sim)
    top = max(rank) or 1.0
    title_vec = _tfidf([tokens(doc.title)] + bags)[0] if doc.title else {}
    scores = []
    for k, s in enumerate(sents):
        pos = 1 / math.sqrt(1 + s.index)
        scores.append(0.35 * rank[k] / top + 0.50 * pos + 0.15 * _cos(title_vec, vecs[k]))
    order = sorted(range(size), key=lambda k: (-scores[k], k))
    chosen: list[int] = []
    for k in order:
        if all(sim[k][c] < 0.6 for c in chosen):
            chosen.append(k)
        if len(chosen) == n:
            break
    return [_clean(sents[k].text, sents[k].index) for k in sorted(chosen)]


# --------------------------------------------------------------------------- story brief

@dataclass
class _Cand:
    doc: Doc
    sent: Sentence
    text: str
    bag: list[str]
    wset: set[str] = field(default_factory=set)
    vec: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    order: tuple = ()


def _when(doc: Doc) -> float:
    return doc.published.timestamp() if doc.published else 0.0


def story_brief(articles: Iterable[Any], max_sentences: int = 5) -> list[Cited]:
    """Up to *max_sentences* sentences telling the story, each citing its publisher."""
    docs = sorted(as_docs(articles), key=lambda d: (_when(d), str(d.id)))
    cands: list[_Cand] = []
    seen_text: dict[str, _Cand] = {}
    for rank, doc in enumerate(docs):
        for s in sentences(doc):
            if not _candidate(s) or s.index > 12:
                continue
            text = _clean(s.text, s.index)
            key = " ".join(words(text))
            if key in seen_text:           # verbatim copy: the earliest article keeps it
                continue
            c = _Cand(doc, s, text, tokens(text), set(words(text)), order=(rank, s.index))
            seen_text[key] = c
            cands.append(c)
    if not cands:
        return []
    vecs = _tfidf([c.bag for c in cands])
    centroid: Counter[str] = Counter()
    for c, v in zip(cands, vecs):
        c.vec = v
        centroid.update(v)
    norm = math.sqrt(sum(x * x for x in centroid.values())) or 1.0
    centroid_n = {w: x / norm for w, x in centroid.items()}
    last = max(len(docs) - 1, 1)
    for c in cands:
        pos = 1 / math.sqrt(1 + c.sent.index)
        quote = 0.8 if c.text[:1] in "\"“‘'" else 1.0
        dangling = 0.7 if c.text.split(" ", 1)[0].lower() in _ANAPHORA else 1.0
        recent = 0.85 + 0.15 * c.order[0] / last
        c.score = _cos(c.vec, centroid_n) * (0.5 + 0.5 * pos) * quote * dangling * recent
    chosen: list[_Cand] = []
    per_source: Counter[str] = Counter()
    lam = 0.7
    while len(chosen) < max_sentences:
        best, best_val = None, -1e9
        for c in cands:
            if c in chosen or any(_near_dup(c, o) for o in chosen):
                continue
            red = max((_cos(c.vec, o.vec) for o in chosen), default=0.0)
            val = (lam * c.score - (1 - lam) * red) * (0.5 ** per_source[c.doc.source])
            if val > best_val + 1e-12:
                best, best_val = c, val
        if best is None:
            break
        chosen.append(best)
        per_source[best.doc.source] += 1
    chosen.sort(key=lambda c: c.order)
    return [Cited(c.text, c.doc.id, c.doc.source, c.doc.url, c.doc.published, round(c.score, 4))
            for c in chosen]


_ANAPHORA = frozenset("that this these those it its he she they his her their but and so "
                      "then there however meanwhile".split())


def _near_dup(a: _Cand, b: _Cand) -> bool:
    inter = len(a.wset & b.wset)
    if not inter:
        return False
    return (inter / len(a.wset | b.wset) >= 0.5
            or inter / min(len(a.wset), len(b.wset)) >= 0.7)
