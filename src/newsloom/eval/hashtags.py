"""Hashtags against gold keyphrases, beside a YAKE baseline computed in the same run.

P/R/F1 at 5 and at 10 of our hashtags and of YAKE (the ``yake`` package, n-grams up to
3) against the gold keyphrases of each row; a prediction matches a gold phrase when both
normalise to the same Porter-stemmed words (or a full name against a gold surname, see
:func:`_matches`). Micro-averaged over rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from newsloom.enrich.entities import fold

__all__ = ["HASHTAG_FIELDS", "eval_hashtags", "normalise_phrase", "prf", "yake_keyphrases"]

#: The rows ``newsloom eval hashtags`` reads (see :func:`newsloom.eval.rows.read_rows`).
HASHTAG_FIELDS = {"id": "str", "title": "text", "text": "text", "keyphrases": "list[str]"}


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": round(p, 4), "r": round(r, 4), "f1": round(f, 4)}


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
        g.pop("", None)
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

    Rows: ``{"id", "title", "text", "keyphrases": [gold phrase, ...]}``. Returns
    ``{"n", "ours": {"@5": prf, "@10": prf}, "yake": {...}}``.
    """
    from newsloom.enrich.hashtags import hashtags
    from newsloom.enrich.summarize import Doc
    rows = list(rows)
    golds = [r["keyphrases"] for r in rows]
    ours, base = [], []
    for r in rows:
        doc = Doc(id=r["id"], title=r["title"], text=r["text"], source=r.get("source") or "")
        ours.append([h.phrase for h in hashtags(doc, k=(10, 10))])
        base.append(yake_keyphrases(r["title"], r["text"]))
    return {"n": len(rows),
            "ours": {"@5": _score_at(ours, golds, 5), "@10": _score_at(ours, golds, 10)},
            "yake": {"@5": _score_at(base, golds, 5), "@10": _score_at(base, golds, 10)}}


def as_json(result: dict) -> dict:
    """The shape ``newsloom eval hashtags --json`` prints."""
    def flat(side: dict) -> dict:
        out = {}
        for at, m in side.items():
            k = at.lstrip("@")
            out[f"f1@{k}"] = m["f1"]
            out[f"p@{k}"] = m["p"]
            out[f"r@{k}"] = m["r"]
        return out
    return {"n": result["n"], **flat(result["ours"]), "baseline": {"name": "yake", **flat(result["yake"])}}
