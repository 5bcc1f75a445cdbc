"""Tokenisation shared by every enrich stage: words, shingles, entity candidates.

Pure functions, no I/O, deterministic. Three views of one text:

* :func:`tokens` - content words for TF-IDF: NFKC, case-folded, diacritics stripped,
  stopwords (English, German, Spanish, French, Italian, Portuguese) removed, possessives
  and elisions dropped, Snowball-stemmed ("detainees" -> "detaine", "Tavessa's" -> "tavessa").
* :func:`shingles` - word k-grams over *all* words (no stopword removal) for
  near-duplicate detection; a wire copy keeps its function words too.
* :func:`entities` - cheap offline named-entity candidates: runs of capitalised words,
  ignoring a capitalised word at the start of a sentence unless the same word also
  appears capitalised mid-sentence; numbers excluded. Each run is emitted whole
  ("oleksandra varga") and word by word ("varga"), so a later "Varga said" still overlaps.

This module is the one text toolkit of newsloom: every enrich stage (clustering, dedupe,
hashtags, summaries, timelines, comparison, questions) and the search re-ranker take their
words, stems, stop words and sentences from here.

* :func:`stem` - the Snowball stemmer (``snowballstemmer``) for the text's language; the
  only stemmer in the code base (the full-text engines stem inside the database: FTS5's
  porter tokenizer and PostgreSQL's ``english`` configuration).
* :func:`split_sentences` / :func:`sentence_texts` - sentence boundaries by pysbd (rule-based
  Golden Rules, abbreviations, initials, decimals, "U.S.", "a.m."), per paragraph.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pysbd
import snowballstemmer

__all__ = ["normalise", "words", "tokens", "shingles", "entities", "split_paragraphs",
           "lead", "STOPWORDS", "NEWS_AGENCIES", "stem", "stems", "split_sentences", "sentence_texts", "is_stopword"]

# A word: letters/digits joined by inner apostrophes, or a number with inner . or ,
_WORD_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)*")
_APOS = "'’"
_SENT_END_RE = re.compile(r"[.!?…:;]+[\"'”’)\]]*$|^[\"“'(]*$")
_PARA_RE = re.compile(r"\n\s*\n")

_EN = """
a about above across after afterwards again against ago all almost alone along already also
although always am among amongst an and another any anyone anything anyway anywhere are
aren around as at back be became because become becomes been before being below beside
besides between beyond both but by can cannot could couldn did didn do does doesn doing
don done down during each either else elsewhere enough even ever every everyone
everything everywhere few first for former formerly from further had hadn has hasn have
haven having he her here hers herself him himself his how however i if in into is isn it
its itself just last latter least less let like ll made make many may me meanwhile might
mine more moreover most mostly much must my myself near nearly neither never
nevertheless next no nobody none nor not nothing now nowhere of off often on once one
only onto or other others otherwise our ours ourselves out over own per perhaps put
quite rather re really said same say says see seem seemed seems several she should
shouldn since so some somehow someone something sometime sometimes somewhere still such
than that the their theirs them themselves then there thereafter thereby therefore
these they this those though through throughout thus to together too toward towards
under until up upon us ve very via was wasn we well were weren what whatever when
whence whenever where whereas whether which while who whoever whole whom whose why will
with within without won would wouldn yet you your yours yourself yourselves
told according also new year years week day today yesterday tomorrow mr mrs ms dr
dont doesnt didnt isnt wasnt cant wont couldnt wouldnt shouldnt arent werent hasnt
havent hadnt theyre youre weve theyve ive im itll thats theres whats lets
"""
_DE = """
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer
anderes auch auf aus bei beim bin bis bist da dabei dadurch dafür dagegen daher damit
dann darauf darum das dass dem den denn der des deshalb dessen die dies diese diesem
diesen dieser dieses doch dort du durch ein eine einem einen einer eines er es etwa
euch euer für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich ihm
ihn ihnen ihr ihre ihrem ihren ihrer im in indem ins ist jede jedem jeden jeder jedes
jetzt kann kein keine keinem keinen keiner können könnte man manche mehr mein meine
mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein seine seinem
seinen seiner sich sie sind so soll sollte sondern sonst über um und uns unser unter
vom von vor war waren warum was weil weiter welche welchem welchen welcher wenn wer
werden wie wieder will wir wird wo wurde wurden zu zum zur zwar zwischen sagte laut
"""
_ES = """
al algo algunas algunos ante antes como con contra cual cuando de del desde donde dos
durante el ella ellas ellos en entre era eran es esa esas ese eso esos esta estaba
estado estan estar este esto estos fue fueron ha había han hasta hay la las le les lo
los más me mi muy nada ni no nos o otra otras otro otros para pero poco por porque que
quien se sea ser si sido sin sobre su sus también tanto te tiene tienen todo todos
tras tu un una uno unos ya año años según dijo
"""
_FR = """
au aux avec ce ces cette comme dans de des du elle elles en est et eux il ils je la
le les leur leurs lui mais me même mes moi mon ne nos notre nous on ou où par pas
pour qu que qui sa se ses son sont sur ta te tes toi ton tu un une vos votre vous
été être avait avoir fait plus selon entre après avant aussi très a déjà
"""
_IT = """
il lo la gli le un uno una di da in con su per tra fra del della dei degli delle al
alla ai agli alle dal dalla nel nella nei che chi non più anche come ma se sono è era
questo questa quello quella essere stato hanno ha
"""
_PT = """
o os as um uma uns umas de do da dos das em no na nos nas por para com sem sob que não
mais como mas ao aos se é foi são ser está ele ela eles elas seu sua seus suas também
"""


class _StripMarks(dict):
    """str.translate table, filled lazily: a character -> itself with diacritics removed."""

    def __missing__(self, ch: int) -> str:
        c = chr(ch)
        out = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x))
        self[ch] = out
        return out


_STRIP = _StripMarks()


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text).casefold().translate(_STRIP)


STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(_fold(w) for w in src.split())
    for lang, src in (("en", _EN), ("de", _DE), ("es", _ES), ("fr", _FR), ("it", _IT), ("pt", _PT))
}
_ALL_STOP = frozenset().union(*STOPWORDS.values())


# News agencies (a list about the news domain, not about any story): their credit in a
# dateline, byline or caption ("LONDON (Reuters) -", "(AP Photo)") names who sold the copy,
# never what it is about, and is an organisation, never a person. Folded as :func:`normalise`
# folds; the abbreviations are the agencies' own. Entities and hashtags read this one list.
NEWS_AGENCIES: frozenset[str] = frozenset("""
reuters ap afp upi dpa ansa efe xinhua tass itar-tass interfax kyodo yonhap anadolu irna mena
pap ctk tanjug bta belga anp hina mti petra wafa kuna wam bernama antara aap apa sapa pti ians
ani bloomberg
""".split()) | frozenset({
    "associated press", "the associated press", "agence france-presse", "agence france presse",
    "france-presse", "france presse", "united press international", "deutsche presse agentur",
    "dow jones", "press association", "the press association", "australian associated press",
    "canadian press", "the canadian press", "press trust of india", "indo asian news service",
    "asian news international", "ria novosti", "xinhua news agency", "kyodo news",
    "anadolu agency", "itar tass", "thomson reuters", "ap photo", "afp photo", "reuters photo",
    "getty images"})


def _lang_key(lang: str | None) -> str:
    """"en", "de", ... for a language with a stopword list; "" otherwise."""
    if lang:
        key = lang.split("-")[0].split("_")[0].lower()
        if key in STOPWORDS:
            return key
    return ""


def normalise(text: str) -> str:
    """NFKC, case-folded, diacritics stripped ("Zürich" -> "zurich")."""
    return _fold(text)


@lru_cache(maxsize=65536)
def _norm_word(word: str) -> str:
    return _content_word(_fold(word))


def _raw(text: str) -> list[str]:
    return _WORD_RE.findall(_fold(text or ""))


def _plain(raw: str) -> str:
    if raw[0].isdigit():
        return raw
    for a in _APOS:
        if a in raw:
            raw = raw.replace(a, "")
    return raw


def words(text: str) -> list[str]:
    """Every word of *text*, normalised, in order (apostrophes removed: "don't" -> "dont")."""
    return [_plain(w) for w in _raw(text)]


# Snowball's algorithm names for the languages that have a stopword list above.
_SNOWBALL = {"en": "english", "de": "german", "es": "spanish", "fr": "french", "it": "italian",
             "pt": "portuguese"}
_STEMMERS: dict[str, object] = {}


@lru_cache(maxsize=1 << 17)
def stem(word: str, lang: str | None = None) -> str:
    """The Snowball stem of one normalised word ("detainees" and "detainee" -> "detaine",
    "released"/"releasing" -> "releas"). English when *lang* is unknown or has no stemmer.
    A stem is a key for matching, never shown: names are displayed as written."""
    key = _lang_key(lang) or "en"
    stemmer = _STEMMERS.get(key)
    if stemmer is None:
        stemmer = _STEMMERS[key] = snowballstemmer.stemmer(_SNOWBALL.get(key, "english"))
    return stemmer.stemWord(word)


def is_stopword(word: str, lang: str | None = None) -> bool:
    """*word* (normalised) is a function word of *lang* (of any listed language when unknown)."""
    key = _lang_key(lang)
    return word in (STOPWORDS[key] if key else _ALL_STOP)


def _content_word(raw: str) -> str:
    """Strip elision and possessive parts: "l'homme" -> "homme", "tavessa's" -> "tavessa"."""
    for a in _APOS:
        if a in raw:
            parts = [p for p in raw.split(a) if p]
            if not parts:
                return ""
            if len(parts) >= 2 and len(parts[0]) <= 2:        # l', d', qu', j'
                return "".join(parts[1:])
            if len(parts) >= 2 and parts[-1] in ("s", "t", "re", "ve", "ll", "d", "m"):
                return "".join(parts[:-1]) if parts[-1] == "s" else "".join(parts)
            return "".join(parts)
    return raw


@lru_cache(maxsize=1 << 17)
def _token(raw: str, lang_key: str) -> str:
    """The token for one raw word ("" when it is dropped)."""
    if raw[0].isdigit():
        return raw.replace(",", ".") if len(raw) > 1 else ""
    w = _content_word(raw)
    if len(w) < 2 or w in (STOPWORDS[lang_key] if lang_key else _ALL_STOP):
        return ""
    return stem(w, lang_key or None)


def _tokens_of(raw: list[str], lang: str | None) -> list[str]:
    key = _lang_key(lang)
    return [t for t in map(_token, raw, [key] * len(raw)) if t]


def tokens(text: str, lang: str | None = None) -> list[str]:
    """Content-word tokens of *text*, in order (duplicates kept, for term frequencies).

    Letters-only words of one character and numbers of one digit are dropped; other
    numbers are kept ("4.5", "340": discriminative in news). Words are Snowball-stemmed
    (:func:`stem`, English when *lang* is unknown); an unknown language drops the stopwords
    of every listed language.
    """
    return _tokens_of(_raw(text), lang)


def tokens_and_shingles(text: str, lang: str | None = None, k: int = 5) -> tuple[list[str], set[str]]:
    """``(tokens(text, lang), shingles(text, k))`` from one pass over the text."""
    raw = _raw(text)
    return _tokens_of(raw, lang), _shingles_of([_plain(w) for w in raw], k)


def _shingles_of(ws: list[str], k: int) -> set[str]:
    if not ws:
        return set()
    if len(ws) < k:
        return {" ".join(ws)}
    return {" ".join(ws[i:i + k]) for i in range(len(ws) - k + 1)}


def shingles(text: str, k: int = 5) -> set[str]:
    """Word *k*-grams of *text* (all words, normalised). A text shorter than *k* words
    gives one shingle of all its words; an empty text gives the empty set."""
    return _shingles_of(words(text), k)


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines (single newlines when there are no blank lines)."""
    text = (text or "").strip()
    if not text:
        return []
    paras = [p.strip() for p in _PARA_RE.split(text)]
    if len(paras) == 1 and "\n" in text:
        paras = [p.strip() for p in text.split("\n")]
    return [p for p in paras if p]


