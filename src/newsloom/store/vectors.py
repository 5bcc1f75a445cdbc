"""Article embeddings in the store, and the in-process index that searches them.

The vectors live in ``article_vectors`` (SQLite and PostgreSQL alike: float16 bytes), written
once per article by the pipeline's embed stage. Nearest-neighbour reads go to a
:class:`VectorIndex` kept in each process beside its Store: loaded from the table on first
use, then caught up with the rows added since (by ``id``) before every read, so a web
process sees what a worker process embedded a moment ago. PostgreSQL's pgvector would do the
same job inside the database; it is not required, and the in-process index is used on both
backends so that they behave and are tested the same.

Why by hand: sqlite-vec and pgvector scan every vector too (no ANN index in sqlite-vec), and an
HNSW library (usearch, hnswlib) needs a build on every start that costs minutes at a million
vectors on two cores; a two-stage scan in numpy is a page of code. The index holds each unit
vector as int8 (value * 127) and, in float32, its first ``HEAD`` dimensions. The model's
dimensions come out of PCA, largest variance first, so the head carries most of a vector
(55 % of the variance in 64 of 256 dims on bench/search.py's articles). A query ranks:

* up to ``EXACT_LIMIT`` vectors: all of them, by the int8 dot product (exact to ~1 %);
* above that: every vector by the dot product of the heads (a float32 matrix-vector
  product), then the best ``RERANK`` by the int8 dot product. Measured on 200,000 bench
  articles against the exact ranking: recall@10 0.93 (the int8 rerank itself caps it at 0.94:
  near-ties), the top 10's mean cosine within 0.1 % of the exact top 10's; sign bits with
  a 4,000 rerank gave 0.71, a 1,024-list IVF (faiss, 64 probes) 0.57. ``bench/search.py``
  prints it at its own scale.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..enrich.embed import DIMS, MODEL_ID, from_bytes, to_bytes
from .schema import article_vectors, articles

if TYPE_CHECKING:  # pragma: no cover
    from contextlib import AbstractContextManager

__all__ = ["VectorIndex", "VectorsMixin", "EXACT_LIMIT", "RERANK"]

EXACT_LIMIT = 50_000
HEAD = 64
RERANK = 1_000


class VectorIndex:
    """Article id -> unit vector, searched by cosine. Thread-safe; append-only (a re-embedded
    article replaces its row in place)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        with self.lock:
            self.n = 0
            self.last_id = 0
            self.ids = np.zeros(0, dtype=np.int64)
            self.q8 = np.zeros((0, DIMS), dtype=np.int8)
            self.head = np.zeros((0, HEAD), dtype=np.float32)
            self.position: dict[int, int] = {}

    def __len__(self) -> int:
        return self.n


    def _grow(self, need: int) -> None:
        cap = len(self.ids)
        if need <= cap:
            return
        cap = max(need, cap * 2, 1024)
        for name in ("ids", "q8", "head"):
            old = getattr(self, name)
            new = np.zeros((cap, *old.shape[1:]), dtype=old.dtype)
            new[:self.n] = old[:self.n]
            setattr(self, name, new)

    def add(self, article_ids: list[int], vectors: np.ndarray) -> None:
        if not article_ids:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        q8 = np.clip(np.rint(vectors * 127.0), -127, 127).astype(np.int8)
        with self.lock:
            self._grow(self.n + len(article_ids))
            for i, aid in enumerate(article_ids):
                pos = self.position.get(aid)
                if pos is None:
                    pos = self.position[aid] = self.n
                    self.n += 1
                self.ids[pos], self.q8[pos], self.head[pos] = aid, q8[i], vectors[i, :HEAD]

    def search(self, query: np.ndarray, k: int, *, exact: bool = False) -> list[tuple[int, float]]:
        """The k nearest (article id, cosine), best first; ties by smaller id."""
        query = np.asarray(query, dtype=np.float32)
        if k <= 0 or not np.any(query):
            return []
        with self.lock:
            n = self.n
            if n == 0:
                return []
            if exact or n <= max(EXACT_LIMIT, RERANK):
                cand = np.arange(n)
            else:
                near = self.head[:n] @ query[:HEAD]
                cand = np.argpartition(-near, RERANK)[:RERANK]
            scores = (self.q8[cand].astype(np.float32) @ query) / 127.0
            ids = self.ids[cand]
        take = min(k, len(cand))
        top = np.argpartition(-scores, take - 1)[:take]
        order = sorted(top, key=lambda i: (-scores[i], ids[i]))
        return [(int(ids[i]), float(scores[i])) for i in order]


