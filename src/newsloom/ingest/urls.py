"""URL canonicalisation: one article, one URL, whatever tracking junk was appended; and
the one rule for which URLs newsloom keeps: http and https only.

A feed or article URL is shown as a link, so a ``javascript:`` or ``data:`` one would run
script on the site when clicked, and ``file:`` or ``gopher:`` ones are never fetchable.
Every edge that takes a URL from a person or a file (``feeds add``, OPML and JSONL
imports) calls :func:`require_http_url`; the store refuses the rest (store/feeds.py,
store/articles.py); pages, Atom and the API link only what :func:`http_url` returns,
so rows stored by an older version cannot become script links either.

Pure: no I/O, no settings.
"""

from __future__ import annotations

from urllib.parse import quote, unquote_plus, urljoin, urlsplit, urlunsplit

from newsloom.errors import NewsloomError

__all__ = ["canonical_url", "host_of", "is_http_url", "http_url", "require_http_url",
           "TRACKING_PARAMS", "TRACKING_PREFIXES"]

#: Query parameters that only identify a campaign/click, never the document.
TRACKING_PARAMS: frozenset[str] = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid",
    "igshid", "yclid", "_hsenc", "_hsmi", "__hssc", "__hstc", "__hsfp", "hsctatracking",
    "ref_src", "ref_url", "cmpid", "at_medium", "at_campaign", "at_custom1", "at_custom2",
    "at_custom3", "at_custom4", "ocid", "ncid", "sr_share", "mkt_tok", "vero_conv",
    "vero_id", "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid", "twclid", "ttclid",
    "li_fat_id", "_ga", "_gl", "spm", "share_id", "xtor",
})
#: Any parameter starting with one of these is tracking too (utm_source, utm_medium, ...).
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "matomo_")

_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}
# Characters left alone when re-quoting a path (RFC 3986 pchar + "/" + "%").
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def _is_tracking(name: str) -> bool:
    key = name.strip().lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _idna_host(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    if not host or host.startswith("["):  # IPv6 literal
        return host
    try:
        host.encode("ascii")
        return host
    except UnicodeEncodeError:
        pass
    labels = []
    for label in host.split("."):
        try:
            label.encode("ascii")
            labels.append(label)
        except UnicodeEncodeError:
            try:
                labels.append(label.encode("idna").decode("ascii"))
            except UnicodeError:
                labels.append("xn--" + label.encode("punycode").decode("ascii"))
    return ".".join(labels)


def canonical_url(url: str, base: str | None = None) -> str:
    """Canonical form of *url* (resolved against *base* when given).

    Lower-cases scheme and host, IDNA-encodes the host, drops default (and invalid)
    ports, percent-encodes unsafe path characters, drops the fragment, removes tracking
    query parameters (``utm_*``, ``fbclid``, ... see :data:`TRACKING_PARAMS`) while
    keeping the others in their order, turns an empty path into ``/`` and never
    leaves a dangling ``?``.
    """
    url = (url or "").strip()
    if base:
        url = urljoin(base.strip(), url)
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: leave it, minus the fragment
        return url.partition("#")[0]
    try:
        port = parts.port
    except ValueError:  # port out of range / not a number: drop it
        port = None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "ftp", "ws", "wss") or not parts.hostname:
        # mailto:, urn:, relative leftovers ... only drop the fragment
        return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))

    host = _idna_host(parts.hostname)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    netloc = host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    if userinfo:
        netloc = f"{userinfo}@{netloc}"

    path = quote(parts.path, safe=_PATH_SAFE) or "/"

    # Filter the raw "k=v" segments so kept parameters keep their exact encoding.
    kept = []
    for segment in parts.query.split("&"):
        if not segment:
            continue
        name = unquote_plus(segment.partition("=")[0])
        if not _is_tracking(name):
            kept.append(segment)
    query = "&".join(kept)
    return urlunsplit((scheme, netloc, path, query, ""))


def host_of(url: str) -> str:
    """Lower-case (IDNA) host of *url* without port or ``www.``-stripping; '' if none."""
    try:
        host = urlsplit((url or "").strip()).hostname or ""
    except ValueError:
        return ""
    return _idna_host(host)


def is_http_url(url: str | None) -> bool:
    """True for an absolute http(s) URL with a host.

    The scheme is read as a browser reads it: urlsplit, like the WHATWG URL parser, drops
    leading control characters and spaces and every tab and newline, and scheme names are
    case-insensitive, so " JaVaScRiPt:", "java\\tscript:" and "\\x01javascript:" are all
    ``javascript`` here too, never http.
    """
    if not isinstance(url, str) or not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def http_url(url: object) -> str | None:
    """*url* (without surrounding whitespace) when it is an http(s) URL, else None: what
    may become a link (the ``http_url`` filter of the templates, Atom, the API)."""
    return url.strip() if isinstance(url, str) and is_http_url(url) else None


# ASCII control characters: a browser drops some of them silently (a tab inside a scheme),
# so a URL carrying one is not the URL a person sees; none belongs in a URL someone typed.
_CONTROL = frozenset(map(chr, range(0x20))) | {"\x7f"}


def require_http_url(url: object, component: str) -> str:
    """*url* without surrounding whitespace, or a :class:`NewsloomError` (code ``invalid``)
    whose message starts with *component*, for anything that is not an absolute http(s)
    URL with a host or that contains control characters. For every edge that takes a URL."""
    text = url.strip() if isinstance(url, str) else ""
    if not text or not is_http_url(text) or _CONTROL.intersection(text):
        shown = repr(url)
        if len(shown) > 200:
            shown = shown[:200] + "..."
        raise NewsloomError(f"{component}: refused {shown}: only http and https URLs are allowed",
                            code="invalid")
    return text