def stems(text: str, lang: str | None = None) -> list[str]:
    """Alias of :func:`tokens`, for readers who look for "the stems of a text"."""
    return tokens(text, lang)


# ------------------------------------------------------------------------- sentences
# pysbd is a port of the "Golden Rules" segmenter (pragmatic_segmenter): abbreviations,
# initials, numbers and quotes are handled by a maintained rule set instead of ours.
_PYSBD_LANGS = frozenset({"en", "de", "es", "fr", "it", "nl", "ru", "pl", "da", "el", "ar",
                          "hi", "ja", "zh", "mr", "am", "fa", "ur", "hy", "bg", "my", "kk", "sk"})
_SEGMENTERS: dict[str, pysbd.Segmenter] = {}
# A paragraph without a stop followed by a space is one sentence: no need to ask pysbd.
_MAYBE_BOUNDARY = re.compile(r"[.!?…。][\"'”’)\]]*\s")


def _segmenter(lang: str | None) -> pysbd.Segmenter:
    key = (lang or "en").split("-")[0].split("_")[0].lower()
    key = key if key in _PYSBD_LANGS else "en"
    seg = _SEGMENTERS.get(key)
    if seg is None:
        seg = _SEGMENTERS[key] = pysbd.Segmenter(language=key, clean=False)
    return seg


