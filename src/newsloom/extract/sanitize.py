"""HTML sanitizing and HTML -> plain text.

Everything that came from a feed or a page and will ever be rendered as HTML goes
through :func:`sanitize_html` (an nh3/ammonia allow-list).  :func:`html_to_text`
turns a fragment into plain text, paragraphs separated by blank lines.

Pure: no I/O, no settings.
"""

from __future__ import annotations

import html as _html
import re

import nh3

__all__ = ["sanitize_html", "html_to_text", "ALLOWED_TAGS", "ALLOWED_ATTRIBUTES"]

ALLOWED_TAGS: frozenset[str] = frozenset({
    "p", "br", "a", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote",
    "h2", "h3", "h4", "h5", "h6", "pre", "code", "figure", "figcaption", "img",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
})

ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
}

# Dropped together with everything inside them (not just unwrapped).
_DROP_WITH_CONTENT: frozenset[str] = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
    "noscript", "template", "svg", "math", "form", "textarea", "select", "button",
    "head", "title", "meta", "link", "base",
})

_URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})
_LINK_REL = "noopener noreferrer nofollow"
_HTTP_URL = re.compile(r"^\s*https?://", re.IGNORECASE)


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    # Images only from absolute http(s) URLs: no data:, no relative, no other schemes.
    if tag == "img" and attr == "src":
        return value.strip() if _HTTP_URL.match(value) else None
    return value


def sanitize_html(html: str) -> str:
    """Return *html* reduced to a safe allow-list of tags and attributes.

    Links get ``rel="noopener noreferrer nofollow"``; script/style/iframe (with their
    content), event-handler attributes and ``javascript:`` URLs are removed.
    """
    if not html:
        return ""
    if not isinstance(html, str):  # defensive: bytes from a careless caller
        html = bytes(html).decode("utf-8", "replace")
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter,
        url_schemes=set(_URL_SCHEMES),
        link_rel=_LINK_REL,
        strip_comments=True,
    ).strip()


# --------------------------------------------------------------------------- text

_BLOCK_TAGS: frozenset[str] = frozenset({
    "p", "div", "section", "article", "main", "aside", "header", "footer", "nav",
    "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd",
    "blockquote", "pre", "figure", "figcaption", "table", "thead", "tbody", "tfoot",
    "tr", "caption", "hr", "address", "details", "summary", "body", "html",
})
_SKIP_TAGS: frozenset[str] = _DROP_WITH_CONTENT
_WS = re.compile(r"[ \t\r\f\v\n\u00a0]+")
_TAG = re.compile(r"<[^>]*>")


_LINE_BREAK = "\x00"  # <br> / newlines inside <pre>: survive whitespace collapsing


class _TextBuilder:
    def __init__(self) -> None:
        self.paragraphs: list[str] = []
        self._buf: list[str] = []

    def add(self, text: str | None, pre: bool = False) -> None:
        if text:
            text = text.replace(_LINE_BREAK, "")
            self._buf.append(text.replace("\n", _LINE_BREAK) if pre else text)

    def newline(self) -> None:
        self._buf.append(_LINE_BREAK)

    def flush(self) -> None:
        if not self._buf:
            return
        raw = "".join(self._buf)
        self._buf = []
        lines = [_WS.sub(" ", line).strip() for line in raw.split(_LINE_BREAK)]
        para = "\n".join(line for line in lines if line)
        if para:
            self.paragraphs.append(para)


def _walk(el, out: _TextBuilder, pre: bool = False) -> None:
    if not isinstance(el.tag, str) or el.tag.lower() in _SKIP_TAGS:
        # comments / processing instructions / dropped elements: keep only the tail
        out.add(el.tail, pre)
        return
    tag = el.tag.lower()
    block = tag in _BLOCK_TAGS
    inner_pre = pre or tag == "pre"
    if block:
        out.flush()
    if tag == "br":
        out.newline()
    elif tag in ("td", "th"):
        out.add(" ")
    out.add(el.text, inner_pre)
    for child in el:
        _walk(child, out, inner_pre)
    if block:
        out.flush()
    out.add(el.tail, pre)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: entities unescaped, paragraphs separated by
    a blank line, ``<br>`` kept as a single newline, scripts/styles dropped."""
    if not html:
        return ""
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    if "<" not in html and "&" not in html:
        return "\n\n".join(p for p in (_WS.sub(" ", x).strip() for x in re.split(r"\n\s*\n", html)) if p)
    try:
        import lxml.html

        try:
            root = lxml.html.document_fromstring(html)
        except ValueError:  # str with an XML encoding declaration
            root = lxml.html.document_fromstring(html.encode("utf-8"))
    except Exception:  # lxml.etree.ParserError ("Document is empty") and friends
        text = _html.unescape(_TAG.sub(" ", html))
        return _WS.sub(" ", text).strip()
    out = _TextBuilder()
    _walk(root, out)
    out.flush()
    return "\n\n".join(out.paragraphs)


def plain_line(html: str | None) -> str:
    """One-line plain text (titles): tags stripped, entities unescaped, whitespace
    collapsed."""
    if not html:
        return ""
    return _WS.sub(" ", html_to_text(html)).strip()
