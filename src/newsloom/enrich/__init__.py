"""Enrich: pure stages over articles (no store, no settings, no I/O).

* ``text``     - tokens, shingles and entity candidates shared by every stage.
* ``dedupe``   - :class:`~newsloom.enrich.dedupe.Deduper`: wire copies by MinHash LSH.
* ``cluster``  - :class:`~newsloom.enrich.cluster.StoryClusterer`: online story clustering,
  merges, related articles.

Scoring and synthetic streams live above these stages, in :mod:`newsloom.eval`.

Submodules are imported explicitly (``from newsloom.enrich.cluster import ...``) so that
importing ``newsloom.enrich.text`` never pulls in numpy or datasketch.
"""
