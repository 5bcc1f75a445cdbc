"""Search latency at scale: full-text and hybrid search over N synthetic articles, SQLite and PostgreSQL.

    python bench/search.py --articles 20000                     # a quick run, both backends
    nice python bench/search.py                                 # 1,000,000 articles, both backends
    python bench/search.py --backend sqlite --reuse             # keep the built database, use it next time
    python bench/search.py --backend postgres --reuse --build-only
    python bench/search.py --articles 1000000 --clean           # drop what --reuse kept for this N

For each backend:

1. Build: a fresh store (``Store(url).migrate()``: the real schema, FTS5 table and triggers,
   PostgreSQL's article_search table and its triggers), then N articles from :class:`Newsroom` (English words in the
   frequency order of the embedding model's vocabulary, Zipfian; 24 topics; stories of ~8
   articles with their own people, place, organisation and event words; 200 publishers;
   1,400 articles a day up to 2026-03-12; 5 % wire copies) inserted with SQLAlchemy Core in
   transactions of 50,000 rows, so the triggers and the index are maintained as in
   production. Each batch is embedded with the real model (``embed(article_input(title,
   text))``) and its part-0 vectors inserted into article_vectors. PostgreSQL then gets
   ``VACUUM ANALYZE`` (what autovacuum does after a bulk load). Kept with --reuse: SQLite
   under var/bench/ (git-ignored), PostgreSQL in the schema ``nl_bench_search_<N>``;
   otherwise a temporary directory and a temporary schema, dropped at the end.
2. Warm-up: a new Store (a web process starting), the first ``vector_index()`` (the whole
   table into the in-process index: its time and the process RSS), then every 4th query once.
3. The queries (:func:`queries`, 240 of them: common, mid-frequency and rare words, two
   words, names, quoted phrases, OR / -excluded, with and without a publisher or a date
   range), timed one by one: (a) full text, ``store.search(parse_query(q), filters)`` with
   no re-ranker and no vector; (b) hybrid, ``serve.search.run_search`` with SearchParams:
   what the search page and the API run (spelling variants, query embedding, vector
   candidates, fusion, highlights, page of 20). p50/p95/p99/max for each, and per kind of
   query. The hybrid pass also times each stage (wrappers on this Store's methods, SQL
   statements by engine events: FTS rank query, count, vector scan and candidates,
   cosines, pool rows, fusion, highlights, hits) to show where the time goes. Then the
   recall@10 of the VectorIndex's approximate search against its exact search over the
   queries' embeddings (the web's query vector).
4. The summary against the targets: full-text p95 < 50 ms, hybrid p95 < 100 ms.

Prints figures only; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import sqlalchemy as sa
from sqlalchemy import event

import newsloom.serve.search as serve_search
from newsloom.enrich import embed as embed_mod
from newsloom.enrich.embed import MODEL_ID, article_input, embed
from newsloom.serve.search import SearchParams, parse_date, run_search
from newsloom.store import Store
from newsloom.store.schema import article_vectors, articles, sources, stories
from newsloom.store.search import parse_query

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench"
PG_URL = os.environ.get("NEWSLOOM_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
END = datetime(2026, 3, 12, 18, tzinfo=timezone.utc)
PER_DAY = 1400                 # articles a day: 200 publishers, a busy regional aggregator
BATCH = 5000                   # generated, inserted and embedded together
TX_ROWS = 50_000               # rows per write transaction
PAGE = 20                      # the search page's PAGE_SIZE
WARM_EVERY = 4                 # warm-up: every 4th query once, untimed
TARGETS = {"full text": 50.0, "hybrid": 100.0}     # p95, ms

# PostgreSQL's english stop words (a query of these alone matches nothing there)
STOP = frozenset("""i me my myself we our ours ourselves you your yours yourself yourselves he him his
himself she her hers herself it its itself they them their theirs themselves what which who whom this
that these those am is are was were be been being have has had having do does did doing a an the and
but if or because as until while of at by for with about against between into through during before
after above below to from up down in out on off over under again further then once here there when
where why how all any both each few more most other some such no nor not only own same so than too
very s t can will just don should now""".split())


# -- the synthetic newsroom ----------------------------------------------------------------
def _vocabulary() -> list[str]:
    """Whole English words of the embedding model's tokenizer, in its (frequency) order."""
    data = json.loads((embed_mod.MODELS / "embeddings-tokenizer.json").read_text())
    vocab = sorted(data["model"]["vocab"].items(), key=lambda kv: kv[1])
    return [w for w, _ in vocab if w.isascii() and w.isalpha() and len(w) >= 2]


