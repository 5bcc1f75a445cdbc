"""Questions answered from a story's own articles, with citations, or refused.

:func:`answer` retrieves sentences from the story's articles (a sentence repeated by wire
copies is one passage, citing the earliest article) and ranks them with BM25 (k1 1.2,
b 0.75) over the text toolkit's Snowball stems, the question's words expanded by a small
table of general newswire paraphrases (prisoner ~ detainee, swap ~ exchange, hack ~ breach). The question's type adds a cue:

* "how many/much", "what number/percentage" -> the passage must hold a number;
* "when", "what day/date/time" -> a date expression (today, on Thursday, June 2, 2025);
* "where" -> a place (an entity, or "in/at <Capitalised>");
* "who", "whom", "whose" -> a person.

Whether to answer at all is decided by *coverage*, independent of corpus size: the share
of the question's IDF mass (each synonym group counted once; a word the story never uses
weighs as much as its rarest word) that the best passage matches, times 0.6 when the
passage lacks the cue of a typed question. Below ``min_score`` the answer is
``found=False`` and the UI says "not in these sources". ``DEFAULT_MIN_SCORE`` (0.5) sits
in the middle of the gap measured on the demo newsroom (``tests/ai/test_demo_ai.py``
asks both kinds): 19 questions the stories answer scored 0.60-1.0, 11 questions about
things they never mention (the capital of Mars, a football match in a diplomacy story)
0-0.40.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from newsloom.enrich.embed import passages as embed_passages
from newsloom.enrich.entities import cached_entities
from newsloom.enrich.rank import fuse
from newsloom.enrich.summarize import Cited, Doc, as_docs, sentences, strip_dateline
from newsloom.enrich.text import stem, tokens, words
from newsloom.enrich.timeline import resolve_dates

__all__ = ["Answer", "answer", "BM25", "DEFAULT_MIN_SCORE", "question_type", "stem"]

DEFAULT_MIN_SCORE = 0.5
# Cosine (static model) from which an article passage counts as about the question. A short
# question's cosines run far lower than an article's to another (related articles: 0.6,
# tasks/stories.py): a question and a passage on its subject in other words score about
# 0.3-0.4, an unrelated passage about 0.1 (tests/ai/test_qa_meaning.py). Not tuned on a Q&A
# set (there is none); it only admits candidates, it never decides whether to answer.
MEANING_MIN = 0.3
MEANING_WEIGHT = 0.5            # the meaning ranking's weight in the fusion (words: 1.0)


@dataclass
class Answer:
    passages: list[Cited] = field(default_factory=list)
    text: str | None = None
    found: bool = False
    score: float = 0.0          # coverage of the best passage, 0..1
    qtype: str | None = None


# --------------------------------------------------------------------------- terms

# General newswire paraphrases: the words reporters use in turn for one thing, so a
# question in one wording finds a passage in another. About the language of news, not about
# any story; a question whose words no passage shares is answered "not in these sources".
_SYNONYMS = [
    "prisoner detainee captive hostage", "swap exchange", "release free freed",
    "kill killed dead death die died", "injure injured wounded hurt",
    "arrest arrested detain detained", "talk talks negotiation negotiations",
    "ruling judgment verdict", "jail prison imprisoned", "evacuate evacuation evacuee",
    "cost price spend spent", "hack hacker breach cyberattack",
]
_SYN: dict[str, str] = {}
for _group in _SYNONYMS:
    _ws = [stem(w) for w in _group.split()]
    for _w in _ws:
        _SYN.setdefault(_w, _ws[0])

_QWORDS = frozenset(stem(w) for w in (
    "how many much what which when where who whom whose why is are was were did does do the a "
    "an of in on at to for by with number big large long tall old far often happen happened").split())


def _terms(text: str) -> list[str]:
    out = []
    for t in tokens(text):           # stemmed by the text toolkit
        if t in _QWORDS:
            continue
        out.append(_SYN.get(t, t))
    return out


def question_type(question: str) -> str | None:
    q = question.strip().lower()
    if re.match(r"(how (many|much)|what (number|percentage|share|proportion|amount)\b)", q) \
            or re.search(r"\bhow (many|much)\b", q):
        return "number"
    if re.match(r"(when|what (day|date|time|year)|on what (day|date))\b", q):
        return "date"
    if re.match(r"(where|in what (place|city|town|country))\b", q):
        return "place"
    if re.match(r"(who|whom|whose)\b", q):
        return "person"
    return None


_NUM_RE = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                     r"twenty|thirty|forty|fifty|hundred|hundreds|thousand|thousands|dozen|"
                     r"dozens|million|billion)\b", re.I)
_NOT_GIVEN_RE = re.compile(r"\b(did not|has not|have not|without)\b.{0,30}\b(number|how many|"
                           r"figure|figures)\b", re.I)


def _has_cue(qtype: str | None, text: str, published) -> bool:
    if qtype is None:
        return True
    if qtype == "number":
        return bool(_NUM_RE.search(text)) or bool(_NOT_GIVEN_RE.search(text))
    if qtype == "date":
        return bool(resolve_dates(text, published or date(2000, 1, 3))) or bool(
            re.search(r"\b(1[89]|20)\d\d\b", text))
    ents = cached_entities(text)
    if qtype == "place":
        return any(e.kind == "place" for e in ents) or bool(re.search(r"\b(in|at) [A-Z]", text))
    if qtype == "person":
        return any(e.kind == "person" for e in ents)
    return True


# --------------------------------------------------------------------------- BM25

class BM25:
    """Okapi BM25 over pre-tokenised documents (k1 1.2, b 0.75)."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tf = [Counter(d) for d in docs]
        self.len = [len(d) for d in docs]
        self.avg = (sum(self.len) / len(docs)) if docs else 0.0
        df: Counter[str] = Counter()
        for d in docs:
            df.update(set(d))
        n = len(docs)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.max_idf = math.log(1 + (n + 0.5) / 0.5) if n else 1.0

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.max_idf)

    def score(self, query: list[str], i: int) -> float:
        tf, dl = self.tf[i], self.len[i]
        s = 0.0
        for t in set(query):
            f = tf.get(t, 0)
            if f:
                s += self.idf[t] * f * (self.k1 + 1) / (
                    f + self.k1 * (1 - self.b + self.b * dl / (self.avg or 1)))
        return s

    def coverage(self, query: list[str], i: int) -> float:
        q = set(query)
        total = sum(self.weight(t) for t in q)
        if not total:
            return 0.0
        return sum(self.weight(t) for t in q if t in self.tf[i]) / total


