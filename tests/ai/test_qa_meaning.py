"""Q&A retrieves passages by meaning as well as by words (stored passage vectors); whether
to answer stays a word decision. Fictional articles."""

from __future__ import annotations

from datetime import datetime, timezone

from newsloom.enrich.embed import embed_articles, query_vector
from newsloom.enrich.qa import MEANING_MIN, answer
from newsloom.enrich.text import words

WHEN = datetime(2026, 5, 4, 9, tzinfo=timezone.utc)
ARTICLES = [
    {"id": 1, "title": "Morrow granary lost overnight", "source": "County Post", "published": WHEN,
     "text": "The fire gutted the old granary on the edge of Morrow overnight. Flames leapt from the roof "
             "and the timber frame collapsed before dawn. Crews from three stations stayed until morning, "
             "and neighbours were moved from four houses as a precaution. Smoke hung over the fields.\n\n"
             "In other business, the mayor will speak on Friday about the town budget and road repairs. "
             "Councillors want more money for street lights and a new bus shelter near the school, and "
             "the finance committee meets again next month."},
]


def _vectors():
    return {a["id"]: v for a, v in zip(ARTICLES, embed_articles([(a["title"], a["text"]) for a in ARTICLES]))}


def test_a_passage_in_other_words_is_retrieved_by_meaning_but_not_declared_an_answer():
    q = "What did the blaze destroy?"
    qv = query_vector(words(q))
    without = answer(q, ARTICLES)
    assert not any("gutted" in c.sentence for c in without.passages)     # no shared word: words alone miss it
    with_meaning = answer(q, ARTICLES, question_vector=qv, vectors=_vectors())
    assert any("gutted" in c.sentence for c in with_meaning.passages)
    assert with_meaning.found is False                  # a cosine is "about it", not "answers it"
    assert MEANING_MIN > 0


def test_meaning_does_not_change_a_word_answer():
    q = "When will the mayor speak about the budget?"
    plain = answer(q, ARTICLES)
    fused = answer(q, ARTICLES, question_vector=query_vector(words(q)), vectors=_vectors())
    assert plain.found and fused.found and fused.text == plain.text and "Friday" in fused.text
