"""Summaries against reference summaries, beside Lead-3 computed in the same run.

What is scored is what a story page shows: each row's article as a story of one article,
through :func:`newsloom.enrich.summarize.story_brief` (whose brief of one article is the
article's summary; :func:`~newsloom.enrich.summarize.summarize` is scored too, as a check
that the two stay one). The baseline is Lead-3: the first three sentences of the article
(:func:`newsloom.enrich.summarize.lead_sentences`), split by the same splitter as the brief
(the text toolkit's pysbd segmenter) and with the same dateline stripped from the first,
so the baseline is not weakened by a worse split or by a "(CNN)" prefix.

ROUGE-1/2/L F-measure from the maintained ``rouge-score`` package (Google Research; its
tokenizer, Porter stemming on), averaged over rows, and the mean length in words of each
side (ROUGE's F-measure depends on it).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["SUMMARY_FIELDS", "METRICS", "eval_summaries", "as_json"]

#: The rows ``newsloom eval summaries`` reads (see :func:`newsloom.eval.rows.read_rows`).
SUMMARY_FIELDS = {"id": "str", "title": "text", "text": "text", "summary": "text"}
METRICS = ("rouge1", "rouge2", "rougeL")


def eval_summaries(rows: Iterable[dict]) -> dict:
    """ROUGE-1/2/L F (stemmed) of the story brief, of ``summarize(n=3)`` and of Lead-3.

    Rows: ``{"id", "title", "text", "summary"}``. Returns ``{"n", "ours": {rouge1, rouge2,
    rougeL, words}, "summarize": {...}, "lead3": {...}}``, "ours" being the story brief.
    """
    from rouge_score import rouge_scorer

    from newsloom.enrich.summarize import Doc, lead_sentences, story_brief, summarize
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    sides = ("ours", "summarize", "lead3")
    sums = {side: dict.fromkeys((*METRICS, "words"), 0.0) for side in sides}
    rows = list(rows)
    for r in rows:
        doc = Doc(id=r["id"], title=r["title"], text=r["text"], source=r.get("source") or "")
        texts = {"ours": " ".join(c.sentence for c in story_brief([doc])),
                 "summarize": " ".join(summarize(doc, n=3)),
                 "lead3": " ".join(lead_sentences(doc, 3))}
        for side, text in texts.items():
            for m, v in scorer.score(r["summary"], text).items():
                sums[side][m] += v.fmeasure
            sums[side]["words"] += len(text.split())
    k = max(len(rows), 1)
    return {"n": len(rows), **{side: {m: round(v / k, 4 if m != "words" else 1) for m, v in s.items()}
                               for side, s in sums.items()}}


def as_json(result: dict) -> dict:
    """The shape ``newsloom eval summaries --json`` prints: the story brief's figures at the
    top, ``summarize`` beside them, Lead-3 as the baseline."""
    return {"n": result["n"], "system": "story_brief", **result["ours"],
            "summarize": result["summarize"], "baseline": {"name": "lead3", **result["lead3"]}}
