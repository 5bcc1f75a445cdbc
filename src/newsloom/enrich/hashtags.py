"""Hashtags for an article and for a story: the names and keyphrases a reader would click.

How :func:`hashtags` reads one article, in order:

1. **Furniture out** (:func:`_junk_spans`). News-agency credits (``(AP)``, ``(AP
   Photo/Name)``, ``(CBS/AP)``), datelines (``BUENOS AIRES, Argentina (AP) -``,
   ``LONDON, April 2 (Reuters) -``, ``WASHINGTON —``), copyright and "Reporting by"
   footers, web addresses and navigation lines ("Share this", "Related stories") are cut
   before anything is counted: they are the page's furniture, not its subject.
2. **Words**, from :mod:`newsloom.enrich.text` (paragraphs, pysbd sentences, Snowball
   stems, stop words). The first word of a sentence and every word of the headline carry
   no case evidence: "Officials said..." and a title-case headline ("Stars in Public,
   Abuse at Home") say nothing about names.
3. **Names** (:func:`newsloom.enrich.entities.extract_entities`): a person becomes the
   surname (full name and surname mentions count together; the tag's ``phrase`` is the
   full name); a place its CamelCase name; an organisation an acronym written in the
   text ("(OPCW)"), else its CamelCase name when short, else its initials. A name must
   be in the body; a headline's name counts too when the body has it inside a longer
   name ("Brenmark" of "Brenmark General Hospital") and the headline is in sentence
   case (a title-case one's capitals prove nothing). A one-word name seen only at
   sentence starts must not look like a common word there (written in lower case
   elsewhere, or a common-word ending: "Executions, carried out..."). A name is never an
   agency, a publisher of the story, a navigation, number, calendar or function word.
4. **Keyphrases**: noun-phrase-like chunks, the maximal runs of content words inside a
   sentence (stop words, light words such as "said", "people", "year", numbers and number
   words, names and punctuation end a run), and every 1-3 word window of a chunk that
   ends on a noun as far as cheap cues tell (:func:`_heads`). Keyed by Snowball stems,
   so "prisoner swaps" and "prisoner swap" are one phrase. A keyphrase must be in the
   body and be seen twice (headline included). A phrase nested in a longer one that is
   used too counts only its uses outside it (C-value, Frantzi et al. 2000), so "swap"
   gives way to "prisoner swap" unless it is also used alone.
5. **Score**: every mention counts, weighted by where it is (headline 2; the body from
   1.5 at its first sentence down to 1 at its last), as KP-Miner, YAKE and PositionRank
   weigh frequency and first position. A name weighs 1.5 times a keyphrase: news
   repeats a name less, since pronouns and short forms stand in for it.
6. **Select**: best first, ties on the slug; at least ``k[0]`` (when there are that
   many), at most ``k[1]``, nothing below a fifth of the best after ``k[0]``; a phrase
   inside a chosen one goes when it adds nothing (never used outside it). Scores are
   shown relative to the best (1.0).

:func:`story_hashtags` averages the articles' scores per tag (each relative to its
article's best, so a tag used by many publishers rises), after merging spelling variants
across the story with :func:`entities.merge_variants` (Kiev/Kyiv, Zelensky/Zelenskyy,
Varga/Warga -> one tag shown as the most frequent spelling). Every hashtag lists the ids
of the articles whose text mentions it (``Hashtag.articles``, in the story's order).

Measured with ``newsloom eval hashtags`` against YAKE (n<=3) in the same run. On
500N-KPCrowd dev (212 real news stories, crowd keyphrases; ``../shared/data/keyphrases/``):
F1@10 0.172 vs YAKE 0.110 (the previous design: 0.129), F1@5 0.110 vs 0.067. On the 15
fictional articles of ``tests/ai/data/`` (floors in ``tests/ai/test_eval.py``): 0.44 and
0.57 vs 0.22 and 0.30.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from newsloom.enrich.entities import (
    Entity, cached_entities, canonical_key, fold, merge_variants, surname,
)
from newsloom.enrich.summarize import Doc, as_doc, as_docs
from newsloom.enrich.text import NEWS_AGENCIES, is_stopword, normalise, split_paragraphs, split_sentences, stem

__all__ = ["Hashtag", "hashtags", "story_hashtags", "slugify", "camel", "story_known_kinds"]


@dataclass(frozen=True)
class Hashtag:
    tag: str          # display form without '#': "PrisonerSwap", "Zelenskyy"
    kind: str         # person, place, org, keyphrase
    score: float
    phrase: str = ""  # what it stands for: "prisoner swap", "Volodymyr Zelenskyy", "Port Anselm"
    articles: tuple = ()   # ids of the articles whose text mentions it

    @property
    def slug(self) -> str:
        return slugify(self.tag)


_NOT_SLUG_RE = re.compile(r"[^a-z0-9]")
_ALNUM_RE = re.compile(r"[^\W_]+")
_APOS_DOT_RE = re.compile(r"['’.]")


def slugify(tag: str) -> str:
    """Lower-case ASCII letters and digits only: "PrisonerSwap" -> "prisonerswap"."""
    return _NOT_SLUG_RE.sub("", fold(tag))


def camel(phrase: str) -> str:
    """"prisoner swap" -> "PrisonerSwap"; keeps inner capitals ("Kestrel-1" -> "Kestrel1")."""
    parts = _ALNUM_RE.findall(_APOS_DOT_RE.sub("", phrase))
    return "".join(p[:1].upper() + p[1:] for p in parts)


# --------------------------------------------------------------------------- junk
# Every list here is about English news pages in general, never about one newsroom.

def _words(s: str) -> frozenset[str]:
    return frozenset(s.split())


# News agencies credit themselves in the copy they sell ("(AP)", "LONDON (Reuters) -",
# "told Reuters"): the credit says who wrote the story, never what it is about.
# (The text toolkit's one list of agencies; the pattern below finds their credits as written.)
_AGENCY_NAMES = NEWS_AGENCIES
_AGENCIES = frozenset(a for a in NEWS_AGENCIES if " " not in a)
_AGENCY_RE = (r"AP|AFP|Reuters|REUTERS|UPI|DPA|dpa|EFE|ANSA|Xinhua|XINHUA|TASS|Interfax"
              r"|Kyodo|Yonhap|Bernama|PTI|IANS|ANI|AAP|PA|APA|ANP|Belga|Tanjug"
              r"|Associated Press|Agence France-Presse|Press Association"
              r"|United Press International|Canadian Press|Getty Images")

# Web-page furniture: the menu, sharing and footer labels that scraped article text
# carries ("Advertisement", "Share", "Print", "Home"). Never a hashtag on its own, and a
# short line made only of them is cut.
_NAVIGATION = _words("""
home homepage menu navigation skip search login logout log sign register subscribe
subscription newsletter newsletters share sharing print email e-mail comments comment
advertisement advertisements advertising advert sponsored promoted related recommended
popular trending latest more next previous back top contact privacy policy terms cookies
cookie copyright rights reserved sitemap rss feedback help faq click here read continue
tweet retweet like follow video videos photo photos gallery slideshow watch listen
""")

# Numbers are facts inside a story, not its subject: a number word ("Five", "dozens") is
# never a hashtag and ends a keyphrase as a digit does.
_NUMBER_WORDS = _words("""
zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy
eighty ninety hundred hundreds thousand thousands million millions billion billions
trillion trillions dozen dozens half quarter twice once single double triple
first second third fourth fifth sixth seventh eighth ninth tenth
""")

# Dates belong to the dateline, not to the subject: month, weekday and season names (and
# their wire abbreviations) are never a hashtag and end a keyphrase.
_CALENDAR = _words("""
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
saturday sunday mon tue tues wed thu thur thurs fri sat sun spring summer autumn fall
winter
""")

# Honorifics and offices written before a name ("Mr", "Rep.", "Gov.") are not the name.
_HONORIFICS = _words("mr mrs ms miss dr prof sir dame rev gen col lt sgt capt rep sen gov "
                     "supt insp det st jr sr")

# Light words of news English: reporting and other light verbs, hedges, and nouns and
# adjectives too vague to name a topic ("people", "year", "thing", "new"). They end a
# keyphrase as a stop word does.
_LIGHT = _words("""
said says say saying told tell tells telling added adding asked asks according including
include includes included despite although though however also would could should might
must shall may can will
people person persons year years month months week weeks day days time times today
yesterday tomorrow morning afternoon evening night tonight hour hours minute minutes
moment period part parts number numbers way ways lot lots thing things kind kinds sort
case cases fact end beginning side sides percent per cent
something anything nothing everything someone anyone everyone nobody somebody
make makes made making take takes took taken taking give gives gave given giving get gets
got getting go goes went gone going come comes came coming see sees saw seen seeing
know knows knew known think thinks thought want wants wanted use uses used using find
finds found put puts keep keeps kept let lets seem seems seemed become becomes became
remain remains remained mean means meant expect expects expected believe believes
believed begin begins began begun show shows showed shown hold holds held bring brings
brought turn turns turned leave leaves left call calls called try tries tried ask need
needs needed feel feels felt set sets run runs ran stand stands stood meet meets met
continue continues continued happen happens happened look looks looked help helps helped
whether already still even just very really quite rather almost enough perhaps
never always often sometimes usually again ago away back far here there now then soon
earlier later instead yet ahead behind within along toward towards
new old last next other another many much more most less least few several same such
own only whole full big small large little long short high low early late good bad best
worst better worse great certain clear possible likely different recent current real key
main major minor
""")

# Past tenses and participles of English irregular verbs: like a participle in "-ed",
# never a keyphrase's last word unless the text also uses it as a noun ("the shot.").
_IRREGULAR = _words("""
arisen arose awoke awoken beat beaten bent bet bid bit bitten bled blew blown bore borne
bought bound bred broke broken brought built burnt burst caught chose chosen clung cost
crept cut dealt dug done drawn drew dreamt drank drunk driven drove dwelt ate eaten fed
felt fell fallen fought fled flung flew flown forbade forbidden forgot forgotten forgave
forgiven froze frozen grew grown ground hung heard hid hidden hit hurt knelt knew laid led
leant leapt learnt lent lit lost met mistook mistaken overcame overcome overtook overtaken
paid proved proven quit read rode ridden rang rung rose risen sang sung sank sunk sat
sought sold sent shook shaken shone shot shown shrank shrunk shut slept slid slung spoke
spoken sped spent spun spread sprang sprung stole stolen struck stuck stung stank strode
striven strove swore sworn swept swam swum swung taught tore torn thrust trod trodden
understood undertook undertaken upset woke woken wore worn wove woven wept won wound wrote
written withdrew withdrawn
""")

# Words too vague to be a hashtag alone, though fine inside one ("city council", "state
# media"): the institutions, places and roles that every news story has.
_VAGUE = _words("""
officials official spokesman spokeswoman spokesperson statement report reports member
members group groups government state country area region city town village place places
world
""")

_JUNK_TAGS = _AGENCIES | _NAVIGATION | _NUMBER_WORDS | _CALENDAR | _HONORIFICS

# A dateline opens a wire story: a PLACE in capitals, an optional ", Region" and ", Month
# Day", an optional credit, then a dash or a colon. A place in title case counts only
# with an agency credit ("Mbabane, Swaziland (AP) -"). Also after a caption's ")".
_DATELINE_RE = re.compile(
    r"(?:^|(?<=[\n.!?)\]\"”]))[ \t]*"
    r"(?:(?:BY|By)\s+[A-Z][A-Z.'’\- ]+?\s+)?"
    r"(?:[A-Z][A-Z.'’\-]+(?:\s+[A-Z][A-Z.'’\-]+){0,3}"
    r"(?:,\s*[A-Z][A-Za-z.]*(?:\s+[A-Z][A-Za-z.]*){0,2})?"
    r"(?:,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?"
    r"\s*(?:\([^()\n]{1,40}\)\s*)?"
    r"|[A-Z][\w.'’\-]*(?:\s+[A-Z][\w.'’\-]*){0,3}"
    r"(?:,\s*[A-Z][\w.]*(?:\s+[A-Z][\w.]*){0,2})?"
    r"(?:,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?"
    rf"\s*\((?:[^()\n]*/)?(?:{_AGENCY_RE})\b[^()\n]{{0,30}}\)\s*)"
    r"(?:[-—–]{1,2}|:)(?=\s)", re.M)

# Credits and footers inside the copy: "(AP)", "(AP Photo/Jane Doe)", "(CBS/AP)",
# "Copyright 2011 The Associated Press. All rights reserved.", "Reporting by ...", and
# web and mail addresses (the page's links, not its words).
_CREDIT_RE = re.compile(
    rf"\((?:[^()\n]*/)?\s*(?:{_AGENCY_RE})\b[^()\n]{{0,60}}\)"
    r"|(?:©|\([cC]\)|Copyright\b)[^\n.]{0,120}\.?"
    r"|All [Rr]ights [Rr]eserved\.?"
    r"|This material may not be published[^\n.]{0,120}\.?"
    r"|(?:Additional )?(?:[Rr]eporting|[Ww]riting|[Ee]diting) by\b[^\n]{0,120}"
    r"|\b(?:https?://|www\.)\S+|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|gov|edu|int|info|co\.uk|org\.uk|ac\.uk)\b")

_LINE_STOP_RE = re.compile(r"[.!?…:;\"”]\s*$")
_LINE_WORD_RE = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*")


def _nav_line(line: str) -> bool:
    """A short line without a full stop whose every content word is navigation."""
    ws = [normalise(w) for w in _LINE_WORD_RE.findall(line)]
    if not ws or len(ws) > 6 or _LINE_STOP_RE.search(line):
        return False
    content = [w for w in ws if not is_stopword(w, "en")]
    return bool(content) and all(w in _NAVIGATION for w in content)


def _junk_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the agency credits, datelines, footers, addresses and navigation
    lines of *text*."""
    spans = [m.span() for m in _CREDIT_RE.finditer(text)]
    spans += [m.span() for m in _DATELINE_RE.finditer(text) if m.end() > m.start() + 1]
    pos = 0
    for line in text.split("\n"):
        if _nav_line(line):
            spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return sorted(spans)


