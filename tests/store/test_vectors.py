"""Article embeddings in the store, on SQLite and PostgreSQL: written once by the pipeline's
embed stage, found by the in-process index, kept in step with edits and resets."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from newsloom.enrich.embed import MODEL_ID, embed, query_vector
from newsloom.enrich.rank import hybrid_order
from newsloom.models import Article, utcnow
from newsloom.store.search import parse_query
from newsloom.store.vectors import VectorIndex
from newsloom.tasks.pipeline import embed_pending

TEXTS = {
    "fire": ("Fire guts the old granary in Morrow", "Firefighters fought the blaze at the granary through the night."),
    "blaze": ("Blaze destroys Morrow grain store", "The historic grain store burned down overnight, crews said."),
    "budget": ("Morrow council debates the budget", "Councillors argued over road repairs and street lights."),
    "match": ("Morrow Rovers win the cup final", "A late goal gave the Rovers their first cup in a decade."),
}


def _add(store, keys=TEXTS):
    src = store.upsert_source("Morrow Gazette")
    now = utcnow()
    out = {}
    for n, key in enumerate(keys):
        title, text = TEXTS[key]
        a, _ = store.add_article(Article(url=f"https://morrow.example/{key}", title=title, text=text,
                                         source_id=src.id, published_at=now - timedelta(hours=n)))
        out[key] = a.id
    return out


def test_embed_stage_writes_each_article_once_and_the_index_finds_by_meaning(store):
    ids = _add(store)
    assert set(store.unembedded_article_ids()) == set(ids.values())
    assert embed_pending(store) == 4
    assert embed_pending(store) == 0 and store.unembedded_article_ids() == []      # a re-run adds nothing
    stored = store.article_vectors(ids.values(), parts=True)
    assert all(len(v) >= 2 for v in stored.values())       # the article and at least one passage
    near = store.nearest_articles(query_vector(["fire"]), 2)
    assert {i for i, _ in near} == {ids["fire"], ids["blaze"]}
    assert near[0][1] >= near[1][1]
    # search: meaning joins a plain query; an excluded term asks for full-text matches only
    found = {h.article.id for h in store.search(parse_query("flames"), vector=query_vector(["flames"]),
                                                  rerank=hybrid_order).hits}
    assert ids["fire"] in found and ids["match"] not in found
    assert store.search(parse_query("flames -cup"), vector=query_vector(["flames"]), rerank=hybrid_order).hits == []


def test_index_catches_up_and_follows_edits_and_resets(store):
    ids = _add(store, ["fire", "budget"])
    embed_pending(store)
    index = store.vector_index()
    assert len(index) == 2
    more = _add(store, ["blaze"])            # written after the index was loaded
    embed_pending(store)
    assert len(store.vector_index()) == 3
    assert store.nearest_articles(store.article_vectors([more["blaze"]])[more["blaze"]][0], 1)[0][0] == more["blaze"]
    store.update_article(ids["budget"], title="Granary fire: council pays for repairs", text="The council will pay.")
    assert store.unembedded_article_ids() == [ids["budget"]]       # stale vector dropped, redone by the stage
    embed_pending(store)
    assert store.unembedded_article_ids() == []
    store.reset()
    assert len(store.vector_index()) == 0 and store.nearest_articles(embed(["fire"])[0], 3) == []


def test_vectors_of_a_deleted_or_unknown_article_are_not_stored(store):
    ids = _add(store, ["fire"])
    v = embed(["x"])[0]
    assert store.put_vectors([(ids["fire"], [v]), (999_999, [v])]) == 1
    assert list(store.article_vectors([ids["fire"], 999_999])) == [ids["fire"]]


def test_vector_index_prefilter_matches_exact_search_on_a_large_index(monkeypatch):
    import newsloom.store.vectors as vectors

    rng = np.random.default_rng(7)
    # like the model's PCA output: variance falls off along the dimensions
    base = (rng.normal(size=(3000, 256)) / np.sqrt(1 + np.arange(256) / 16)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    index = VectorIndex()
    index.add(list(range(1, 3001)), base)
    monkeypatch.setattr(vectors, "EXACT_LIMIT", 100)        # force the two-stage scan
    monkeypatch.setattr(vectors, "RERANK", 300)
    hits = 0
    for q in base[:50] + 0.03 * rng.normal(size=(50, 256)).astype(np.float32):
        q /= np.linalg.norm(q)
        approx = [i for i, _ in index.search(q, 10)]
        exact = [i for i, _ in index.search(q, 10, exact=True)]
        hits += len(set(approx) & set(exact))
        assert approx[0] == exact[0]
    assert hits / 500 > 0.8
    index.add([5], base[:1])                                # re-embedding replaces in place
    assert len(index) == 3000 and index.search(base[0], 1, exact=True)[0][0] in (1, 5)
    assert MODEL_ID
