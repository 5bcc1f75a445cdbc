"""Persistence. The app sees one Store object; SQLite and PostgreSQL sit behind it."""

from .base import Store, open_store

__all__ = ["Store", "open_store"]
