"""Hashtags for an article and for a story: named entities plus keyphrases.

Candidates, per article (title counted twice, first paragraph 1.5x):

* **Entities** (:mod:`newsloom.enrich.entities`): a person becomes the surname
  ("Volodymyr Zelenskyy" -> #Zelenskyy; mentions of the full name and of the surname
  alone count together); a place its CamelCase name (#PortAnselm); an organisation an
  acronym written in the text ("(OPCW)"), else its CamelCase name without "of"/"the" when
  that is short (<= 30 letters), else its initials. Score: weighted mention count. The
  publisher's own name (a byline, "told the Gazette") is never a tag.
* **Keyphrases**: runs of 1-3 lower-case content words (no stopwords, numbers, common
  verbs, adverbs or words too generic to tag: "people", "year"), TextRank-scored: word
  scores are PageRank over a co-occurrence graph (window 3) of the candidate words, a
  phrase scores the mean of its words times the square root of its frequency, times
  1.5 when it is in the headline, with a bonus for two-word phrases (the usual shape of
  a topic: "prisoner swap", "flood defences").

A phrase must occur in the body (headlines are mostly verbs: "Drought forces..."), twice
in all, a single word three times, and a single word carried by a two-word phrase
("rate" in "interest rate") gives way to it. Short forms merge into one tag ("River
Dvena" and "Dvena"; "Maritime Museum of Port Anselm" and "Maritime Museum").

Both lists are normalised to their best candidate; entities weigh 1.0, keyphrases 0.8.
The article gets every candidate scoring at least 0.2 of the best, no fewer than
``k[0]`` (when it offers that many) and no more than ``k[1]``; a keyphrase that repeats an entity's words, or a
plural/singular twin, is dropped. Ties break on the slug, so output is deterministic.

:func:`story_hashtags` adds the articles' normalised entity scores per tag (divided by
the number of articles, so a name used by many publishers rises), extracts keyphrases
once over the story's distinct paragraphs (wire copies count once) weighted by the
square root of the share of articles using them (0.6 of the best entity), and merges
spelling variants across the story with :func:`entities.merge_variants` (Varga/Warga ->
one tag shown as the most frequent spelling). With ``story_articles``,
:func:`hashtags` shows an article's names in that story spelling too.

Measured on 15 fictional articles with gold keyphrases (``tests/ai/data/``,
``newsloom.eval.hashtags.eval_hashtags``): F1@5 0.60 and F1@10 0.69, against 0.22 and 0.30 for YAKE
(n<=3) computed in the same run.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from newsloom.enrich.entities import (
    Entity, cached_entities, canonical_key, fold, merge_variants, surname,
)
from newsloom.enrich.summarize import Doc, as_doc, as_docs
from newsloom.enrich.text import STOPWORDS

__all__ = ["Hashtag", "hashtags", "story_hashtags", "slugify", "camel", "story_known_kinds"]


@dataclass(frozen=True)
class Hashtag:
    tag: str          # display form without '#': "PrisonerSwap", "Zelenskyy"
    kind: str         # person, place, org, keyphrase
    score: float
    phrase: str = ""  # what it stands for: "prisoner swap", "Zelenskyy", "Port Anselm"

    @property
    def slug(self) -> str:
        return slugify(self.tag)


def slugify(tag: str) -> str:
    """Lower-case ASCII letters and digits only: "PrisonerSwap" -> "prisonerswap"."""
    return re.sub(r"[^a-z0-9]", "", fold(tag))


def camel(phrase: str) -> str:
    """"prisoner swap" -> "PrisonerSwap"; keeps inner capitals ("Kestrel-1" -> "Kestrel1")."""
    parts = re.findall(r"[^\W_]+", re.sub(r"['’]", "", phrase))
    return "".join(p[:1].upper() + p[1:] for p in parts)


# --------------------------------------------------------------------------- keyphrases

_STOP = STOPWORDS["en"] | frozenset("""
also would could should might must shall may can will said says say told tell added asked
according including include includes included despite although though however around
about across among amid per cent percent people person persons year years month months
week weeks day days time times today yesterday tomorrow morning afternoon evening night
tonight hour hours minute minutes part parts number numbers way ways lot lots thing things
kind sort case cases place places point points fact end side sides group groups
several many much more most less least few other others another new old last next first
second third former latter own same such only whole full main major minor big small
large little long short high low early late good bad best worst better worse great
certain clear possible likely different recent current further real whole key top
half dozen dozens hundreds thousands millions billions one two three four five six seven
eight nine ten eleven twelve twenty thirty forty fifty hundred thousand million billion
mr mrs ms dr st am pm told don doesn isn wasn aren weren hasn haven hadn won wouldn
something anything nothing everything someone anyone everyone nobody somebody
make makes made making take takes took taken taking give gives gave given giving get gets
got getting go goes went gone going come comes came coming see sees saw seen seeing
know knows knew known think thinks thought want wants wanted use uses used using find
finds found put puts keep keeps kept let lets begin begins began begun seem seems seemed
show shows showed shown hold holds held bring brings brought turn turns turned leave
leaves left call calls called try tries tried ask asks need needs needed feel felt become
becomes became remain remains remained mean means meant set sets run runs ran stand stands
stood expect expects expected pay pays paid meet meets met continue continues continued
happen happens happened believe believes believed told reported reports report statement
whether already still even just very really quite rather almost enough simply perhaps
never always often sometimes usually again ago away back far here there now then soon
earlier later instead yet ahead behind within along toward towards worth
stolen taken given broken chosen driven written spoken fallen risen hidden frozen beaten
forgotten eaten shaken woken sworn torn worn born drawn grown known shown thrown flown
government town city country area officials official statement state members member
family families home homes office life world news
""".split())
_WORD_RE = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*|\d[\d.,]*|[^\w\s]")


def _plural_fold(w: str) -> str:
    n = len(w)
    if n > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if n > 4 and w.endswith(("ches", "shes", "sses", "xes")):
        return w[:-2]
    if n > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is", "os", "as", "ys")):
        return w[:-1]
    return w


_ADJ_ENDS = ("al", "ive", "ous", "ic", "ful", "less", "able", "ible", "ary", "ern", "ish",
             "est", "ier")


def _content(w: str) -> bool:
    if len(w) < 3 or w in _STOP:
        return False
    if w.endswith("ly") and len(w) > 4:
        return False
    return True


def _adjective(w: str) -> bool:
    return w.endswith(_ADJ_ENDS) and len(w) > 5


def _verbish(w: str) -> bool:
    return w.endswith(("ed", "ing")) and len(w) > 5 and not w.endswith(("eed", "ring", "ling",
                                                                      "ding", "thing"))


def _phrases(text: str, title: str) -> list[tuple[str, float]]:
    """(phrase, score) keyphrase candidates, best first."""
    seqs: list[list[str]] = []
    cur: list[str] = []
    weights: list[float] = []
    body_lower = {fold(m.group(0)) for m in _WORD_RE.finditer(text) if m.group(0)[0].islower()}
    for part, weight in ((title, 2.0), (text, 1.0)):
        for m in _WORD_RE.finditer(part):
            tok = m.group(0)
            w = fold(tok)
            lower = tok[0].islower() or (weight > 1 and tok[0].isalpha() and w in body_lower)
            if tok[0].isalpha() and lower and _content(w) and "'" not in w and "’" not in w:
                cur.append(w)
                continue
            if cur:
                seqs.append(cur)
                weights.append(weight)
                cur = []
        if cur:
            seqs.append(cur)
            weights.append(weight)
            cur = []
    # TextRank over candidate words
    nbr: dict[str, Counter[str]] = defaultdict(Counter)
    freq: Counter[str] = Counter()
    for seq in seqs:
        for i, w in enumerate(seq):
            freq[_plural_fold(w)] += 1
            for j in range(i + 1, min(i + 3, len(seq))):
                a, b = _plural_fold(w), _plural_fold(seq[j])
                if a != b:
                    nbr[a][b] += 1
                    nbr[b][a] += 1
    nodes = sorted(freq)
    rank = {w: 1.0 for w in nodes}
    deg = {w: sum(nbr[w].values()) for w in nodes}
    edges = {w: [(v, c / deg[v]) for v, c in nbr[w].items()] for w in nodes}
    for _ in range(30):
        rank = {w: 0.15 + 0.85 * sum(rank[v] * x for v, x in edges[w]) for w in nodes}
    # phrases: every 1-3 word window of a sequence; verb-like words cannot end one
    pcount: Counter[str] = Counter()
    pbody: Counter[str] = Counter()
    ptitle: set[str] = set()
    surface: dict[str, Counter[str]] = defaultdict(Counter)
    for seq, weight in zip(seqs, weights):
        for i in range(len(seq)):
            for n in (1, 2, 3):
                if i + n > len(seq):
                    break
                ph = seq[i:i + n]
                if _verbish(ph[-1]) or _adjective(ph[-1]) or (
                        n > 1 and _verbish(ph[0]) and ph[0].endswith("ed")):
                    continue
                key = " ".join(_plural_fold(w) for w in ph)
                pcount[key] += 1
                surface[key][" ".join(ph)] += 1
                if weight > 1:
                    ptitle.add(key)
                else:
                    pbody[key] += 1
    out = []
    multi_words: dict[str, float] = {}
    for key, c in pcount.items():
        if " " in key and pbody[key] and c >= 2:
            for w in key.split():
                multi_words[w] = max(multi_words.get(w, 0), c)
    for key, c in pcount.items():
        ws = key.split()
        if len(ws) == 1 and multi_words.get(key, 0) >= c / 2:
            continue                # "rate" when "interest rate" carries it
        # a phrase must be in the body (headlines are mostly verbs), twice in all, and a
        # single word three times
        if not pbody[key] or c < 2 or (len(ws) == 1 and c < 3):
            continue
        base = sum(rank[w] for w in ws) / len(ws)
        shape = {1: 0.5, 2: 1.0, 3: 0.7}[len(ws)]
        score = base * math.sqrt(c) * shape * (1.5 if key in ptitle else 1.0)
        disp = sorted(surface[key].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        out.append((disp, score))
    out.sort(key=lambda x: (-x[1], x[0]))
    return out


# --------------------------------------------------------------------------- entities

_ACRO_RE = re.compile(r"\(([A-Z][A-Z0-9&]{1,7})\)")


def _org_tag(name: str, text: str) -> str:
    m = re.search(re.escape(name) + r"\s*\(([A-Z][A-Z0-9&]{1,7})\)", text)
    if m:
        return m.group(1)
    if name.isupper() and len(name) <= 8:
        return name
    words = [w for w in re.findall(r"[^\W_]+", re.sub(r"['’]", "", name)) if fold(w) != "the"]
    cc = "".join(w[:1].upper() + w[1:] for w in words)
    if len(cc) <= 30:
        return cc
    return "".join(w[0].upper() for w in words)


def _publisher_words(sources: Iterable[str]) -> set[str]:
    out = set()
    for s in sources:
        k = canonical_key(s)
        if not k:
            continue
        out.add(k)
        ws = [w for w in k.split() if w not in ("the", "daily", "news", "service", "wire")]
        out.update(ws)
        out.add(" ".join(ws))
    return out


@dataclass
class _Cand:
    key: str           # merge key (slug of the tag)
    tag: str
    kind: str
    phrase: str
    score: float
    names: tuple[str, ...] = ()     # surface names (for variant merging)


def story_known_kinds(docs: list[Doc]) -> dict[str, str]:
    """canonical key -> the kind most articles of the story give that name."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for d in docs:
        for e in _entities(d):
            if e.kind != "misc":
                votes[canonical_key(e.text)][e.kind] += 1
    return {k: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for k, c in votes.items()}


