"""`newsloom.eval.extraction` on a hand-made benchmark folder (three fictional pages).

``data/extraction/``: ``ground-truth.json`` with ids a1, b2, c3 and ``html/<id>.html.gz``
(navigation, an article of three paragraphs, a sidebar and a footer each).
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from newsloom.eval.extraction import metrics, run_extraction, shingle_counts
from newsloom.eval.rows import EvalInputError

DATA = Path(__file__).parent / "data" / "extraction"

# Fake systems: fixed outputs per page, so the metric can be counted by hand.
GOLD = {"a1": "The river rose two metres overnight in Kestrel Falls.",       # 9 tokens, 6 shingles
        "b2": "Ana Sorel said the council would meet on Friday.",            # 9 tokens, 6 shingles
        "c3": "Results were posted at noon."}                                # 5 tokens, 2 shingles
OURS = {"a1": GOLD["a1"] + " Share this story",                           # +3 shingles: P 6/9, R 1
        "b2": "Ana Sorel said -- the council would meet on Friday",         # same tokens: P = R = 1
        "c3": ""}                                                           # nothing: no P, R 0


def _folder(tmp_path: Path, gold: dict[str, str] | None = None) -> Path:
    folder = tmp_path / "bench"
    shutil.copytree(DATA, folder)
    if gold is not None:
        truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
        for pid, body in gold.items():
            truth[pid]["articleBody"] = body
        (folder / "ground-truth.json").write_text(json.dumps(truth), encoding="utf-8")
    return folder


def _system(outputs: dict[str, str]):
    def run(data: bytes, url: str, html: str) -> str:
        pid = {"kestrel-courier": "a1", "meridian-post": "b2", "orbit-sports": "c3"}[
            url.split("//")[1].split(".")[0]]
        return outputs[pid]
    return run


def test_metric_hand_counted(tmp_path):
    folder = _folder(tmp_path, GOLD)
    out = run_extraction(folder, systems={"newsloom": _system(OURS), "trafilatura": _system(GOLD)})
    # precision: mean(6/9, 1) over a1, b2 (c3 has TP+FP = 0) = 0.8333
    # recall: mean(1, 1, 0) = 0.6667;  F1 = 2PR/(P+R) = 20/27
    assert (out["precision"], out["recall"], out["f1"]) == (0.8333, 0.6667, 0.7407)
    assert out["accuracy"] == 0.3333              # b2 only: same token list
    assert out["empty"] == 1 and out["pages"] == 3
    assert out["f1_sd"] > 0
    base = out["baseline"]
    assert base["name"] == "trafilatura"
    assert (base["f1"], base["precision"], base["recall"], base["accuracy"]) == (1.0,) * 4
    assert base["f1_sd"] == 0.0
    assert out["docs_per_s"] > 0 and base["docs_per_s"] > 0 and out["speed_ratio"] > 0


def test_real_systems_on_fictional_pages():
    out = run_extraction(DATA)
    assert set(out) >= {"f1", "precision", "recall", "accuracy", "docs_per_s", "pages",
                        "baseline", "speed_ratio"}
    assert out["pages"] == 3
    assert out["f1"] > 0.8 and out["baseline"]["f1"] > 0.8


def test_shingles():
    assert shingle_counts("a b c d e") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert shingle_counts("only two") == {("only", "two"): 1}      # shorter text: one shingle
    assert shingle_counts("") == {} and shingle_counts(None) == {}
    assert shingle_counts("x y z w x y z w")[("x", "y", "z", "w")] == 2


def test_exact_page_counts_one_and_an_empty_pair_is_skipped():
    assert metrics([(0.0, 0.0, 0.0), (1.0, 0.0, 0.0)]) == {"f1": 1.0, "precision": 1.0,
                                                           "recall": 1.0}


# ---------------------------------------------------------------- bad inputs

def test_missing_ground_truth(tmp_path):
    folder = _folder(tmp_path)
    (folder / "ground-truth.json").unlink()
    with pytest.raises(EvalInputError, match=r"ground-truth\.json: no such file"):
        run_extraction(folder)


def test_ground_truth_not_json(tmp_path):
    folder = _folder(tmp_path)
    (folder / "ground-truth.json").write_text('{"a1": {', encoding="utf-8")
    with pytest.raises(EvalInputError, match=r"ground-truth\.json: not JSON"):
        run_extraction(folder)


@pytest.mark.parametrize("truth", ["[]", "{}"])
def test_ground_truth_not_an_object_of_pages(tmp_path, truth):
    folder = _folder(tmp_path)
    (folder / "ground-truth.json").write_text(truth, encoding="utf-8")
    with pytest.raises(EvalInputError, match=r"ground-truth\.json"):
        run_extraction(folder)


def test_id_without_a_page(tmp_path):
    folder = _folder(tmp_path)
    (folder / "html" / "b2.html.gz").unlink()
    with pytest.raises(EvalInputError, match=r"b2\.html\.gz: id b2: no page"):
        run_extraction(folder)


def test_page_without_an_id(tmp_path):
    folder = _folder(tmp_path)
    shutil.copy(folder / "html" / "a1.html.gz", folder / "html" / "zz9.html.gz")
    with pytest.raises(EvalInputError, match=r"zz9\.html\.gz: id zz9: page without an entry"):
        run_extraction(folder)


@pytest.mark.parametrize("body", [None, 42, ["text"]])
def test_body_not_a_string(tmp_path, body):
    folder = _folder(tmp_path)
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    truth["c3"]["articleBody"] = body
    (folder / "ground-truth.json").write_text(json.dumps(truth), encoding="utf-8")
    with pytest.raises(EvalInputError, match=r"ground-truth\.json id c3: articleBody"):
        run_extraction(folder)


def test_missing_html_folder(tmp_path):
    folder = _folder(tmp_path)
    shutil.rmtree(folder / "html")
    with pytest.raises(EvalInputError, match=r"html: no such folder"):
        run_extraction(folder)


def test_page_not_gzip(tmp_path):
    folder = _folder(tmp_path)
    (folder / "html" / "a1.html.gz").write_bytes(b"<html>plain</html>")
    with pytest.raises(EvalInputError, match=r"a1\.html\.gz: id a1: not a gzip file"):
        run_extraction(folder)


def test_fixture_pages_are_gzip_utf8():
    for page in (DATA / "html").iterdir():
        assert gzip.decompress(page.read_bytes()).decode("utf-8").startswith("<!DOCTYPE html>")
