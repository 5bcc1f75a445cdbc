"""Feed autodiscovery in an HTML page.

Pure: HTML in, absolute URLs out. No fetching here.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

__all__ = ["discover_feeds", "FEED_TYPES"]

FEED_TYPES: frozenset[str] = frozenset({
    "application/rss+xml", "application/atom+xml", "application/feed+json",
    "application/json", "application/rdf+xml", "application/x.atom+xml",
    "application/x-atom+xml", "application/x-rss+xml",
})
# Fallback <a href> targets when the page has no <link rel="alternate"> feed.
_FALLBACK_PATH = re.compile(r"(?:/feed/?|/rss/?|\.rss|\.xml|/atom/?|atom\.xml|\.atom|/feed\.json)$",
                            re.IGNORECASE)

_NOT_FEED = re.compile(r"(?:^|/)(?:sitemap[^/]*|robots|opensearch[^/]*|browserconfig|manifest)\.xml$",
                       re.IGNORECASE)


def discover_feeds(html: bytes | str, base_url: str) -> list[str]:
    """Feed URLs advertised by *html* (fetched from *base_url*), absolute, in
    document order, without duplicates.

    ``<link rel="alternate" type="application/rss+xml|atom+xml|feed+json|json">``
    first; only when there is none, ``<a href>`` links whose path ends in
    ``/feed``, ``/rss``, ``.rss``, ``.xml`` or ``atom.xml``. ``<base href>`` is honoured.
    """
    if not html:
        return []
    try:
        import lxml.html

        doc = lxml.html.document_fromstring(html if isinstance(html, bytes) else html.encode("utf-8"))
    except Exception:  # empty / unparseable
        return []

    base = base_url or ""
    for el in doc.iter("base"):
        href = (el.get("href") or "").strip()
        if href:
            base = urljoin(base, href)
            break

    found: list[str] = []
    seen: set[str] = set()

    def add(href: str | None) -> None:
        href = (href or "").strip()
        if not href or href.startswith("#"):
            return
        try:
            url = urljoin(base, href)
            parts = urlsplit(url)
        except ValueError:
            return
        if parts.scheme.lower() not in ("http", "https", "feed") or not parts.netloc:
            return
        if parts.scheme.lower() == "feed":  # feed://host/path -> https://host/path
            url = "https" + url[len("feed"):]
        url = url.split("#", 1)[0]
        if url not in seen:
            seen.add(url)
            found.append(url)

    for el in doc.iter("link"):
        rel = {r.lower() for r in (el.get("rel") or "").split()}
        kind = (el.get("type") or "").split(";")[0].strip().lower()
        if "alternate" in rel and kind in FEED_TYPES:
            href = el.get("href") or ""
            # WordPress advertises its REST API as rel=alternate application/json
            if kind == "application/json" and re.search(r"/wp-json/|oembed", href, re.IGNORECASE):
                continue
            add(href)
    if found:
        return found

    for el in doc.iter("a"):
        href = (el.get("href") or "").strip()
        if not href:
            continue
        try:
            path = urlsplit(urljoin(base, href)).path
        except ValueError:
            continue
        if _FALLBACK_PATH.search(path) and not _NOT_FEED.search(path):
            add(href)
    return found