def _entities(doc: Doc) -> tuple[Entity, ...]:
    return cached_entities(f"{doc.title}\n\n{doc.text}")


_SHORT_FIRST = frozenset("river storm lake mount hurricane typhoon cyclone".split())


def _short_forms(kinds: dict[str, str]) -> dict[str, str]:
    """Name key -> the key of its shortest short form of the same kind present too:
    "maritime museum of port anselm" -> "maritime museum", "river dvena" -> "dvena",
    "greystone water company" -> "greystone"."""
    order = sorted(kinds, key=lambda k: (len(k.split()), k))
    out: dict[str, str] = {}
    for k in order:
        ws = k.split()
        out[k] = k
        if kinds[k] == "person":
            continue
        for short in order:
            sw = short.split()
            if len(sw) >= len(ws):
                continue
            if kinds[short] != kinds[k] and not (kinds[k] == "misc" and ws[0] in _SHORT_FIRST):
                continue
            if ws[:len(sw)] == sw or (ws[0] in _SHORT_FIRST and ws[1:] == sw):
                out[k] = out[short]
                break
    return out


def _mentions(doc: Doc, known: dict[str, str],
              publishers: set[str]) -> list[tuple[str, str, str, float]]:
    """(canonical key, kind, surface, weight) per entity mention; persons keyed by surname."""
    first_para_end = len(doc.title) + 2 + (doc.text.find("\n\n") if "\n\n" in doc.text
                                           else len(doc.text))
    ents = _entities(doc)
    surnames: set[str] = set()
    for e in ents:
        if _kind(e, known) == "person" and " " in e.text.strip():
            surnames.add(canonical_key(surname(e.text)))
    out = []
    for e in ents:
        ck = canonical_key(e.text)
        if not ck or ck in publishers:
            continue
        kind = _kind(e, known)
        if kind == "person" or (" " not in ck and ck in surnames):
            kind, surface = "person", surname(e.text)
            ck = canonical_key(surface)
        else:
            surface = e.text
        if kind == "misc" and (len(ck) < 4 or not re.search(r"[a-z]", e.text)):
            continue
        w = 2.0 if e.start < len(doc.title) else (1.5 if e.start < first_para_end else 1.0)
        out.append((ck, kind, surface, w * (0.5 if kind == "misc" else 1.0)))
    return out


