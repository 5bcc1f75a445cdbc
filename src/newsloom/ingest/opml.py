"""OPML subscription lists: import (nested outlines -> flat feeds with a category)
and export (OPML 2.0 that round-trips through :func:`parse_opml`).

Pure: bytes in, models out. Parsed with defusedxml (no entities, no external refs).
Parsing keeps every URL as written (tasks/jobs.py import_opml refuses and reports those
that are not http(s)); export writes only http(s) ones, as other readers link them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any, Protocol
from xml.etree.ElementTree import Element, ParseError as XMLSyntaxError, SubElement, indent, tostring

import defusedxml
import defusedxml.ElementTree as DET

from newsloom.errors import ParseError
from newsloom.ingest.urls import http_url

__all__ = ["OpmlFeed", "parse_opml", "export_opml"]


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str | None = None
    site_url: str | None = None
    category: str | None = None      # "News/Local" for nested folders, None at top level


class _FeedLike(Protocol):
    url: str
    title: str | None
    site_url: str | None


_XXE_MESSAGE = "parse: refused XML with entity declarations (possible XXE / entity expansion)"
_FEED_TYPES = {"rss", "atom", "json", "jsonfeed", "rdf", "feed", ""}


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _attr(el: Element, *names: str) -> str | None:
    lowered = {k.rsplit("}", 1)[-1].lower(): v for k, v in el.attrib.items()}
    for name in names:
        value = lowered.get(name.lower())
        if value is not None and value.strip():
            return value.strip()
    return None


def parse_opml(body: bytes) -> list[OpmlFeed]:
    """Every feed outline (one with ``xmlUrl``) of an OPML document, in document order.

    Folder outlines (no ``xmlUrl``) become the category of what they contain, joined
    with "/" when nested. Duplicate URLs keep their first occurrence. Raises
    :class:`ParseError` for anything that is not OPML or declares entities.
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not body or not body.strip():
        raise ParseError("parse: not OPML: empty document")
    try:
        root = DET.fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden,
            defusedxml.DTDForbidden, defusedxml.NotSupportedError) as exc:
        raise ParseError(_XXE_MESSAGE) from exc
    except (XMLSyntaxError, ValueError) as exc:
        raise ParseError(f"parse: not OPML: {exc}") from None
    if _local(root.tag) != "opml":
        raise ParseError(f"parse: not OPML: root element is <{_local(root.tag) or '?'}>")
    body_el = next((c for c in root if _local(c.tag) == "body"), None)
    if body_el is None:
        raise ParseError("parse: not OPML: no <body>")

    feeds: list[OpmlFeed] = []
    seen: set[str] = set()

    def walk(parent: Element, path: tuple[str, ...]) -> None:
        for el in parent:
            if _local(el.tag) != "outline":
                continue
            url = _attr(el, "xmlUrl", "xmlurl", "url") if _is_feed(el) else None
            label = _attr(el, "title", "text")
            if url:
                if url not in seen:
                    seen.add(url)
                    feeds.append(OpmlFeed(
                        url=url,
                        title=label if label != url else None,  # export's placeholder
                        site_url=_attr(el, "htmlUrl"),
                        category="/".join(path) or _category_attr(el),
                    ))
                # a feed outline's children (rare) stay in the same category
                walk(el, path)
            else:
                walk(el, path + ((label,) if label else ()))

    walk(body_el, ())
    return feeds


def _category_attr(el: Element) -> str | None:
    """OPML 2.0 ``category="/News/Local,/Other"``: the first path, without slashes."""
    raw = _attr(el, "category")
    if not raw:
        return None
    first = raw.split(",")[0].strip().strip("/")
    return first or None


def _is_feed(el: Element) -> bool:
    if _attr(el, "xmlUrl") is not None:
        return True
    # Some exporters write url= with type="rss"; a plain type="link" is a bookmark.
    kind = (_attr(el, "type") or "").lower()
    return _attr(el, "url") is not None and kind in _FEED_TYPES - {""}


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(value: Any) -> str:
    """Text safe for an XML attribute (control characters are not allowed in XML 1.0)."""
    return _XML_INVALID.sub("", str(value)).strip()


def export_opml(feeds: Iterable[_FeedLike], title: str = "newsloom feeds") -> bytes:
    """OPML 2.0 document listing *feeds* (anything with ``.url``, ``.title``,
    ``.site_url``; a ``.category`` attribute, when present, becomes a folder). A feed whose
    URL is not http(s) (a row stored by an older version) is left out, and so is such a
    site URL: the reader that imports the file would show them as links."""
    root = Element("opml", {"version": "2.0"})
    head = SubElement(root, "head")
    SubElement(head, "title").text = _clean(title)
    SubElement(head, "dateCreated").text = format_datetime(datetime.now(timezone.utc), usegmt=True)
    body = SubElement(root, "body")
    folders: dict[str, Element] = {}
    for feed in feeds:
        url = http_url(_clean(getattr(feed, "url", None) or ""))
        if not url:
            continue
        label = _clean(getattr(feed, "title", None) or "")
        attrs = {"type": "rss", "text": label or url}  # text is required: URL as placeholder
        if label:
            attrs["title"] = label
        attrs["xmlUrl"] = url
        site = http_url(_clean(getattr(feed, "site_url", None) or ""))
        if site:
            attrs["htmlUrl"] = site
        parent = body
        category = getattr(feed, "category", None)
        if category:
            path = ""
            for part in [p.strip() for p in _clean(category).split("/") if p.strip()]:
                path = f"{path}/{part}"
                if path not in folders:
                    folders[path] = SubElement(parent, "outline", {"text": part, "title": part})
                parent = folders[path]
        SubElement(parent, "outline", attrs)
    indent(root, space="  ")
    xml = tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + xml + b"\n"
