"""The AI block on real story pages: demo newsroom -> ingest -> stories -> web, on both stores."""

from __future__ import annotations

import re
import pytest
from fastapi.testclient import TestClient

from newsloom.serve import create_app

DISAGREE = {"prisoner-exchange", "kharvik-flood", "registry-breach"}


@pytest.fixture
def demo_site(demo_ingested):
    store, _, stories = demo_ingested
    return store, stories


def _section(html: str, heading_id: str) -> str:
    m = re.search(rf'id="{heading_id}".*?</section>', html, re.S)
    return m.group(0) if m else ""


def test_every_story_page_shows_hashtags_brief_timeline_and_disagreements(demo_site, demo_ingested):
    settings = demo_ingested[1]
    store, stories = demo_site
    with TestClient(create_app(settings, store)) as client:
        for label, story_id in stories.items():
            story = store.get_story(story_id)
            html = client.get(f"/stories/{story_id}").text
            assert 'id="ai-features"' in html, label
            tags = re.findall(r'class="hashtag" href="/tags/[^"]+"[^>]*>#(\w+)<', _section(html, "hashtags-h"))
            assert 3 <= len(tags) <= 8 or story.source_count == 1, (label, tags)
            if story.source_count > 1:
                brief = _section(html, "brief-h")
                items = re.findall(r"<li>(.*?)</li>", brief, re.S)
                assert items and all('class="citation"' in i for i in items), label
                assert _section(html, "timeline-h").count("<time") >= 1, label
            disagree = _section(html, "disagree-h")
            assert bool(disagree) == (label in DISAGREE), label


def test_disagreements_cite_both_sides(demo_site, demo_ingested):
    settings = demo_ingested[1]
    store, stories = demo_site
    with TestClient(create_app(settings, store)) as client:
        html = client.get(f"/stories/{stories['prisoner-exchange']}").text
    block = html[html.index('id="disagree-h"'):]
    assert "340" in block and ("disclose" in block or "300" in block)
    assert "Varga" in block and "Warga" in block
    assert "Port Anselm" in block
    assert len(set(re.findall(r'href="/articles/(\d+)"', block))) >= 3


def test_ask_answers_from_the_story_or_says_not_in_these_sources(demo_site, demo_ingested):
    settings = demo_ingested[1]
    store, stories = demo_site
    with TestClient(create_app(settings, store)) as client:
        url = f"/stories/{stories['prisoner-exchange']}"
        found = client.get(url, params={"q": "How many prisoners were released?"}).text
        answer = found[found.index('class="answer"'):]
        assert "Not in these sources" not in answer and re.search(r"\d", answer) and 'class="citation"' in answer
        missing = client.get(url, params={"q": "What is the capital of Mars?"}).text
        assert "Not in these sources." in missing
        evil = client.get(url, params={"q": "<script>alert(1)</script>"}).text
        assert "<script>alert(1)</script>" not in evil


def test_hashtag_variants_merge_into_one_tag(demo_site, demo_ingested):
    settings = demo_ingested[1]
    store, stories = demo_site
    with TestClient(create_app(settings, store)) as client:
        html = client.get(f"/stories/{stories['prisoner-exchange']}").text
    tags = re.findall(r'class="hashtag" href="/tags/([^"]+)"', _section(html, "hashtags-h"))
    assert len(tags) == len(set(tags))
    assert not ({"varga", "warga"} <= set(tags))


def test_llm_rewrites_brief_and_answers_with_citations(demo_site, demo_ingested, server):
    settings = demo_ingested[1]
    store, stories = demo_site
    server.completion("Both governments confirmed the exchange [1], though the figures differ [2].")
    with TestClient(create_app(settings.replace(llm_url=server.base, llm_model="tiny"), store)) as client:
        html = client.get(f"/stories/{stories['ferry-strike']}",
                          params={"q": "How many crossings were cancelled?"}).text
    assert "Both governments confirmed the exchange [1]" in html
    sent = server.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["json"]["model"] == "tiny"
    assert "[1]" in sent["json"]["messages"][-1]["content"]
    assert 'class="citation"' in html                                 # extractive citations stay visible


def test_llm_failure_falls_back_to_extractive(demo_site, demo_ingested, server):
    settings = demo_ingested[1]
    store, stories = demo_site
    server.reply = (500, b"{}", 0.0)
    with TestClient(create_app(settings.replace(llm_url=server.base), store)) as client:
        html = client.get(f"/stories/{stories['kharvik-flood']}").text
    assert 'class="llm-brief"' not in html and 'id="brief-h"' in html


def test_article_page_shows_its_hashtags_and_a_short_summary(demo_site, demo_ingested):
    store, stories = demo_site
    settings = demo_ingested[1]
    articles = [a for a in store.list_articles(limit=1000) if a.duplicate_of is None]
    with TestClient(create_app(settings, store)) as client:
        for a in articles[:12]:
            html = client.get(f"/articles/{a.id}").text
            tags = re.findall(r'class="hashtag" href="/tags/([^"]+)"', html.split('id="summary-h"')[0])
            assert 3 <= len(tags) <= 8, (a.title, tags)
            summary = _section(html, "summary-h")
            assert 2 <= summary.count("<li>") <= 3, a.title
            again = client.get(f"/articles/{a.id}").text
            assert _section(again, "summary-h") == summary          # the same on every run
