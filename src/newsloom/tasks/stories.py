"""Story clustering as a use case: one StoryEngine per worker process.

The engine keeps the online clusterer (enrich.cluster) in memory and the store keeps
every decision in the clustering log. Each decision is taken inside
``Store.cluster_section()``, which serialises deciders across threads, processes and
hosts; before deciding, the engine replays the log entries other workers wrote since
its last look (``observe`` / ``apply_merge``), so every worker decides from the same
state as if there were only one. A fresh engine replays the recent window only: older
stories have left the clusterer's window anyway.

clustering a batch of articles, step by step
  1. Take the cluster lock; replay the log since our last sequence number.
  2. For each article, oldest first: skip it if it already has a story (re-runs change nothing).
  3. clusterer.add(): wire copy -> its original's story; else best story or a new one.
  4. Write the article's story and duplicate mark, log the decision, apply merges,
     recompute the touched stories' counts and times, mark them dirty (their insights
     are rebuilt later, once per burst: tasks/insights.py), record related articles
     (nearest by meaning in other stories, then by shared key terms: related_coverage).
  5. Commit the batch (releases the lock). On any error nothing of the batch is kept, and
     the in-memory state is dropped and rebuilt from the log on the next call.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Iterable

from ..enrich.cluster import Doc, StoryClusterer
from ..store import Store
from ..store.base import ClusterSection

__all__ = ["StoryEngine", "cluster_articles", "doc_from_article"]

log = logging.getLogger("newsloom.stories")
REPLAY_WINDOW = timedelta(days=7)
BATCH = 50                  # clustering decisions per transaction (and per hold of the lock)
RELATED_K = 5
RELATED_POOL = 40           # nearest articles looked at for related coverage
# Cosine of two articles' embeddings (title + lead) from which one is related coverage of the
# other. On ECB+ dev (772 articles, static model): pairs about the same kind of event in one
# topic (a different incident) have median 0.645; unrelated pairs have 90th/99th percentiles
# 0.558/0.661; pairs in one story median 0.772. 0.6 keeps most of the first and few of the second.
RELATED_MIN = 0.6


def doc_from_article(article: Any, article_id: int | None = None) -> Doc:
    """The clusterer's view of a stored article (or of a log row carrying its fields)."""
    when = article.published_at or article.fetched_at
    return Doc(id=article.id if article_id is None else article_id, title=article.title or "",
               text=article.text or "", source=article.source_name or "", published=when, lang=article.language)


class StoryEngine:
    def __init__(self, store: Store, **clusterer_options: Any):
        self.store = store
        self.options = clusterer_options
        self.clusterer: StoryClusterer | None = None
        self.last_seq = 0

    def _replay(self, section: ClusterSection) -> None:
        cutoff = None
        if self.clusterer is not None and self.last_seq and not section.has_event(self.last_seq):
            # The entry we read last is gone: `newsloom recluster` rewrote the log (or its
            # article was deleted). Our memory may be stale: start again from the log.
            self.clusterer = None
        if self.clusterer is None:
            self.clusterer, self.last_seq = StoryClusterer(**self.options), 0
            latest = self.store.list_articles(limit=1)
            if latest and latest[0].published_at:
                cutoff = latest[0].published_at - REPLAY_WINDOW
        for ev in section.events_since(self.last_seq, published_after=cutoff):
            if ev.kind == "assign":
                self.clusterer.observe(doc_from_article(ev, ev.article_id), ev.story_id, duplicate_of=ev.duplicate_of)
            elif ev.kind == "merge":
                self.clusterer.apply_merge(ev.story_id, ev.into_story_id)
            self.last_seq = ev.seq

    def cluster(self, article_id: int) -> bool:
        """Put one stored article into a story. Returns False when it already had one."""
        return self.cluster_many([article_id]) == 1

    def cluster_many(self, article_ids: Iterable[int]) -> int:
        """Put stored articles into stories, in the given order, in one section (one
        transaction: a failure places none of them). Returns how many were placed."""
        try:
            with self.store.cluster_section() as section:
                self._replay(section)
                return sum(self._place(section, article_id) for article_id in article_ids)
        except Exception:
            self.clusterer = None           # rebuild from the log next time
            raise

    def _place(self, section: ClusterSection, article_id: int) -> bool:
        article = section.article(article_id)
        if article.story_id is not None:
            return False
        doc = doc_from_article(article)
        result = self.clusterer.add(doc, new_story_id=lambda: section.new_story(doc.title, doc.published))
        self.last_seq = section.assign(article_id, result.story, result.duplicate_of)
        touched = {result.story}
        for absorbed, into in result.merged:
            self.last_seq = section.merge(absorbed, into)
            touched.add(into)
        states = self.clusterer.stories()
        for story_id in touched:
            state = states.get(story_id)
            section.refresh_story(story_id, title=getattr(state, "title", None))
        section.mark_dirty(touched)
        section.set_related(article_id, self.related_coverage(article_id, result.story))
        return True

    def _story_of(self, article_id: int) -> int | None:
        try:
            return self.clusterer.story_of(article_id)
        except KeyError:            # out of the clusterer's window (or not placed yet)
            return None

    def related_coverage(self, article_id: int, story_id: int) -> list[tuple[int, float]]:
        """Related coverage beyond the article's own story, at most RELATED_K, one article
        per story: first its nearest articles by meaning (stored embeddings, cosine at least
        RELATED_MIN), then the clusterer's nearest by shared key terms."""
        out: dict[int, float] = {}
        taken = {story_id}
        vectors = self.store.article_vectors([article_id]).get(article_id)
        near = self.store.nearest_articles(vectors[0], RELATED_POOL) if vectors else []
        lexical = [(int(i), s) for i, s in self.clusterer.related(article_id, k=RELATED_K)]
        for other, score in [(i, c) for i, c in near if c >= RELATED_MIN] + lexical:
            sid = self._story_of(other)
            if len(out) >= RELATED_K or other == article_id or sid is None or sid in taken or other in out:
                continue
            taken.add(sid)
            out[other] = round(score, 4)
        return list(out.items())


def cluster_articles(store: Store, article_ids: Iterable[int] | None = None,
                     engine: StoryEngine | None = None, *, limit: int | None = None) -> int:
    """Cluster the given articles (default: every article without a story, oldest first,
    at most `limit`), BATCH at a time per transaction. Returns how many were placed."""
    engine = engine or StoryEngine(store)
    ids = list(article_ids) if article_ids is not None else store.unclustered_article_ids(limit=limit)
    return sum(engine.cluster_many(ids[i:i + BATCH]) for i in range(0, len(ids), BATCH))
