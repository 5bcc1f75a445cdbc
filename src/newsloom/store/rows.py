"""Rows to models and back: the two helpers every store module uses."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

import sqlalchemy as sa

__all__ = ["to_model", "values_of"]

T = TypeVar("T")


def to_model(cls: type[T], row: Any) -> T:
    """A dataclass from a result row (columns the dataclass lacks are ignored)."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in row._mapping.items() if k in names})


def values_of(obj: Any, table: sa.Table) -> dict[str, Any]:
    """A dataclass's fields that are columns of `table` (the id left out)."""
    cols = set(table.c.keys()) - {"id"}
    return {f.name: getattr(obj, f.name) for f in fields(obj) if f.name in cols}
