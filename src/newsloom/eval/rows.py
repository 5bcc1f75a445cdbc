"""The one reader of evaluation rows: JSONL in, checked dicts out, or one clear error.

Every ``newsloom eval`` command reads its input here, so a bad row fails the same way
everywhere: an :class:`EvalInputError` whose message names the file, the line and the
field ("eval: dev.jsonl line 7: published: not an ISO 8601 time: 'soon'"). The command
prints it and exits with status 2. A file without rows is an error too: scoring nothing
would print perfect figures.

Field kinds (the values of a *spec*):

* ``"str"`` - a non-empty string; ``"str?"`` - a string that may be missing, null or empty
  (all three are stored as None, so "no value" has one spelling downstream);
* ``"text"`` - a string that must be present and may be empty;
* ``"datetime"`` - an ISO 8601 string, stored as an aware UTC ``datetime`` (naive = UTC);
* ``"list[str]"`` - a JSON list of strings; a bare string is an error, never a list of
  its characters;
* ``"int"`` - an integer (not a boolean);
* ``"spans"`` - ``[[start, end, kind], ...]``, integer offsets with
  ``0 <= start < end <= len(text)`` in the row's ``text`` and a string kind;
* ``"any"`` - present, any JSON value.

Fields outside the spec are kept as they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timezone
from pathlib import Path

from newsloom.errors import NewsloomError
from newsloom.models import parse_utc

__all__ = ["EvalInputError", "read_rows", "KINDS"]

KINDS = ("str", "str?", "text", "datetime", "list[str]", "int", "spans", "any")


class EvalInputError(NewsloomError):
    """An evaluation input that cannot be scored as it is (bad row, empty file)."""

    code = "invalid"


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _check(value: object, kind: str, row: Mapping) -> tuple[object, str | None]:
    """(the stored value, None) or (None, what is wrong)."""
    if kind == "any":
        return value, None
    if kind in ("str", "text", "str?"):
        if value is None and kind == "str?":
            return None, None
        if not isinstance(value, str):
            return None, f"expected a string, got {_type_name(value)}"
        if not value.strip():
            if kind == "str":
                return None, "empty"
            if kind == "str?":
                return None, None
        return value, None
    if kind == "datetime":
        if not isinstance(value, str):
            return None, f"expected an ISO 8601 time string, got {_type_name(value)}"
        try:
            when = parse_utc(value)
        except ValueError as exc:
            return None, str(exc)
        if when is None:
            return None, "empty"
        return when.astimezone(timezone.utc), None
    if kind == "list[str]":
        if not isinstance(value, list):
            return None, f"expected a list of strings, got {_type_name(value)}"
        for i, item in enumerate(value):
            if not isinstance(item, str):
                return None, f"item {i}: expected a string, got {_type_name(item)}"
        return value, None
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"expected an integer, got {_type_name(value)}"
        return value, None
    if kind == "spans":
        if not isinstance(value, list):
            return None, f"expected a list of [start, end, kind], got {_type_name(value)}"
        text = row.get("text")
        size = len(text) if isinstance(text, str) else None
        for i, span in enumerate(value):
            if not (isinstance(span, list) and len(span) == 3):
                return None, f"item {i}: expected [start, end, kind]"
            start, end, label = span
            if any(isinstance(x, bool) or not isinstance(x, int) for x in (start, end)):
                return None, f"item {i}: start and end must be integers"
            if not isinstance(label, str):
                return None, f"item {i}: kind must be a string"
            if size is None:
                return None, "spans need a string text field"
            if not 0 <= start < end <= size:
                return None, f"item {i}: [{start}, {end}] is not inside the text (length {size})"
        return value, None
    raise ValueError(f"eval: unknown field kind {kind!r}")   # a bug in a spec, not in the input


def read_rows(path: Path, spec: Mapping[str, str], *, key: str | None = "id") -> list[dict]:
    """Read the JSONL file *path*, checking each row against *spec* (field -> kind).

    Blank lines are skipped. A line that is not JSON, not an object, lacks a required
    field or has a value of the wrong kind raises :class:`EvalInputError` naming the file,
    the line and the field. When *key* is given it is a required ``"str"`` field (unless
    the spec says otherwise) and must be unique: a repeat names both lines. A file with no
    rows is an error. Extra fields are kept.
    """
    path = Path(path)
    for kind in spec.values():
        if kind not in KINDS:
            raise ValueError(f"eval: unknown field kind {kind!r}")
    fields = dict(spec)
    if key is not None:
        fields.setdefault(key, "str")
    name = path.name
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvalInputError(f"eval: {name}: no such file") from None
    except IsADirectoryError:
        raise EvalInputError(f"eval: {name}: is a folder, not a JSONL file") from None
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"eval: {name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    rows: list[dict] = []
    seen: dict[object, int] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"eval: {name} line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalInputError(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(row, dict):
            raise EvalInputError(f"{where}: expected a JSON object, got {_type_name(row)}")
        for field, kind in fields.items():
            if field not in row:
                if kind == "str?":
                    row[field] = None
                    continue
                raise EvalInputError(f"{where}: {field}: missing")
            value, problem = _check(row[field], kind, row)
            if problem:
                raise EvalInputError(f"{where}: {field}: {problem}")
            row[field] = value
        if key is not None:
            k = row[key]
            k = k if isinstance(k, (str, int, float, type(None))) else json.dumps(k, sort_keys=True)
            if k in seen:
                raise EvalInputError(f"{where}: {key}: duplicate {k!r} (first on line {seen[k]})")
            seen[k] = number
        rows.append(row)
    if not rows:
        raise EvalInputError(f"eval: {name}: no rows (the file is empty)")
    return rows
