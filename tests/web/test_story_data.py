"""The story page's data is memoised per process under the story's stamp: a story that gains
an article, or whose insights are rebuilt, is shown afresh on the very next request."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from newsloom.models import Article, utcnow
from newsloom.serve import create_app
from newsloom.tasks.pipeline import settle

TEXT = ("The harbour board of Quellmouth voted to reopen the north quay after repairs to the "
        "sea wall. Work on the quay lasted eleven weeks, the board said.")


def _article(store, n: int, source: str, when) -> int:
    src = store.upsert_source(source)
    art, _ = store.add_article(Article(url=f"https://{n}.example/quay", title=f"Quellmouth north quay reopens ({n})",
                                       source_id=src.id, published_at=when, text=TEXT + f" Report {n}."))
    return art.id


def test_a_new_article_and_new_insights_show_at_once(settings, store):
    t0 = utcnow() - timedelta(hours=2)
    first = _article(store, 1, "Quellmouth Ledger", t0)
    settle(store, settings)
    story_id = store.get_article(first).story_id
    with TestClient(create_app(settings.replace(page_cache_seconds=0), store)) as client:
        before = client.get(f"/stories/{story_id}").text
        assert "Quellmouth Ledger" in before and "Harbour Post" not in before
        assert client.get(f"/stories/{story_id}").text == before        # unchanged: same page
        second = _article(store, 2, "Harbour Post", t0 + timedelta(minutes=30))
        settle(store, settings)
        assert store.get_article(second).story_id == story_id
        after = client.get(f"/stories/{story_id}").text
        assert "Harbour Post" in after and f'href="/articles/{second}"' in after
        assert "Brief from 2 publishers" in after              # the rebuilt insights, not the memoised ones
