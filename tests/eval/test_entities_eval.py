"""`newsloom.eval.entities` on a hand-made CoNLL-style file (fictional sentences).

``data/entities_small.jsonl``: two documents, five rows, 7 scored gold entities (person 3,
org 2, place 2) and one misc. The fake extractor below predicts a fixed list of surfaces,
so every figure is counted by hand in the comments.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from newsloom.enrich.entities import Entity
from newsloom.eval.entities import ENTITY_FIELDS, capitalised_runs, run_entities
from newsloom.eval.rows import EvalInputError, read_rows

DATA = Path(__file__).parent / "data" / "entities_small.jsonl"

# (pattern, kind) found anywhere in the text the extractor is given.
FAKE = [
    (r"Mira Holt", "person"),            # doc 0 row 0: hit
    (r"Veltria Bank", "place"),          # doc 0 row 0: wrong kind (gold org): FP + FN
    (r"Holt's", "person"),               # doc 0 row 1, starts at the row's first char: hit ("holt")
    (r"Port Anselm", "place"),           # doc 0 row 1: hit
    (r"Port Anselm\.\nThe Orbit Cup", "org"),  # runs over a row boundary: stays in row 1, FP
    (r"Orbit Cup", "misc"),              # misc: ignored
    (r"KESTREL FALLS", "place"),         # doc 1 row 0: hit
    (r"The Meridian Agency", "org"),     # doc 1 row 1: hit (leading "the" dropped)
    (r"Sorel", "person"),                # doc 1 row 1: gold is "Ana Sorel": FP + FN
]


class FakeExtractor:
    __name__ = "fake"

    def __init__(self):
        self.calls = 0

    def __call__(self, text: str) -> list[Entity]:
        self.calls += 1
        return [Entity(m.group(0), kind, m.start(), m.end())
                for pattern, kind in FAKE for m in re.finditer(pattern, text)]


@pytest.fixture
def rows() -> list[dict]:
    return read_rows(DATA, ENTITY_FIELDS, key=None)


def test_document_mode_hand_counted(rows):
    fake = FakeExtractor()
    out = run_entities(rows, fake)
    assert fake.calls == 2                     # once per document
    # predicted 8 (person 3, org 2, place 3), gold 7, hits 5
    assert (out["precision"], out["recall"], out["f1"]) == (0.625, 0.7143, 0.6667)
    assert out["per_type"] == {
        "person": {"precision": 0.6667, "recall": 0.6667, "f1": 0.6667, "support": 3},
        "org": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2},
        "place": {"precision": 0.6667, "recall": 1.0, "f1": 0.8, "support": 2},
    }
    assert out["documents"] == 2 and out["rows"] == 5 and out["gold"] == 7
    assert out["mode"] == "document" and out["extractor"] == "fake"
    assert out["docs_per_s"] > 0


def test_sentence_mode_feeds_rows_alone(rows):
    fake = FakeExtractor()
    out = run_entities(rows, fake, mode="sentence")
    assert fake.calls == 5
    # the boundary-crossing org cannot match inside one row: predicted 7, hits 5
    assert (out["precision"], out["recall"], out["f1"]) == (0.7143, 0.7143, 0.7143)
    assert out["per_type"]["org"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}


def test_entity_is_kept_in_the_row_where_it_starts(rows):
    # one entity at the very first character of row 1 of doc 0 (offset 31)
    def extract(text):
        i = text.find("Holt's")
        return [Entity("Holt", "person", i, i + 4)] if i > 0 else []
    out = run_entities(rows, extract)
    assert out["per_type"]["person"]["precision"] == 1.0   # matched gold "Holt" of row 1


def test_baseline_is_capitalised_runs_typed_by_majority(rows):
    out = run_entities(rows, FakeExtractor())
    base = out["baseline"]
    assert base["name"].startswith("capitalised-runs") and "person" in base["name"]
    # runs: Holt, Veltria Bank | Port Anselm | Orbit Cup || FALLS | Meridian Agency, Ana Sorel
    # all typed person (3 person gold vs 2 org, 2 place): only "Ana Sorel" hits
    assert base["predicted"] == 7
    assert (base["precision"], base["recall"], base["f1"]) == (0.1429, 0.1429, 0.1429)
    assert base["per_type"]["person"]["f1"] == 0.2


def test_capitalised_runs_drop_sentence_starts():
    text = "Mira Holt met Ana Sorel. Later the Veltria Bank, Port Anselm\nHarbour Rovers won."
    got = [(e.text, e.start) for e in capitalised_runs(text, "org")]
    assert got == [("Holt", 5), ("Ana Sorel", 14), ("Veltria Bank", 35), ("Port Anselm", 49),
                   ("Rovers", 69)]
    assert {e.kind for e in capitalised_runs(text, "org")} == {"org"}


def test_default_extractor_runs(rows):
    out = run_entities(rows)
    assert out["extractor"] == "extract_entities"
    assert set(out) >= {"precision", "recall", "f1", "per_type", "docs_per_s", "documents",
                        "baseline"}
    assert set(out["per_type"]) == {"person", "org", "place"}
    assert 0.0 <= out["f1"] <= 1.0


def test_no_rows_is_an_error():
    with pytest.raises(EvalInputError, match="no rows"):
        run_entities([])


def test_unknown_mode_is_refused(rows):
    with pytest.raises(ValueError, match="mode"):
        run_entities(rows, mode="paragraph")


def test_rows_of_a_document_must_be_consecutive(rows):
    shuffled = [rows[0], rows[3], rows[1]]
    with pytest.raises(EvalInputError, match="doc 0 sent 1: doc: .*not consecutive"):
        run_entities(shuffled, FakeExtractor())


def test_offset_must_match_the_joined_text(rows):
    rows[1]["offset"] = 30
    with pytest.raises(EvalInputError, match="doc 0 sent 1: offset: expected 31"):
        run_entities(rows, FakeExtractor())


@pytest.mark.parametrize("bad", ["Mira Holt", [["Mira Holt"]], [["Mira Holt", 3]]])
def test_malformed_entities_are_an_error(rows, bad):
    rows[0]["entities"] = bad
    with pytest.raises(EvalInputError, match="doc 0 sent 0: entities"):
        run_entities(rows, FakeExtractor())


def test_reader_names_file_line_and_field(tmp_path):
    lines = DATA.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[2])
    del row["offset"]
    lines[2] = json.dumps(row)
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(EvalInputError, match="bad.jsonl line 3: offset: missing"):
        read_rows(path, ENTITY_FIELDS, key=None)


def test_misc_is_optional(tmp_path):
    lines = DATA.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[0])
    del row["misc"]
    path = tmp_path / "nomisc.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    out = run_entities(read_rows(path, ENTITY_FIELDS, key=None), FakeExtractor())
    assert out["rows"] == 1
