"""Train the entity tagger (a CRF, python-crfsuite) on CoNLL-style rows; optionally score it.

    python scripts/train_entities.py TRAIN.jsonl                      # writes the package model
    python scripts/train_entities.py TRAIN.jsonl --dev DEV.jsonl      # ... and prints dev F1
    python scripts/train_entities.py TRAIN.jsonl --holdout 0.15       # model selection on the
                                                                      # last 15% of TRAIN's docs
    python scripts/train_entities.py TRAIN.jsonl --no-stack --out /tmp/crf-alone.bin.gz

Rows are those of ``../shared/data/entities/`` (see its README): one sentence per row with
``text``, ``spans`` [[start, end, kind]], ``misc`` surfaces, ``doc``, ``offset``. Each
document is rebuilt as ``"\\n".join`` of its rows and read the way ``extract_entities``
reads a document (same tokens, sentences, features, rule answers), so training and use
see the same inputs. MISC is trained as a label (located by its surface, first free
occurrence in the row) so that nationalities and events are not pushed into the other
kinds; it is not scored.

Deterministic: the same rows and options give the same model bytes (one thread, L-BFGS,
a gzip stream with no timestamp).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pycrfsuite

from newsloom.enrich import entities as E
from newsloom.enrich import ner
from newsloom.enrich.entities import _rules, _stacked
from newsloom.eval.entities import run_entities

def load(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def documents(rows: list[dict]) -> list[list[dict]]:
    docs: list[list[dict]] = []
    for r in rows:
        if docs and docs[-1][0]["doc"] == r["doc"]:
            docs[-1].append(r)
        else:
            docs.append([r])
    return docs


def gold_spans(row: dict) -> list[tuple[int, int, str]]:
    """The row's spans plus its MISC surfaces, located at their first free occurrence."""
    spans = [(s, e, k) for s, e, k in row["spans"]]
    used = [(s, e) for s, e, _ in spans]
    for surface in row.get("misc", []):
        for m in re.finditer(re.escape(surface), row["text"]):
            s, e = m.start(), m.end()
            if any(s < b and a < e for a, b in used):
                continue
            if (s and row["text"][s - 1].isalnum()) or (e < len(row["text"])
                                                      and row["text"][e].isalnum()):
                continue
            spans.append((s, e, "misc"))
            used.append((s, e))
            break
    return spans


def sequences(doc: list[dict], *, stacked: bool, stats: Counter, known):
    """(xseq, yseq) for each sentence of one document."""
    text = "\n".join(r["text"] for r in doc)
    toks = ner.tokenize(text)
    spans = [(r["offset"] + s, r["offset"] + e, k) for r in doc for s, e, k in gold_spans(r)]
    starts = {t.start for t in toks}
    ends = {t.end for t in toks}
    for s, e, _ in spans:
        stats["spans"] += 1
        if s not in starts or e not in ends:
            stats["misaligned"] += 1
    gold = ner.span_tags(toks, spans)
    labels = ["O" if g is None else g[:2] + ner.KIND_LABELS[g[2:]] for g in gold]
    rules = ([(r.start, r.end, f"{r.kind}:{min(n, 2)}") for r, n in _rules(text)]
             if stacked else [])
    rule_tags = ner.span_tags(toks, rules) if stacked else [None] * len(toks)
    seqs = ner.sentences(text, toks)
    capmid, lower = ner.document_facts(toks, seqs)
    for i, j, caps in seqs:
        yield (ner.sequence_features(toks, i, j, caps, rule_tags, capmid, lower,
                                     stacked=stacked, known=known), labels[i:j])


def known_words(docs: list[list[dict]], rare_max: int) -> frozenset[str]:
    """Lower-cased words seen more than *rare_max* times: the others are trained as
    unknown words (see ner.sequence_features)."""
    counts: Counter = Counter()
    for doc in docs:
        for r in doc:
            counts.update(t.text.lower() for t in ner.tokenize(r["text"]))
    return frozenset(w for w, n in counts.items() if n > rare_max)


