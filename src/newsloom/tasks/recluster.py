"""Re-cluster every stored article with the current clusterer, keeping story ids.

When the clusterer changes (new weights, threshold, text toolkit), the stories already
stored were decided by the old one. `recluster` runs a fresh ``enrich.cluster.StoryClusterer``
over every stored article, oldest first, exactly as a StoryEngine would, and maps the old
stories onto the new clusters so that ids people follow, comment on and link to stay valid.

re-clustering, step by step (one transaction inside ``Store.cluster_section()``, the
cross-process cluster lock: a crash leaves the old state; a re-run with the same clusterer
finds nothing to change and writes nothing)
  1. Read every article (oldest first) and every story; resolve each article's old story
     through ``merged_into`` to the live story it belongs to.
  2. Feed the articles to a fresh clusterer: record each new cluster's members (merges
     included), its title (as the engine would: the clusterer's title after its last
     change), each wire copy's original, and each article's related articles.
  3. Map: each new cluster takes the id of the old story it shares the most articles with;
     greedy by overlap, largest first (ties: the older id, then the older cluster); each
     old id at most once. A cluster with no id left gets a new story row.
  4. An old story left with no articles is merged (``ClusterSection.merge``) into the
     story that received most of its old articles: follows, comments and links to it
     resolve as they do after any merge.
  5. Compare with what is stored; nothing differs -> stop here (idempotent).
  6. Write: new story rows, each article's story and duplicate mark, the clustering log
     (below), the merges, each touched story's counts, times and title (marked dirty, so
     the pipeline rebuilds its insights), and the related articles afresh.

The clustering log. Engines replay ``cluster_events`` (tasks/stories.py): a new engine from
the start of its window, a running one from its last sequence number. The log is rewritten
as the new state: one ``assign`` per article (oldest first, to its final story, with its
duplicate mark), then one ``merge`` per emptied old story, appended *after* the old entries
(so sequence numbers only grow, on SQLite too), and then the old entries are deleted.

- A new engine replays exactly the new state: every article once, into its final story
  (the emptied stories' merges are no-ops for it, as they hold nothing).
- A running engine checks, before each batch, that the entry it read last is still in the
  log (``ClusterSection.has_event``); it is not after a rewrite, so the engine drops its
  memory and replays the new state first: never a stale decision, and no failed batch.

Appending to the old log instead would make every new engine replay each article twice
(refused the same way, forever), and replaying the fresh run's own decisions (with its
intermediate stories) would need story rows for stories that exist only mid-run.
"""

from __future__ import annotations

import inspect
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from ..enrich.cluster import StoryClusterer
from ..store import Store
from ..store.base import ClusterSection
from .pipeline import embed_pending
from .stories import StoryEngine, doc_from_article

__all__ = ["recluster", "ReclusterReport"]

log = logging.getLogger("newsloom.recluster")
RELATED_KEEP = 8          # as ClusterSection.set_related keeps


@dataclass
class ReclusterReport:
    """What a recluster found (and, unless ``dry_run``, wrote)."""

    articles: int = 0
    old_stories: int = 0          # live stories holding articles before
    new_stories: int = 0          # stories holding articles after
    kept: int = 0                 # new stories that kept an old id
    merged: int = 0               # old stories left empty, merged into another
    created: int = 0              # new story rows
    moved: int = 0                # articles whose story or duplicate mark changes
    touched: int = 0              # stories whose counts, times or title are refreshed
    related_changed: bool = False
    changed: bool = False
    dry_run: bool = False
    mapping: list[str] = field(default_factory=list)   # one line per split, merge or new story

    def summary(self) -> str:
        return (f"recluster: {self.articles} articles; {self.old_stories} old stories -> "
                f"{self.new_stories} new stories; {self.kept} ids kept, {self.merged} stories merged, "
                f"{self.created} stories created; {self.moved} articles moved")


@dataclass
class _Article:
    id: int
    old_story: int | None         # as stored
    old_dup: int | None
    source_id: int | None
    when: datetime


@dataclass
class _Cluster:
    key: int                      # the fresh clusterer's story id (temporary)
    order: int                    # creation order in the fresh run
    members: list[int] = field(default_factory=list)
    title: str = ""
    story_id: int | None = None   # the stored id it gets: an old one, or a new row's


@dataclass
class _Fresh:
    articles: list[_Article]
    clusters: list[_Cluster]                      # in creation order
    duplicate_of: dict[int, int | None]
    related: list[tuple[int, list[tuple[int, float]]]]


def recluster(store: Store, *, dry_run: bool = False, **clusterer_options: Any) -> ReclusterReport:
    """Re-cluster every stored article with ``StoryClusterer(**clusterer_options)`` (the
    defaults are what the pipeline's engines use), keeping story ids; see the module
    docstring. ``dry_run``: compute and report the mapping, write nothing (and take no lock).
    Articles not embedded yet are embedded first (the pipeline's embed stage), so related
    coverage is chosen as the engines choose it."""
    if not dry_run:
        embed_pending(store)
    if dry_run:
        with store.read() as conn:
            return _recluster(ClusterSection(store, conn), clusterer_options, write=False)
    with store.cluster_section() as section:
        return _recluster(section, clusterer_options, write=True)