@lru_cache(maxsize=16384)
def split_sentences(paragraph: str, lang: str | None = None) -> tuple[tuple[int, int], ...]:
    """``(start, end)`` offsets of the sentences of one paragraph, whitespace trimmed.

    "Mr. J. R. Smith met the U.S. envoy at 3 p.m. on Monday." is one sentence.
    """
    spans: list[tuple[int, int]] = []
    if not paragraph or not paragraph.strip():
        return ()
    pieces = _segmenter(lang).segment(paragraph) if _MAYBE_BOUNDARY.search(paragraph) else [paragraph]
    pos = 0
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        at = paragraph.find(piece, pos)
        if at < 0:              # pysbd altered the text (it should not with clean=False)
            continue
        spans.append((at, at + len(piece)))
        pos = at + len(piece)
    if not spans:
        at = len(paragraph) - len(paragraph.lstrip())
        spans.append((at, len(paragraph.rstrip())))
    return tuple(spans)


def sentence_texts(text: str, lang: str | None = None) -> list[str]:
    """The sentences of a whole text, paragraph by paragraph, in order."""
    return [p[a:b] for p in split_paragraphs(text) for a, b in split_sentences(p, lang)]


def lead(text: str, *, paragraphs: int = 2, max_words: int = 60) -> str:
    """The first *paragraphs* paragraphs, cut to *max_words* words."""
    taken = " ".join(split_paragraphs(text)[:paragraphs])
    parts = taken.split()
    return " ".join(parts[:max_words]) if len(parts) > max_words else taken