class VectorsMixin:
    """Embeddings of articles (mixed into Store)."""

    if TYPE_CHECKING:  # provided by Store
        is_sqlite: bool
        def write(self) -> "AbstractContextManager[Connection]": ...
        def read(self) -> "AbstractContextManager[Connection]": ...

    _vector_index: VectorIndex | None = None
    _vector_guard = threading.Lock()

    # -- writes (the embed stage) ------------------------------------------------
    def unembedded_article_ids(self, *, limit: int | None = None) -> list[int]:
        """Articles without a part-0 vector of the current model, oldest first."""
        done = select(article_vectors.c.article_id).where(article_vectors.c.part == 0,
                                                          article_vectors.c.model == MODEL_ID)
        q = select(articles.c.id).where(articles.c.id.not_in(done)).order_by(articles.c.id)
        if limit is not None:
            q = q.limit(limit)
        with self.read() as conn:
            return list(conn.execute(q).scalars())

    def texts_to_embed(self, article_ids: Iterable[int]) -> list[tuple[int, str, str]]:
        """(id, title, text) of the given articles, in id order."""
        ids = list(article_ids)
        if not ids:
            return []
        q = select(articles.c.id, articles.c.title, articles.c.text).where(articles.c.id.in_(ids)).order_by(articles.c.id)
        with self.read() as conn:
            return [(r.id, r.title or "", r.text or "") for r in conn.execute(q)]

    def put_vectors(self, items: Iterable[tuple[int, list[np.ndarray]]]) -> int:
        """Store each article's vectors (part 0 = the article, then its passages) in one
        transaction, replacing any it had. Returns how many articles were written."""
        rows, ids = [], []
        for article_id, vectors in items:
            ids.append(article_id)
            rows += [{"article_id": article_id, "part": part, "model": MODEL_ID, "vector": to_bytes(v)}
                     for part, v in enumerate(vectors)]
        if not ids:
            return 0
        with self.write() as conn:
            present = set(conn.execute(select(articles.c.id).where(articles.c.id.in_(ids))).scalars())
            rows = [r for r in rows if r["article_id"] in present]
            conn.execute(article_vectors.delete().where(article_vectors.c.article_id.in_(present)))
            if rows:
                conn.execute(article_vectors.insert(), rows)
        return len(present)

    # -- reads ---------------------------------------------------------------------
    def article_vectors(self, article_ids: Iterable[int], *, parts: bool = False) -> dict[int, list[np.ndarray]]:
        """Stored vectors per article: [article] or, with parts=True, [article, passage 1, ...]."""
        ids = list(article_ids)
        if not ids:
            return {}
        q = (select(article_vectors.c.article_id, article_vectors.c.vector)
             .where(article_vectors.c.article_id.in_(ids), article_vectors.c.model == MODEL_ID)
             .order_by(article_vectors.c.article_id, article_vectors.c.part))
        if not parts:
            q = q.where(article_vectors.c.part == 0)
        out: dict[int, list[np.ndarray]] = {}
        with self.read() as conn:
            for aid, blob in conn.execute(q):
                out.setdefault(aid, []).append(from_bytes(blob))
        return out

    def vector_index(self) -> VectorIndex:
        """This process's index over every article's vector, caught up with the table."""
        with self._vector_guard:
            if self._vector_index is None:
                self._vector_index = VectorIndex()
        index = self._vector_index
        with index.lock:
            with self.read() as conn:
                newest = conn.execute(select(func.max(article_vectors.c.id))).scalar() or 0
                if newest < index.last_id:          # the table was emptied (reset): start again
                    index.clear()
                if newest > index.last_id:
                    for ids, vectors, last in self._vector_batches(conn, index.last_id):
                        index.add(ids, vectors)
                        index.last_id = last
        return index

    @staticmethod
    def _vector_batches(conn: Connection, after: int, size: int = 20_000) -> Iterator[tuple[list[int], np.ndarray, int]]:
        while True:
            q = (select(article_vectors.c.id, article_vectors.c.article_id, article_vectors.c.vector)
                 .where(article_vectors.c.id > after, article_vectors.c.part == 0,
                        article_vectors.c.model == MODEL_ID)
                 .order_by(article_vectors.c.id).limit(size))
            rows = conn.execute(q).all()
            if not rows:
                return
            blob = b"".join(r.vector for r in rows)
            vectors = np.frombuffer(blob, dtype=np.float16).reshape(len(rows), DIMS).astype(np.float32)
            after = rows[-1].id
            yield [r.article_id for r in rows], vectors, after

    def nearest_articles(self, vector: np.ndarray, k: int = 10) -> list[tuple[int, float]]:
        """(article id, cosine) of the k stored articles nearest to `vector`, best first."""
        return self.vector_index().search(vector, k)

    def _forget_vectors(self) -> None:
        if self._vector_index is not None:
            self._vector_index.clear()
