"""The statistical half of entity extraction: a linear-chain CRF over news sentences.

:func:`newsloom.enrich.entities.extract_entities` runs the rules first and this tagger
second; the tagger sees the rules' answer for each token as one more feature (stacking),
so it learns from real news when to trust them. The model
(``models/entities-crf.bin.gz``) is trained on the CoNLL-2003 English training split by
``scripts/train_entities.py``; ``docs/entities.md`` has the measurements.

How :func:`tag` reads a document, in order:

1. **Tokens** (:func:`tokenize`): CoNLL-like tokens with character offsets: ``U.S.``,
   ``Calif.`` and initials keep their dot, a possessive ``'s`` is its own token.
2. **Sequences** (:func:`sentences`): lines, then sentences inside a line. A line with no
   lower-case letter (an ALL-CAPS headline or dateline) is flagged as such.
3. **Features** (:func:`sequence_features`): the word, its shape, affixes, gazetteer
   memberships taken from the rule lexicons, the same for the neighbours (+-2), the rules'
   tag and strength, and two document-level facts (the word is written capitalised
   mid-sentence / in lower case elsewhere in the document). In an ALL-CAPS line the
   shape is that of the lower-cased word, flagged as such: there, casing says nothing.
   A word the model has no identity weight for is flagged unknown, crossed with the
   rules' answer (see :func:`sequence_features`).
4. **Tags**: BIO over PER/ORG/LOC/MISC, decoded to spans (``person``/``org``/``place``/
   ``misc``), cut where a lower-case word that is no name particle sits inside.

The features depend on the rule lexicons in ``entities.py``: retrain after editing one.
"""

from __future__ import annotations

import gzip
import re
import threading
from collections.abc import Container, Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

__all__ = ["MODEL_PATH", "Token", "Span", "tokenize", "sentences", "sequence_features", "tag",
           "LABEL_KINDS", "KIND_LABELS", "Model", "load_tagger"]

MODEL_PATH = Path(__file__).parent / "models" / "entities-crf.bin.gz"

LABEL_KINDS = {"PER": "person", "ORG": "org", "LOC": "place", "MISC": "misc"}
KIND_LABELS = {v: k for k, v in LABEL_KINDS.items()}

# Abbreviations that keep their dot in news text (CoNLL tokenises them so): titles,
# company suffixes, US state and month abbreviations of wire copy.
_ABBR = ("Mr|Mrs|Ms|Dr|St|Ste|Mt|Ft|Jr|Sr|Inc|Corp|Co|Cos|Ltd|Bros|Gen|Col|Lt|Sgt|Capt|Cmdr|"
         "Adm|Rev|Prof|Gov|Sen|Rep|Messrs|No|vs|Ave|Jan|Feb|Aug|Sept|Sep|Oct|Nov|Dec|"
         "Ala|Ariz|Ark|Calif|Colo|Conn|Del|Fla|Ga|Ill|Ind|Kan|Ky|La|Md|Mass|Mich|Minn|Miss|"
         "Mo|Mont|Neb|Nev|Okla|Ore|Pa|Tenn|Tex|Va|Vt|Wash|Wis|Wyo")
_TOKEN_RE = re.compile(
    r"(?:[^\W\d_]\.){2,}"                       # U.S.  N.J.  D.A.
    r"|(?:[^\W\d_]\.)+[^\W\d_]\b"               # U.S (no final dot)
    r"|[A-Z]\.(?=\s+[A-Z])"                      # an initial: G. Thorpe
    rf"|\b(?:{_ABBR})\.(?=\s|$)"
    r"|\d+(?:[.,:]\d+)+"                        # 3.5  1,200  10:30
    r"|[^\W_]+(?:[-&/][^\W_]+|['’](?![sS]\b)[^\W_]+)*"
    r"|['’][sS]\b"                              # possessive
    r"|\S")
_ENDS = frozenset(".!?")
_QUOTES = frozenset("\"'“”‘’»")


class Token(NamedTuple):
    text: str
    start: int
    end: int


class Span(NamedTuple):
    start: int
    end: int
    kind: str
    caps: bool           # in an ALL-CAPS line
    initial: bool        # starts its sentence


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(0), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