def _junk_name(key: str) -> bool:
    """An agency's name, or a one-word navigation, number, calendar, honorific, light or
    function word."""
    if key in _AGENCY_NAMES or key.endswith(" news agency") or all(w in _AGENCIES for w in key.split()):
        return True
    return " " not in key and (key in _JUNK_TAGS or key in _LIGHT or key in _VAGUE
                               or is_stopword(key, "en"))


# --------------------------------------------------------------------------- reading

# A token: an acronym with dots ("U.S."), a word with inner hyphens/apostrophes, a number,
# or one other character (punctuation ends keyphrases).
_TOKEN_RE = re.compile(r"(?:[^\W\d_]\.){2,}|[^\W\d_]+(?:[-'’][^\W\d_]+)*|\d+(?:[.,:]\d+)*|\S")


@dataclass(frozen=True)
class _Tok:
    start: int          # offsets into f"{title}\n\n{text}" (what the entity extractor reads)
    end: int
    raw: str            # as written
    norm: str           # normalised, possessive dropped ("Motown's" -> "motown")
    sent: int           # sentence number in the body; -1 for the headline
    initial: bool       # first word of its sentence (or after a cut credit or dateline)
    stem: str = ""      # Snowball stem of a content word; norm for any other token

    @property
    def word(self) -> bool:
        return self.raw[:1].isalpha()