def _kind(e: Entity, known: dict[str, str]) -> str:
    if e.kind == "misc":
        return known.get(canonical_key(e.text), "misc")
    return e.kind


def _candidates(doc: Doc, known: dict[str, str], publishers: set[str],
                short: dict[str, str] | None = None, phrases: bool = True) -> list[_Cand]:
    full = f"{doc.title}\n\n{doc.text}"
    mentions = _mentions(doc, known, publishers)
    if short is None:
        short = _short_forms({ck: kind for ck, kind, _, _ in mentions})
    weight: Counter[str] = Counter()
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    surfaces: dict[str, Counter[str]] = defaultdict(Counter)
    for ck, kind, surface, w in mentions:
        key = short.get(ck, ck)
        weight[key] += w
        kinds[key][kind] += 1
        if key == ck:
            surfaces[key][surface] += 1
    out: list[_Cand] = []
    if weight:
        top = max(weight.values())
        for key, w in weight.items():
            kind = sorted(kinds[key].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            if not surfaces[key]:
                continue
            surface = sorted(surfaces[key].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            if kind == "person":
                tag = surface
            elif kind == "org":
                tag = _org_tag(surface, full)
            else:
                tag = camel(surface)
            out.append(_Cand(slugify(tag), tag, "keyphrase" if kind == "misc" else kind,
                             surface, w / top, tuple(surfaces[key].elements())))
    if not phrases:
        return out
    ent_words = {w for c in out for w in fold(c.phrase).split()}
    kps = _phrases(doc.text, doc.title)
    if kps:
        top = kps[0][1]
        for phrase, s in kps[:30]:
            ws = phrase.split()
            if all(w in ent_words for w in ws):
                continue
            out.append(_Cand(slugify(camel(phrase)), camel(phrase), "keyphrase", phrase,
                             0.8 * s / top))
    return out


def _select(cands: list[_Cand], k: tuple[int, int]) -> list[Hashtag]:
    lo, hi = k
    best: dict[str, _Cand] = {}
    for c in cands:
        if not c.key:
            continue
        if c.key not in best or c.score > best[c.key].score:
            best[c.key] = c
    ranked = sorted(best.values(), key=lambda c: (-c.score, c.key))
    out: list[_Cand] = []
    folded_seen: list[set[str]] = []
    for c in ranked:
        words = {_plural_fold(w) for w in fold(c.phrase).split()}
        if c.kind == "keyphrase" and any(words <= s or (len(s) > 1 and s <= words and len(words) - len(s) < 1)
                                         for s in folded_seen):
            continue
        if c.kind == "keyphrase" and any(words == s for s in folded_seen):
            continue
        if len(out) >= hi:
            break
        if len(out) >= lo and ranked and c.score < 0.2 * ranked[0].score:
            break
        out.append(c)
        folded_seen.append(words)
    return [Hashtag(c.tag, c.kind, round(c.score, 4), c.phrase) for c in out]


_STORY_CACHE: dict[tuple, tuple[dict, set, dict, dict]] = {}


def _story_context(docs: list[Doc]) -> tuple[dict, set, dict, dict]:
    """(known kinds, publisher words, short forms, display) of a story, memoised: every
    article of a story asks for the same context."""
    key = tuple((str(d.id), d.source, d.title, d.text) for d in docs)
    hit = _STORY_CACHE.get(key)
    if hit is None:
        if len(_STORY_CACHE) > 64:
            _STORY_CACHE.clear()
        known = story_known_kinds(docs)
        publishers = _publisher_words(d.source for d in docs)
        short = _story_short(docs, known, publishers)
        display = _story_display(docs, known, publishers, short)
        hit = _STORY_CACHE[key] = (known, publishers, short, display)
    return hit


def hashtags(article: Any, *, story_articles: Iterable[Any] | None = None,
             k: tuple[int, int] = (3, 8)) -> list[Hashtag]:
    """3-8 hashtags for one article, best first. With *story_articles* (the article's
    story), names are classified with the whole story's evidence and shown in the
    story's most common spelling."""
    doc = as_doc(article)
    if story_articles is not None:
        known, publishers, short, display = _story_context(as_docs(story_articles))
        publishers = publishers | _publisher_words([doc.source])
        cands = _candidates(doc, known, publishers, short)
        for c in cands:
            if c.key in display:
                c.key, c.tag = display[c.key]
    else:
        cands = _candidates(doc, {}, _publisher_words([doc.source]))
    return _select(cands, k)


def _story_short(docs: list[Doc], known: dict[str, str], publishers: set[str]) -> dict[str, str]:
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for d in docs:
        for ck, kind, _, _ in _mentions(d, known, publishers):
            kinds[ck][kind] += 1
    return _short_forms({k: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
                         for k, c in kinds.items()})


def _story_display(docs: list[Doc], known: dict[str, str], publishers: set[str],
                   short: dict[str, str]) -> dict[str, tuple[str, str]]:
    """tag slug -> (merged slug, display) over a story's name variants."""
    names: list[str] = []
    seen_in: dict[str, set] = defaultdict(set)
    slug_of: dict[str, str] = {}
    for d in docs:
        for c in _candidates(d, known, publishers, short, phrases=False):
            if c.kind == "keyphrase" or not c.names:
                continue
            for n in c.names:
                tag = surname(n) if c.kind == "person" else c.tag
                names.append(tag)
                seen_in[tag].add(d.id)
                slug_of[tag] = slugify(tag)
    merged = merge_variants(names, seen_in=seen_in)
    out: dict[str, tuple[str, str]] = {}
    for name, disp in merged.items():
        out[slug_of[name]] = (slugify(disp), disp)
    return out


def story_hashtags(articles: Iterable[Any], *, k: tuple[int, int] = (3, 8)) -> list[Hashtag]:
    """3-8 hashtags for a story: per-article scores added up, variants merged."""
    docs = as_docs(articles)
    if not docs:
        return []
    known, publishers, short, display = _story_context(docs)
    total: dict[str, _Cand] = {}
    for d in docs:
        seen: set[str] = set()
        ents = [c for c in _candidates(d, known, publishers, short, phrases=False)]
        for c in sorted(ents, key=lambda c: (-c.score, c.key)):
            key, tag = display.get(c.key, (c.key, c.tag))
            if key in seen:
                continue
            seen.add(key)
            if key in total:
                total[key].score += c.score
            else:
                total[key] = _Cand(key, tag, c.kind, c.phrase, c.score)
    n = len(docs)
    for c in total.values():
        c.score /= n
    # keyphrases over the story's text: every distinct paragraph once (wire copies repeat)
    paras: list[str] = []
    seen_p: set[str] = set()
    for d in docs:
        for p in re.split(r"\n\s*\n", d.text):
            key = " ".join(p.split()).casefold()
            if key and key not in seen_p:
                seen_p.add(key)
                paras.append(p)
    ent_words = {w for c in total.values() for w in fold(c.phrase).split()}
    kps = _phrases("\n\n".join(paras), "\n".join(d.title for d in docs))
    cands = list(total.values())
    texts = [fold(f"{d.title} {d.text}") for d in docs]
    if kps and cands:
        scored = []
        for phrase, s in kps[:40]:
            if all(w in ent_words for w in phrase.split()):
                continue
            stem = " ".join(_plural_fold(w) for w in phrase.split())
            df = sum(1 for t in texts if stem in t) / n     # share of articles using it
            scored.append((phrase, s * math.sqrt(df)))
        if scored:
            top = max(s for _, s in scored)
            best = max(c.score for c in cands)
            for phrase, s in scored:
                cands.append(_Cand(slugify(camel(phrase)), camel(phrase), "keyphrase", phrase,
                                   0.6 * best * s / top))
    return _select(cands, k)
