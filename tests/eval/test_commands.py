"""`newsloom eval ...` through the command line, on small fictional sets written here:
bad input exits 2 with a message naming the file, the line and the field; --json prints
one object with the documented keys; the table shows the baseline beside our figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsloom.cli import main

DATA = Path(__file__).parent / "data"


def _at(hour: int) -> str:
    return f"2026-02-0{1 + hour // 24}T{hour % 24:02d}:00:00Z"


FERRY = "Ferry crews in Port Anselm walked out over night shifts; the harbour board met the union."
BRIDGE = "The Kestrel Falls bridge closed after inspectors found cracks in two of its steel piers."
CLUSTER_ROWS = [
    {"id": f"c{i}", "title": title, "text": text, "source": f"desk{i % 3}.example",
     "published": _at(i), "story": story, "lang": "en"}
    for i, (title, text, story) in enumerate([
        ("Ferry crews strike in Port Anselm", FERRY, "ferry"),
        ("Port Anselm ferry strike enters second day", FERRY + " Talks resume on Monday.", "ferry"),
        ("Kestrel Falls bridge closed", BRIDGE, "bridge"),
        ("Cracked piers shut Kestrel Falls bridge", BRIDGE + " Traffic is diverted.", "bridge"),
        ("Harbour board and union agree on ferry shifts", FERRY + " A deal was signed.", "ferry"),
    ])]
DEDUPE_ROWS = [
    {"id": "d1", "text": FERRY, "published": _at(1), "duplicate_of": None},
    {"id": "d2", "text": FERRY, "published": _at(2), "duplicate_of": "d1"},
    {"id": "d3", "text": BRIDGE, "published": _at(3)},
]
HASHTAG_ROWS = [
    {"id": "h1", "title": "Ferry strike in Port Anselm", "text": FERRY, "keyphrases": ["ferry strike", "Port Anselm"]},
    {"id": "h2", "title": "Kestrel Falls bridge closed", "text": BRIDGE, "keyphrases": ["bridge", "Kestrel Falls"]},
]
SUMMARY_ROWS = [
    {"id": "s1", "title": "", "text": FERRY + " Talks resume on Monday. The board declined to comment.",
     "summary": "Port Anselm ferry crews walked out.\nTalks resume Monday."},
    {"id": "s2", "title": "Bridge closed", "text": BRIDGE + " Traffic is diverted. Repairs take a month.",
     "summary": "Kestrel Falls bridge closed over cracked piers."},
]
KEYS = {
    "clustering": {"bcubed", "pairwise", "articles_per_s", "baseline"},
    "dedupe": {"precision", "recall", "f1", "articles_per_s", "baseline"},
    "hashtags": {"f1@5", "f1@10", "baseline"},
    "summaries": {"rouge1", "rouge2", "rougeL", "baseline"},
    "entities": {"precision", "recall", "f1", "per_type", "docs_per_s", "baseline"},
    "extraction": {"f1", "docs_per_s", "baseline"},
}


def _run(*args: str):
    return CliRunner().invoke(main, ["eval", *args], catch_exceptions=False)


def _write(tmp_path: Path, rows, name: str = "set.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def _inputs(tmp_path: Path) -> dict[str, Path]:
    return {"clustering": _write(tmp_path, CLUSTER_ROWS, "clustering.jsonl"),
            "dedupe": _write(tmp_path, DEDUPE_ROWS, "dedupe.jsonl"),
            "hashtags": _write(tmp_path, HASHTAG_ROWS, "hashtags.jsonl"),
            "summaries": _write(tmp_path, SUMMARY_ROWS, "summaries.jsonl"),
            "entities": DATA / "entities_small.jsonl",
            "extraction": DATA / "extraction"}


def _drop(row: dict, field: str) -> dict:
    return {k: v for k, v in row.items() if k != field}


BAD = {   # failure class -> (command, lines, the message's tail)
    "not JSON": ("clustering", [CLUSTER_ROWS[0], "{oops"], "line 2: not JSON"),
    "not an object": ("clustering", [CLUSTER_ROWS[0], "[1, 2]"], "line 2: expected a JSON object, got a list"),
    "missing story": ("clustering", [CLUSTER_ROWS[0], _drop(CLUSTER_ROWS[1], "story")], "line 2: story: missing"),
    "missing published": ("clustering", [_drop(CLUSTER_ROWS[0], "published")], "line 1: published: missing"),
    "missing title": ("hashtags", [_drop(HASHTAG_ROWS[0], "title")], "line 1: title: missing"),
    "bad date": ("dedupe", [{**DEDUPE_ROWS[0], "published": "2026-13-45"}], "line 1: published: not an ISO 8601"),
    "duplicate id": ("summaries", [SUMMARY_ROWS[0], SUMMARY_ROWS[1], SUMMARY_ROWS[0]],
                     "line 3: id: duplicate 's1' (first on line 1)"),
    "keyphrases as a string": ("hashtags", [{**HASHTAG_ROWS[0], "keyphrases": "ferry strike"}],
                               "line 1: keyphrases: expected a list of strings, got a string"),
    "missing summary": ("summaries", [_drop(SUMMARY_ROWS[0], "summary")], "line 1: summary: missing"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_rows_exit_2_naming_file_line_and_field(tmp_path, case):
    command, lines, tail = BAD[case]
    for flags in ((), ("--json",)):
        result = _run(command, *flags, str(_write(tmp_path, lines, "bad.jsonl")))
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"eval: bad.jsonl {tail}"), result.stderr
        assert result.stdout == "" and "Traceback" not in result.output


@pytest.mark.parametrize("command", ["clustering", "dedupe", "hashtags", "summaries", "entities"])
def test_an_empty_file_is_an_error(tmp_path, command):
    result = _run(command, str(_write(tmp_path, ["", "  "], "empty.jsonl")))
    assert result.exit_code == 2
    assert result.stderr == "eval: empty.jsonl: no rows (the file is empty)\n"


def test_entities_bad_span_exits_2(tmp_path):
    row = {"text": "Mira Holt spoke.", "entities": [["Mira Holt", "person"]], "misc": [],
           "spans": [[0, 40, "person"]], "doc": 0, "sent": 0, "offset": 0}
    result = _run("entities", str(_write(tmp_path, [row], "ents.jsonl")))
    assert result.exit_code == 2 and result.stderr.startswith("eval: ents.jsonl line 1: spans: item 0:")


def test_extraction_bad_folder_exits_2(tmp_path):
    result = _run("extraction", str(tmp_path))
    assert result.exit_code == 2 and result.stderr.startswith("eval: "), result.output


@pytest.mark.parametrize("command", sorted(KEYS))
def test_json_is_one_object_with_the_documented_keys(tmp_path, command):
    result = _run(command, "--json", str(_inputs(tmp_path)[command]))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)                  # one object, nothing else on stdout
    assert isinstance(data, dict) and KEYS[command] <= set(data), sorted(data)
    assert isinstance(data["baseline"], dict) and data["baseline"]["name"]
    if command == "clustering":
        for side in (data, data["baseline"]):
            for scheme in ("bcubed", "pairwise"):
                assert set(side[scheme]) == {"precision", "recall", "f1"}
                assert all(0.0 <= v <= 1.0 for v in side[scheme].values())
    if command == "hashtags":
        assert data["baseline"]["name"] == "yake" and {"f1@5", "f1@10"} <= set(data["baseline"])
    if command == "summaries":
        assert data["baseline"]["name"] == "lead3" and {"rouge1", "rouge2", "rougeL"} <= set(data["baseline"])
    if command == "entities":
        assert set(data["per_type"]) >= {"person", "org", "place"}
    if command == "extraction":
        assert data["baseline"]["name"] == "trafilatura" and {"f1", "docs_per_s"} <= set(data["baseline"])


@pytest.mark.parametrize("command,metric", [("clustering", "bcubed_f1"), ("dedupe", "dedupe_f1"),
                                            ("hashtags", "f1@10"), ("summaries", "rouge2"),
                                            ("entities", "entities_f1"), ("extraction", "f1")])
def test_the_table_shows_the_baseline_beside_ours(tmp_path, command, metric):
    result = _run(command, str(_inputs(tmp_path)[command]))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].startswith("  baseline: ")
    header = next(line for line in lines if line.lstrip().startswith("metric"))
    assert header.split() == ["metric", "newsloom", "baseline", "published"]
    row = next(line for line in lines if line.split()[:1] == [metric]).split()
    assert len(row) == 4 and row[3] == "-"             # no published file here
    for value in row[1:3]:
        assert 0.0 <= float(value) <= 1.0


def test_clustering_baseline_separates_two_fictional_stories(tmp_path):
    data = json.loads(_run("clustering", "--json", str(_inputs(tmp_path)["clustering"])).stdout)
    assert data["baseline"]["bcubed"]["f1"] == 1.0 and data["baseline"]["stories_pred"] == 2
    assert data["baseline"]["name"] == "tfidf-average-linkage"


def test_published_reference_is_printed_beside(tmp_path):
    path = _inputs(tmp_path)["summaries"]
    (tmp_path / "summaries.reference.json").write_text('{"summaries": {"rouge2": 0.25, "note": "v1"}}')
    out = _run("summaries", str(path)).stdout
    row = next(line for line in out.splitlines() if line.split()[:1] == ["rouge2"]).split()
    assert float(row[3]) == 0.25 and "published note: v1" in out
