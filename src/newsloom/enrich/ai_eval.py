"""Quality gates for the AI features: ours against a baseline computed in the same run.

* :func:`eval_entities` - strict span+kind precision/recall/F1 of an entity extractor on
  hand-labelled sentences (``tests/ai/data/entities_test.jsonl``), overall and per kind.
* :func:`eval_hashtags` - P/R/F1 at 5 and at 10 of our hashtags and of a YAKE baseline
  (the ``yake`` package, n-grams up to 3) against gold keyphrases; a prediction matches a
  gold phrase when both normalise to the same Porter-stemmed words.
* :func:`eval_summaries` - ROUGE-1/2/L F (``rouge-score``, Porter stemming) of our
  3-sentence extractive summary and of the Lead-3 baseline against reference summaries.

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

__all__ = ["eval_entities", "eval_hashtags", "eval_summaries", "load_jsonl", "normalise_phrase",
           "spacy_extractor", "prf"]


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


# --------------------------------------------------------------------------- hashtags

_STEMMER = None


def _stem(word: str) -> str:
    global _STEMMER
    if _STEMMER is None:
        from nltk.stem.porter import PorterStemmer   # ships with rouge-score; no data files
        _STEMMER = PorterStemmer()
    return _STEMMER.stem(word)


def normalise_phrase(phrase: str) -> str:
    """Lower-case, ASCII-folded, CamelCase split, Porter-stemmed words joined by spaces:
    "PrisonerSwap", "prisoner swaps" and "Prisoner swap" all give "prison swap"."""
    phrase = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", phrase.lstrip("#"))
    words = re.findall(r"[a-z0-9]+", fold(phrase))
    return " ".join(_stem(w) for w in words)


def _matches(pred: str, gold: str, gold_raw: str) -> bool:
    """Same normalised words; or a full name against a gold surname ("Nadia Korsgaard"
    matches gold "Korsgaard"), so a baseline that keeps full names is not penalised for
    our surname-tag convention."""
    if pred == gold:
        return True
    return (" " not in gold and gold_raw[:1].isupper() and " " in pred
            and pred.rsplit(" ", 1)[1] == gold)


def _score_at(preds: list[list[str]], golds: list[list[str]], k: int) -> dict[str, float]:
    tp = npred = ngold = 0
    for pred, gold in zip(preds, golds):
        g = {normalise_phrase(x): x for x in gold}
        seen: set[str] = set()
        top = []
        for x in pred:
            n = normalise_phrase(x)
            if n and n not in seen:
                seen.add(n)
                top.append(n)
            if len(top) == k:
                break
        left = dict(g)
        for n in top:
            hit = next((gn for gn, raw in left.items() if _matches(n, gn, raw)), None)
            if hit is not None:
                tp += 1
                del left[hit]
        npred += len(top)
        ngold += len(g)
    return prf(tp, npred, ngold)


def yake_keyphrases(title: str, text: str, top: int = 10) -> list[str]:
    import yake
    extractor = yake.KeywordExtractor(lan="en", n=3, top=top, dedupLim=0.7)
    return [kw for kw, _ in extractor.extract_keywords(f"{title}.\n\n{text}")]


def eval_hashtags(rows: Iterable[dict]) -> dict:
    """P/R/F1 at 5 and 10: ours (``hashtags(..., k=(10, 10))``, each tag's phrase) vs YAKE.

    Rows: ``{"id", "title", "text", "keyphrases": [gold phrase, ...]}``.
    """
    from newsloom.enrich.hashtags import hashtags
    from newsloom.enrich.summarize import Doc
    rows = list(rows)
    golds = [r["keyphrases"] for r in rows]
    ours, base = [], []
    for r in rows:
        doc = Doc(id=r["id"], title=r["title"], text=r["text"], source=r.get("source", ""))
        ours.append([h.phrase for h in hashtags(doc, k=(10, 10))])
        base.append(yake_keyphrases(r["title"], r["text"]))
    return {"n": len(rows),
            "ours": {"@5": _score_at(ours, golds, 5), "@10": _score_at(ours, golds, 10)},
            "yake": {"@5": _score_at(base, golds, 5), "@10": _score_at(base, golds, 10)}}


# --------------------------------------------------------------------------- summaries

def eval_summaries(rows: Iterable[dict], n: int = 3) -> dict:
    """ROUGE-1/2/L F (stemmed) of ``summarize(n=3)`` and of Lead-3 vs the reference.

    Rows: ``{"id", "title", "text", "summary"}``.
    """
    from rouge_score import rouge_scorer

    from newsloom.enrich.summarize import Doc, lead_sentences, summarize
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    sums = {"ours": Counter(), "lead3": Counter()}
    rows = list(rows)
    for r in rows:
        doc = Doc(id=r["id"], title=r["title"], text=r["text"], source=r.get("source", ""))
        cands = {"ours": " ".join(summarize(doc, n=n)), "lead3": " ".join(lead_sentences(doc, n))}
        for name, cand in cands.items():
            sc = scorer.score(r["summary"], cand)
            for m, v in sc.items():
                sums[name][m] += v.fmeasure
    k = max(len(rows), 1)
    return {"n": len(rows), **{name: {m: round(v / k, 4) for m, v in c.items()}
                               for name, c in sums.items()}}
