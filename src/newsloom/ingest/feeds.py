"""Feed bytes -> :class:`~newsloom.models.ParsedFeed`.

RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 go through feedparser, JSON Feed 1.0/1.1 through
:mod:`json`. Before feedparser sees XML, the body is decoded here, expat reads its
prolog and refuses entity declarations, and feedparser gets a prolog rebuilt without
the document's DOCTYPE (see ``_safe_xml``). Every format is adapted here into plain
models: nothing downstream sees a feedparser dict.

Pure: bytes in, models out. No I/O, no settings.
"""

from __future__ import annotations

import calendar
import codecs
import html
import io
import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from email.message import Message
from typing import Any
from urllib.parse import urljoin
from xml.parsers import expat

import feedparser

from newsloom.errors import ParseError
from newsloom.extract.sanitize import plain_line, sanitize_html
from newsloom.ingest.urls import is_http_url
from newsloom.models import Entry, ParsedFeed

__all__ = ["parse_feed", "XXE_MESSAGE"]

XXE_MESSAGE = "parse: refused XML with entity declarations (possible XXE / entity expansion)"

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")


# --------------------------------------------------------------------------- entry point

def parse_feed(body: bytes, headers: Mapping[str, str] | None = None, base_url: str = "") -> ParsedFeed:
    """Parse RSS, Atom or JSON Feed *body*.

    *headers* are the HTTP response headers (content-type decides JSON and the
    charset); *base_url* is the URL the body was fetched from, used to resolve
    relative links.  Raises :class:`ParseError` ("parse: ...") for anything that is
    not a usable feed, including XML declaring entities (XXE / billion laughs).
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not body or not body.strip():
        raise ParseError("parse: not a feed: empty document")
    hdrs = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    ctype = hdrs.get("content-type", "").lower()

    stripped = _strip_bom(body).lstrip()
    if stripped[:1] in (b"{", b"[") or ("json" in ctype and not stripped.startswith(b"<")):
        return _parse_json_feed(body, base_url)
    return _parse_xml_feed(body, hdrs, base_url)


def _strip_bom(body: bytes) -> bytes:
    for bom in _BOMS:
        if body.startswith(bom):
            return body[len(bom):]
    return body


# --------------------------------------------------------------------------- XML
#
# Safety by construction: feedparser never sees the document's own prolog. The body is
# decoded here, an XML parser (expat) reads the prolog and refuses any entity
# declaration, and feedparser is given a prolog written here (the XML declaration and,
# for RSS 0.91 Netscape, a clean copy of that DOCTYPE) followed by the original text
# from the root element on. Whatever encoding a document claims, whatever its comments
# hold, no DOCTYPE internal subset reaches feedparser, so neither of its parsers can
# expand an entity the document defines (feedparser re-declares "safe" entities it finds
# with a pattern, comments included, for its loose parser). expat itself rather than
# defusedxml: its handlers give the byte offset of the root element and let us stop
# there, instead of building a tree of the whole document.

_PROLOG = '<?xml version="1.0" encoding="utf-8"?>'
# feedparser tells RSS 0.91 Netscape ("rss091n") from this DOCTYPE, so it is the one kept.
_NETSCAPE_DOCTYPE = ('<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
                     '"http://my.netscape.com/publish/formats/rss-0.91.dtd">')
# Byte order marks (UTF-32 before UTF-16: FF FE 00 00 starts with FF FE), then, without
# one, how a leading "<" looks in the wide encodings (after XML 1.0 Appendix F, which
# also expects the "?" of a declaration; a document may start with its root instead).
_BOM_CODECS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
               (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"), (b"\xef\xbb\xbf", "utf-8"))
_WIDE_SNIFF = ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
               (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le"))
# Only to read the declaration and cut it off; what the prolog means is expat's call.
_XML_DECL = re.compile(r"<\?xml[ \t\r\n].*?\?>", re.DOTALL)
_XML_DECL_BYTES = re.compile(rb"<\?xml[ \t\r\n].*?\?>", re.DOTALL)
_DECL_ENCODING = re.compile(rb"""<\?xml[ \t\r\n][^>]*?encoding[ \t\r\n]*=[ \t\r\n]*["']([A-Za-z][\w.:-]*)["']""")


class _RootFound(Exception):
    """Raised at the first start tag: every declaration a document can make came before it."""


def _codec(name: str | None) -> str | None:
    """Python's name for an encoding, or None for one it does not know (or not a text codec)."""
    if not name:
        return None
    try:
        info = codecs.lookup(name.strip())
    except LookupError:
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


def _decode_xml(body: bytes, http_charset: str | None) -> str:
    """The document as text: BOM, else the HTTP charset, else the declaration, else utf-8,
    else windows-1252 - the first of those that decodes strictly."""
    names: list[str | None] = []
    wide = None
    for marker, name in _BOM_CODECS:
        if body.startswith(marker):
            names.append(name)
            wide = name if name != "utf-8" else None
            body = body[len(marker):]
            break
    else:
        for marker, name in _WIDE_SNIFF:
            if body.startswith(marker):
                names.append(name)
                wide = name
                break
    declared = _DECL_ENCODING.match(body.lstrip(b" \t\r\n")) if wide is None else None
    names += [http_charset, declared.group(1).decode("ascii") if declared else None, "utf-8", "windows-1252"]
    for name in names:
        codec = _codec(name)
        # ASCII-compatible bytes that call themselves UTF-16/32 are lying (the
        # declaration could be read as ASCII); decoding them so would give noise.
        if codec is None or (wide is None and codec.startswith(("utf-16", "utf-32"))):
            continue
        try:
            return body.decode(codec)
        except (UnicodeError, ValueError, LookupError):
            continue
    # windows-1252 leaves five bytes undefined; a feed made of them is not one we can read
    return body.decode("utf-8", "replace")


def _read_prolog(doc: bytes) -> tuple[int, bool]:
    """(byte index of the root element's start tag, whether the DOCTYPE is RSS 0.91 Netscape).

    Raises ``ParseError(XXE_MESSAGE)`` at the first entity declaration or external entity
    reference, and :class:`expat.ExpatError` (with ``byte_index``) when the prolog is
    ill-formed. Parsing stops
    at the root element: nothing after it can declare an entity.
    """
    parser = expat.ParserCreate()
    netscape = False

    def refuse(*_args: Any) -> None:
        raise ParseError(XXE_MESSAGE)

    def doctype(_name: str, system_id: str | None, public_id: str | None, _subset: int) -> None:
        nonlocal netscape
        netscape = "netscape" in f"{public_id or ''} {system_id or ''}".lower()

    def start(_name: str, _attrs: Any) -> None:
        raise _RootFound(parser.CurrentByteIndex)

    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = start
    try:
        parser.Parse(doc, True)
    except _RootFound as found:
        return found.args[0], netscape
    except expat.ExpatError as exc:
        exc.byte_index = parser.ErrorByteIndex  # where it stopped, for the caller
        raise
    # expat reports "no element found" for a document without one, so this is not reached
    raise ParseError("parse: not a feed: no root element")  # pragma: no cover


def _safe_xml(body: bytes, content_type: str) -> tuple[bytes, str]:
    """(UTF-8 document with a rebuilt prolog, matching content-type) for feedparser.

    Raises ``ParseError(XXE_MESSAGE)`` for entity declarations or external entity
    references, and ``ParseError("parse: not a feed: ...")`` when the prolog is
    ill-formed (expat stopped before the root, so safety cannot be decided). Errors
    after the root element are not ours to judge: feedparser's loose parser gets the
    body. A plain DOCTYPE (with an external DTD that is never fetched) is allowed.
    """
    header = Message()
    header["content-type"] = content_type
    media = header.get_content_type() if "/" in content_type else "application/xml"
    text = _decode_xml(body, header.get_content_charset())

    text = text.lstrip("\ufeff \t\r\n")
    decl = _XML_DECL.match(text)
    if decl:
        text = text[decl.end():]
    doc = (_PROLOG + text).encode("utf-8", "replace")

    for attempt in range(2):
        try:
            root, netscape = _read_prolog(doc)
            break
        except expat.ExpatError as exc:
            # a declaration after a leading comment is ill-formed but not rare in the wild
            # (feedparser took it): cut it out where expat found it and read once more
            cut = _XML_DECL_BYTES.match(doc, exc.byte_index) if attempt == 0 and \
                exc.code == expat.errors.codes[expat.errors.XML_ERROR_MISPLACED_XML_PI] else None
            if cut is None:
                raise ParseError("parse: not a feed: ill-formed XML before the root element "
                                 f"({expat.ErrorString(exc.code)})") from None
            doc = doc[:cut.start()] + doc[cut.end():]

    prolog = _PROLOG + "\n" + (_NETSCAPE_DOCTYPE + "\n" if netscape else "")
    return prolog.encode("ascii") + doc[root:], f"{media}; charset=utf-8"


def _parse_xml_feed(body: bytes, hdrs: dict[str, str], base_url: str) -> ParsedFeed:
    document, content_type = _safe_xml(body, hdrs.get("content-type", ""))

    response_headers = dict(hdrs)
    response_headers["content-type"] = content_type  # the charset of the bytes feedparser gets
    if base_url:
        loc = response_headers.get("content-location")
        response_headers["content-location"] = urljoin(base_url, loc) if loc else base_url
    # A stream, never bytes/str: feedparser would treat those as a path or URL to open.
    try:
        d = feedparser.parse(io.BytesIO(document), response_headers=response_headers,
                             resolve_relative_uris=True, sanitize_html=False)
    except Exception as exc:  # pragma: no cover - feedparser is meant not to raise
        raise ParseError(f"parse: not a feed: {exc}") from exc

    fd = d.get("feed", {}) or {}
    raw_entries = d.get("entries", []) or []
    version = d.get("version", "") or ""
    feed_title = plain_line(fd.get("title")) or None
    if not raw_entries and not feed_title and (d.get("bozo") or not version):
        why = d.get("bozo_exception") or "no RSS, RDF or Atom root element"
        raise ParseError(f"parse: not a feed: {_short(why)}")

    base = base_url or fd.get("link") or ""
    site_url = _abs(fd.get("link"), base_url)
    if not is_http_url(site_url):
        site_url = None
    language = _lang(fd.get("language")) or _lang((fd.get("title_detail") or {}).get("language")) \
        or _lang(hdrs.get("content-language"))

    # Atom entries inherit the feed's <author>; RSS managingEditor is not a byline.
    feed_author = None
    if version.startswith("atom"):
        feed_author = _s((fd.get("author_detail") or {}).get("name")) or _s(fd.get("author"))

    entries: list[Entry] = []
    for e in raw_entries:
        entry = _adapt_entry(e, base, language, feed_author)
        if entry is not None:
            entries.append(entry)

    return ParsedFeed(
        title=feed_title,
        site_url=site_url,
        language=language,
        entries=entries,
        ttl_minutes=_ttl(fd.get("ttl")),
        format=version or "unknown",
    )


def _adapt_entry(e: Mapping[str, Any], base: str, feed_language: str | None,
                 inherited_author: str | None = None) -> Entry | None:
    guid = _s(e.get("id"))
    link = _abs(e.get("link"), base)
    if not is_http_url(link):
        # <link rel="alternate" ...> in e.links, then a permalink-looking guid
        link = None
        for candidate in e.get("links", []) or []:
            href = _abs(candidate.get("href"), base)
            if candidate.get("rel", "alternate") == "alternate" and is_http_url(href):
                link = href
                break
        if link is None and is_http_url(guid):  # only an absolute URL is a usable id
            link = guid
    if not link:
        return None

    title = _title(e.get("title"), e.get("title_detail"))

    author = None
    detail = e.get("author_detail") or {}
    if detail.get("name"):
        author = _s(detail.get("name"))
    elif e.get("author"):
        author = _s(e.get("author"))
    if not author and inherited_author:
        author = inherited_author
    if author:
        author = plain_line(author) or None

    published = _struct_to_dt(e.get("published_parsed")) or _struct_to_dt(e.get("updated_parsed"))

    summary_html = None
    raw_summary = e.get("summary")
    if raw_summary:
        summary_html = _as_html(raw_summary, (e.get("summary_detail") or {}).get("type"))

    content_html = None
    contents = e.get("content") or []
    chosen = None
    for c in contents:  # prefer an HTML flavour, else whatever comes first
        if (c.get("type") or "").lower() in _HTML_TYPES or "html" in (c.get("type") or "").lower():
            chosen = c
            break
    if chosen is None and contents:
        chosen = contents[0]
    if chosen is not None and chosen.get("value"):
        content_html = _as_html(chosen.get("value"), chosen.get("type"))

    language = (_lang(e.get("language"))
                or _lang((chosen or {}).get("language"))
                or _lang((e.get("summary_detail") or {}).get("language"))
                or _lang((e.get("title_detail") or {}).get("language"))
                or feed_language)

    return Entry(
        link=link,
        guid=guid or link,
        title=title,
        author=author,
        published_at=published,
        summary=summary_html or None,
        content=content_html or None,
        language=language,
    )


# --------------------------------------------------------------------------- JSON Feed

def _parse_json_feed(body: bytes, base_url: str) -> ParsedFeed:
    try:
        doc = json.loads(_strip_bom(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ParseError(f"parse: not a feed: invalid JSON: {_short(exc)}") from None
    if not isinstance(doc, dict):
        raise ParseError("parse: not a feed: JSON document is not an object")
    version = str(doc.get("version") or "")
    items = doc.get("items")
    if "jsonfeed.org/version/1.1" in version:
        fmt = "json11"
    elif "jsonfeed.org/version/1" in version:
        fmt = "json10"
    elif isinstance(items, list):
        fmt = "json10"  # version missing but shaped like a JSON Feed
    else:
        raise ParseError("parse: not a feed: JSON without a jsonfeed.org version or items")
    if not isinstance(items, list):
        items = []

    feed_url = _s(doc.get("feed_url"))
    base = base_url or (feed_url if is_http_url(feed_url) else "") or ""
    site_url = _abs(doc.get("home_page_url"), base)
    feed_language = _lang(doc.get("language"))
    feed_authors = _json_authors(doc)

    entries: list[Entry] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        item_base = site_url or base
        link = None
        for key in ("url", "external_url"):
            candidate = _abs(item.get(key), base or item_base)
            if is_http_url(candidate):
                link = candidate
                break
        guid = _s(item.get("id")) if item.get("id") is not None else None
        if guid is not None and not isinstance(item.get("id"), str):
            guid = str(item.get("id"))
        if link is None and guid and is_http_url(guid):
            link = guid
        if link is None:
            continue

        content_html = None
        if isinstance(item.get("content_html"), str) and item["content_html"].strip():
            content_html = sanitize_html(_resolve_html(item["content_html"], link)) or None
        elif isinstance(item.get("content_text"), str) and item["content_text"].strip():
            content_html = _text_to_html(item["content_text"])
        summary_html = None
        if isinstance(item.get("summary"), str) and item["summary"].strip():
            summary_html = _text_to_html(item["summary"])  # JSON Feed summary is plain text

        authors = _json_authors(item) or feed_authors
        published = _iso_to_dt(item.get("date_published")) or _iso_to_dt(item.get("date_modified"))
        title = plain_line(item["title"]) if isinstance(item.get("title"), str) else ""
        entries.append(Entry(
            link=link,
            guid=guid or link,
            title=title or None,
            author=", ".join(authors) if authors else None,
            published_at=published,
            summary=summary_html,
            content=content_html,
            language=_lang(item.get("language")) or feed_language,
        ))

    title = plain_line(doc["title"]) if isinstance(doc.get("title"), str) else ""
    return ParsedFeed(title=title or None, site_url=site_url, language=feed_language,
                      entries=entries, ttl_minutes=None, format=fmt)


def _json_authors(obj: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    raw = obj.get("authors")
    if not isinstance(raw, list):
        raw = [obj.get("author")] if obj.get("author") else []
    for a in raw:
        if isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"].strip():
            names.append(plain_line(a["name"]))
        elif isinstance(a, str) and a.strip():
            names.append(plain_line(a))
    return [n for n in names if n]


_HREF_SRC = re.compile(r"""(\s(?:href|src)\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def _resolve_html(fragment: str, base: str) -> str:
    """Make href/src attributes absolute (feedparser does this for XML feeds)."""
    if not base:
        return fragment

    def repl(m: re.Match[str]) -> str:
        value = html.unescape(m.group(3)).strip()
        if value.startswith("#") or ":" in value.split("/", 1)[0]:
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}{html.escape(urljoin(base, value), quote=True)}{m.group(2)}"

    return _HREF_SRC.sub(repl, fragment)


# --------------------------------------------------------------------------- helpers

def _s(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _abs(url: Any, base: str | None) -> str | None:
    url = _s(url)
    if not url:
        return None
    if base:
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    return url


def _lang(value: Any) -> str | None:
    value = _s(value)
    if not value:
        return None
    value = value.replace("_", "-")
    if not re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", value):
        return None
    return value.lower()


def _ttl(value: Any) -> int | None:
    try:
        ttl = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return ttl if ttl > 0 else None


_HTML_TAG = re.compile(
    r"</?(?:a|abbr|b|big|br|cite|code|del|div|em|font|i|img|ins|kbd|mark|p|q|s|small|span|"
    r"strike|strong|sub|sup|time|u|wbr)(?:\s[^>]*)?/?>",
    re.IGNORECASE,
)


def _title(value: Any, detail: Mapping[str, Any] | None) -> str | None:
    """Plain-text title: tags stripped, entities unescaped, whitespace collapsed."""
    value = _s(value)
    if not value:
        return None
    kind = ((detail or {}).get("type") or "").lower()
    if kind == "text/plain":
        # feedparser already unescaped it once. A literal "<erwartet>" in a text title
        # is text; only real HTML tags (double-escaped markup) and entities go.
        text = html.unescape(_HTML_TAG.sub("", value))
        return re.sub(r"\s+", " ", text).strip() or None
    return plain_line(value) or None


def _as_html(value: str, kind: str | None) -> str | None:
    kind = (kind or "").lower()
    if kind == "text/plain":
        return _text_to_html(value)
    return sanitize_html(value) or None


def _text_to_html(text: str) -> str | None:
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if not paras:
        return None
    return "".join("<p>" + html.escape(p, quote=False).replace("\n", "<br>") + "</p>" for p in paras)


def _struct_to_dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(tuple(value)[:6] + (0, 0, 0)), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _iso_to_dt(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return _struct_to_dt(_feedparser_date(value))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _feedparser_date(value: str) -> Any:
    try:
        from feedparser.datetimes import _parse_date
    except ImportError:  # pragma: no cover - feedparser internals moved
        return None
    try:
        return _parse_date(value)
    except Exception:
        return None


def _short(exc: Any, limit: int = 200) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
