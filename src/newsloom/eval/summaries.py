"""Article summaries against reference summaries, beside Lead-3 computed in the same run.

ROUGE-1/2/L F-measure (the ``rouge-score`` package, Porter stemming), averaged over rows,
of our extractive summary (``summarize(doc, n=3)``) and of Lead-3: the first three
sentences of the article as the summarizer itself splits them
(:func:`newsloom.enrich.summarize.lead_sentences` over
:func:`newsloom.enrich.summarize.sentences`), so both sides use one sentence splitter
and the baseline is not weakened by a different one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

__all__ = ["SUMMARY_FIELDS", "eval_summaries", "as_json"]

#: The rows ``newsloom eval summaries`` reads (see :func:`newsloom.eval.rows.read_rows`).
SUMMARY_FIELDS = {"id": "str", "title": "text", "text": "text", "summary": "text"}


def eval_summaries(rows: Iterable[dict], n: int = 3) -> dict:
    """ROUGE-1/2/L F (stemmed) of ``summarize(n=3)`` and of Lead-3 vs the reference.

    Rows: ``{"id", "title", "text", "summary"}``. Returns ``{"n", "ours": {rouge1, rouge2,
    rougeL}, "lead3": {...}}``.
    """
    from rouge_score import rouge_scorer

    from newsloom.enrich.summarize import Doc, lead_sentences, summarize
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    sums = {"ours": Counter(), "lead3": Counter()}
    rows = list(rows)
    for r in rows:
        doc = Doc(id=r["id"], title=r["title"], text=r["text"], source=r.get("source") or "")
        cands = {"ours": " ".join(summarize(doc, n=n)), "lead3": " ".join(lead_sentences(doc, n))}
        for name, cand in cands.items():
            sc = scorer.score(r["summary"], cand)
            for m, v in sc.items():
                sums[name][m] += v.fmeasure
    k = max(len(rows), 1)
    return {"n": len(rows), **{name: {m: round(v / k, 4) for m, v in c.items()}
                               for name, c in sums.items()}}


def as_json(result: dict) -> dict:
    """The shape ``newsloom eval summaries --json`` prints."""
    return {"n": result["n"], **result["ours"], "baseline": {"name": "lead3", **result["lead3"]}}
