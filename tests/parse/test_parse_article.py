"""newsloom.extract.article.extract_article on fictional pages."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from newsloom.extract.article import extract_article
from newsloom.models import Extracted

PAGES = Path(__file__).resolve().parent.parent / "data" / "pages"
URL = "https://gazette.example.com/news/2025/06/ferry-dispute-ends?utm_source=rss"

BODY_STARTS = [
    "Ferry crews in Saltmere have voted by a large majority",
    "The crews' union said 84 per cent of members",
    '"Nobody wanted to leave islanders stranded," said deckhand',
    "The Saltmere Harbour Authority, which operates the three vessels",
    "Islanders relieved",
    "On Gullrock, the largest of the outer islands",
    "The island's primary school had also moved several lessons online",
    "A spokesperson for the harbour authority said the cost",
]
BOILERPLATE = [
    "We use cookies", "Accept all cookies", "Manage preferences",
    "Subscribe for unlimited access", "Business", "Weather",
    "Most read", "Seagull steals", "Last lighthouse keeper", "Regatta cancelled",
    "Morning Tide", "Sign up for our free daily briefing", "Sign me up",
    "About us", "Contact the newsroom", "Privacy notice", "All rights reserved",
    "Advertisement", "Comments (12)", "Log in to join", "Share on social", "dataLayer",
    "Ferry strike enters third week",
]


@pytest.fixture(scope="module")
def article() -> Extracted:
    result = extract_article((PAGES / "article_boilerplate.html").read_bytes(), URL)
    assert result is not None
    return result


def test_body_paragraphs_present_in_order(article):
    paragraphs = article.text.split("\n\n")
    assert len(paragraphs) == len(BODY_STARTS)
    for para, start in zip(paragraphs, BODY_STARTS):
        assert para.startswith(start)
    assert article.text.endswith("within ten working days of a claim being submitted.")


@pytest.mark.parametrize("phrase", BOILERPLATE)
def test_boilerplate_absent(article, phrase):
    assert phrase not in article.text


def test_metadata(article):
    assert article.title == "Saltmere ferry crews vote to end month-long dispute"
    assert not article.text.startswith(article.title)  # headline not repeated in the body
    assert article.author == "Marta Quillfeather"
    assert article.published_at == datetime(2025, 6, 4, 5, 45, tzinfo=timezone.utc)
    assert article.canonical_url == "https://gazette.example.com/news/2025/06/ferry-dispute-ends"
    assert article.language == "en-gb"
    assert article.site_name == "Harbor Gazette"
    assert article.description.startswith("Ferry crews in Saltmere accepted a revised pay offer")


def test_str_input_and_jsonld_date():
    paragraphs = "".join(
        f"<p>Paragraph {i} of a fictional story about the tide tables, long enough to count as text.</p>"
        for i in range(6))
    html = ('<html><head><title>Tide tables</title>'
            '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": ['
            '{"@type": "NewsArticle", "datePublished": "2025-01-05T10:00:00-05:00",'
            ' "author": [{"@type": "Person", "name": "Wren Talbot"}]}]}</script>'
            '<link rel="canonical" href="https://tides.example/2025/tables#top"></head>'
            f"<body><article><h1>Tide tables</h1>{paragraphs}</article></body></html>")
    result = extract_article(html, "https://tides.example/x")
    assert result is not None
    assert result.published_at == datetime(2025, 1, 5, 15, 0, tzinfo=timezone.utc)
    assert result.canonical_url == "https://tides.example/2025/tables"
    assert result.text.count("\n\n") == 5


def test_login_page_is_not_an_article():
    assert extract_article((PAGES / "no_article.html").read_bytes(), "https://gazette.example.com/login") is None


@pytest.mark.parametrize("garbage", [
    b"", "", b"\x00\xff\xfe\x00" * 50, "plain words", "<html>", b"<<<>>>&&&;;;", None,
])
def test_garbage_returns_none(garbage):
    assert extract_article(garbage, "https://x.example/") is None