def _zipf(n: int, s: float) -> np.ndarray:
    cum = np.cumsum(1.0 / np.arange(1, n + 1) ** s)
    return cum / cum[-1]


_CONS = "b c d f g h j k l m n p r s t v w z br ch dr gr kr pl st tr sh th".split()
_VOW = "a e i o u a e i o ai ea ou".split()
_CODAS = ["", "", "", "n", "r", "l", "s", "t", "m", "nd", "rt", "st", "x", "ov", "ez", "ski"]


class Newsroom:
    """Deterministic synthetic news for N articles (see the module docstring). Article i
    (1-based id) is a pure function of (seed, i's batch): both backends get the same rows."""

    TOPICS, TOPIC_WORDS, EVENTS, PUBLISHERS, STORY_SIZE = 24, 250, 10, 200, 8

    def __init__(self, n: int, seed: int = 0) -> None:
        self.n, self.seed = n, seed
        rng = np.random.default_rng(seed)
        self.words = _vocabulary()
        self.g = len(self.words)
        self.g_cum = _zipf(self.g, 1.05)
        self.topic_words = rng.integers(150, 12_000, size=(self.TOPICS, self.TOPIC_WORDS))
        self.t_cum = _zipf(self.TOPIC_WORDS, 0.9)
        names = self._names(rng, 70_000)
        self.first, self.surnames, self.places = names[:3000], names[3000:60_000], names[60_000:]
        kinds = ["Council", "Ministry", "Group", "Union", "Agency", "Court", "Bank", "Party", "Institute", "FC"]
        self.orgs = [f"{p} {kinds[i % len(kinds)]}" for i, p in enumerate(self.places[:4000])]
        outlets = ["Times", "Post", "Herald", "Daily", "Wire", "Courier", "Gazette", "Tribune", "Observer", "News"]
        self.publishers = [f"The {names[i]} {outlets[i % len(outlets)]}" for i in range(self.PUBLISHERS)]
        self.pub_cum = _zipf(self.PUBLISHERS, 0.8)   # publishers differ in volume
        s = n // self.STORY_SIZE + 1
        self.n_stories = s
        self.s_topic = rng.integers(0, self.TOPICS, size=s)
        self.s_events = rng.integers(800, self.g, size=(s, self.EVENTS))
        self.s_people = np.stack([rng.integers(0, len(self.first), size=(s, 2)),
                                  rng.integers(0, len(self.surnames), size=(s, 2))], axis=2)  # (s, 2, first|last)
        self.s_place = rng.integers(0, len(self.places), size=s)
        self.s_org = rng.integers(0, len(self.orgs), size=s)
        self.words_np = np.array(self.words, dtype=object)
        self.s_names = [(self.person(i, 0), self.person(i, 1)) for i in range(s)]
        self.s_surname = [p[0].split(" ")[1] for p in self.s_names]
        self.s_place_name = [self.places[i] for i in self.s_place.tolist()]
        self.s_org_name = [self.orgs[i] for i in self.s_org.tolist()]
        # a headline per story: the place, a surname or the organisation, 3 event words, a topic word
        self.s_heads = [[(self.s_place_name[i], self.s_surname[i], self.s_org_name[i])[i % 3],
                         *(self.words[e] for e in self.s_events[i, :3].tolist()),
                         self.words[int(self.topic_words[self.s_topic[i], i % 20])]] for i in range(s)]
        self.step = 86400.0 / PER_DAY
        self.start = END - timedelta(seconds=n * self.step)

    @staticmethod
    def _names(rng: np.random.Generator, n: int) -> list[str]:
        m = 2 * n
        k = rng.integers(2, 4, size=m).tolist()
        cons = rng.integers(len(_CONS), size=(m, 3)).tolist()
        vow = rng.integers(len(_VOW), size=(m, 3)).tolist()
        coda = rng.integers(len(_CODAS), size=m).tolist()
        out, seen = [], set()
        for j in range(m):
            w = "".join(_CONS[cons[j][i]] + _VOW[vow[j][i]] for i in range(k[j])) + _CODAS[coda[j]]
            if len(w) > 3 and w not in seen:
                seen.add(w)
                out.append(w.capitalize())
                if len(out) == n:
                    return out
        raise ValueError("search bench: not enough distinct names")

    def person(self, story: int, k: int = 0) -> str:
        f, l = self.s_people[story, k]
        return f"{self.first[f]} {self.surnames[l]}"

    def story_of(self, ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Stories run over ~3 days: article i belongs to one of the stories around i / 8."""
        return np.clip(ids // self.STORY_SIZE + rng.integers(-200, 201, size=len(ids)), 0, self.n_stories - 1)

    def when(self, article_id: int) -> datetime:
        return self.start + timedelta(seconds=article_id * self.step)

    def batch(self, first_id: int, size: int) -> list[dict[str, Any]]:
        """Rows for articles first_id .. first_id + size - 1 (ready for articles.insert())."""
        rng = np.random.default_rng([self.seed, first_id])
        ids = np.arange(first_id, first_id + size)
        story = self.story_of(ids, rng)
        n_words = rng.integers(150, 301, size=size)
        n_gen, n_top, n_ev = (n_words * 0.66).astype(int), (n_words * 0.16).astype(int), (n_words * 0.07).astype(int)
        # every article's general, topic and event words, then shuffled within the article
        gen = np.searchsorted(self.g_cum, rng.random(n_gen.sum()))
        top = self.topic_words[np.repeat(self.s_topic[story], n_top),
                               np.searchsorted(self.t_cum, rng.random(n_top.sum()))]
        ev = self.s_events[np.repeat(story, n_ev), rng.integers(0, self.EVENTS, size=n_ev.sum())]
        labels = np.concatenate([np.repeat(np.arange(size), n_gen), np.repeat(np.arange(size), n_top),
                                 np.repeat(np.arange(size), n_ev)])
        order = np.lexsort((rng.random(len(labels)), labels))
        all_words = self.words_np[np.concatenate([gen, top, ev])[order]].tolist()
        ends = np.cumsum(n_gen + n_top + n_ev).tolist()
        # sentence lengths 12..28 words, paragraphs of 2..4 sentences
        sent_len = rng.integers(12, 29, size=int(n_words.max()) // 12 + 2).tolist()
        para_len = rng.integers(2, 5, size=len(sent_len)).tolist()
        pubs = (np.searchsorted(self.pub_cum, rng.random(size)) + 1).tolist()
        dup_of = np.where(rng.random(size) < 0.05, np.maximum(ids - rng.integers(1, 300, size=size), 0), 0).tolist()
        seconds = ((ids + rng.random(size)) * self.step).tolist()
        rnd = rng.random((size, 8)).tolist()
        stories_l, ids_l = story.tolist(), ids.tolist()
        rows, at = [], 0
        for k in range(size):
            aid, s, r = ids_l[k], stories_l[k], rnd[k]
            w = all_words[at:ends[k]]
            at = ends[k]
            p0, p1 = self.s_names[s]
            place, org, sur = self.s_place_name[s], self.s_org_name[s], self.s_surname[s]
            mentions = ([p0] * (2 + int(r[0] * 4)) + [p1] * int(r[1] * 3) + [place] * (1 + int(r[2] * 4))
                        + [org] * int(r[3] * 3) + [sur] * (1 + int(r[4] * 3)) + [str(int(r[5] * 9000) + 12)])
            for j, m in enumerate(mentions):
                w.insert((aid * 31 + j * 97) % (len(w) + 1), m)
            # sentences and paragraphs: punctuation on the words, then one join
            i = j = 0
            n = len(w)
            while i < n:
                w[i] = w[i][:1].upper() + w[i][1:]
                e = min(n, i + sent_len[j]) - 1
                j += 1
                w[e] += ".\n\n" if j % para_len[j] == 0 and e < n - 1 else "."
                i = e + 1
            text = " ".join(w).replace("\n\n ", "\n\n")
            head = self.s_heads[s]
            cut = aid % len(head)
            title = " ".join(head[cut:] + head[:cut])
            when = self.start + timedelta(seconds=seconds[k])
            fetched = when + timedelta(minutes=5)
            rows.append({
                "id": aid, "url": f"https://news.example/{pubs[k]}/{aid}", "guid": f"bench-{aid}",
                "source_id": pubs[k], "title": title[:1].upper() + title[1:], "author": p0 if r[6] < 0.5 else None,
                "published_at": when, "fetched_at": fetched, "language": "en", "text": text, "story_id": s + 1,
                "duplicate_of": dup_of[k] or None, "created_at": fetched})
        return rows

    def source_rows(self) -> list[dict[str, Any]]:
        return [{"id": i + 1, "name": name, "homepage": f"https://news.example/{i + 1}", "created_at": self.start}
                for i, name in enumerate(self.publishers)]

    def story_rows(self, first: int, last: int) -> list[dict[str, Any]]:
        out = []
        for s in range(first, last):
            mid = self.when(max(1, s * self.STORY_SIZE))
            first_seen = max(self.start, mid - timedelta(seconds=200 * self.step))
            out.append({"id": s + 1, "title": f"{self.places[self.s_place[s]]}: "
                                              f"{' '.join(self.words[i] for i in self.s_events[s, :4].tolist())}",
                        "first_seen_at": first_seen, "last_seen_at": mid + timedelta(seconds=200 * self.step),
                        "article_count": self.STORY_SIZE, "source_count": 6, "created_at": first_seen})
        return out


# -- the queries ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    kind: str
    params: SearchParams


def queries(room: Newsroom, seed: int = 1) -> list[Query]:
    """240 fixed queries from the newsroom's vocabulary."""
    rng = np.random.default_rng(seed)
    words = room.words
    content = [i for i in range(len(words)) if words[i] not in STOP]

    def word(lo: int, hi: int) -> str:
        band = [i for i in content if lo <= i < hi]
        return words[band[int(rng.integers(len(band)))]]

    def story() -> int:
        return int(rng.integers(room.n_stories))

    def topic_word() -> str:
        return words[int(room.topic_words[rng.integers(room.TOPICS), rng.integers(40)])]

    def event_word() -> str:
        return words[int(room.s_events[story(), rng.integers(room.EVENTS)])]

    def surname() -> str:
        return room.person(story(), int(rng.integers(2))).split(" ")[1]

    makers: dict[str, Callable[[], str]] = {
        "common word": lambda: word(30, 400),
        "mid word": lambda: word(1500, 6000),
        "rare word": lambda: [surname, lambda: room.places[room.s_place[story()]], event_word][int(rng.integers(3))](),
        "two words": lambda: [lambda: f"{word(30, 1500)} {word(30, 1500)}", lambda: f"{topic_word()} {word(100, 3000)}",
                              lambda: f"{surname()} {word(30, 3000)}"][int(rng.integers(3))](),
        "name": lambda: room.person(story(), 0),
        "phrase": lambda: [lambda: f'"{room.person(story(), 0)}"', lambda: f'"{word(30, 800)} {word(30, 800)}"',
                           lambda: f'"{room.orgs[room.s_org[story()]]}"'][int(rng.integers(3))](),
        "or / not": lambda: [lambda: f"{word(200, 3000)} OR {word(200, 3000)}", lambda: f"{word(30, 1500)} -{word(30, 800)}",
                             lambda: f"{topic_word()} {word(100, 3000)} -{word(100, 3000)}"][int(rng.integers(3))](),
    }
    plain = [("common word", 30), ("mid word", 30), ("rare word", 30), ("two words", 30), ("name", 15),
             ("phrase", 25), ("or / not", 15)]
    out = [Query(kind, SearchParams(q=makers[kind]())) for kind, n in plain for _ in range(n)]
    mixed = ["common word", "mid word", "rare word", "two words", "phrase"]
    days = max(1, int(room.n / PER_DAY))

    def dates() -> tuple[str, str]:
        span = [1, 7, 30, 365][int(rng.integers(4))]
        end = END - timedelta(days=int(rng.integers(0, max(1, days - span))) if rng.random() < 0.5 else 0)
        return (end - timedelta(days=span - 1)).date().isoformat(), end.date().isoformat()

    for n in range(65):
        kind = mixed[n % len(mixed)]
        q = makers[kind]()
        pub = room.publishers[int(np.searchsorted(room.pub_cum, rng.random()))]
        if n < 25:
            out.append(Query("+ publisher", SearchParams(q=q, publisher=pub)))
        elif n < 55:
            frm, to = dates()
            out.append(Query("+ dates", SearchParams(q=q, from_=frm, to=to)))
        else:
            frm, to = dates()
            out.append(Query("+ publisher + dates", SearchParams(q=q, publisher=pub, from_=frm, to=to)))
    return out


# -- building a store ---------------------------------------------------------------------
def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process, MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def build(store: Store, room: Newsroom) -> None:
    """Load room.n articles and their vectors into a migrated, empty store."""
    n = room.n
    t_gen = t_ins = t_emb = t_vec = 0.0
    words = 0
    with store.write() as conn:
        conn.execute(sources.insert(), room.source_rows())
        for lo in range(0, room.n_stories, TX_ROWS):
            conn.execute(stories.insert(), room.story_rows(lo, min(room.n_stories, lo + TX_ROWS)))
    started = time.perf_counter()
    done = 0
    while done < n:
        with store.write() as conn:
            tx_end = min(n, done + TX_ROWS)
            while done < tx_end:
                size = min(BATCH, tx_end - done)
                s = time.perf_counter()
                rows = room.batch(done + 1, size)
                t_gen += time.perf_counter() - s
                words += sum(len(r["text"].split()) for r in rows[:50]) * size / 50
                s = time.perf_counter()
                conn.execute(articles.insert(), rows)
                t_ins += time.perf_counter() - s
                s = time.perf_counter()
                vectors = embed([article_input(r["title"], r["text"]) for r in rows])
                t_emb += time.perf_counter() - s
                s = time.perf_counter()
                conn.execute(article_vectors.insert(), [
                    {"article_id": r["id"], "part": 0, "model": MODEL_ID, "vector": v.astype(np.float16).tobytes()}
                    for r, v in zip(rows, vectors)])
                t_vec += time.perf_counter() - s
                done += size
        elapsed = time.perf_counter() - started
        print(f"  {done:>9,} articles  {elapsed:7.0f} s  ({done / elapsed:,.0f}/s overall)", flush=True)
    s = time.perf_counter()
    if not store.is_sqlite:
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE articles"))
            conn.execute(sa.text("VACUUM ANALYZE article_vectors"))
            conn.execute(sa.text("ANALYZE stories"))
            conn.execute(sa.text("ANALYZE article_search"))   # filled by triggers: no statistics otherwise
    t_vac = time.perf_counter() - s
    total = time.perf_counter() - started
    print(f"  generate {t_gen:7.1f} s  {n / t_gen:9,.0f} articles/s   (~{words / n:.0f} words each)")
    print(f"  insert   {t_ins:7.1f} s  {n / t_ins:9,.0f} articles/s   (rows + FTS triggers / GIN index)")
    print(f"  embed    {t_emb:7.1f} s  {n / t_emb:9,.0f} texts/s      (title + lead, the real model)")
    print(f"  vectors  {t_vec:7.1f} s  {n / t_vec:9,.0f} rows/s")
    if not store.is_sqlite:
        print(f"  vacuum analyze {t_vac:5.1f} s")
    print(f"  build total {total:7.1f} s ({total / 60:.1f} min)")


# -- backends -----------------------------------------------------------------------------
@dataclass
class Target:
    name: str
    url: str
    ready: bool                   # a complete kept build exists
    finish: Callable[[bool], None]  # (complete) -> keep or drop


def _pg_admin(base: str) -> sa.Engine:
    return sa.create_engine(base, isolation_level="AUTOCOMMIT")


def _pg_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def open_target(backend: str, n: int, reuse: bool, pg_base: str) -> Iterator[Target]:
    if backend == "sqlite":
        if reuse:
            CACHE.mkdir(parents=True, exist_ok=True)
            final = CACHE / f"search-{n}.db"
            if final.exists():
                yield Target("sqlite", f"sqlite:///{final}", True, lambda ok: None)
                return
            work = CACHE / f"search-{n}.building.db"
            for p in CACHE.glob(f"search-{n}.building.db*"):
                p.unlink()

            def finish(ok: bool) -> None:
                if ok:
                    work.rename(final)
            yield Target("sqlite", f"sqlite:///{work}", False, finish)
            return
        tmp = tempfile.mkdtemp(prefix="nl-bench-search-")
        try:
            yield Target("sqlite", f"sqlite:///{tmp}/newsloom.db", False, lambda ok: None)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    admin = _pg_admin(pg_base)
    schema = f"nl_bench_search_{n}" if reuse else f"nl_bench_search_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        note = conn.execute(sa.text("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = :s"),
                            {"s": schema}).first()
        ready = note is not None and note[0] == f"complete {n}"
        if not ready:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def finish_pg(ok: bool) -> None:
        if ok and reuse:
            with admin.connect() as c:
                c.execute(sa.text(f"COMMENT ON SCHEMA \"{schema}\" IS 'complete {n}'"))
    try:
        yield Target("postgres", _pg_url(pg_base, schema), ready, finish_pg)
    finally:
        if not reuse:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def clean(n: int, pg_base: str) -> None:
    for p in CACHE.glob(f"search-{n}.*db*"):
        p.unlink()
        print(f"removed {p}")
    admin = _pg_admin(pg_base)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "nl_bench_search_{n}" CASCADE'))
    admin.dispose()
    print(f"dropped schema nl_bench_search_{n} (if it existed)")


