"""Article-body extraction scored like the article-extraction-benchmark, vs plain trafilatura.

Input: a folder in the benchmark's layout::

    ground-truth.json      {"<id>": {"articleBody": "<gold text>", "url": "<page URL>"}, ...}
    html/<id>.html.gz      the gzipped page, UTF-8

Every id needs a page and every page an id; anything else is an :class:`EvalInputError`
naming the file (and the id).

How :func:`run_extraction` scores, in order (the benchmark's ``evaluate.py`` metric):

1. **Systems.** newsloom as the ingest path calls it, ``extract_article(page_bytes, url)``
   and its ``.text`` (``None`` counts as an empty body); and plain trafilatura as the
   benchmark calls it, ``trafilatura.extract(html_str, include_comments=False)``.
2. **Shingles.** Tokens are ``re.findall(r"\\w+", text)``; shingles are the runs of 4
   consecutive tokens (a shorter text is one shorter shingle, an empty text none).
3. **Per page** TP, FP and FN over the shingle multisets, normalised to sum to 1.
4. **Means.** Precision is the mean of TP/(TP+FP) over pages with TP+FP > 0, recall the mean
   of TP/(TP+FN) over pages with TP+FN > 0; a page with FP = FN = 0 counts 1 for both.
5. **F1** = 2PR/(P+R) of the two means; **accuracy** is the share of pages whose token lists
   are identical to the gold's.
6. **±** (``*_sd`` keys): the standard deviation of each figure over 1,000 bootstrap
   resamples of the pages (fixed seed). The benchmark's ``evaluate.py`` prints 1.96 times
   this as its "±".

**Timing.** Both systems run in this process on the same decoded pages. Each is first called
once on the first page untimed (imports, lxml and trafilatura's own caches), then every page
is extracted by both, the order alternating page by page (even pages newsloom first, odd
pages trafilatura first), and only the extractor calls are timed. ``speed_ratio`` is
newsloom's docs/s over trafilatura's.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import statistics
import time
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from newsloom.eval.rows import EvalInputError

__all__ = ["run_extraction", "load_pages", "shingle_counts", "metrics", "Page"]

TP_FP_FN = tuple[float, float, float]
Page = tuple[str, str, bytes, str]          # id, url, page bytes, gold body

_TOKEN = re.compile(r"\w+")
_SUFFIX = ".html.gz"
N_BOOTSTRAP = 1000
SEED = 0


def load_pages(folder: Path) -> list[Page]:
    """(id, url, gunzipped bytes, gold body) for every id of ``ground-truth.json``, in id order."""
    folder = Path(folder)
    truth_path = folder / "ground-truth.json"
    html_dir = folder / "html"
    try:
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalInputError(f"eval: {truth_path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"eval: {truth_path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise EvalInputError(f"eval: {truth_path}: not JSON ({exc.msg} at line {exc.lineno} "
                             f"column {exc.colno})") from None
    if not isinstance(truth, dict):
        raise EvalInputError(f"eval: {truth_path}: expected an object of id -> "
                             "{articleBody, url}")
    if not truth:
        raise EvalInputError(f"eval: {truth_path}: no pages (the object is empty)")
    if not html_dir.is_dir():
        raise EvalInputError(f"eval: {html_dir}: no such folder")
    on_disk = {p.name[:-len(_SUFFIX)] for p in html_dir.iterdir() if p.name.endswith(_SUFFIX)}
    extra = sorted(on_disk - truth.keys())
    if extra:
        raise EvalInputError(f"eval: {html_dir / (extra[0] + _SUFFIX)}: id {extra[0]}: "
                             f"page without an entry in {truth_path.name}")
    pages: list[Page] = []
    for pid in sorted(truth):
        entry = truth[pid]
        where = f"eval: {truth_path} id {pid}"
        if not isinstance(entry, dict):
            raise EvalInputError(f"{where}: expected an object {{articleBody, url}}")
        body, url = entry.get("articleBody"), entry.get("url", "")
        if not isinstance(body, str):
            raise EvalInputError(f"{where}: articleBody: expected a string, got "
                                 f"{type(body).__name__ if body is not None else 'null'}")
        if url is None:
            url = ""
        if not isinstance(url, str):
            raise EvalInputError(f"{where}: url: expected a string")
        page_path = html_dir / (pid + _SUFFIX)
        if pid not in on_disk:
            raise EvalInputError(f"eval: {page_path}: id {pid}: no page for this id")
        try:
            data = gzip.decompress(page_path.read_bytes())
        except (OSError, EOFError, zlib.error) as exc:
            raise EvalInputError(f"eval: {page_path}: id {pid}: not a gzip file ({exc})") from None
        pages.append((pid, url, data, body))
    return pages


def _tokens(text: str | None) -> list[str]:
    return _TOKEN.findall(text or "")


def shingle_counts(text: str | None, n: int = 4) -> Counter[tuple[str, ...]]:
    toks = _tokens(text)
    return Counter(tuple(toks[i:i + n]) for i in range(max(1, len(toks) - n + 1))
                   if toks[i:i + n])


def _match(gold: str, pred: str) -> TP_FP_FN:
    g, p = shingle_counts(gold), shingle_counts(pred)
    tp = float(sum((g & p).values()))
    fp = float(sum((p - g).values()))
    fn = float(sum((g - p).values()))
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s > 0 else (0.0, 0.0, 0.0)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return tp / (tp + fp) if tp + fp else 0.0


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return tp / (tp + fn) if tp + fn else 0.0


def metrics(counts: Sequence[TP_FP_FN]) -> dict[str, float]:
    """Mean precision and recall over pages, and the F1 of the two means (steps 4-5)."""
    ps = [_precision(*c) for c in counts if c[0] + c[1] > 0]
    rs = [_recall(*c) for c in counts if c[0] + c[2] > 0]
    p = statistics.fmean(ps) if ps else 0.0
    r = statistics.fmean(rs) if rs else 0.0
    return {"f1": 2 * p * r / (p + r) if p + r else 0.0, "precision": p, "recall": r}


def _score(pages: Sequence[Page], preds: Sequence[str], seconds: float) -> dict[str, Any]:
    counts = [_match(body, pred) for (_, _, _, body), pred in zip(pages, preds)]
    out: dict[str, Any] = {k: round(v, 4) for k, v in metrics(counts).items()}
    out["accuracy"] = round(sum(_tokens(body) == _tokens(pred)
                                for (_, _, _, body), pred in zip(pages, preds)) / len(pages), 4)
    rng = random.Random(SEED)
    draws: dict[str, list[float]] = {"f1": [], "precision": [], "recall": []}
    n = len(counts)
    for _ in range(N_BOOTSTRAP if n > 1 else 0):
        m = metrics([counts[rng.randrange(n)] for _ in range(n)])
        for k in draws:
            draws[k].append(m[k])
    for k, values in draws.items():
        out[f"{k}_sd"] = round(statistics.stdev(values), 4) if values else 0.0
    out["empty"] = sum(not _tokens(pred) for pred in preds)
    out["docs_per_s"] = round(len(pages) / seconds, 2) if seconds > 0 else None
    return out


def _newsloom(data: bytes, url: str, html: str) -> str:
    from newsloom.extract.article import extract_article
    doc = extract_article(data, url)
    return (doc.text or "") if doc is not None else ""


def _trafilatura(data: bytes, url: str, html: str) -> str:
    import trafilatura
    return trafilatura.extract(html, include_comments=False) or ""


def run_extraction(folder: Path, *,
                   systems: Mapping[str, Callable[[bytes, str, str], str]] | None = None
                   ) -> dict[str, Any]:
    """Score newsloom's extraction and plain trafilatura on the benchmark folder *folder*.

    *systems* replaces the two extractors (``{"newsloom": f, "trafilatura": g}``, each
    ``f(page_bytes, url, html_str) -> text``); tests use it, the command does not.
    """
    pages = load_pages(Path(folder))
    run = dict(systems or {"newsloom": _newsloom, "trafilatura": _trafilatura})
    names = ("newsloom", "trafilatura")
    htmls = [data.decode("utf-8", errors="replace") for _, _, data, _ in pages]
    _, url0, data0, _ = pages[0]
    for name in names:                       # warm-up, untimed
        run[name](data0, url0, htmls[0])
    preds: dict[str, list[str]] = {name: [] for name in names}
    spent = dict.fromkeys(names, 0.0)
    for i, ((_, url, data, _), html) in enumerate(zip(pages, htmls)):
        for name in (names if i % 2 == 0 else names[::-1]):
            t0 = time.perf_counter()
            text = run[name](data, url, html)
            spent[name] += time.perf_counter() - t0
            preds[name].append(text or "")
    ours = _score(pages, preds["newsloom"], spent["newsloom"])
    base = _score(pages, preds["trafilatura"], spent["trafilatura"])
    ratio = (round(ours["docs_per_s"] / base["docs_per_s"], 3)
             if ours["docs_per_s"] and base["docs_per_s"] else None)
    return {**ours, "pages": len(pages),
            "baseline": {"name": "trafilatura", **base}, "speed_ratio": ratio}
