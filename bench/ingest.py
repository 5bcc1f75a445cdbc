"""Ingest throughput: parse + extract + store, in articles/s.

    python bench/ingest.py                 # the demo newsroom, from its files (no network)
    python bench/ingest.py --passes 5      # repeat it under new base URLs (all new articles)
    python bench/ingest.py FILE.jsonl      # bulk JSONL import into a fresh SQLite store

Prints figures only; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from newsloom.demo import SITE_DIR, render_bytes
from newsloom.extract.article import extract_article
from newsloom.ingest.feeds import parse_feed
from newsloom.ingest.urls import canonical_url
from newsloom.models import Feed
from newsloom.store import open_store
from newsloom.tasks.jobs import import_jsonl
from newsloom.tasks.pipeline import build_article
from newsloom.tasks.stories import cluster_articles


class Page:  # the shape of a FetchResult that build_article reads
    def __init__(self, body: bytes, url: str):
        self.body, self.url = body, url


def bench_demo(passes: int) -> None:
    now = datetime(2026, 3, 12, 18, tzinfo=timezone.utc)
    timings: dict[str, float] = defaultdict(float)
    stored = 0
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        start = time.perf_counter()
        for n in range(passes):
            base = f"http://bench{n}.newsloom.test"
            for path in sorted((SITE_DIR / "feeds").iterdir()):
                t = time.perf_counter()
                parsed = parse_feed(render_bytes(path.read_bytes(), base, now), {}, base_url=f"{base}/feeds/")
                timings["parse"] += time.perf_counter() - t
                source = store.upsert_source(f"{parsed.title} {n}")
                feed, _ = store.add_feed(Feed(url=f"{base}/feeds/{path.name}", source_id=source.id))
                for entry in parsed.entries:
                    page_path = SITE_DIR / urlsplit(entry.link).path.lstrip("/")
                    t = time.perf_counter()
                    page = Page(render_bytes(page_path.read_bytes(), base, now), entry.link)
                    article = build_article(entry, canonical_url(entry.link), page, feed)
                    timings["extract"] += time.perf_counter() - t
                    t = time.perf_counter()
                    stored += store.add_article(article)[1]
                    timings["store"] += time.perf_counter() - t
        total = time.perf_counter() - start
        store.close()
    print(f"demo newsroom x{passes}: {stored} articles in {total:.2f}s = {stored / total:.1f} articles/s "
          "(parse + extract + store, SQLite)")
    for stage, seconds in timings.items():
        print(f"  {stage:<8} {seconds:6.2f}s  {1000 * seconds / max(stored, 1):6.2f} ms/article")


def bench_jsonl(path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        start = time.perf_counter()
        with path.open(encoding="utf-8") as lines:
            report = import_jsonl(store, lines, cluster=False)
        stored = time.perf_counter() - start
        start = time.perf_counter()
        clustered = cluster_articles(store)
        enriched = time.perf_counter() - start
        store.close()
    print(f"{path.name}: {report.added} articles; {len(report.errors)} bad lines")
    print(f"  parse + store            {stored:7.2f}s = {report.added / stored:7.1f} articles/s")
    print(f"  stories + hashtags       {enriched:7.2f}s = {clustered / enriched:7.1f} articles/s "
          "(dedupe, clustering, related, tagging; SQLite)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jsonl", nargs="?", type=Path, help="a JSONL file of articles")
    parser.add_argument("--passes", type=int, default=3, help="passes over the demo newsroom")
    args = parser.parse_args(argv)
    if args.jsonl:
        bench_jsonl(args.jsonl)
    else:
        bench_demo(args.passes)


if __name__ == "__main__":
    sys.exit(main())