def sentences(text: str, toks: Sequence[Token]) -> list[tuple[int, int, bool]]:
    """Token ranges ``(i, j, caps_line)``: lines first, then sentences inside a line.
    *caps_line* is true when the line has letters and none of them is lower case, and for
    a first line in Title Case (a headline): in both, casing says nothing."""
    out: list[tuple[int, int, bool]] = []
    n = len(toks)
    i = 0
    while i < n:
        nl = text.find("\n", toks[i].start)
        line_end = n if nl < 0 else _first_at_or_after(toks, nl, i)
        line = text[toks[i].start:toks[line_end - 1].end]
        caps = any(c.isalpha() for c in line) and not any(c.islower() for c in line)
        if not caps and i == 0:
            caps = _title_case(line)
        s = i
        k = i
        while k < line_end:
            t = toks[k].text
            if t in _ENDS and k + 1 < line_end:
                e = k + 1
                while e < line_end and toks[e].text in _QUOTES and e - k <= 2:
                    e += 1
                if e < line_end:
                    nxt = toks[e].text
                    if nxt[0].isupper() or nxt[0].isdigit() or nxt[0] in _QUOTES:
                        out.append((s, e, caps))
                        s = e
                        k = e
                        continue
            k += 1
        if s < line_end:
            out.append((s, line_end, caps))
        i = line_end
    return out


_LETTERS_RE = re.compile(r"[^\W\d_]+")


def _title_case(line: str) -> bool:
    """A headline in Title Case: 4+ words, every word of 4+ letters capitalised, no final
    full stop ("Storm Forces Closure of Coastal Roads")."""
    if line.rstrip("\"'’” ").endswith("."):
        return False
    words = _LETTERS_RE.findall(line)
    long = [w for w in words if len(w) >= 4]
    return len(words) >= 4 and len(long) >= 3 and all(w[0].isupper() for w in long)


def _first_at_or_after(toks: Sequence[Token], pos: int, lo: int) -> int:
    hi = len(toks)
    while lo < hi:
        mid = (lo + hi) // 2
        if toks[mid].start < pos:
            lo = mid + 1
        else:
            hi = mid
    return lo


# --------------------------------------------------------------------------- features

def _lexicons() -> dict[str, frozenset[str]]:
    from newsloom.enrich import entities as E
    return {
        "place": E._GAZ_PLACES,
        "title": E._TITLES_BARE,
        "orghead": E._ORG_HEADS,
        "orgfirst": E._ORG_FIRST,
        "placehead": E._PLACE_HEADS,
        "placefirst": E._PLACE_FIRST,
        "demonym": E._DEMONYMS,
        "agency": E._AGENCIES,
        "common": E._COMMON,
        "conn": E._CONNECTORS,
        "speech": E._SPEECH,
        "role": E._ROLES,
        "cue": E._PLACE_CUES,
        "time": E._TIME_WORDS,
    }


_LEX: dict[str, frozenset[str]] | None = None
_SHAPE = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "X" * 26 + "x" * 26 + "d" * 10)


def _shape(w: str) -> str:
    """``Xx``, ``X.X.``, ``d-d-d``: letters and digits by class, repeats collapsed."""
    s = w.translate(_SHAPE)
    if not s.isascii():
        s = "".join("X" if c.isupper() else "x" if c.islower() else c for c in s)
    out: list[str] = []
    for c in s:
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)[:8]


@lru_cache(maxsize=16_384)          # ~1.6 KB an entry: ~26 MB at most
def _word(w: str, caps_line: bool, unknown: bool = False) -> tuple[tuple[str, ...], ...]:
    """Features of one word: its own, then as seen from the next token ("-1:"), the
    previous one ("+1:"), two tokens on ("-2:") and two back ("+2:"). An *unknown* word has
    no identity feature (see :func:`sequence_features`); the shape is the last feature."""
    global _LEX
    if _LEX is None:
        _LEX = _lexicons()
    lw = w.lower()
    key = lw.rstrip(".")
    gaz = [f"g:{name}" for name, words in _LEX.items() if key in words]
    if caps_line:
        sh = "c" + _shape(lw)
        flags = []
    else:
        sh = _shape(w)
        flags = []
        if w[:1].isupper():
            flags.append("T" if not w.isupper() or len(w) == 1 else "U")
    if any(c.isdigit() for c in w):
        flags.append("D")
    if "-" in w:
        flags.append("H")
    if not any(c.isalnum() for c in w):
        flags.append("P")
    ident = () if unknown else (f"w={lw}",)
    own = (*ident, f"sh={sh}", f"s2={lw[-2:]}", f"s3={lw[-3:]}", f"s4={lw[-4:]}",
           f"p2={lw[:2]}", f"p3={lw[:3]}", *flags, *gaz)
    near = (*ident, *flags, *gaz, f"sh={sh}")
    far = (*ident, f"sh={sh}")
    return (own, tuple("-1:" + f for f in near), tuple("+1:" + f for f in near),
            tuple("-2:" + f for f in far), tuple("+2:" + f for f in far), f"sh={sh}")