def _recluster(section: ClusterSection, options: dict[str, Any], *, write: bool) -> ReclusterReport:
    report = ReclusterReport(dry_run=not write)
    # 1-2. every article through a fresh clusterer, oldest first
    fresh = _cluster_afresh(section.store, section.articles_oldest_first(), options)
    report.articles = len(fresh.articles)
    if not fresh.articles:
        return report
    rows = {r.id: r for r in section.story_rows()}
    live = _resolver(rows)
    old_live = {a.id: live(a.old_story) for a in fresh.articles}
    old_members: dict[int, list[int]] = {}
    for a in fresh.articles:
        if old_live[a.id] is not None:
            old_members.setdefault(old_live[a.id], []).append(a.id)
    report.old_stories = len(old_members)
    report.new_stories = len(fresh.clusters)

    # 3. new clusters take old ids: greedy by overlap, largest first (ties: older id, older cluster)
    overlaps = [(n, old, c.order, c) for c in fresh.clusters
                for old, n in Counter(old_live[m] for m in c.members if old_live[m] is not None).items()]
    used: set[int] = set()
    for n, old, _, c in sorted(overlaps, key=lambda o: (-o[0], o[1], o[2])):
        if c.story_id is None and old not in used:
            c.story_id = old
            used.add(old)
    report.kept = len(used)
    report.created = sum(1 for c in fresh.clusters if c.story_id is None)

    # 4. old stories left empty: merged into the cluster that received most of their articles
    cluster_of = {m: c for c in fresh.clusters for m in c.members}
    by_order = {c.order: c for c in fresh.clusters}
    emptied: list[tuple[int, _Cluster]] = []
    for old in sorted(set(old_members) - used):
        received = Counter(cluster_of[m].order for m in old_members[old])
        into = min((by_order[o] for o in received),
                   key=lambda c: (-received[c.order], c.story_id if c.story_id is not None else math.inf, c.order))
        emptied.append((old, into))
    report.merged = len(emptied)

    # 5. what differs from the stored state
    by_id = {a.id: a for a in fresh.articles}
    moved = [a for a in fresh.articles                  # (a cluster still without an id is a new story)
             if cluster_of[a.id].story_id is None or cluster_of[a.id].story_id != a.old_story
             or fresh.duplicate_of.get(a.id) != a.old_dup]
    report.moved = len(moved)
    moved_ids = {a.id for a in moved}
    stale = [c for c in fresh.clusters                  # new, changed, or holding a re-marked wire copy
             if c.story_id is None or any(m in moved_ids for m in c.members)
             or _story_differs(rows[c.story_id], c, old_members.get(c.story_id, []), by_id)]
    report.touched = len(stale)
    wanted_related = _simulate_related(fresh.related)
    report.related_changed = not _same_related(wanted_related, section.related_pairs())
    report.changed = bool(moved or emptied or stale or report.related_changed)
    report.mapping = _mapping_lines(fresh.clusters, emptied, old_members, old_live)
    if not write or not report.changed:
        return report

    # 6. write it all (still inside the section: one transaction)
    for c in fresh.clusters:
        if c.story_id is None:
            first = min(by_id[m].when for m in c.members)
            c.story_id = section.new_story(c.title, first)
    section.set_assignments((a.id, cluster_of[a.id].story_id, fresh.duplicate_of.get(a.id)) for a in moved)
    replaced = section.last_seq()
    section.log_assignments((a.id, cluster_of[a.id].story_id, fresh.duplicate_of.get(a.id))
                            for a in fresh.articles)
    for old, into in emptied:
        section.merge(old, into.story_id)
    section.drop_log_through(replaced)
    for c in stale:
        section.refresh_story(c.story_id, title=c.title or None)
    section.mark_dirty(c.story_id for c in stale)
    if report.related_changed:
        section.clear_related()
        for article_id, related in fresh.related:
            section.set_related(article_id, related, keep=RELATED_KEEP)
    log.info("reclustered articles=%d kept=%d merged=%d created=%d moved=%d", report.articles, report.kept,
             report.merged, report.created, report.moved)
    return report


