"""`newsloom.eval.rows.read_rows`: every bad-input class is one EvalInputError naming the
file, the line and the field. Rows are fictional and written here."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from newsloom.eval.clustering import CLUSTERING_FIELDS
from newsloom.eval.hashtags import HASHTAG_FIELDS
from newsloom.eval.rows import EvalInputError, read_rows

GOOD = {"id": "harbor-1", "title": "Ferry strike ends", "text": "The Port Anselm ferry crews voted.",
        "source": "harbor.example", "published": "2026-03-01T08:30:00+01:00", "story": "ferry",
        "lang": "en"}


def _write(tmp_path: Path, *rows, name: str = "set.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n",
                    encoding="utf-8")
    return path


def _error(path: Path, spec=CLUSTERING_FIELDS, **kw) -> str:
    with pytest.raises(EvalInputError) as info:
        read_rows(path, spec, **kw)
    assert info.value.code == "invalid"
    return info.value.message


def test_good_rows_are_checked_and_converted(tmp_path):
    second = {**GOOD, "id": "harbor-2", "lang": None, "extra": [1, 2]}
    rows = read_rows(_write(tmp_path, GOOD, "", "   ", second), CLUSTERING_FIELDS)
    assert [r["id"] for r in rows] == ["harbor-1", "harbor-2"]        # blank lines skipped
    assert rows[0]["published"] == datetime(2026, 3, 1, 7, 30, tzinfo=timezone.utc)
    assert rows[0]["published"].tzinfo is timezone.utc
    assert rows[1]["lang"] is None and rows[1]["extra"] == [1, 2]     # extra fields kept
    no_lang = {k: v for k, v in GOOD.items() if k != "lang"}
    assert read_rows(_write(tmp_path, no_lang), CLUSTERING_FIELDS)[0]["lang"] is None


def test_empty_strings_and_optional_fields(tmp_path):
    row = {**GOOD, "title": "", "text": ""}                            # "text" kinds may be empty
    assert read_rows(_write(tmp_path, row), CLUSTERING_FIELDS)[0]["title"] == ""
    msg = _error(_write(tmp_path, {**GOOD, "story": "  "}))            # "str" may not
    assert msg == "eval: set.jsonl line 1: story: empty"
    dup = read_rows(_write(tmp_path, {"id": "a", "duplicate_of": ""}), {"duplicate_of": "str?"})
    assert dup[0]["duplicate_of"] is None                              # one spelling of "none"


def test_not_json(tmp_path):
    msg = _error(_write(tmp_path, GOOD, "{not json"))
    assert msg.startswith("eval: set.jsonl line 2: not JSON")


def test_not_an_object(tmp_path):
    assert _error(_write(tmp_path, '["a", "b"]')) == "eval: set.jsonl line 1: expected a JSON object, got a list"


@pytest.mark.parametrize("field", ["story", "published", "title", "id"])
def test_missing_field(tmp_path, field):
    row = {k: v for k, v in GOOD.items() if k != field}
    assert _error(_write(tmp_path, {**GOOD, "id": "x"}, row)) == f"eval: set.jsonl line 2: {field}: missing"


def test_bad_date(tmp_path):
    msg = _error(_write(tmp_path, {**GOOD, "published": "next Tuesday"}))
    assert msg.startswith("eval: set.jsonl line 1: published: not an ISO 8601 time")
    msg = _error(_write(tmp_path, {**GOOD, "published": 1767225600}))
    assert msg == "eval: set.jsonl line 1: published: expected an ISO 8601 time string, got a number"


def test_wrong_type(tmp_path):
    assert _error(_write(tmp_path, {**GOOD, "id": 7})) == "eval: set.jsonl line 1: id: expected a string, got a number"
    assert _error(_write(tmp_path, {**GOOD, "title": None})) == "eval: set.jsonl line 1: title: expected a string, got null"


def test_duplicate_id_names_both_lines(tmp_path):
    msg = _error(_write(tmp_path, GOOD, {**GOOD, "id": "harbor-2"}, "", GOOD))
    assert msg == "eval: set.jsonl line 4: id: duplicate 'harbor-1' (first on line 1)"
    rows = read_rows(_write(tmp_path, GOOD, GOOD), CLUSTERING_FIELDS, key=None)   # no key: no check
    assert len(rows) == 2


def test_keyphrases_as_a_string_is_an_error_not_characters(tmp_path):
    row = {"id": "k1", "title": "Tide gauge", "text": "A new tide gauge.", "keyphrases": "tide gauge"}
    msg = _error(_write(tmp_path, row), HASHTAG_FIELDS)
    assert msg == "eval: set.jsonl line 1: keyphrases: expected a list of strings, got a string"
    msg = _error(_write(tmp_path, {**row, "keyphrases": ["tide", 3]}), HASHTAG_FIELDS)
    assert msg == "eval: set.jsonl line 1: keyphrases: item 1: expected a string, got a number"


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "none.jsonl"
    path.write_text(content)
    assert _error(path) == "eval: none.jsonl: no rows (the file is empty)"


def test_int_and_spans(tmp_path):
    spec = {"text": "text", "doc": "int", "spans": "spans"}
    row = {"text": "Mira Holt met Veltria Bank.", "doc": 0, "spans": [[0, 9, "person"]]}
    assert read_rows(_write(tmp_path, row), spec, key=None)[0]["doc"] == 0
    assert _error(_write(tmp_path, {**row, "doc": True}), spec, key=None) == \
        "eval: set.jsonl line 1: doc: expected an integer, got a boolean"
    msg = _error(_write(tmp_path, {**row, "spans": [[0, 99, "person"]]}), spec, key=None)
    assert msg == "eval: set.jsonl line 1: spans: item 0: [0, 99] is not inside the text (length 27)"
    msg = _error(_write(tmp_path, {**row, "spans": [[0, 9]]}), spec, key=None)
    assert msg == "eval: set.jsonl line 1: spans: item 0: expected [start, end, kind]"


def test_not_utf8_and_unknown_kind(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"id": "caf\xe9"}\n')
    assert _error(path, {}).startswith("eval: latin.jsonl: not UTF-8 text")
    with pytest.raises(ValueError):
        read_rows(_write(tmp_path, GOOD), {"id": "string"})