def describe(store: Store) -> None:
    with store.read() as conn:
        if store.is_sqlite:
            path = store.url.split("sqlite:///", 1)[1]
            size = sum(p.stat().st_size for p in Path(path).parent.glob(Path(path).name + "*"))
            print(f"  database file {size / 2**30:.2f} GiB ({path})")
        else:
            rows = conn.execute(sa.text(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relnamespace = "
                "current_schema()::regnamespace AND relname IN ('articles', 'article_vectors', 'article_search')")).all()
            print("  " + "  ".join(f"{name} {size / 2**30:.2f} GiB" for name, size in sorted(rows)))
            print("  server: " + ", ".join(f"{k} {conn.execute(sa.text(f'SHOW {k}')).scalar()}"
                                           for k in ("shared_buffers", "work_mem", "effective_cache_size")))


# -- measuring -------------------------------------------------------------------------
def pct(values: list[float]) -> dict[str, float]:
    a = np.asarray(values)
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "p99": float(np.percentile(a, 99)), "max": float(a.max()), "mean": float(a.mean())}


def fulltext(store: Store, p: SearchParams):
    """(a): the full-text engine alone, with the same filters run_search would apply."""
    source = store.resolve_source(p.publisher) if p.publisher else None
    return store.search(parse_query(p.q), source_id=source.id if source else None,
                        since=parse_date(p.from_, name="from"), until=parse_date(p.to, name="to", end=True),
                        limit=PAGE)