@dataclass
class _Read:
    full: str                  # f"{title}\n\n{text}"
    toks: list[_Tok]
    starts: list[int]          # token start offsets, for bisect
    junk: list[tuple[int, int]]
    lower: frozenset[str]      # words written in lower case in the body
    nsent: int = 1


def _possessive(w: str) -> str:
    return w[:-2] if len(w) > 3 and w[-2] in "'’" and w[-1] in "sS" else w


@lru_cache(maxsize=512)
def _read(title: str, text: str) -> _Read:
    full = f"{title}\n\n{text}"
    body0 = len(title) + 2
    junk = [(a + body0, b + body0) for a, b in _junk_spans(text)]
    toks: list[_Tok] = []

    def scan(s: str, off: int, sent: int) -> None:
        initial = True
        for m in _TOKEN_RE.finditer(s):
            a, b = m.start() + off, m.end() + off
            if junk and any(ja < b and a < jb for ja, jb in junk):
                initial = True
                continue
            raw = m.group(0)
            norm = normalise(_possessive(raw))
            # only content words are ever keys: stemming is the costly step, skip the rest
            toks.append(_Tok(a, b, raw, norm, sent, initial, stem(norm) if _content(norm) else norm))
            if raw[:1].isalnum():
                initial = False
            elif raw in ".!?…:;":
                initial = True

    scan(title, 0, -1)
    n, pos = 0, 0
    for para in split_paragraphs(text):
        at = text.find(para, pos)
        if at < 0:
            continue
        pos = at + len(para)
        for a, b in split_sentences(para):
            scan(para[a:b], body0 + at + a, n)
            n += 1
    lower = frozenset(t.norm for t in toks if t.sent >= 0 and t.word and t.raw[0].islower())
    return _Read(full, toks, [t.start for t in toks], junk, lower, max(n, 1))