def _cluster_afresh(store: Store, rows: Iterable[Any], options: dict[str, Any]) -> _Fresh:
    """Feed every article, in the given order, to a fresh clusterer (as StoryEngine._place
    does), keeping what the clusterer forgets once a story leaves its window: each cluster's
    members and title, duplicate marks, related articles (chosen by the engine's own rule,
    StoryEngine.related_coverage, over the fresh clusterer's state)."""
    engine = StoryEngine(store, **options)
    clusterer = engine.clusterer = StoryClusterer(**options)
    step = _title_step(options)
    fresh = _Fresh([], [], {}, [])
    clusters: dict[int, _Cluster] = {}
    touched: set[int] = set()
    snapped_at: datetime | None = None

    def take_titles() -> None:
        # A story's title changes only when the story does, and the clusterer forgets a story
        # only `window` after its last article: a snapshot every `step` (at most half the
        # window) of article time sees every story after its last change, before it leaves.
        states = clusterer.stories()
        for key in touched:
            state = states.get(key)
            if state is not None and key in clusters:
                clusters[key].title = state.title
        touched.clear()

    def cluster(key: int) -> _Cluster:
        if key not in clusters:
            clusters[key] = _Cluster(key, 0)
        return clusters[key]

    for row in rows:
        doc = doc_from_article(row)
        if snapped_at is None or doc.published - snapped_at >= step:
            if touched:
                take_titles()
            snapped_at = doc.published
        result = clusterer.add(doc)
        for absorbed, into in result.merged:
            gone = clusters.pop(absorbed)
            cluster(into).members.extend(gone.members)
            touched.discard(absorbed)
            touched.add(into)
        cluster(result.story).members.append(row.id)
        touched.add(result.story)
        fresh.duplicate_of[row.id] = int(result.duplicate_of) if result.duplicate_of is not None else None
        fresh.related.append((row.id, engine.related_coverage(row.id, result.story)))
        fresh.articles.append(_Article(row.id, row.story_id, row.duplicate_of, row.source_id, doc.published))
    if touched:
        take_titles()
    fresh.clusters = list(clusters.values())          # creation order (dicts keep insertion order)
    for order, c in enumerate(fresh.clusters):
        c.order = order
    return fresh


def _title_step(options: dict[str, Any]) -> timedelta:
    window = options.get("window")
    if window is None:
        default = inspect.signature(StoryClusterer).parameters.get("window")
        window = default.default if default is not None and isinstance(default.default, timedelta) \
            else timedelta(days=7)
    return min(timedelta(hours=1), window / 2)


def _resolver(rows: dict[int, Any]):
    """story id -> the live story it was merged into (itself when live; None for None)."""
    def live(story_id: int | None) -> int | None:
        seen: set[int] = set()
        while story_id is not None and story_id not in seen:
            seen.add(story_id)
            row = rows.get(story_id)
            if row is None or row.merged_into is None:
                return story_id
            story_id = row.merged_into
        return story_id
    return live


def _story_differs(row: Any, c: _Cluster, old_members: list[int], by_id: dict[int, _Article]) -> bool:
    """Would refreshing this kept story change it (its articles, title, counts or times)?"""
    members = [by_id[m] for m in c.members]
    if set(c.members) != {m for m in old_members if by_id[m].old_story == c.story_id}:
        return True
    if row.merged_into is not None or (c.title and c.title[:1000] != row.title):
        return True
    whens = [m.when for m in members]
    expected = (len(members), len({m.source_id for m in members if m.source_id is not None}), min(whens), max(whens))
    return expected != (row.article_count, row.source_count, row.first_seen_at, row.last_seen_at)


def _simulate_related(seq: list[tuple[int, list[tuple[int, float]]]]) -> dict[tuple[int, int], float]:
    """The article_related rows ClusterSection.set_related leaves after these calls, in order."""
    rel: dict[int, dict[int, float]] = {}
    for article_id, related in seq:
        if not related:
            continue
        for other, score in related:
            rel.setdefault(article_id, {})[other] = score
            rel.setdefault(other, {})[article_id] = score
        for a in {article_id, *(o for o, _ in related)}:
            best = sorted(rel[a].items(), key=lambda kv: (-kv[1], kv[0]))[:RELATED_KEEP]
            rel[a] = dict(best)
    return {(a, b): s for a, row in rel.items() for b, s in row.items()}


def _same_related(want: dict[tuple[int, int], float], have: dict[tuple[int, int], float]) -> bool:
    return want.keys() == have.keys() and all(math.isclose(want[k], have[k], rel_tol=1e-9, abs_tol=1e-12)
                                              for k in want)


def _mapping_lines(clusters: list[_Cluster], emptied: list[tuple[int, _Cluster]],
                   old_members: dict[int, list[int]], old_live: dict[int, int | None]) -> list[str]:
    """Human lines for what changes shape: splits, merges, new stories (unchanged stories omitted)."""
    lines = []
    for c in clusters:
        sources = Counter(old_live[m] for m in c.members)
        origin = ", ".join(f"{n} from story {old}" if old is not None else f"{n} unclustered"
                           for old, n in sorted(sources.items(), key=lambda kv: (-kv[1], kv[0] or 0)))
        if c.story_id is None:
            lines.append(f"new story: {len(c.members)} articles ({origin}) \u201c{c.title}\u201d")
        elif set(c.members) != set(old_members.get(c.story_id, [])):
            lines.append(f"story {c.story_id} keeps its id: {len(old_members.get(c.story_id, []))} -> "
                         f"{len(c.members)} articles ({origin})")
    for old, into in emptied:
        target = f"story {into.story_id}" if into.story_id is not None else f"the new story \u201c{into.title}\u201d"
        n = len(old_members[old])
        lines.append(f"story {old} merged into {target} ({n} article{'' if n == 1 else 's'})")
    return lines