def document_facts(toks: Sequence[Token], seqs: Iterable[tuple[int, int, bool]]
                   ) -> tuple[set[str], set[str]]:
    """Words (lower-cased) seen capitalised mid-sentence outside ALL-CAPS lines, and words
    seen in lower case, anywhere in the document."""
    capmid: set[str] = set()
    lower: set[str] = set()
    for i, j, caps in seqs:
        if caps:
            continue
        for k in range(i, j):
            w = toks[k].text
            c = w[0]
            if c.islower():
                lower.add(w)
            elif c.isupper() and k > i:
                capmid.add(w.lower())
    return capmid, lower


def sequence_features(toks: Sequence[Token], i: int, j: int, caps: bool,
                      rule_tags: Sequence[str | None], capmid: set[str], lower: set[str],
                      *, stacked: bool = True, known: Container[str] = ()
                      ) -> list[list[str]]:
    """One feature list per token of the sequence ``toks[i:j]``.

    A word not in *known* (lower-cased; at training, the words seen more than once; in
    use, the words the model has an identity weight for) is read as unknown: no identity
    feature, and an ``unk`` flag crossed with its shape, position and the rules' answer.
    Most new names are unknown words, so the model learns, on the training set's rare
    words, how far to trust the rules there.
    """
    words = []
    unk = []
    for k in range(i, j):
        lw = toks[k].text.lower()
        u = lw not in known and lw[:1].isalpha()
        unk.append(u)
        words.append(_word(toks[k].text, caps, u))
    n = j - i
    xseq: list[list[str]] = []
    for p in range(n):
        w = toks[i + p].text
        lw = w.lower()
        f = ["b", *words[p][0]]
        if unk[p]:
            f.append("unk")
            f.append("unk|" + words[p][5])
            if stacked:
                f.append("unk|r=" + (rule_tags[i + p] or "O"))
            if p == 0:                  # the rules have their own sentence-start logic
                f.append("unk|BOS")
                if stacked:
                    f.append("unk|BOS|r=" + (rule_tags[i + p] or "O"))
        if p == 0:
            f.append("BOS")
        if p == n - 1:
            f.append("EOS")
        if caps:
            f.append("CL")
        if lw in capmid:
            f.append("dcap")
        if lw in lower:
            f.append("dlow")
        if p > 0:
            f.extend(words[p - 1][1])
            if p > 1:
                f.extend(words[p - 2][3])
        if p + 1 < n:
            f.extend(words[p + 1][2])
            if p + 2 < n:
                f.extend(words[p + 2][4])
        if stacked:                     # rule tags look like "B-person:2" (kind:strength)
            r = rule_tags[i + p]
            if r:
                f.append("r=" + r[:-2])
                f.append("rk=" + r[2:])
            if p > 0 and rule_tags[i + p - 1]:
                f.append("-1:r=" + rule_tags[i + p - 1][:-2])
            if p + 1 < n and rule_tags[i + p + 1]:
                f.append("+1:r=" + rule_tags[i + p + 1][:-2])
        xseq.append(f)
    return xseq


def span_tags(toks: Sequence[Token], spans: Iterable[tuple[int, int, str]]) -> list[str | None]:
    """BIO tags of the tokens covered by character *spans*: ``B-`` or ``I-`` + the span's
    label (a kind, or the rules' ``kind:strength``)."""
    tags: list[str | None] = [None] * len(toks)
    for s, e, kind in spans:
        k = _first_at_or_after(toks, s, 0)
        first = True
        while k < len(toks) and toks[k].end <= e:
            tags[k] = ("B-" if first else "I-") + kind
            first = False
            k += 1
    return tags


# --------------------------------------------------------------------------- tagging