def train(docs: list[list[dict]], out: Path, *, stacked: bool, c1: float, c2: float,
          iterations: int, rare_max: int) -> dict:
    stats: Counter = Counter()
    trainer = pycrfsuite.Trainer(verbose=False)
    t0 = time.perf_counter()
    known = known_words(docs, rare_max)
    for doc in docs:
        for xseq, yseq in sequences(doc, stacked=stacked, stats=stats, known=known):
            trainer.append(xseq, yseq)
    t_feat = time.perf_counter() - t0
    trainer.set_params({"c1": c1, "c2": c2, "max_iterations": iterations,
                        "feature.possible_transitions": True})
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "model.crfsuite"
        t1 = time.perf_counter()
        trainer.train(str(raw))
        t_train = time.perf_counter() - t1
        data = raw.read_bytes()
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh:
        with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
            gz.write(data)
    tagger = ner.Model(data)
    info = tagger.info()
    return {"docs": len(docs), "spans": stats["spans"], "misaligned": stats["misaligned"],
            "features_s": round(t_feat, 1), "train_s": round(t_train, 1),
            "raw_bytes": len(data), "gz_bytes": out.stat().st_size,
            "attributes": len({a for a, _ in info.state_features}),
            "weights": len(info.state_features), "tagger": tagger}


def score(rows: list[dict], tagger, stacked: bool) -> dict:
    def extract(text: str):
        return _stacked(text, {}, stacked=stacked, tagger=tagger)
    extract.__name__ = "crf+rules" if stacked else "crf"
    return run_entities(rows, extract)


def report(name: str, r: dict) -> None:
    pt = r["per_type"]
    print(f"{name}: P {r['precision']:.4f} R {r['recall']:.4f} F1 {r['f1']:.4f}  "
          + "  ".join(f"{k} {pt[k]['f1']:.4f}" for k in ("person", "place", "org"))
          + f"  docs/s {r['docs_per_s']}")


def fictional(tagger, stacked: bool) -> None:
    """The sentence-level gate of tests/ai/test_eval.py (fictional sentences) for this model."""
    from newsloom.eval.entities import eval_entities, load_jsonl
    data = Path(__file__).resolve().parent.parent / "tests" / "ai" / "data"
    for name in ("entities_test", "entities_heldout"):
        if not (data / f"{name}.jsonl").exists():
            continue
        r = eval_entities(load_jsonl(data / f"{name}.jsonl"),
                          lambda text: _stacked(text, {}, stacked=stacked, tagger=tagger))
        print(f"{name} (fictional): F1 {r['all']['f1']:.4f}  "
              + "  ".join(f"{k} {r[k]['f1']:.4f}" for k in ("person", "place", "org")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("train", help="CoNLL-style training rows (jsonl)")
    ap.add_argument("--dev", help="score the trained model on these rows")
    ap.add_argument("--out", type=Path, default=ner.MODEL_PATH)
    ap.add_argument("--holdout", type=float, default=0.0,
                    help="train on the first docs only and score on this last fraction")
    ap.add_argument("--no-stack", action="store_true", help="no rule features (CRF alone)")
    ap.add_argument("--c1", type=float, default=0.02)
    ap.add_argument("--c2", type=float, default=0.01)
    ap.add_argument("--iterations", type=int, default=150)
    ap.add_argument("--rare", type=int, default=2,
                    help="train words seen at most this often without their identity (0: off)")
    args = ap.parse_args()
    stacked = not args.no_stack
    docs = documents(load(args.train))
    held: list[list[dict]] = []
    if args.holdout:
        cut = int(len(docs) * (1 - args.holdout))
        docs, held = docs[:cut], docs[cut:]
    res = train(docs, args.out, stacked=stacked, c1=args.c1, c2=args.c2,
                iterations=args.iterations, rare_max=args.rare)
    tagger = res.pop("tagger")
    print(json.dumps({**res, "stacked": stacked, "c1": args.c1, "c2": args.c2,
                      "iterations": args.iterations, "rare": args.rare, "out": str(args.out)}))
    if held:
        report(f"holdout ({len(held)} docs)", score([r for d in held for r in d], tagger, stacked))
    if args.dev:
        report("dev", score(load(args.dev), tagger, stacked))
    fictional(tagger, stacked)
    print(f"lexicon sizes: places {len(E._GAZ_PLACES)}, titles {len(E._TITLES_BARE)}, "
          f"agencies {len(E._AGENCIES)}", file=sys.stderr)


if __name__ == "__main__":
    main()
