"""The embedding model, offline: fictional texts only."""

from __future__ import annotations

import socket

import numpy as np

from newsloom.enrich.embed import (DIMS, article_input, embed, embed_articles, embedder, from_bytes, passages,
                                   query_vector, to_bytes)

FIRE = "Fire guts the old granary in Morrow. Firefighters fought the blaze through the night."
BLAZE = "Blaze destroys a historic grain store in Morrow overnight."
BUDGET = "Morrow council debates next year's budget for road repairs and street lights."


def test_vectors_are_unit_length_deterministic_and_mean_something():
    v = embed([FIRE, BLAZE, BUDGET, ""])
    assert v.shape == (4, DIMS) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[:3], axis=1), 1.0, atol=1e-5) and not v[3].any()
    assert np.array_equal(v, embed([FIRE, BLAZE, BUDGET, ""]))
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1            # the same event in other words is nearer


def test_the_model_loads_from_the_package_without_a_network(monkeypatch):
    def refuse(*a, **k):
        raise OSError("no network in this test")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    embedder.cache_clear()
    try:
        assert embed(["A quiet harbour town."]).shape == (1, DIMS)
    finally:
        embedder.cache_clear()


def test_query_vector_needs_a_content_word_the_model_knows_whole():
    assert query_vector(["qwzxv"]) is None                  # split into pieces: noise, left to full text
    assert query_vector(["the", "of", "2026"]) is None      # stop words and numbers alone
    q = query_vector(["blaze"])
    assert q is not None and np.allclose(q, query_vector(["the", "blaze", "2026"]))
    assert query_vector(["blaze", "qwzxv"]) is not None     # a known word anchors the query


def test_article_input_and_passages_cut_whole_sentences():
    text = " ".join(f"Sentence number {i} tells the reader one more fact about the bridge." for i in range(40))
    assert article_input("Bridge opens", text).startswith("Bridge opens. Sentence number 0")
    assert len(article_input("T", text).split()) == 61
    cut = passages(text, words=120)
    assert len(cut) > 3 and all(p.endswith(".") for p in cut) and " ".join(cut) == text
    assert all(len(p.split()) <= 120 for p in cut)
    assert passages("") == [] and passages("One long sentence " * 100) == [("One long sentence " * 100).strip()]


def test_embed_articles_and_float16_storage_round_trip():
    out = embed_articles([("Granary fire", FIRE), ("Budget", BUDGET)])
    assert [len(o) for o in out] == [1 + len(passages(FIRE)), 1 + len(passages(BUDGET))]
    v = out[0][0]
    back = from_bytes(to_bytes(v))
    assert len(to_bytes(v)) == DIMS * 2 and float(back @ v) > 0.999