def _weight(sent: int, n: int) -> float:
    """Where a mention is, out of *n* body sentences: the headline 2, the body from 1.5 at
    its first sentence down to 1 at its last (news puts what matters first)."""
    return 2.0 if sent < 0 else 1.0 + 0.5 * (1.0 - sent / n)


# --------------------------------------------------------------------------- keyphrases

def _adverb(w: str) -> bool:
    # Snowball strips a derivational "-ly" ("finally" -> "final") but keeps the "-li" of
    # nouns ("family" -> "famili", "supply" -> "suppli").
    return w.endswith("ly") and not stem(w).endswith("li")


@lru_cache(maxsize=1 << 16)
def _content(w: str) -> bool:
    return (len(w) >= 3 and not is_stopword(w, "en") and w not in _LIGHT
            and w not in _NUMBER_WORDS and w not in _CALENDAR and "'" not in w
            and "’" not in w and not _adverb(w))


def _chunks(r: _Read, taken: set[int]) -> list[list[_Tok]]:
    """Noun-phrase-like chunks: maximal runs of content words inside one sentence. Names
    (token indexes in *taken*), stop and light words, numbers and punctuation end a run."""
    out: list[list[_Tok]] = []
    run: list[_Tok] = []
    sent = None
    for i, t in enumerate(r.toks):
        if t.sent != sent:
            if run:
                out.append(run)
            run, sent = [], t.sent
        ok = t.word and i not in taken and _content(t.norm)
        if ok and not t.raw[0].islower():
            # a capital says nothing at a sentence start or in a headline; elsewhere it
            # makes a name, which is the entities' business
            ok = (t.initial or t.sent < 0) and t.norm in r.lower
        if ok:
            run.append(t)
        elif run:
            out.append(run)
            run = []
    if run:
        out.append(run)
    return out


