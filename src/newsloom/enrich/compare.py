"""Where sources disagree: figures, spellings and places that differ between publishers.

:func:`disagreements` reads every article of one story and reports three kinds of block,
each claim citing the article, its publisher and the sentence it comes from. A block is
reported only when two *publishers* differ; agreement, or one publisher alone, is silent.

**figure** - counts of the same thing that cannot all be true. A figure claim is a number
(digits, "1.2 million", "1,200") with its qualifier ("more than", "about", "nearly"...)
and its head noun, which is folded into a class ("detainees", "prisoners", "residents",
"drivers", "people" are all *people*); it is aligned with others by that class and the
event the clause is about, found from a small verb table next to the number (before it
first: "exchange more than 340 detainees"; else after: "300 people were released"):
released/exchanged, evacuated, affected (stolen, exposed, breached), killed, injured,
detained, damaged. Money and percentages carry no event verb in that table and are never
compared (a fine and a budget in the same story are different sums). Each figure is an
interval - exact +-0.5%, "about" +-10%, "nearly" [85%, 100%], "more than" [v, inf),
"up to" [0, v] - and a group disagrees when two publishers' intervals do not overlap
("about 430" vs "about 400" agree). An explicit refusal - "did not disclose the number
of people who would be released", "did not say how many detainees" - is a claim of its
own and disagrees with any number from another publisher.

**spelling** - the same name spelled differently by different publishers: names (and
each word of a multi-word name) grouped by :func:`entities.merge_variants` over the story
(Varga/Warga, Kharvik/Harvik, Zelensky/Zelenskyy), reported when the group has more than
one spelling and the spellings come from different publishers.

**place** - where the same event happened: "<event noun> ... in/at <Place>" (talks,
negotiations, meetings; exchange, swap; launch; trial...). Places are compared after
containment the story itself states ("the Halvard Palace in Port Anselm": the palace is
in Port Anselm, so those two agree); a group disagrees when two publishers name places
neither of which contains the other ("talks in Veltria" vs "talks in Port Anselm").
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from newsloom.enrich.entities import canonical_key, cached_entities, fold, merge_variants
from newsloom.enrich.summarize import Doc, as_docs, sentences, strip_dateline
from newsloom.enrich.text import stem

__all__ = ["Claim", "Disagreement", "disagreements", "figure_claims", "FigureClaim"]


class Claim(NamedTuple):
    value: str          # "more than 340 detainees", "Warga", "Port Anselm", "not disclosed"
    article_id: Any
    source: str
    sentence: str


@dataclass
class Disagreement:
    kind: str           # figure, spelling, place
    topic: str          # "people released", "Varga", "talks"
    claims: list[Claim] = field(default_factory=list)


# --------------------------------------------------------------------------- figures

_PEOPLE = frozenset("""people persons person residents resident detainees detainee prisoners
prisoner citizens citizen civilians civilian inhabitants passengers passenger workers worker
employees employee drivers driver customers customer users user patients patient victims
victim members member villagers islanders migrants refugees hostages hostage captives
soldiers soldier troops fishermen families households individuals children adults
""".split())
_CUES: dict[str, str] = {}
for _cls, _words in {
    "released": "release released releasing releases free freed freeing exchange exchanged "
                "exchanging swap swapped swapping handed repatriated returned return",
    "evacuated": "evacuate evacuated evacuating evacuation evacuations displaced fled flee "
                 "rescued",
    "affected": "stolen steal stole stealing theft exposed expose exposing leaked leak "
                "breach breached hacked compromised affected",
    "killed": "killed dead died deaths death killing perished",
    "injured": "injured wounded hurt injuries",
    "detained": "arrested detained arrests held jailed imprisoned",
    "damaged": "damaged destroyed flooded ruined",
}.items():
    for _w in _words.split():
        _CUES[_w] = _cls

_QUALIFIERS = [
    ("more than", "gt"), ("over", "gt"), ("at least", "gt"), ("upwards of", "gt"),
    ("in excess of", "gt"), ("fewer than", "lt"), ("less than", "lt"), ("under", "lt"),
    ("up to", "lt"), ("at most", "lt"), ("no more than", "lt"),
    ("about", "approx"), ("around", "approx"), ("roughly", "approx"), ("approximately", "approx"),
    ("some", "approx"), ("an estimated", "approx"), ("estimated", "approx"), ("nearly", "near"),
    ("almost", "near"), ("close to", "near"), ("closer to", "near"), ("just under", "near"),
    ("just over", "gt"),
]
_QUAL_RE = "|".join(re.escape(q) for q, _ in sorted(_QUALIFIERS, key=lambda x: -len(x[0])))
_QUAL = dict(_QUALIFIERS)
_MULT = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "m": 1e6, "bn": 1e9, "k": 1e3}
_NUM_RE = re.compile(
    rf"(?:\b({_QUAL_RE})\s+)?(?<![\w.-])(\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?)"
    r"(?:\s*(thousand|million|billion|bn|m|k)\b)?(?![\w-]|\.\d)", re.I)
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d,.]*|[.,;:!?()\"“”]")
_NOT_DISCLOSED_RE = re.compile(
    r"\b(?:did not|didn't|does not|doesn't|has not|have not|had not|hasn't|haven't|would not|"
    r"wouldn't|declined to|refused to|neither side|without|not yet)\s+"
    r"(?:\w+\s+){0,2}?(?:disclose|disclosed|say|said|give|given|giving|reveal|revealed|state|"
    r"stating|specify|specifying|publish|published|confirm|release|released)\s+"
    r"(?:(?:the|a|any|official)\s+)?(?:number|numbers|figure|figures|how many|count|total)"
    r"(?:\s+(?:of\s+)?(\w+))?", re.I)
_MODIFIERS = frozenset("more other new young elderly local foreign additional further "
                       "extra registered confirmed missing".split())


class FigureClaim(NamedTuple):
    low: float
    high: float
    value: str          # as written: "more than 340 detainees"
    head: str           # head class: people, homes, ...
    head_word: str
    cue: str | None
    disclosed: bool


def _head_class(word: str) -> str:
    w = fold(word)
    return "people" if w in _PEOPLE else stem(w)


def _cue_near(words: list[str], i: int, j: int) -> str | None:
    """Event class of the clause around words[i:j] (the number and its head)."""
    def scan(rng):
        for k in rng:
            w = words[k]
            if w in ",;:.()\"“”" or fold(w) in ("and", "but", "while", "whose", "which"):
                return None
            c = _CUES.get(fold(w))
            if c:
                return c
        return None
    before = scan(range(i - 1, max(-1, i - 5), -1))
    if before:
        return before
    return scan(range(j, min(len(words), j + 5)))


def figure_claims(sentence: str) -> list[FigureClaim]:
    """Count claims of one sentence (numbers with a head noun, and refusals to give one)."""
    out: list[FigureClaim] = []
    words = _WORD_RE.findall(sentence)
    spans: list[tuple[int, int]] = []
    pos = 0
    for w in words:
        k = sentence.find(w, pos)
        spans.append((k, k + len(w)))
        pos = k + len(w)
    for m in _NUM_RE.finditer(sentence):
        num = m.group(2)
        before = sentence[:m.start(2)].rstrip().lower()
        after = sentence[m.end():].lstrip().lower()
        if re.search(r"(aged|age|ages|route|road|the r|number|no\.?)$", before) or \
                re.match(r"(a\.m|p\.m|am\b|pm\b|percent|per cent|%|-year|year|years|"
                         r"o'clock|:\d|st\b|nd\b|rd\b|th\b)", after) or \
                re.search(rf"({'|'.join(_MONTHS)})\s*$", before):
            continue
        value = float(num.replace(",", ""))
        if not m.group(3) and "," not in num and "." not in num and 1800 <= value <= 2100:
            continue                       # a year
        if m.group(3):
            value *= _MULT[m.group(3).lower()]
        # head noun: the next word after the number, skipping modifiers/demonyms (2 max)
        wi = next((n for n, (a, b) in enumerate(spans) if a >= m.end()), None)
        ni = next((n for n, (a, b) in enumerate(spans) if a >= m.start(2)), None)
        if wi is None or ni is None:
            continue
        skipped = 0
        while wi < len(words) and skipped < 2 and (
                fold(words[wi]) in _MODIFIERS or (words[wi][:1].isupper() and wi + 1 < len(words)
                                                  and words[wi + 1][:1].islower())):
            wi += 1
            skipped += 1
        if wi >= len(words) or not words[wi][:1].isalpha() or words[wi][:1].isupper():
            continue
        head_word = words[wi]
        if fold(head_word) in ("of", "to", "and", "or", "in", "on", "at", "a", "the", "had",
                               "have", "has", "was", "were", "is", "are", "percent"):
            continue
        qual = (m.group(1) or "").lower()
        kind = _QUAL.get(qual, "exact")
        if kind == "gt":
            low, high = value, float("inf")
        elif kind == "lt":
            low, high = 0.0, value
        elif kind == "approx":
            low, high = value * 0.9, value * 1.1
        elif kind == "near":
            low, high = value * 0.85, value
        else:
            low, high = value * 0.995, value * 1.005
        text = sentence[m.start():spans[wi][1]]
        out.append(FigureClaim(low, high, text, _head_class(head_word), fold(head_word),
                               _cue_near(words, ni - (1 if m.group(1) else 0), wi + 1), True))
    for m in _NOT_DISCLOSED_RE.finditer(sentence):
        head_word = m.group(1) or ""
        if fold(head_word) in ("of", "the", "a", "were", "was", "had", "would", "will"):
            rest = sentence[m.end():]
            nxt = re.match(r"\s*(?:of\s+)?(\w+)", rest)
            head_word = nxt.group(1) if nxt and fold(head_word) in ("of", "the", "a") else ""
        head = _head_class(head_word) if head_word and head_word[:1].islower() else ""
        ws = _WORD_RE.findall(sentence[m.end():])
        cue = next((_CUES[fold(w)] for w in ws[:8] if fold(w) in _CUES), None)
        out.append(FigureClaim(-1.0, -1.0, m.group(0), head, fold(head_word), cue, False))
    return out


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december", "jan", "feb", "mar", "apr",
           "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec")


def _overlap(a: FigureClaim, b: FigureClaim) -> bool:
    return a.low <= b.high and b.low <= a.high


def _figures(docs: list[Doc]) -> list[Disagreement]:
    groups: dict[tuple[str, str], list[tuple[FigureClaim, Doc, str]]] = defaultdict(list)
    refusals: list[tuple[FigureClaim, Doc, str]] = []
    for d in docs:
        for text in _texts(d):
            for fc in figure_claims(text):
                if not fc.disclosed:
                    refusals.append((fc, d, text))
                elif fc.cue:
                    groups[(fc.head, fc.cue)].append((fc, d, text))
    for fc, d, text in refusals:
        key = (fc.head, fc.cue) if fc.head and fc.cue else None
        if key is None or key not in groups:
            cands = [k for k, v in groups.items()
                     if (not fc.head or k[0] == fc.head) and (not fc.cue or k[1] == fc.cue)
                     and len({x[1].source for x in v}) > 1]
            key = cands[0] if len(cands) == 1 else None
        if key is not None:
            groups[key].append((fc, d, text))
    out: list[Disagreement] = []
    for (head, cue), items in sorted(groups.items()):
        # one claim per article and value
        seen: set[tuple[Any, str]] = set()
        claims: list[tuple[FigureClaim, Doc, str]] = []
        for fc, d, text in items:
            k = (d.id, fc.value.lower())
            if k not in seen:
                seen.add(k)
                claims.append((fc, d, text))
        if len({d.source for _, d, _ in claims}) < 2:
            continue
        conflict = False
        for x in range(len(claims)):
            for y in range(x + 1, len(claims)):
                a, da, _ = claims[x]
                b, db, _ = claims[y]
                if da.source == db.source:
                    continue
                if a.disclosed != b.disclosed or (a.disclosed and not _overlap(a, b)):
                    conflict = True
        if not conflict:
            continue
        words = [fc.head_word for fc, _, _ in claims if fc.disclosed]
        label_head = head if head != "people" else max(sorted(set(words)), key=words.count)
        out.append(Disagreement("figure", f"{label_head} {cue}", [
            Claim(fc.value if fc.disclosed else "not disclosed: " + fc.value, d.id, d.source, text)
            for fc, d, text in claims]))
    return out


# --------------------------------------------------------------------------- spelling

def _texts(doc: Doc) -> list[str]:
    out = [doc.title] if doc.title else []
    for s in sentences(doc):
        out.append(strip_dateline(s.text) if s.index == 0 else s.text)
    return out


def _spellings(docs: list[Doc], ents: dict[Any, list]) -> list[Disagreement]:
    names: list[str] = []
    seen_in: dict[str, set] = defaultdict(set)
    sources_of: dict[str, dict[Any, str]] = defaultdict(dict)
    for d in docs:
        for e in ents[d.id]:
            if e.kind not in ("person", "place", "org"):
                continue
            parts = [e.text] + ([w for w in e.text.split() if len(w) >= 5]
                                if " " in e.text else [])
            for p in parts:
                p = re.sub(r"['’]s$", "", p.strip(".,;:"))
                if not p:
                    continue
                names.append(p)
                seen_in[p].add(d.id)
                sources_of[p].setdefault(d.id, d.source)
    merged = merge_variants(names, seen_in=seen_in)
    groups: dict[str, list[str]] = defaultdict(list)
    for n, disp in merged.items():
        groups[disp].append(n)
    out: list[Disagreement] = []
    reported: set[frozenset[str]] = set()
    for disp, members in sorted(groups.items(), key=lambda kv: (len(kv[0].split()), kv[0])):
        if len(members) < 2:
            continue
        srcs = [{sources_of[m][a] for a in sources_of[m]} for m in members]
        if len(set().union(*srcs)) < 2 or all(s == srcs[0] for s in srcs):
            continue
        # shortest names first: "Oleksandra Varga/Warga" adds nothing to "Varga/Warga"
        words = frozenset(fold(w) for m in members for w in m.split())
        if any(r <= words for r in reported):
            continue
        reported.add(words)
        claims = []
        for m in sorted(members, key=lambda m: (-names.count(m), m)):
            for d in docs:
                if d.id in sources_of[m]:
                    sent = next((t for t in _texts(d) if m in t), m)
                    claims.append(Claim(m, d.id, d.source, sent))
        out.append(Disagreement("spelling", disp, claims))
    return out


# --------------------------------------------------------------------------- places

_EVENTS = {}
for _cls, _words in {
    "talks": "talks negotiations negotiation meeting meetings session sessions summit",
    "exchange": "exchange swap handover",
    "launch": "launch lift-off",
    "trial": "trial hearing",
    "vote": "vote election referendum",
    "protest": "protest protests rally demonstration march",
}.items():
    for _w in _words.split():
        _EVENTS[_w] = _cls


def _places(docs: list[Doc], ents: dict[Any, list]) -> list[Disagreement]:
    inside: dict[str, set[str]] = defaultdict(set)       # place -> places containing it
    claims: dict[str, list[tuple[list[str], Doc, str]]] = defaultdict(list)
    display: dict[str, str] = {}
    for d in docs:
        for text in _texts(d):
            ents_t = [e for e in cached_entities(text) if e.kind in ("place", "org", "misc")
                      and e.text[:1].isupper()]
            # containment: "X in Y", "X, in northern Y"
            for a, b in zip(ents_t, ents_t[1:]):
                between = text[a.end:b.start]
                if re.fullmatch(r",?\s+(?:in|near|outside)\s+(?:the\s+)?(?:\w+ern\s+)?"
                                r"(?:town of |city of |village of )?", between) and \
                        b.kind == "place":
                    inside[canonical_key(a.text)].add(canonical_key(b.text))
            for m in re.finditer(r"\b([A-Za-z-]+)\b", text):
                cls = _EVENTS.get(m.group(1).lower())
                if not cls:
                    continue
                chain: list[str] = []
                pos = m.end()
                for e in ents_t:
                    if e.start < pos:
                        continue
                    between = text[pos:e.start]
                    if not chain:
                        ok = re.fullmatch(r"(?:\s+[\w'’-]+){0,6}?\s+(?:in|at)\s+(?:the\s+)?",
                                          between) and not re.search(r"[.;:!?]", between)
                    else:
                        ok = re.fullmatch(r",?\s+(?:in|at|on)\s+(?:the\s+)?", between)
                    if not ok or e.kind == "org" and not chain and \
                            fold(e.text.split()[-1]) not in ("palace", "hall", "house", "centre"):
                        break
                    chain.append(canonical_key(e.text))
                    display.setdefault(canonical_key(e.text), e.text)
                    pos = e.end
                if chain:
                    claims[cls].append((chain, d, text))
    out: list[Disagreement] = []
    for cls, items in sorted(claims.items()):
        if len({d.source for _, d, _ in items}) < 2:
            continue

        def within(x: str, y: str, depth: int = 0) -> bool:
            if x == y:
                return True
            if depth > 5:
                return False
            return any(within(p, y, depth + 1) for p in inside.get(x, ()))

        def agree(a: list[str], b: list[str]) -> bool:
            return any(within(x, y) or within(y, x) for x in a for y in b)

        conflict = any(not agree(a, b) for i, (a, da, _) in enumerate(items)
                       for (b, db, _) in items[i + 1:] if da.source != db.source)
        if not conflict:
            continue
        seen: set[tuple[Any, str]] = set()
        cl = []
        for chain, d, text in items:
            value = ", ".join(display[c] for c in chain)
            if (d.id, value) not in seen:
                seen.add((d.id, value))
                cl.append(Claim(value, d.id, d.source, text))
        out.append(Disagreement("place", cls, cl))
    return out


# --------------------------------------------------------------------------- entry point

def disagreements(articles: Iterable[Any]) -> list[Disagreement]:
    """Figures, spellings and places that differ between the publishers of one story."""
    docs = as_docs(articles)
    if len({d.source for d in docs}) < 2:
        return []
    ents = {d.id: cached_entities(f"{d.title}\n\n{d.text}") for d in docs}
    return _figures(docs) + _spellings(docs, ents) + _places(docs, ents)