class Model:
    """A CRF model opened from its bytes, one crfsuite tagger per thread (a tagger holds
    the sequence it is tagging). crfsuite reads the buffer in place, so the bytes live as
    long as the model."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._local = threading.local()
        #: words with an identity weight: the others are read as unknown
        self.vocab = frozenset(a[2:] for a, _ in self._tagger().info().state_features
                               if a.startswith("w="))

    def _tagger(self):
        t = getattr(self._local, "tagger", None)
        if t is None:
            import pycrfsuite
            t = pycrfsuite.Tagger()
            t.open_inmemory(self._data)
            self._local.tagger = t
        return t

    def tag(self, xseq: list[list[str]]) -> list[str]:
        return self._tagger().tag(xseq)

    def info(self):
        return self._tagger().info()


@lru_cache(maxsize=1)
def load_tagger(path: str | None = None) -> Model:
    """The CRF tagger, loaded once (the model file is gzip-compressed)."""
    p = Path(path) if path else MODEL_PATH
    try:
        data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
    except OSError as exc:
        raise RuntimeError(f"entities: cannot read the entity model {p} ({exc}); "
                           "rebuild it with scripts/train_entities.py") from exc
    return Model(data)


# Lower-case words that may sit inside a name ("Bank of England", "Procter and Gamble",
# "Ludwig van Beethoven"); any other lower-case word ends it.
_INSIDE = frozenset("of and de del della di da du des van von der den la le al el bin y e "
                    "for the on upon &".split())
_BRACKETS = frozenset("()[]{}")


def _breaks(t: Token) -> bool:
    """A token no name runs across: a lower-case word that is not a particle, a bracket."""
    w = t.text
    if w in _BRACKETS:
        return True
    return w[0].islower() and w.isalpha() and w not in _INSIDE


def decode(toks: Sequence[Token], i: int, labels: Sequence[str],
           rule_tags: Sequence[str | None] = ()) -> list[tuple[int, int, str]]:
    """Character spans ``(start, end, kind)`` of a BIO label sequence starting at toks[i].

    A span is cut at a lower-case word that is not a name particle ("Charles ceded
    Alsace" is two names; the CRF sometimes bridges them); a piece after a cut takes the
    rules' kind when the rules start an entity there. Particles at the edges go.
    """
    groups: list[list] = []             # [first, last, label] in token positions
    for p, lab in enumerate(labels):
        if lab == "O":
            continue
        typ = lab[2:]
        if lab[0] == "I" and groups and groups[-1][2] == typ and groups[-1][1] == p - 1:
            groups[-1][1] = p
        else:
            groups.append([p, p, typ])
    out: list[tuple[int, int, str]] = []
    for a, b, typ in groups:
        kind = LABEL_KINDS[typ]
        piece: list[int] = []
        pieces: list[list[int]] = []
        for p in range(a, b + 1):
            if _breaks(toks[i + p]):
                if piece:
                    pieces.append(piece)
                piece = []
            else:
                piece.append(p)
        if piece:
            pieces.append(piece)
        for n, pc in enumerate(pieces):
            while pc and toks[i + pc[-1]].text in _INSIDE:
                pc.pop()
            while pc and toks[i + pc[0]].text in _INSIDE:
                pc.pop(0)
            if not pc or not any(c.isalnum() for p in pc for c in toks[i + p].text):
                continue
            k = kind
            if n and rule_tags:
                r = rule_tags[i + pc[0]]
                if r and r[0] == "B" and r[2:-2] in ("person", "place", "org"):
                    k = r[2:-2]
            out.append((toks[i + pc[0]].start, toks[i + pc[-1]].end, k))
    return out


def tag(text: str, rule_spans: Iterable[tuple[int, int, str]], *, stacked: bool = True,
        tagger=None) -> tuple[list[Span], set[str], set[str]]:
    """The entities the CRF finds in *text*, the words (lower-cased) the document writes
    capitalised mid-sentence, and the words it writes in lower case."""
    toks = tokenize(text)
    if not toks:
        return [], set(), set()
    seqs = sentences(text, toks)
    capmid, lower = document_facts(toks, seqs)
    rule_tags = span_tags(toks, rule_spans) if stacked else [None] * len(toks)
    tagger = tagger or load_tagger()
    out: list[Span] = []
    for i, j, caps in seqs:
        xseq = sequence_features(toks, i, j, caps, rule_tags, capmid, lower, stacked=stacked,
                                 known=tagger.vocab)
        labels = tagger.tag(xseq)
        out.extend(Span(s, e, k, caps, s == toks[i].start)
                   for s, e, k in decode(toks, i, labels, rule_tags))
    return out, capmid, lower