# Words after which English puts a verb or a predicate adjective ("to", a modal, an
# auxiliary, a copula, a subject pronoun), and those after which it puts a noun phrase
# (an article, a demonstrative, a possessive).
_BEFORE_VERB = _words("to will would could should can may might must do does did not he "
                      "she they we i you who has have had is are was were be been being")
_BEFORE_NOUN = _words("the a an this that these those his her their its our my your every "
                      "each no any some")
_ADJ_ENDS = ("al", "ic", "ive", "ous", "ful", "less", "able", "ible", "ary", "ish", "est", "ern")


def _heads(r: _Read, chunks: list[list[_Tok]]) -> set[str]:
    """The words of the body's chunks that may end a keyphrase (a noun, as far as cheap
    cues tell). Not one:

    * a word seen more often after "to", a modal, an auxiliary, a copula or a pronoun than
      as the last word of a noun phrase after an article ("to pay", "was able"; "the
      shooting." is a noun),
    * a participle in "-ed" or of an irregular verb never seen as such a noun
      ("arrested", "proposed", "stolen", "rose"),
    * an adjective ending never seen as the last word of a chunk ("national",
      "presidential"; a noun used as a modifier, "unemployment rate", stays).
    """
    final: Counter[str] = Counter()
    seen: set[str] = set()
    for ch in chunks:
        if ch[0].sent >= 0:
            final[ch[-1].norm] += 1
            seen.update(t.norm for t in ch)
    verb: Counter[str] = Counter()
    noun: Counter[str] = Counter()
    toks = r.toks
    for i in range(1, len(toks)):
        t, prev = toks[i], toks[i - 1]
        if t.sent < 0 or prev.sent != t.sent:
            continue
        if prev.norm in _BEFORE_VERB:
            verb[t.norm] += 1
        elif prev.norm in _BEFORE_NOUN and (i + 1 == len(toks) or not toks[i + 1].word
                                            or not _content(toks[i + 1].norm)):
            noun[t.norm] += 1
    out = set()
    for w in seen:
        if verb[w] > noun[w]:
            continue
        if (w in _IRREGULAR or len(w) > 4 and w.endswith("ed") and not w.endswith("eed")) and not noun[w]:
            continue
        if not final[w] and len(w) > 4 and w.endswith(_ADJ_ENDS):
            continue
        out.add(w)
    return out


@dataclass
class _Phrase:
    weight: float = 0.0          # position-weighted uses (headline included)
    uses: int = 0
    body: int = 0                # uses in the body
    surfaces: Counter = field(default_factory=Counter)