# --------------------------------------------------------------------------- answer

def _passages(docs: list[Doc]) -> list[tuple[Doc, str]]:
    out: list[tuple[Doc, str]] = []
    seen: set[str] = set()
    for d in sorted(docs, key=lambda d: (d.published.timestamp() if d.published else 0.0,
                                         str(d.id))):
        texts = ([d.title] if d.title else []) + [
            strip_dateline(s.text) if s.index == 0 else s.text for s in sentences(d)]
        for t in texts:
            key = " ".join(words(t))
            if key and key not in seen and not t.rstrip().endswith("?"):
                seen.add(key)
                out.append((d, t))
    return out


def _meaning(passages: list[tuple[Doc, str]], question_vector: Any,
             vectors: dict[Any, list[Any]]) -> list[float]:
    """Per passage sentence: the cosine between the question and the stored embedding of the
    article passage (embed.passages: a run of whole sentences) that holds it; 0 when unknown."""
    if question_vector is None or not vectors:
        return [0.0] * len(passages)
    cut: dict[Any, list[tuple[str, float]]] = {}
    out = []
    for d, t in passages:
        if d.id not in cut:
            stored = vectors.get(d.id) or []
            texts = embed_passages(d.text)
            # part 0 is the whole article (title + lead); parts 1.. are the passages in order
            cut[d.id] = [(p, float(v @ question_vector)) for p, v in zip(texts, stored[1:])] \
                if len(stored) == len(texts) + 1 else []
            if stored:
                cut[d.id].append((d.title, float(stored[0] @ question_vector)))
        out.append(max((c for p, c in cut[d.id] if t in p), default=0.0))
    return out


def answer(question: str, articles: Iterable[Any], *, min_score: float = DEFAULT_MIN_SCORE,
           top_k: int = 3, question_vector: Any = None, vectors: dict[Any, list[Any]] | None = None) -> Answer:
    """Passages of *articles* answering *question*, best first, or ``found=False``.

    With the question's embedding and the articles' stored vectors (store.article_vectors(...,
    parts=True)), a passage may also be retrieved by meaning: one whose article passage has
    cosine >= MEANING_MIN joins the candidates even when it shares no word with the question,
    and candidates are ordered by reciprocal-rank fusion of the word ranking (coverage, then
    BM25) and the meaning ranking. Whether to answer stays a word decision (coverage of the
    best candidate >= min_score): a cosine says "about the same thing", not "answers it"."""
    docs = as_docs(articles)
    qtype = question_type(question)
    query = _terms(question)
    passages = _passages(docs)
    if not query or not passages:
        return Answer(qtype=qtype)
    index = BM25([_terms(t) for _, t in passages])
    meaning = _meaning(passages, question_vector, vectors or {})
    ranked = []
    for i, (d, t) in enumerate(passages):
        bm = index.score(query, i)
        if bm <= 0 and meaning[i] < MEANING_MIN:
            continue
        cue = _has_cue(qtype, t, d.published)
        cov = index.coverage(query, i) * (1.0 if cue else 0.6)
        ranked.append((cov, bm * (1.0 if cue else 0.5), i))
    if not ranked:
        return Answer(qtype=qtype)
    ranked.sort(key=lambda r: (-r[0], -r[1], r[2]))
    best = ranked[0][0]
    by_words = [i for _, _, i in ranked]
    by_meaning = sorted((i for i in by_words if meaning[i] >= MEANING_MIN), key=lambda i: (-meaning[i], i))
    fused = fuse([(1.0, by_words), (MEANING_WEIGHT, by_meaning)])
    cov_of = {i: cov for cov, _, i in ranked}
    order = sorted(by_words, key=lambda i: (-fused[i], by_words.index(i)))
    out = [Cited(passages[i][1], passages[i][0].id, passages[i][0].source, passages[i][0].url,
                 passages[i][0].published, round(cov_of[i], 4)) for i in order[:top_k]]
    if best < min_score:
        return Answer(out, None, False, round(best, 4), qtype)
    return Answer(out, out[0].sentence, True, round(best, 4), qtype)
