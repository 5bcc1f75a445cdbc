"""Entity-extraction scoring: strict span+kind precision/recall/F1 of an extractor.

* :func:`eval_entities` - on hand-labelled sentences (``tests/ai/data/entities_test.jsonl``),
  overall and per kind.

The hashtag and summary gates moved to :mod:`newsloom.eval.hashtags` and
:mod:`newsloom.eval.summaries` (evaluation sits above the stages it scores).

Rows are plain dicts; fixtures live in ``tests/ai/data/`` and the pinned floors in
``tests/ai/test_eval.py``. Nothing here is timed.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from newsloom.enrich.entities import Entity, extract_entities, fold

__all__ = ["eval_entities", "load_jsonl", "spacy_extractor", "prf"]


def load_jsonl(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": round(p, 4), "r": round(r, 4), "f1": round(f, 4)}


# --------------------------------------------------------------------------- entities

def _norm_span(s: str) -> str:
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
        gold = Counter((_norm_span(s), k) for s, k in row["entities"] if k in kinds)
        pred = Counter((_norm_span(e.text), e.kind) for e in extract(row["text"]) if e.kind in kinds)
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