def _keyphrases(r: _Read, taken: set[int]) -> dict[tuple[str, ...], _Phrase]:
    """Stems -> uses of every 1-3 word window of a chunk that ends on a head word."""
    chunks = _chunks(r, taken)
    heads = _heads(r, chunks)
    out: dict[tuple[str, ...], _Phrase] = {}
    for run in chunks:
        for n in (1, 2, 3):
            for i in range(len(run) - n + 1):
                ph = run[i:i + n]
                if ph[-1].norm not in heads:
                    continue
                key = tuple(t.stem for t in ph)
                p = out.get(key)
                if p is None:
                    p = out[key] = _Phrase()
                p.weight += _weight(ph[0].sent, r.nsent)
                p.uses += 1
                p.body += ph[0].sent >= 0
                p.surfaces[" ".join(t.raw if t.raw[0].islower() else t.raw.lower() for t in ph)] += 1
    return out


def _ngrams(r: _Read) -> set[tuple[str, ...]]:
    """Every 1-3 word stem sequence of the text (headline included): what it mentions."""
    out: set[tuple[str, ...]] = set()
    run: list[str] = []
    sent = None
    for t in r.toks + [_Tok(0, 0, ".", ".", -2, True)]:
        if t.sent != sent or not t.word:
            for n in (1, 2, 3):
                out.update(tuple(run[i:i + n]) for i in range(len(run) - n + 1))
            run, sent = [], t.sent
        if t.word:
            run.append(t.stem)
    return out


# --------------------------------------------------------------------------- names

_ORG_ACRO_RE = re.compile(r"\(([A-Z][A-Z0-9&]{1,7})\)")
_ACRONYM_RE = re.compile(r"(?:[A-Z]\.){1,5}[A-Z]?\.?")


def _org_tag(name: str, text: str) -> str:
    for m in _ORG_ACRO_RE.finditer(text):          # "Chemical Weapons Convention (CWC)"
        if text[:m.start()].rstrip().endswith(name):
            return m.group(1)
    if name.replace(".", "").isupper() and len(name) <= 8:
        return name.replace(".", "")
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


def _kind(e: Entity, known: dict[str, str]) -> str:
    if e.kind == "misc":
        return known.get(canonical_key(e.text), "misc")
    return e.kind


# Endings of English common words that a one-word name does not have.
_COMMON_ENDS = ("ly", "ed", "ing", "tion", "tions", "sion", "sions", "ment", "ments", "ness",
                "ity", "ities", "ies", "ism", "ance", "ence", "ers", "ors", "ists")


def _common_word(key: str, r: _Read) -> bool:
    """A one-word name that is a common word at a sentence start or in a headline."""
    return key in r.lower or (len(key) > 4 and key.endswith(_COMMON_ENDS))


_NAME_WORD_RE = re.compile(r"[A-Z][\w'’.]*(?:-[A-Z][\w'’.]*)*")


def _name_words(name: str) -> str:
    """The name-like tail of a mention: "Fourteen-year-old Ilona Varekh" -> "Ilona Varekh"."""
    ws = name.split()
    i = len(ws)
    while i > 0 and _NAME_WORD_RE.fullmatch(ws[i - 1]) and fold(ws[i - 1]).rstrip(".") not in _JUNK_TAGS:
        i -= 1
    return " ".join(ws[i:]) or name


@dataclass(frozen=True)
class _Mention:
    key: str            # canonical key; a person's is the surname's
    kind: str
    surface: str        # the tag's words as written ("Zelenskyy", "Port Anselm")
    name: str           # the mention as written ("Volodymyr Zelenskyy")
    weight: float
    toks: tuple[int, ...]