def hybrid(store: Store, p: SearchParams):
    """(b): what the search page runs."""
    return run_search(store, p, limit=PAGE, offset=0)[0]


def timed_pass(store: Store, qs: list[Query], fn, clock: "StageClock | None" = None) -> tuple[list[float], list[int]]:
    """Each query's latency (ms) and match count; with `clock`, each one's stages too (the
    wrappers and SQL events add microseconds to queries of milliseconds)."""
    ms, totals = [], []
    for q in qs:
        if clock:
            clock.now = defaultdict(float)
        s = time.perf_counter()
        res = fn(store, q.params)
        ms.append(1000 * (time.perf_counter() - s))
        totals.append(res.total)
        if clock:
            clock.now["total"] = ms[-1]
            clock.rows.append(dict(clock.now))
    return ms, totals


class StageClock:
    """Per-query time of each stage of store.search (wrapped on this Store instance and on
    its VectorIndex) and of each SQL statement (engine events), for the breakdown."""

    SQL_KINDS = (("fts rank", re.compile(r"bm25\(|ts_rank_cd")), ("fts count", re.compile(r"count\(\*\)")),
                 ("highlight sql", re.compile(r"highlight\(|ts_headline")),
                 ("vector catch-up sql", re.compile(r"max\(article_vectors\.id\)")))

    def __init__(self, store: Store) -> None:
        self.now: dict[str, float] = defaultdict(float)
        self.rows: list[dict[str, float]] = []
        index = store.vector_index()
        for obj, name, label in ((store, "_fts_sqlite" if store.is_sqlite else "_fts_pg", "fts (rank + count)"),
                                 (store, "_vector_matches", "vector candidates"), (index, "search", "vector scan"),
                                 (store, "_cosines", "pool cosines"), (store, "_pool_rows", "pool rows"),
                                 (store, "_highlights", "highlights"), (store, "_hits", "hits (articles, stories)")):
            if hasattr(obj, name):          # the stages of store.search as this checkout has them
                setattr(obj, name, self._wrap(getattr(obj, name), label))
        # the query's embedding and the fusion, as run_search finds them in its module
        self._orig = {name: getattr(serve_search, name) for name in ("embed", "query_vector", "hybrid_order")
                      if hasattr(serve_search, name)}
        for name, fn in self._orig.items():
            setattr(serve_search, name, self._wrap(fn, "fusion (hybrid_order)" if name == "hybrid_order" else "embed query"))
        event.listen(store.engine, "before_cursor_execute", self._before)
        event.listen(store.engine, "after_cursor_execute", self._after)
        self.store = store

    def close(self) -> None:
        for name, fn in self._orig.items():
            setattr(serve_search, name, fn)
        event.remove(self.store.engine, "before_cursor_execute", self._before)
        event.remove(self.store.engine, "after_cursor_execute", self._after)
        for name in ("_fts_sqlite", "_fts_pg", "_vector_matches", "_cosines", "_pool_rows", "_highlights", "_hits"):
            self.store.__dict__.pop(name, None)
        self.store.vector_index().__dict__.pop("search", None)

    def _wrap(self, fn, label):
        def wrapped(*a, **kw):
            s = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.now[label] += 1000 * (time.perf_counter() - s)
        return wrapped

    def _before(self, conn, cursor, statement, params, context, executemany):
        conn.info.setdefault("t0", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, params, context, executemany):
        ms = 1000 * (time.perf_counter() - conn.info["t0"].pop())
        for label, pattern in self.SQL_KINDS:
            if pattern.search(statement):
                self.now[label] += ms
                return
        self.now["other sql"] += ms

    def report(self) -> None:
        labels = ["embed query", "fts (rank + count)", "  fts rank", "  fts count", "vector candidates",
                  "  vector catch-up sql", "  vector scan", "pool cosines", "pool rows", "fusion (hybrid_order)",
                  "highlights", "hits (articles, stories)", "total"]
        total = sum(r["total"] for r in self.rows)
        print(f"  {'stage':28s} {'mean':>8s} {'p50':>8s} {'p95':>8s} {'max':>8s}  share   (ms per query)")
        for label in labels:
            vals = [r.get(label.strip(), 0.0) for r in self.rows]
            st = pct(vals)
            print(f"  {label:28s} {st['mean']:8.1f} {st['p50']:8.1f} {st['p95']:8.1f} {st['max']:8.1f}  "
                  f"{100 * sum(vals) / total:4.0f} %")
        worst = sorted(self.rows, key=lambda r: -r["total"])[:5]
        print("  slowest 5: " + " | ".join(", ".join(f"{k} {v:.0f}" for k, v in sorted(r.items(), key=lambda kv: -kv[1])[:4])
                                           for r in worst))


