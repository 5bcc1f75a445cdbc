"""Extraction: article pages -> :class:`~newsloom.models.Extracted`, plus HTML
sanitizing.  ``extract_article`` is imported lazily (trafilatura is slow to import)."""

from __future__ import annotations

from typing import Any

from newsloom.extract.sanitize import html_to_text, sanitize_html

__all__ = ["extract_article", "sanitize_html", "html_to_text"]


def __getattr__(name: str) -> Any:
    if name == "extract_article":
        from newsloom.extract.article import extract_article

        return extract_article
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
