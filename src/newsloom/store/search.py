"""Store methods for full-text and hybrid search (mixed into Store): SQLite FTS5 and
PostgreSQL tsvector behind one interface."""

from __future__ import annotations


class SearchMixin:
    pass
