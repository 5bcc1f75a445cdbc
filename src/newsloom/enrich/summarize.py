"""Extractive summaries: one article's key sentences, and a cited brief of a whole story.

Also the small shared vocabulary of the AI modules: :class:`Doc` (an article as these
modules see it), :func:`as_doc`, :func:`sentences` and :class:`Cited` (a sentence with the
article and publisher it comes from).

:func:`story_brief` tells a story from all its articles, each sentence citing its
publisher; :func:`summarize` is the brief of a story of one article, and both are made by
one selection, in this order:

1. Candidates: each article's sentences, as the text toolkit splits them (pysbd, per
   paragraph: "U.S." or "Dr." never ends a sentence), up to the 30th, minus those that carry
   no news (:func:`is_junk`): fewer than five words, questions, lines that are no prose
   (headlines, link labels, captions), "Label: ..." lines, bylines, credits and promotions
   ("Click here", "Follow us"), quotations that never say who spoke. A sentence that an
   earlier article already has word for word (a wire copy) cites that article only.
2. Trimming (:func:`trim`), which keeps every sentence one contiguous run of its article's
   words, so a reader finds it in the source: the dateline or agency prefix of an article's
   first candidate ("PORT ANSELM (Meridian) —", "(CNN)", also after a byline), an opening
   connective ("But", "However,"), a closing attribution (", officials said on Monday")
   and a closing non-restrictive relative clause (", which ..."), each only where a
   statement of five words or more is left and no quotation loses its speaker.
3. Scores: cosine similarity to the story's TF-IDF centroid (content words from
   :func:`newsloom.enrich.text.tokens`; every sentence and headline of the story, IDF over
   them: what the articles keep saying) plus a lead prior 0.5/(1+i), i the sentence's
   position in its article (news puts the point first). In a story of several articles a
   sentence is read beside other publishers' ones, so one that opens with a pronoun
   ("They said...") gets x0.7, one in the writer's first person x0.5, and later articles
   are slightly preferred (x0.85 for the first to x1.0 for the latest: the brief should
   reach the latest development).
4. Greedy pick within a length budget: the best-scoring sentence, discounted x0.5 for each
   sentence its publisher already has (so several publishers are cited), that is not
   redundant with one already taken (TF-IDF cosine >= 0.4, or word sets overlapping by
   Jaccard >= 0.5 or containment >= 0.7) and does not take the brief past 1.6 x the aim;
   until the brief reaches its aim in words (:data:`BRIEF_WORDS`, 45, for one publisher;
   twice that for several) or its number of sentences (3; 5 for several publishers).
   Output is in story order (publication, then position).
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
           "story_brief", "lead_sentences", "jaccard", "is_credit_line", "strip_dateline", "is_junk", "trim",
           "BRIEF_WORDS"]


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


# A dateline or agency prefix before an article's first sentence: "PORT ANSELM (Meridian) — ",
# "WASHINGTON (CNN) -- ", "Coral Gables, Florida (CNN)" straight onto the sentence, "(Reuters) - ".
# Without a dash the text must follow the ")" directly, so "The Fund (IMF) On Monday" is kept.
_PLACE = r"[A-Z][\w.'’\-]*(?:[ ,]+(?:[A-Z][\w.'’\-]*|de|da|del|la|le|el|al|of|am|an|upon))*"
_DATELINE_RE = re.compile(rf"^(?:{_PLACE}\s*)?\([^()]{{2,40}}\)(?:\s*[—–-]+\s*|(?=[A-Z0-9\"“‘']))")
_CREDIT_RE = re.compile(r"^(this|the) (article|story|report|piece) (was|is|has been) "
                        r"(provided|supplied|written|distributed|produced|republished)\b", re.I)


def strip_dateline(s: str) -> str:
    """"PORT ANSELM (Meridian) — Veltria and..." -> "Veltria and..."; also "(CNN)Veltria..."."""
    out = _DATELINE_RE.sub("", s, count=1)
    return out if len(out.split()) >= 2 else s


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


# --------------------------------------------------------------------------- candidates

#: What a brief aims at, in words: news highlights run 30-60 words (CNN/DailyMail's median
#: about 32), so two or three plain sentences; ROUGE's F-measure, like a reader, rewards
#: not padding. A story told by several publishers gets twice the room, to cite them.
BRIEF_WORDS = 45
#: A sentence that would take the brief past this many times the aim is passed over
#: (1.6 x 45 = 72 words: about what the first three sentences of a news article run to).
_CAP = 1.6
#: Sentences after this position in an article are not candidates (they still shape the
#: centroid): the lead prior leaves them little chance and a 500-article story stays fast.
_DEPTH = 30

_QUOTES = "\"“”‘’'«»"
# Ends like a sentence: a stop, then closing quotes or brackets. A line that does not (a
# headline, a link label, a photo caption; some exports append " ." to those) is no prose.
_PROSE_END_RE = re.compile(r"\S[.!…][\"'”’)\]]*$")
# "Read more: ...", "Photo: ...", "WATCH: ...", "Federal judge: ...": a label of at most three
# words before a colon opens a link, a caption or a headline, not a statement.
_LABEL_RE = re.compile(r"^[^\s:]+(?:\s+[^\s:]+){0,2}:(?:\s|$)")
_JUNK_RE = re.compile(
    r"^By\s+(?:[.·|]|[A-Z][\w.'’\-]*(?:\s+[A-Z][\w.'’\-]*){0,3}\s*(?:[,.|]|and\b|$))"     # bylines
    r"|(?i:^(?:click\s+here|read\s+(?:more|this|the\s+full)|watch\s+(?:the|our|now|live|more)"
    r"|follow\s+(?:us|him|her|them|@|\S+\s+on\s+(?:twitter|facebook|instagram))"
    r"|sign\s+up|subscribe\b|share\s+this|see\s+also|related\s*:|all\s+rights\s+reserved"
    r"|copyright\b|©)"
    r"|\bcontributed\s+(?:to\s+)?(?:this|the)\s+(?:report|story|article)"
    r"|\b(?:photo|image|picture)s?\s*(?:credit)?\s*:|\bgetty\s+images\b|\bap\s+photo\b)"
    r"|^[A-Z][\w'’]*(?:\s+[A-Z][\w'’\-]*){0,3}\s+reported\s+from\s+[A-Z][^.]{0,40}[.]$")
# A stray closing quote left at the start of a sentence by the text it was cut from.
_STRAY_RE = re.compile(r"^[\"“”]\s+(?=[A-Z0-9])")
# A quote that says who spoke, outside the quotation marks: '"...," she said.',
# '"...," Ruiz told reporters.', '"...," said Ana Ruiz.'
_SPOKEN_RE = re.compile(r"\b(?:said|says|say|told|tells|added|adds|asked|wrote|writes|recalled"
                        r"|explained|insisted|warned|according\s+to)\b", re.I)
_FIRST_PERSON_RE = re.compile(r"\b(?:I|I'm|I’m|I've|I’ve|I'd|I’d|me|my|mine|myself)\b")
_QUOTED_RE = re.compile(r"[\"“][^\"“”]*[\"”]|[\"“][^\"“”]*$")   # closed, or running to the end


def _unquoted(text: str) -> str:
    """*text* without what stands inside quotation marks (an unclosed quote runs to the end)."""
    return _QUOTED_RE.sub(" ", text)


# Light trimming that keeps a sentence one contiguous run of its article's words (a cited
# sentence can be found in its source): an opening connective, a closing attribution.
_OPENER_RE = re.compile(
    r"^(?:(?:But|And|Nonetheless|Nevertheless)\s*,?\s+"
    r"|(?:However|Meanwhile|Still|Yet|Also|Now|Instead|Indeed|Moreover|Furthermore|Separately)\s*,\s+)"
    r"(?=[A-Za-z0-9\"“])")
_NOT_SPEAKER = (r"(?!(?i:which|who|whom|whose|that|and|but|or|while|as|when|where|if|because|after|before"
                r"|although|though|since|so|with|including|to|for|it)\b)")
_WORD = r"[^\s,;:\"“”]+"
_NAME = r"[A-Z][\w.'’&\-]*(?:\s+[A-Z][\w.'’&\-]*){0,3}"
# A named body, however long its name: "the Federal Office for the Protection of the Coast".
_INSTITUTION = r"(?:the\s+)?[A-Z][\w.'’&\-]*(?:\s+(?:[A-Z][\w.'’&\-]*|of|for|the|on|and))*?\s+"
_SPEAKER = _NOT_SPEAKER + rf"(?:{_INSTITUTION}|(?:{_WORD}\s+){{0,7}}?)"   # "police", "the state-run agency"
_TOLD = rf"told\s+(?:{_NAME}|reporters|journalists|the\s+{_WORD}|an?\s+{_WORD}(?:\s+{_WORD})?)"
_WHEN = (r"(?:\s+(?i:on|early|late|last|this|in|at|during|earlier|later|today|yesterday|tonight|monday"
         rf"|tuesday|wednesday|thursday|friday|saturday|sunday)\b(?:\s+{_WORD}){{0,3}})?")
_ATTRIBUTION_RE = re.compile(
    rf",\s+(?:{_SPEAKER}(?:said|says|{_TOLD}|reported|added|announced|confirmed|stated|wrote|noted){_WHEN}"
    r"|(?:said|says)\s+(?!to\b|that\b)[^;:\"“”]{1,80}?"
    r"|according\s+to\s+[^;:\"“”]{1,80}?)\s*([.!])$")
# A closing non-restrictive relative clause (after a comma, itself without one: the statement
# stands without it); not in a cleft sentence ("It was Rob, not Kim, who spoke"), where it is
# the point.
_RELATIVE_RE = re.compile(r",\s+(?:which|who|whose)\b[^,;:\"“”]*?([.!])$")
_CLEFT_RE = re.compile(r"\b[Ii]t\s+(?:is|was)\b|\b[Ii]t['’]s\b")


def is_junk(text: str) -> bool:
    """A sentence that carries no news for a brief: fewer than five words, a question, a
    line that is no prose (headline, link label, caption), a byline, credit or promotion
    ("Click here", "Follow us"), or a quotation that never says who spoke."""
    t = _STRAY_RE.sub("", text.strip())
    if len(t.split()) < 5 or t.endswith("?") or t.endswith(" ."):
        return True
    if not _PROSE_END_RE.search(t) or _LABEL_RE.match(t) or is_credit_line(t) or _JUNK_RE.search(t):
        return True
    if t[0] in _QUOTES:              # a quote without a subject, unless the sentence goes on
        rest = _unquoted(t)
        return not _SPOKEN_RE.search(rest) and len(rest.split()) < 4
    return False


def trim(text: str, first: bool = False) -> str:
    """*text* without what a brief does not need, still one run of the article's words: the
    dateline of an article's first sentence, a stray quotation mark, an opening connective
    ("But", "However,"), then a closing attribution (", officials said on Monday", ",
    according to the ministry") and a closing non-restrictive relative clause (", which
    ..."), each only when what is left is a statement of five words or more and no quote."""
    t = strip_dateline(text) if first else text
    t = _STRAY_RE.sub("", t)
    m = _OPENER_RE.match(t)
    if m and len(t[m.end():].split()) >= 5:
        t = t[m.end()].upper() + t[m.end() + 1:]
    if t[:1] not in _QUOTES:
        for cut in (_ATTRIBUTION_RE, _RELATIVE_RE):
            m = cut.search(t)
            if (m and len(t[:m.start()].split()) >= 5 and t[m.start() - 1] not in _QUOTES
                    and not (cut is _RELATIVE_RE and _CLEFT_RE.search(t[:m.start()]))):
                t = t[:m.start()] + m.group(1)
    return t


def _clean(s: str, index: int) -> str:
    return strip_dateline(s) if index == 0 else s


def lead_sentences(article: Any, n: int = 3) -> list[str]:
    """The first *n* sentences (the Lead-n baseline), the first without its dateline."""
    doc = as_doc(article)
    return [_clean(s.text, s.index) for s in sentences(doc)[:n]]


# --------------------------------------------------------------------------- selection

@dataclass
class _Cand:
    doc: Doc
    sent: Sentence
    text: str
    bag: list[str]
    wset: set[str] = field(default_factory=set)
    vec: dict[str, float] = field(default_factory=dict)
    words: int = 0
    score: float = 0.0
    order: tuple = ()


def _when(doc: Doc) -> float:
    return doc.published.timestamp() if doc.published else 0.0


_ANAPHORA = frozenset("that this these those it its he she they his her their but and so "
                      "then there however meanwhile".split())


def _select(docs: list[Doc], max_sentences: int, max_words: int) -> list[_Cand]:
    """The brief of *docs* (oldest first): the module docstring's steps 1-4."""
    cands: list[_Cand] = []
    seen_text: set[str] = set()
    context: list[list[str]] = []      # every sentence and headline: what the centroid is made of
    for rank, doc in enumerate(docs):
        if doc.title:
            context.append(tokens(doc.title))
        lead = True                        # the first sentence with news carries the dateline
        for s in sentences(doc):
            context.append(tokens(s.text))
            if s.index >= _DEPTH or is_junk(s.text):
                continue
            text = trim(s.text, first=lead)
            lead = False
            key = " ".join(words(text))
            if key in seen_text:           # verbatim copy: the earliest article keeps it
                continue
            seen_text.add(key)
            cands.append(_Cand(doc, s, text, tokens(text), set(words(text)), words=len(text.split()),
                               order=(rank, s.index)))
    if not cands:
        return []
    df: Counter[str] = Counter()
    for bag in context:
        df.update(set(bag))
    idf = {w: math.log(1 + len(context) / c) for w, c in df.items()}
    centroid: Counter[str] = Counter()
    for v in _tfidf(context, idf):
        centroid.update(v)
    norm = math.sqrt(sum(x * x for x in centroid.values())) or 1.0
    centroid_n = {w: x / norm for w, x in centroid.items()}
    several = len(docs) > 1
    last = max(len(docs) - 1, 1)
    for c, v in zip(cands, _tfidf([c.bag for c in cands], idf)):
        c.vec = v
        c.score = _cos(v, centroid_n) + 0.5 / (1 + c.sent.index)
        if several:                    # read beside other publishers' sentences
            if c.text.split(" ", 1)[0].lower() in _ANAPHORA:
                c.score *= 0.7
            if _FIRST_PERSON_RE.search(_unquoted(c.text)):
                c.score *= 0.5
            c.score *= 0.85 + 0.15 * c.order[0] / last
    chosen: list[_Cand] = []
    per_source: Counter[str] = Counter()
    total, cap = 0, max_words * _CAP
    cands.sort(key=lambda c: -c.score)
    while len(chosen) < max_sentences and total < max_words:
        best, best_val = None, -1.0
        for c in cands:
            if c.score <= best_val:    # sorted: no later candidate can do better
                break
            if c in chosen or (chosen and total + c.words > cap) or _redundant(c, chosen):
                continue
            val = c.score * 0.5 ** per_source[c.doc.source]
            if val > best_val:
                best, best_val = c, val
        if best is None:
            break
        chosen.append(best)
        total += best.words
        per_source[best.doc.source] += 1
    chosen.sort(key=lambda c: c.order)
    return chosen


def summarize(article: Any, n: int = 3, max_words: int = BRIEF_WORDS) -> list[str]:
    """The summary of one article: up to *n* sentences, about *max_words* words, in article
    order: the brief of a story of this one article (its headline when nothing qualifies)."""
    doc = as_doc(article)
    picked = [c.text for c in _select([doc], n, max_words)]
    if not picked and doc.title:
        return [doc.title]
    return picked


def story_brief(articles: Iterable[Any], max_sentences: int | None = None,
                max_words: int | None = None) -> list[Cited]:
    """The sentences telling the story, each citing its publisher: for a story of one
    publisher up to 3 sentences of about :data:`BRIEF_WORDS` words (what :func:`summarize`
    gives), for several up to 5 sentences of about twice that."""
    docs = sorted(as_docs(articles), key=lambda d: (_when(d), str(d.id)))
    several = len({d.source for d in docs}) > 1
    if max_sentences is None:
        max_sentences = 5 if several else 3
    if max_words is None:
        max_words = BRIEF_WORDS * (2 if several else 1)
    return [Cited(c.text, c.doc.id, c.doc.source, c.doc.url, c.doc.published, round(c.score, 4))
            for c in _select(docs, max_sentences, max_words)]


def _redundant(c: _Cand, chosen: list[_Cand]) -> bool:
    """*c* says what a chosen sentence says: TF-IDF cosine >= 0.4, or word sets overlapping
    by Jaccard >= 0.5 or containment >= 0.7 (wire copies repeat sentences verbatim or trimmed)."""
    for o in chosen:
        if _cos(c.vec, o.vec) >= 0.4:
            return True
        inter = len(c.wset & o.wset)
        if inter and (inter / len(c.wset | o.wset) >= 0.5 or inter / min(len(c.wset), len(o.wset)) >= 0.7):
            return True
    return False
