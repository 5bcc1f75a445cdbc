"""Named entities scored on CoNLL-style rows: per document, person/org/place, vs a baseline.

Input rows (one per sentence, read with ``read_rows(path, ENTITY_FIELDS, key=None)``)::

    {"text": ..., "entities": [[surface, kind], ...], "spans": [[start, end, kind], ...],
     "doc": 0, "sent": 0, "offset": 0, "misc": [...]}

``misc`` is optional and ignored, as is every kind other than person, org and place.

How :func:`run_entities` scores, in order:

1. **Documents.** Consecutive rows with the same ``doc`` form one document; its text is
   ``"\\n".join`` of the rows' texts, so row *i* starts at its ``offset`` (checked).
2. **Extraction.** The extractor runs once per document (``mode="document"``, the default)
   or once per row (``mode="sentence"``, for comparison). Only the extractor calls are
   timed: ``docs_per_s`` is documents / that time, in both modes.
3. **Back to rows.** A predicted entity belongs to the row where its start offset falls
   (an entity that runs over a line break stays whole in its first row, and misses).
4. **Matching.** Per row, the multiset of (normalised surface, kind) of the gold
   ``entities`` against that of the predictions; the surface is case- and accent-folded,
   with a leading "the" and a trailing "'s" dropped (:func:`normalise_surface`,
   the one the sentence-level gate :func:`eval_entities` uses). Micro P/R/F1 overall and per kind.

**Baseline** (same rows, same mode, same matching): every maximal run of capitalised words
(separated by spaces only) with a sentence-initial word dropped, every run typed by the
kind most frequent in the gold of the rows scored. No dictionary, no model: it is the
floor any extractor must clear, and it shows how much of the score capitalisation alone
gives. (spaCy is not a dependency, so it is not the baseline; 
:func:`spacy_extractor` adapts a pipeline for a manual comparison through *extractor*.)
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from newsloom.enrich.entities import Entity, extract_entities, fold
from newsloom.eval.rows import EvalInputError

__all__ = ["ENTITY_FIELDS", "KINDS", "run_entities", "capitalised_runs", "normalise_surface", "eval_entities",
           "spacy_extractor", "load_jsonl", "prf"]

#: The read_rows spec of a CoNLL-style row (``misc`` optional, extra keys kept).
ENTITY_FIELDS: Mapping[str, str] = {
    "text": "text", "entities": "any", "spans": "spans",
    "doc": "int", "sent": "int", "offset": "int",
}

#: The kinds that are scored; anything else (misc) is ignored in gold and predictions.
KINDS = ("person", "org", "place")

Extractor = Callable[[str], Sequence[Any]]


def _where(row: Mapping) -> str:
    return f"eval: entities: doc {row.get('doc')} sent {row.get('sent')}"


def _gold(row: Mapping) -> Counter[tuple[str, str]]:
    ents = row["entities"]
    if not isinstance(ents, list):
        raise EvalInputError(f"{_where(row)}: entities: expected a list of [surface, kind]")
    out: Counter[tuple[str, str]] = Counter()
    for i, item in enumerate(ents):
        if not (isinstance(item, list) and len(item) == 2
                and all(isinstance(x, str) for x in item)):
            raise EvalInputError(f"{_where(row)}: entities: item {i}: expected [surface, kind]")
        surface, kind = item
        if kind in KINDS:
            out[(normalise_surface(surface), kind)] += 1
    return out


def _documents(rows: Iterable[Mapping]) -> list[list[Mapping]]:
    """Consecutive rows of one ``doc``; each row's ``offset`` must match the join."""
    docs: list[list[Mapping]] = []
    seen: set[int] = set()
    for row in rows:
        if docs and docs[-1][0]["doc"] == row["doc"]:
            docs[-1].append(row)
            continue
        if row["doc"] in seen:
            raise EvalInputError(f"{_where(row)}: doc: the rows of document {row['doc']} "
                                 "are not consecutive")
        seen.add(row["doc"])
        docs.append([row])
    for doc in docs:
        at = 0
        for row in doc:
            if row["offset"] != at:
                raise EvalInputError(f"{_where(row)}: offset: expected {at} (the rows of the "
                                     f"document joined by newlines), got {row['offset']}")
            at += len(row["text"]) + 1
    return docs


_WORD = re.compile(r"\w+(?:[.'’&-]\w+)*")
_ENDS = frozenset('.!?:"“”\n')


def capitalised_runs(text: str, kind: str = "person") -> list[Entity]:
    """The baseline: maximal runs of capitalised words joined by spaces only, a word at a
    sentence start (text or line start, after ``. ! ? : "``) dropped, all typed *kind*."""
    out: list[Entity] = []
    run: list[re.Match] = []

    def close() -> None:
        if run:
            out.append(Entity(text[run[0].start():run[-1].end()], kind,
                              run[0].start(), run[-1].end()))
        run.clear()

    prev_end = 0
    for m in _WORD.finditer(text):
        gap = text[prev_end:m.start()]
        if run and gap != " ":
            close()
        sentence_start = prev_end == 0 or any(c in _ENDS for c in gap)
        if m.group(0)[0].isupper() and not sentence_start:
            run.append(m)
        else:
            close()
        prev_end = m.end()
    close()
    return out