@lru_cache(maxsize=2048)
def _mentions(title: str, text: str, known_items: tuple, publishers: frozenset[str]
              ) -> tuple[_Mention, ...]:
    """The name mentions of an article that can make a hashtag (see the module doc, 3)."""
    known = dict(known_items)
    r = _read(title, text)
    kept: list[tuple[Entity, str, str, tuple[int, ...]]] = []
    for e in cached_entities(r.full):
        if any(a < e.end and e.start < b for a, b in r.junk):
            continue
        ck = canonical_key(e.text)
        if not ck or ck in publishers or _junk_name(ck) or (len(ck) < 3 and not e.text.isupper()):
            continue
        toks = tuple(range(bisect.bisect_left(r.starts, e.start), bisect.bisect_left(r.starts, e.end)))
        if toks:
            kept.append((e, ck, _kind(e, known), toks))
    surnames = {canonical_key(surname(e.text)) for e, _, kind, _ in kept
                if kind == "person" and " " in e.text.strip()}
    rows: list[_Mention] = []
    evident: set[str] = set()          # written as a name in the body
    initial_only: set[str] = set()     # in the body only at sentence starts
    body_names: list[tuple[str, str]] = []
    for e, ck, kind, toks in kept:
        if kind == "person" or (" " not in ck and ck in surnames):
            kind, surface = "person", surname(e.text)
            key = canonical_key(surface)
        else:
            surface, key = e.text, ck
        if not key or _junk_name(key):
            continue
        if kind == "misc" and (len(key) < 4 or not re.search(r"[a-z]", e.text)):
            continue
        first = r.toks[toks[0]]
        if first.sent >= 0:
            body_names.append((ck, key))
            if len(toks) > 1 or not first.initial or key in surnames:
                evident.add(key)
            else:
                initial_only.add(key)
        rows.append(_Mention(key, kind, surface, e.text, _weight(first.sent, r.nsent), toks))
    evident |= {k for k in initial_only if not _common_word(k, r)}
    # a headline-only name stands when the body has it at the start of a longer name
    # ("Brenmark" of "Brenmark General Hospital") or after its "of" ("Bank of Aldria")
    inside: set[str] = set()
    for ck, key in body_names:
        if key in evident:
            ws = ck.split()
            inside.update(" ".join(ws[:j]) for j in range(1, len(ws)))
            inside.update(" ".join(ws[i + 1:]) for i, w in enumerate(ws) if w == "of")
    sentence_case = _sentence_case(r)
    return tuple(m for m in rows if m.key in evident or (
        m.key in inside and sentence_case and not r.toks[m.toks[0]].initial))


def _sentence_case(r: _Read) -> bool:
    """The headline is written in sentence case ("Hospital in Brenmark opens region's
    first ward"), so a capital after its first word marks a name; in a title-case one
    ("Stars in Public, Victims at Home") it marks nothing."""
    words = [t for t in r.toks if t.sent < 0 and t.word and not t.initial and _content(t.norm)]
    return bool(words) and sum(t.raw[0].isupper() for t in words) <= len(words) / 2


# --------------------------------------------------------------------------- candidates

@dataclass
class _Cand:
    key: str           # merge key (slug of the tag)
    tag: str
    kind: str
    phrase: str
    score: float
    names: tuple[str, ...] = ()     # surface names (for variant merging)
    uses: int = 0
    words: tuple[str, ...] = ()     # stems, for containment
    articles: set = field(default_factory=set)


# A name weighs half as much again as a common word: news repeats a name less, since
# pronouns and short forms ("he", "the ministry") stand in for it.
_NAME_WEIGHT = 1.5
_FLOOR = 0.2            # after k[0] tags, nothing below a fifth of the best's evidence


