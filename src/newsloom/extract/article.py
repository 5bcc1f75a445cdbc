"""Full-text extraction of an article page -> :class:`~newsloom.models.Extracted`.

trafilatura finds the main text (dropping navigation, cookie banners, newsletter
boxes, sidebars and footers); the metadata (title, author, publication time, canonical
URL, language, site name, description) is read here from the page's <head>, JSON-LD and
<time> elements with lxml, faster than trafilatura's own metadata pass and exact where
the page says it.

Pure: HTML in, model out. Never raises on bad input: returns ``None``.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

from newsloom.models import Extracted

__all__ = ["extract_article", "MIN_TEXT_CHARS"]

log = logging.getLogger(__name__)

#: Below this many characters of body text a page is "not an article".
MIN_TEXT_CHARS = 200

_WS = re.compile(r"\s+")
_LANG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")

# <meta> keys (property= or name= or itemprop=) carrying the publication time, best first.
_PUBLISHED_KEYS = (
    "article:published_time", "og:article:published_time", "datepublished",
    "parsely-pub-date", "sailthru.date", "publish-date", "publish_date", "pubdate",
    "dc.date.issued", "dcterms.issued", "dcterms.created", "dc.date", "date",
)


def extract_article(html: bytes | str, url: str) -> Extracted | None:
    """Main text and metadata of the article page *html* fetched from *url*.

    Returns ``None`` when the page has no meaningful article text (fewer than
    :data:`MIN_TEXT_CHARS` characters) or cannot be parsed at all.
    """
    if not html:
        return None
    try:
        return _extract(html, url)
    except Exception as exc:  # garbage in, None out: extraction is best effort
        log.debug("extract: failed on %s: %s", url, exc)
        return None


def _extract(html: bytes | str, url: str) -> Extracted | None:
    import trafilatura

    tree = _parse_html(html)
    # The metadata is read from the page here (_Meta), not by trafilatura: its metadata pass
    # (htmldate's date search above all) cost about a third of the extraction time, and what it
    # finds we read ourselves (with the feed's own fields first anyway, tasks/pipeline.build_article).
    # The tree is not shared with trafilatura: it prunes the tree it is given, and its own parse
    # of the bytes gives the text it was tuned on.
    doc = trafilatura.bare_extraction(
        html,
        url=url or None,
        with_metadata=False,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        favor_precision=True,
    )
    if doc is None:
        return None
    data: dict[str, Any] = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)

    meta = _Meta(tree) if tree is not None else None
    title = meta.title() if meta else None
    text = _paragraphs(data.get("text") or "", title)
    if len(text) < MIN_TEXT_CHARS:
        return None
    if meta is None:
        return Extracted(text=text)
    return Extracted(
        text=text,
        title=title,
        author=meta.author(),
        published_at=meta.published_at(),
        canonical_url=meta.canonical_url(url),
        language=meta.language(),
        site_name=meta.first("og:site_name"),
        description=meta.first("description", "og:description"),
    )


def _paragraphs(text: str, title: str | None) -> str:
    """trafilatura's one-block-per-line text -> paragraphs separated by blank lines,
    without a leading repeat of the headline."""
    paras = [_WS.sub(" ", line).strip() for line in text.splitlines()]
    paras = [p for p in paras if p]
    if paras and title and _norm(paras[0]) == _norm(title):
        paras = paras[1:]
    return "\n\n".join(paras)


def _norm(s: str) -> str:
    return _WS.sub(" ", s).strip().casefold()


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = _WS.sub(" ", value).strip()
    return value or None


def _lang(value: Any) -> str | None:
    value = _clean(value)
    if not value or not _LANG.match(value):
        return None
    return value.replace("_", "-").lower()


def _parse_html(html: bytes | str) -> Any:
    import lxml.html

    try:
        if isinstance(html, str):
            try:
                return lxml.html.document_fromstring(html)
            except ValueError:  # str with an XML encoding declaration
                return lxml.html.document_fromstring(html.encode("utf-8"))
        return lxml.html.document_fromstring(html)
    except Exception:
        return None


def _parse_datetime(value: Any) -> datetime | None:
    """ISO 8601 / RFC 3339 (or a bare date) -> aware UTC datetime."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    # "+0200" -> "+02:00" for older Pythons' taste; 3.11 accepts both, be explicit
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        try:
            from email.utils import parsedate_to_datetime

            dt = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        return dt.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None


