"""Related coverage beyond an article's own story comes from stored embeddings (the embed
stage runs before clustering), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from newsloom.models import Article, utcnow
from newsloom.tasks.pipeline import cluster_pending

ARTICLES = [
    ("morrow-1", "Fire guts the old granary in Morrow",
     "A fire destroyed the old granary in Morrow overnight. Firefighters fought the blaze for six hours "
     "and no one was hurt, the county fire service said."),
    ("morrow-2", "Morrow granary lost to overnight blaze",
     "The historic granary in Morrow burned down overnight. Fire crews from three stations fought the "
     "flames until dawn; the cause is not yet known."),
    ("kelby-1", "Warehouse fire in Kelby sends smoke over the river",
     "A large fire broke out in a paint warehouse in Kelby on Sunday, sending thick smoke across the river. "
     "Firefighters brought the blaze under control by the evening."),
    ("cup-1", "Rovers lift the county cup after late winner",
     "Ashby Rovers won the county cup final with a goal in the last minute, their first trophy in a decade, "
     "in front of a record crowd."),
]


def test_related_articles_come_from_other_stories_by_meaning(store):
    src = store.upsert_source("County Post")
    now = utcnow()
    ids = {}
    for n, (key, title, text) in enumerate(ARTICLES):
        a, _ = store.add_article(Article(url=f"https://county.example/{key}", title=title, text=text,
                                         source_id=src.id, published_at=now - timedelta(days=3 * n)))
        ids[key] = a.id
    assert cluster_pending(store) == 4
    assert store.unembedded_article_ids() == []             # the embed stage ran first
    story = {k: store.get_article(i).story_id for k, i in ids.items()}
    assert story["kelby-1"] not in (story["morrow-1"], story["cup-1"])
    related = {k: [a.id for a in store.related_articles(i)] for k, i in ids.items()}
    # the Kelby fire (placed after the Morrow fire) names it as related coverage; never the cup final
    assert ids["kelby-1"] in related["morrow-1"] or ids["morrow-1"] in related["kelby-1"] \
        or ids["morrow-2"] in related["kelby-1"] or ids["kelby-1"] in related["morrow-2"]
    assert all(ids["cup-1"] not in r for k, r in related.items() if k != "cup-1")
    for k, r in related.items():                            # never its own story
        assert all(store.get_article(i).story_id != story[k] for i in r)