# words | numbers | sentence ends | other breaks
_ENT_RE = re.compile(r"([^\W\d_][^\W_]*(?:['’\-][^\W\d_][^\W_]*)*)|(\d[\d.,]*)|([.!?…:;]+)"
                     r"|([,()\[\]{}\"“”«»‘’/|—–]|\s-\s)")
_CONNECTORS = frozenset({"of", "de", "la", "del", "van", "von", "der", "den", "da", "di", "du", "le"})


def entities(text: str) -> set[str]:
    """Named-entity candidates of *text*, normalised (case-folded, diacritics stripped).

    A candidate is a run of capitalised words ("Foreign Minister Oleksandra Varga",
    "Bank of Veltria": lower-case "of"/"de"/"van".. may join two capitalised words).
    The first word of a sentence counts only if the same word appears capitalised
    elsewhere not at a sentence start (so "Relations" is dropped, "Varga" kept).
    Stopwords, numbers and single letters are never entities; punctuation ends a run.
    Runs are emitted whole and word by word.
    """
    if not text:
        return set()
    # Pass 1: parallel lists - word (normalised when capitalised), kind, sentence start.
    # kind: 2 capitalised word, 1 lower-case word, 0 a break (number, punctuation)
    ws: list[str] = []
    kinds: list[int] = []
    starts: list[bool] = []
    start = True
    for word, num, end, _brk in _ENT_RE.findall(text):
        if word:
            if word[0].isupper():
                ws.append(_norm_word(word))
                kinds.append(2)
            else:
                ws.append(word)
                kinds.append(1)
            starts.append(start)
            start = False
        else:
            ws.append("")
            kinds.append(0)
            starts.append(start)
            if end:
                start = True
            elif num:
                start = False
    mid_caps = {w for w, k, st in zip(ws, kinds, starts) if k == 2 and not st}
    stop = _ALL_STOP
    out: set[str] = set()
    run: list[str] = []

    def flush() -> None:
        while run and run[-1] in _CONNECTORS:
            run.pop()
        if run:
            content = [w for w in run if w not in _CONNECTORS]
            if len(content) > 1:
                out.add(" ".join(run))
            out.update(content)
        run.clear()

    for w, k, st in zip(ws, kinds, starts):
        if k == 2 and len(w) > 1 and (not st or w in mid_caps) and w not in stop:
            run.append(w)
        elif k == 1 and run and w in _CONNECTORS:
            run.append(w)
        elif run:
            flush()
    flush()
    return out