class _Meta:
    """Metadata read straight from the page's <head> (and JSON-LD)."""

    def __init__(self, tree: Any) -> None:
        self.tree = tree
        self.metas: dict[str, list[str]] = {}
        for el in tree.iter("meta"):
            key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
            content = el.get("content")
            if key and content is not None and content.strip():
                self.metas.setdefault(key, []).append(content.strip())
        self._jsonld: list[dict[str, Any]] | None = None

    def first(self, *keys: str) -> str | None:
        for key in keys:
            for value in self.metas.get(key, []):
                cleaned = _clean(value)
                if cleaned:
                    return cleaned
        return None

    def title(self) -> str | None:
        found = self.first("og:title", "twitter:title")
        if found:
            return found
        for el in self.tree.iter("title"):
            return _clean(el.text_content())
        return None

    def author(self) -> str | None:
        found = self.first("author", "article:author", "parsely-author", "sailthru.author")
        if found and not found.lower().startswith(("http://", "https://")):
            return found
        for obj in self.jsonld():
            author = obj.get("author")
            names = []
            for a in author if isinstance(author, list) else [author]:
                if isinstance(a, dict) and isinstance(a.get("name"), str):
                    names.append(a["name"].strip())
                elif isinstance(a, str):
                    names.append(a.strip())
            names = [n for n in names if n]
            if names:
                return ", ".join(names)
        return None

    def published_at(self) -> datetime | None:
        for key in _PUBLISHED_KEYS:
            for value in self.metas.get(key, []):
                dt = _parse_datetime(value)
                if dt is not None:
                    return dt
        for obj in self.jsonld():
            dt = _parse_datetime(obj.get("datePublished"))
            if dt is not None:
                return dt
        for el in self.tree.iter("time"):
            if (el.get("itemprop") or "").lower() == "datepublished" or el.get("pubdate") is not None:
                dt = _parse_datetime(el.get("datetime"))
                if dt is not None:
                    return dt
        return None

    def canonical_url(self, page_url: str) -> str | None:
        for el in self.tree.iter("link"):
            rel = {r.lower() for r in (el.get("rel") or "").split()}
            href = (el.get("href") or "").strip()
            if "canonical" in rel and href:
                resolved = _absolute(href, page_url)
                if resolved:
                    return resolved
        og = self.first("og:url")
        return _absolute(og, page_url) if og else None

    def language(self) -> str | None:
        root = self.tree.getroottree().getroot()
        lang = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
        return _lang(lang) or _lang(self.first("content-language", "og:locale", "dc.language", "language"))

    def jsonld(self) -> list[dict[str, Any]]:
        if self._jsonld is not None:
            return self._jsonld
        found: list[dict[str, Any]] = []
        for el in self.tree.iter("script"):
            if (el.get("type") or "").strip().lower() != "application/ld+json":
                continue
            try:
                data = json.loads(el.text or "")
            except ValueError:
                continue
            stack = [data]
            while stack and len(found) < 50:
                item = stack.pop(0)
                if isinstance(item, list):
                    stack.extend(item)
                elif isinstance(item, dict):
                    if "@graph" in item:
                        stack.extend(item["@graph"] if isinstance(item["@graph"], list) else [item["@graph"]])
                    kind = item.get("@type")
                    kinds = kind if isinstance(kind, list) else [kind]
                    if any(isinstance(k, str) and ("Article" in k or k in ("BlogPosting", "Report"))
                           for k in kinds):
                        found.append(item)
        self._jsonld = found
        return found


def _absolute(href: str, base: str) -> str | None:
    try:
        resolved = urljoin(base or "", href.strip())
        parts = urlsplit(resolved)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return resolved.split("#", 1)[0]