def recall(store: Store, qs: list[Query]) -> dict[str, float]:
    index = store.vector_index()
    def vector(words: list[str]) -> np.ndarray | None:
        if hasattr(embed_mod, "query_vector"):
            return embed_mod.query_vector(words)
        return embed([" ".join(words)])[0]
    vecs = [vector(parse_query(q.params.q).words) for q in qs]
    vecs = [v for v in vecs if v is not None and np.any(v)]
    rec, t_a, t_e = [], [], []
    for v in vecs:
        s = time.perf_counter()
        approx = index.search(v, 10)
        t_a.append(1000 * (time.perf_counter() - s))
        s = time.perf_counter()
        exact = index.search(v, 10, exact=True)
        t_e.append(1000 * (time.perf_counter() - s))
        rec.append(len({i for i, _ in approx} & {i for i, _ in exact}) / max(1, len(exact)))
    return {"queries": len(vecs), "recall": statistics.mean(rec), "min": min(rec),
            "perfect": sum(r == 1.0 for r in rec) / len(rec), "approx_ms": statistics.median(t_a),
            "exact_ms": statistics.median(t_e)}


def measure(url: str, name: str, qs: list[Query], profile: bool) -> dict[str, Any]:
    store = Store(url)                     # a fresh process's Store: nothing loaded yet
    try:
        s = time.perf_counter()
        store.migrate()                        # a build kept from an older schema catches up
        print(f"  schema {store.schema_revision()} (migrate: {time.perf_counter() - s:.1f} s)")
        describe(store)
        rss0 = _rss_mb()[0]
        s = time.perf_counter()
        index = store.vector_index()
        load = time.perf_counter() - s
        rss, peak = _rss_mb()
        print(f"  first vector_index(): {len(index):,} vectors in {load:.1f} s; RSS {rss0:,.0f} -> {rss:,.0f} MB "
              f"(peak {peak:,.0f} MB)")
        s = time.perf_counter()
        for q in qs[::WARM_EVERY]:
            hybrid(store, q.params)
        print(f"  warm-up: {len(qs[::WARM_EVERY])} queries (hybrid, every {WARM_EVERY}th) in {time.perf_counter() - s:.1f} s")
        out: dict[str, Any] = {"backend": name, "index_load_s": load, "rss_mb": rss}
        clock = None
        for label, fn in (("full text", fulltext), ("hybrid", hybrid)):
            if label == "hybrid" and profile:        # the hybrid pass is also the per-stage breakdown
                clock = StageClock(store)
            try:
                ms, totals = timed_pass(store, qs, fn, clock)
            finally:
                if clock:
                    clock.close()
            out[label] = pct(ms)
            st = out[label]
            print(f"  {label:10s} p50 {st['p50']:7.1f}  p95 {st['p95']:7.1f}  p99 {st['p99']:7.1f}  "
                  f"max {st['max']:7.1f}  mean {st['mean']:7.1f} ms   (target p95 < {TARGETS[label]:.0f} ms)")
            by_kind: dict[str, list[int]] = defaultdict(list)
            for n, q in enumerate(qs):
                by_kind[q.kind].append(n)
            for kind, idx in by_kind.items():
                k = pct([ms[i] for i in idx])
                print(f"      {kind:22s} n {len(idx):3d}  p50 {k['p50']:7.1f}  p95 {k['p95']:7.1f}  max {k['max']:7.1f}"
                      f"   matches (median) {int(np.median([totals[i] for i in idx])):>7,}")
        if clock:
            print("  where the hybrid time goes (the same pass, per stage):")
            clock.report()
        r = recall(store, qs)
        out["recall"] = r
        print(f"  vector recall@10 (approximate vs exact, {r['queries']} query embeddings): mean {r['recall']:.3f}, "
              f"min {r['min']:.1f}, {100 * r['perfect']:.0f} % perfect; median {r['approx_ms']:.1f} ms vs "
              f"{r['exact_ms']:.1f} ms exact")
        return out
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=1_000_000)
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--reuse", action="store_true", help="keep the built databases (var/bench/, schema "
                                                         "nl_bench_search_N) and use them when present")
    ap.add_argument("--build-only", action="store_true", help="build (with --reuse: keep) and stop")
    ap.add_argument("--clean", action="store_true", help="remove what --reuse kept for --articles N, then stop")
    ap.add_argument("--no-profile", action="store_true", help="no per-stage timing in the hybrid pass")
    ap.add_argument("--pg-url", default=PG_URL)
    args = ap.parse_args()
    if args.clean:
        clean(args.articles, args.pg_url)
        return
    n = args.articles
    print(f"search bench: {n:,} articles, backend {args.backend}, {os.cpu_count()} CPUs")
    room = Newsroom(n)
    qs = queries(room)
    print(f"{len(qs)} queries, e.g. " + "; ".join(q.params.query_string() for q in qs[::37]))
    results = []
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        print(f"\n== {backend} ==")
        with open_target(backend, n, args.reuse, args.pg_url) as target:
            if not target.ready:
                store = Store(target.url)
                store.migrate()
                print(f"building {n:,} articles ...")
                try:
                    build(store, room)
                finally:
                    store.close()
                target.finish(True)
            else:
                print("reusing the kept build")
            if not args.build_only:
                results.append(measure(target.url, backend, qs, not args.no_profile))
    if results:
        print(f"\n== summary: {n:,} articles, {len(qs)} queries, page of {PAGE} ==")
        print(f"  {'backend':9s} {'search':10s} {'p50':>7s} {'p95':>7s} {'p99':>7s} {'max':>7s}  {'target p95':>10s}")
        for r in results:
            for label in ("full text", "hybrid"):
                st = r[label]
                verdict = "ok" if st["p95"] < TARGETS[label] else "MISSED"
                print(f"  {r['backend']:9s} {label:10s} {st['p50']:7.1f} {st['p95']:7.1f} {st['p99']:7.1f} "
                      f"{st['max']:7.1f}  {'< %.0f ms' % TARGETS[label]:>10s} {verdict}")
        for r in results:
            print(f"  {r['backend']:9s} vector index load {r['index_load_s']:.1f} s, RSS {r['rss_mb']:,.0f} MB, "
                  f"recall@10 {r['recall']['recall']:.3f}")


if __name__ == "__main__":
    main()