def _predict(extract: Extractor, doc: list[Mapping], mode: str) -> tuple[list[list[Any]], float]:
    """Predictions per row of *doc* and the seconds spent in *extract*."""
    per_row: list[list[Any]] = [[] for _ in doc]
    if mode == "sentence":
        spent = 0.0
        for i, row in enumerate(doc):
            t0 = time.perf_counter()
            per_row[i] = list(extract(row["text"]))
            spent += time.perf_counter() - t0
        return per_row, spent
    text = "\n".join(row["text"] for row in doc)
    t0 = time.perf_counter()
    ents = list(extract(text))
    spent = time.perf_counter() - t0
    starts = [row["offset"] for row in doc]
    for e in ents:
        i = 0
        while i + 1 < len(starts) and starts[i + 1] <= e.start:
            i += 1
        per_row[i].append(e)
    return per_row, spent


def _prf(tp: int, npred: int, ngold: int) -> dict[str, float]:
    p = tp / npred if npred else 0.0
    r = tp / ngold if ngold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def _score(docs: list[list[Mapping]], golds: list[list[Counter]], extract: Extractor,
           mode: str) -> dict[str, Any]:
    tp: Counter[str] = Counter()
    npred: Counter[str] = Counter()
    ngold: Counter[str] = Counter()
    spent = 0.0
    for doc, doc_gold in zip(docs, golds):
        preds, secs = _predict(extract, doc, mode)
        spent += secs
        for gold, ents in zip(doc_gold, preds):
            pred = Counter((normalise_surface(e.text), e.kind) for e in ents if e.kind in KINDS)
            for (_, k), n in (gold & pred).items():
                tp[k] += n
            for (_, k), n in pred.items():
                npred[k] += n
            for (_, k), n in gold.items():
                ngold[k] += n
    out: dict[str, Any] = _prf(sum(tp.values()), sum(npred.values()), sum(ngold.values()))
    out["per_type"] = {k: {**_prf(tp[k], npred[k], ngold[k]), "support": ngold[k]}
                       for k in KINDS}
    out["docs_per_s"] = round(len(docs) / spent, 1) if spent > 0 else None
    out["predicted"] = sum(npred.values())
    return out


def run_entities(rows: Iterable[Mapping], extractor: Extractor | None = None, *,
                 mode: str = "document") -> dict[str, Any]:
    """Score *extractor* (default :func:`newsloom.enrich.entities.extract_entities`) on
    CoNLL-style *rows* and the capitalised-runs baseline beside it (see the module doc).

    *extractor* takes a text and returns entities with ``text``, ``kind`` and ``start``.
    """
    if mode not in ("document", "sentence"):
        raise ValueError(f"eval: entities: mode must be 'document' or 'sentence', not {mode!r}")
    rows = list(rows)
    if not rows:
        raise EvalInputError("eval: entities: no rows")
    docs = _documents(rows)
    golds = [[_gold(row) for row in doc] for doc in docs]
    extract = extractor or extract_entities
    ours = _score(docs, golds, extract, mode)
    totals: Counter[str] = Counter()
    for doc_gold in golds:
        for gold in doc_gold:
            for (_, k), n in gold.items():
                totals[k] += n
    majority = max(KINDS, key=lambda k: (totals[k], -KINDS.index(k)))
    base = _score(docs, golds, lambda text: capitalised_runs(text, majority), mode)
    return {
        **ours,
        "mode": mode,
        "documents": len(docs),
        "rows": len(rows),
        "gold": sum(totals.values()),
        "extractor": getattr(extract, "__name__", type(extract).__name__),
        "baseline": {"name": f"capitalised-runs (every run typed {majority}, the gold majority)",
                     **base},
    }


# -- the sentence-level gate on the project's own fictional sentences (tests/ai/data/) ---------
def load_jsonl(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": round(p, 4), "r": round(r, 4), "f1": round(f, 4)}


def normalise_surface(s: str) -> str:
    """Case- and accent-folded, a leading "the" and a trailing "'s" dropped, spaces collapsed."""
    s = re.sub(r"^(the)\s+", "", fold(s).strip())
    s = re.sub(r"['’]s$", "", s)
    return " ".join(s.split())


def eval_entities(rows: Iterable[dict],
                  extract: Callable[[str], list[Entity]] = extract_entities) -> dict:
    """Strict match on (normalised surface, kind), multiset per sentence.

    Rows: ``{"text": ..., "entities": [[surface, kind], ...]}``. Only person, place and
    org count, in gold and predictions alike (misc labels claim no kind).
    """
    kinds = ("person", "place", "org")
    tp: Counter[str] = Counter()
    npred: Counter[str] = Counter()
    ngold: Counter[str] = Counter()
    errors: list[dict] = []
    for row in rows:
        gold = Counter((normalise_surface(s), k) for s, k in row["entities"] if k in kinds)
        pred = Counter((normalise_surface(e.text), e.kind) for e in extract(row["text"]) if e.kind in kinds)
        hit = gold & pred
        for (s, k), n in hit.items():
            tp[k] += n
        for (s, k), n in pred.items():
            npred[k] += n
        for (s, k), n in gold.items():
            ngold[k] += n
        if hit != gold or hit != pred:
            errors.append({"text": row["text"], "missed": sorted((gold - pred).elements()),
                           "spurious": sorted((pred - gold).elements())})
    out = {"all": prf(sum(tp.values()), sum(npred.values()), sum(ngold.values()))}
    for k in kinds:
        out[k] = prf(tp[k], npred[k], ngold[k])
    out["n_gold"] = sum(ngold.values())
    out["errors"] = errors
    return out


def spacy_extractor(nlp) -> Callable[[str], list[Entity]]:
    """Adapt a loaded spaCy pipeline to our Entity kinds (for the comparison only)."""
    mapping = {"PERSON": "person", "GPE": "place", "LOC": "place", "FAC": "place", "ORG": "org"}

    def extract(text: str) -> list[Entity]:
        return [Entity(e.text, mapping.get(e.label_, "misc"), e.start_char, e.end_char)
                for e in nlp(text).ents]
    return extract
