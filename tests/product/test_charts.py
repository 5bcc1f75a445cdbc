"""SVG charts: pure functions and on the story page. One series per publisher, escaped labels."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

from newsloom.models import Article, utcnow
from newsloom.serve.views import story_view
from newsloom.enrich.charts import OTHER, coverage_svg, publisher_mix_svg
from newsloom.tasks.pipeline import settle

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 3, 12, 6, tzinfo=timezone.utc)


def _arts(spec):
    return [Article(url=f"https://x/{i}", title=f"t{i}", source_name=name, published_at=T0 + timedelta(hours=h), id=i)
            for i, (name, h) in enumerate(spec)]


def _series(svg):
    root = ET.fromstring(svg)                                   # well-formed XML
    assert root.get("role") == "img" and root.get("aria-labelledby")
    assert root.find(f"{SVG}title").text and root.find(f"{SVG}desc").text
    return [g.get("data-series") for g in root.iter(f"{SVG}g") if g.get("class") == "series"]


def test_coverage_chart_has_one_stacked_series_per_publisher():
    arts = _arts([("Harbor", 0), ("Harbor", 0.5), ("Ledger", 0.2), ("Courier", 5), ("Ledger", 5.1)])
    svg = coverage_svg(arts)
    assert _series(svg) == ["Harbor", "Ledger", "Courier"]           # most articles first
    assert "Articles per hour" in svg and "Time (UTC)" in svg and 'class="legend"' in svg
    assert len(re.findall(r"<rect [^>]*><title>", svg)) == 4            # 4 (publisher, hour) cells
    assert "Harbor: 2 articles, 2026-03-12 06:00 UTC" in svg
    long_story = _arts([("A", h) for h in range(0, 24 * 10, 3)])      # ten days: wider buckets, <= 48 bars
    svg = coverage_svg(long_story)
    assert "Articles per 6 hours" in svg and len(re.findall(r"<rect [^>]*><title>", svg)) <= 48


def test_publisher_mix_and_many_publishers():
    arts = _arts([(f"Paper {n}", 0) for n in range(10) for _ in range(10 - n)])
    mix = publisher_mix_svg(arts)
    names = _series(mix)
    assert len(names) == 7 and names[-1] == OTHER and names[0] == "Paper 0"
    assert "Paper 0: 10 of 55 articles (18%)" in mix
    assert _series(coverage_svg(arts)) == names
    assert "No dated articles" in coverage_svg([]) and "No dated articles" in publisher_mix_svg([])


def test_labels_are_escaped():
    evil = '<script>alert("x")</script> & <img src=x onerror=alert(1)>\x00'
    for svg in (coverage_svg(_arts([(evil, 0), ("ok", 1)])), publisher_mix_svg(_arts([(evil, 0)]))):
        assert "<script" not in svg and "<img" not in svg and "\x00" not in svg
        assert "&lt;script&gt;" in svg
        assert evil.replace("\x00", "") in _series(svg)


def test_story_page_charts_one_series_per_publisher(newsroom, demo_client):
    store, _ = newsroom
    story = max(store.list_stories(limit=100), key=lambda s: s.source_count)
    html = demo_client.get(f"/stories/{story.id}").text
    charts = re.findall(r"<svg .*?</svg>", html, re.S)
    assert len(charts) == 2
    view = story_view(store, story.id)
    publishers = {a.source_name for a in view["articles"]} | {c.source_name for cs in view["copies"].values() for c in cs}
    for svg in charts:
        assert set(_series(svg)) == publishers and len(publishers) == story.source_count
    standalone = demo_client.get(f"/stories/{story.id}/coverage.svg")
    assert standalone.headers["content-type"].startswith("image/svg+xml")
    assert "default-src 'none'" in standalone.headers["content-security-policy"]
    assert len(_series(standalone.text)) == story.source_count


def test_story_page_with_hostile_publisher(client, store):
    src = store.upsert_source('<script>alert("p")</script> Post')
    store.add_article(Article(url="https://h.example/1", title="Headline", source_id=src.id, published_at=utcnow(),
                              text="Text."))
    settle(store, None)          # the pipeline builds the charts with the story's insights
    story = store.list_stories()[0]
    html = client.get(f"/stories/{story.id}").text
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html and 'class="chart coverage"' in html
