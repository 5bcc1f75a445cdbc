"""Evaluation of the fuzzy stages against labelled data, and synthetic streams for it.

This package sits above the stages it scores (``enrich``, ``extract``) and may import
them and the demo newsroom; they never import it. ``newsloom eval ...`` reads every input
through :func:`newsloom.eval.rows.read_rows`, so a bad row is one clear
:class:`~newsloom.eval.rows.EvalInputError` (exit status 2), never a traceback.

Modules: ``rows`` (the reader), ``clustering`` (BCubed/pairwise scores, the stream runner
and a TF-IDF baseline), ``dedupe``, ``hashtags`` (vs YAKE), ``summaries`` (vs Lead-3),
``entities`` and ``extraction``, and ``synth`` (seeded synthetic streams).
"""

from newsloom.eval.rows import EvalInputError, read_rows

__all__ = ["EvalInputError", "read_rows"]