def _candidates(doc: Doc, known: dict[str, str], publishers: set[str],
                short: dict[str, str] | None = None, phrases: bool = True) -> list[_Cand]:
    r = _read(doc.title, doc.text)
    mentions = _mentions(doc.title, doc.text, tuple(sorted(known.items())), frozenset(publishers))
    if short is None:
        short = _short_forms({m.key: m.kind for m in mentions})
    weight: Counter[str] = Counter()
    uses: Counter[str] = Counter()
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    surfaces: dict[str, Counter[str]] = defaultdict(Counter)
    names: dict[str, Counter[str]] = defaultdict(Counter)
    taken: set[int] = set()
    for m in mentions:
        key = short.get(m.key, m.key)
        weight[key] += m.weight
        uses[key] += 1
        kinds[key][m.kind] += 1
        taken.update(m.toks)
        if key == m.key:
            surfaces[key][m.surface] += 1
            names[key][_name_words(m.name)] += 1
    out: list[_Cand] = []
    for key, w in weight.items():
        if not surfaces[key]:
            continue
        kind = sorted(kinds[key].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        surface = sorted(surfaces[key].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        phrase = surface
        if kind == "person":
            tag = surface
            # what the tag stands for: the full name most used ("Volodymyr Zelenskyy")
            full = [kv for kv in names[key].items() if " " in kv[0]] or list(names[key].items())
            phrase = sorted(full, key=lambda kv: (-kv[1], len(kv[0]), kv[0]))[0][0]
        elif kind == "org":
            tag = _org_tag(surface, r.full)
        else:
            tag = camel(surface)
        if _ACRONYM_RE.fullmatch(phrase):
            phrase = phrase.replace(".", "")          # "U.S." is "US"
        out.append(_Cand(slugify(tag), tag, "keyphrase" if kind == "misc" else kind, phrase,
                         _NAME_WEIGHT * w, tuple(surfaces[key].elements()), uses[key],
                         tuple(stem(x) for x in normalise(surface).split()), {doc.id}))
    if not phrases:
        return out
    kps = {k: p for k, p in _keyphrases(r, taken).items() if p.body and p.uses >= 2}
    nested: dict[tuple[str, ...], float] = defaultdict(float)
    for k, p in kps.items():
        for n in range(1, len(k)):
            for i in range(len(k) - n + 1):
                nested[k[i:i + n]] = max(nested[k[i:i + n]], p.weight)
    name_stems = {s for c in out for s in c.words}
    for k, p in kps.items():
        w = p.weight - nested.get(k, 0.0)
        disp = sorted(p.surfaces.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        if w <= 0 or all(s in name_stems for s in k) or (len(k) == 1 and (
                disp in _NAVIGATION or normalise(disp) in _VAGUE)):
            continue
        out.append(_Cand(slugify(camel(disp)), camel(disp), "keyphrase", disp, w, (), p.uses, k,
                         {doc.id}))
    return out


def _inside(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    n = len(short)
    return 0 < n < len(long) and any(long[i:i + n] == short for i in range(len(long) - n + 1))


def _select(cands: list[_Cand], k: tuple[int, int]) -> list[_Cand]:
    lo, hi = k
    best: dict[str, _Cand] = {}
    for c in cands:
        if not c.key or c.key in _JUNK_TAGS:
            continue
        b = best.get(c.key)
        if b is None or (c.kind != "keyphrase", c.score) > (b.kind != "keyphrase", b.score):
            best[c.key] = c
    ranked = sorted(best.values(), key=lambda c: (-c.score, c.key))
    top = ranked[0].score if ranked else 1.0
    out: list[_Cand] = []
    for c in ranked:
        if len(out) >= hi or (len(out) >= lo and c.score < _FLOOR * top):
            break
        # a phrase inside a chosen one goes when it adds nothing: never used outside it
        if any(_inside(c.words, o.words) and c.uses <= o.uses for o in out):
            continue
        out.append(c)
    return out


def _hashtags(chosen: list[_Cand], order: list[Any]) -> list[Hashtag]:
    """Hashtags scored relative to the best; ``articles`` in the order of *order*."""
    top = chosen[0].score if chosen else 1.0
    return [Hashtag(c.tag, c.kind, round(c.score / top, 4), c.phrase,
                    tuple(dict.fromkeys(i for i in order if i is not None and i in c.articles)))
            for c in chosen]


# --------------------------------------------------------------------------- public

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
    story's most common spelling. Each hashtag's ``articles`` is the article's id."""
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
    return _hashtags(_select(cands, k), [doc.id])


def _story_short(docs: list[Doc], known: dict[str, str], publishers: set[str]) -> dict[str, str]:
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for d in docs:
        for m in _mentions(d.title, d.text, tuple(sorted(known.items())), frozenset(publishers)):
            kinds[m.key][m.kind] += 1
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
    """3-8 hashtags for a story: the articles' scores averaged per tag, variants merged.
    Each hashtag's ``articles`` lists the story's articles whose text mentions it."""
    docs = as_docs(articles)
    if not docs:
        return []
    known, publishers, short, display = _story_context(docs)
    total: dict[str, _Cand] = {}
    mentioned: list[tuple[Any, set[str], set[tuple[str, ...]]]] = []
    for d in docs:
        cands = _candidates(d, known, publishers, short)
        top = max((c.score for c in cands), default=1.0)     # each article counts once
        slugs: set[str] = set()
        for c in sorted(cands, key=lambda c: (c.kind == "keyphrase", -c.score, c.key)):
            key, tag = display.get(c.key, (c.key, c.tag))
            if c.names:
                slugs.add(key)
            if key in total and d.id in total[key].articles:
                continue
            t = total.get(key)
            if t is None:
                total[key] = _Cand(key, tag, c.kind, c.phrase, c.score / top, c.names, c.uses,
                                   c.words, {d.id})
            else:
                t.score += c.score / top
                t.uses += c.uses
                t.articles.add(d.id)
        mentioned.append((d.id, slugs, _ngrams(_read(d.title, d.text))))
    for c in total.values():
        c.score /= len(docs)
    chosen = _select(list(total.values()), k)
    # the supporting articles: every article whose text mentions the tag, even once
    for c in chosen:
        c.articles = {i for i, slugs, grams in mentioned
                      if (c.key in slugs if c.names else c.words in grams)}
    return _hashtags(chosen, [d.id for d in docs])
