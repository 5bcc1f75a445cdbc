"""Conditional GET and the anonymous page cache: one ASGI middleware for every page and API call.

**Validators.** A GET answered 200 with HTML, JSON or Atom gets

* ``ETag``: strong, a hash of the viewer and the body. The body already differs per viewer
  (account links, CSRF tokens, hidden comments a moderator sees); hashing the viewer in as
  well means a signed-in reader never matches an anonymous reader's ETag, or another
  reader's, even where two bodies happen to be equal;
* ``Last-Modified``: the data's own time, declared by the route with :func:`last_modified`
  (a story's ``last_seen_at``, its insights' ``built_at``, its newest comment; the newest
  article on a list). Sent to anonymous readers only (a signed-in page also depends on who
  is reading, which a date cannot say), and only once that time is a whole second old: two
  changes within one second would otherwise share a date (RFC 9110, 8.8.2.2);
* ``Vary: Cookie`` and, unless the route chose its own, ``Cache-Control: no-cache``
  (``private, no-cache`` for a signed-in reader): caches revalidate every time.

A matching ``If-None-Match`` is answered ``304 Not Modified``; so is ``If-Modified-Since``
when no ``If-None-Match`` was sent and the declared data time is not newer. The page is
rendered either way (the ETag is the body's); a 304 saves the transfer, not the work.

Changes that carry no time of their own (a moderator hiding a comment, an author deleting
the newest comment, related articles found for an older article) do not move
``Last-Modified``; they change the body, hence the ETag, so browsers (which send
``If-None-Match``) see them at once, while a client that only sends ``If-Modified-Since``
sees them with the next timed change.

**Anonymous page cache.** A request without a session cookie or an ``Authorization`` header
may be answered from a small in-process cache keyed by scheme, host, path and query, for
``page_cache_seconds`` (``NEWSLOOM_PAGE_CACHE_SECONDS``; 0 turns it off). It applies to every
page and API response equally: any anonymous 200 with a body as above, unless the response
sets a cookie, carries ``Cache-Control: no-store`` or ``private``, or used the reader's CSRF
token. How stale: a write through this process (any POST, PATCH, PUT or DELETE) empties the
cache at once; writes by the pipeline, the CLI or another web process are visible within
``page_cache_seconds``. Concurrent misses on one key wait for the first render instead of
rendering it again. Requests from signed-in readers never touch it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Awaitable, Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request, cookie_parser

from ..models import utcnow
from .auth import SESSION_COOKIE

__all__ = ["last_modified", "ConditionalGet", "PageCache"]

Scope = dict[str, Any]
Message = dict[str, Any]
Send = Callable[[Message], Awaitable[None]]

_TYPES = (b"text/html", b"application/json", b"application/atom+xml")
_SKIP = ("/static/", "/healthz", "/readyz")
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def last_modified(request: Request, *times: datetime | None) -> None:
    """Declare the time of the data this response shows (the newest of `times`; None ignored)."""
    known = [t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in times if t is not None]
    if not known:
        return
    current = getattr(request.state, "last_modified", None)
    request.state.last_modified = max(known + ([current] if current else []))


@dataclass
class _Entry:
    expires: float
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str
    modified: datetime | None


class PageCache:
    """Anonymous responses by (scheme, host, path, query): a TTL and an LRU bound on bytes."""

    def __init__(self, seconds: float, *, max_bytes: int = 32 * 1024 * 1024, max_entry: int = 1024 * 1024):
        self.seconds, self.max_bytes, self.max_entry = seconds, max_bytes, max_entry
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._bytes = 0
        self.inflight: dict[tuple, asyncio.Future] = {}

    def get(self, key: tuple) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: tuple, entry: _Entry) -> None:
        if len(entry.body) > self.max_entry:
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = entry
        self._bytes += len(entry.body)
        while self._bytes > self.max_bytes and self._entries:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple) -> None:
        self._bytes -= len(self._entries.pop(key).body)

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


def _http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(timezone.utc).replace(microsecond=0), usegmt=True)


def _credentials(headers: Headers) -> tuple[str | None, str | None]:
    cookie = headers.get("cookie")
    session = cookie_parser(cookie).get(SESSION_COOKIE) if cookie and SESSION_COOKIE in cookie else None
    return session, headers.get("authorization")


def _viewer_key(state: dict[str, Any], headers: Headers) -> tuple[str, bool]:
    """(what identifies the reader in the ETag, whether the reader is anonymous)."""
    viewer = state.get("viewer")
    if viewer is not None:
        if viewer.session is not None:
            return f"user:{viewer.user.id}:{viewer.session.csrf_token}", False
        if getattr(viewer, "csrf_used", False):
            return f"anon:{viewer.anon_token}", True
        return "anon", True
    session, auth = _credentials(headers)
    if session or auth:
        return "cred:" + hashlib.sha256(f"{session}|{auth}".encode()).hexdigest(), False
    return "anon", True


def _matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110, 13.1.2)."""
    if if_none_match.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in if_none_match.split(","))


def _not_modified(headers: Headers, etag: str, modified: datetime | None) -> bool:
    inm = headers.get("if-none-match")
    if inm is not None:
        return _matches(inm, etag)
    ims = headers.get("if-modified-since")
    if ims and modified is not None:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        return modified.replace(microsecond=0) <= since
    return False


class ConditionalGet:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: Callable[..., Awaitable[None]], *, cache_seconds: float = 0.0):
        self.app = app
        self.cache = PageCache(cache_seconds) if cache_seconds > 0 else None

    async def __call__(self, scope: Scope, receive: Callable, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method != "GET":
            try:
                await self.app(scope, receive, send)
            finally:
                if method in _WRITES and self.cache is not None:
                    self.cache.clear()          # this process's own writes are seen at once
            return
        if scope["path"].startswith(_SKIP):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key, rendering = None, None
        if self.cache is not None and _credentials(headers) == (None, None):
            key = (scope.get("scheme"), headers.get("host", ""), scope["path"], scope.get("query_string", b""))
            entry = self.cache.get(key)
            if entry is None and key in self.cache.inflight:
                await asyncio.shield(self.cache.inflight[key])   # the first miss is rendering it
                entry = self.cache.get(key)
            if entry is not None:
                await self._send(send, headers, entry.status, entry.headers, entry.body, entry.etag, entry.modified)
                return
            if key not in self.cache.inflight:
                rendering = self.cache.inflight[key] = asyncio.get_running_loop().create_future()
        try:
            await self._run(scope, receive, send, headers, key)
        finally:
            if rendering is not None:                     # whoever made a future resolves it, always
                if self.cache.inflight.get(key) is rendering:
                    del self.cache.inflight[key]
                rendering.set_result(None)

    async def _run(self, scope: Scope, receive: Callable, send: Send, headers: Headers, key: tuple | None) -> None:
        state = scope.setdefault("state", {})
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if message["status"] == 200 and self._eligible(message["headers"]):
                    start = message
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._finish(send, headers, state, start, b"".join(chunks), key)
                return
            await send(message)

        await self.app(scope, receive, capture)

    @staticmethod
    def _eligible(raw: list[tuple[bytes, bytes]]) -> bool:
        ctype = b""
        for name, value in raw:
            lname = name.lower()
            if lname == b"content-type":
                ctype = value.lower()
            elif lname == b"content-encoding":
                return False
        return ctype.startswith(_TYPES)

    async def _finish(self, send: Send, headers: Headers, state: dict[str, Any], start: Message, body: bytes,
                      key: tuple | None) -> None:
        who, anonymous = _viewer_key(state, headers)
        etag = '"' + hashlib.blake2b(who.encode() + b"\0" + body, digest_size=16).hexdigest() + '"'
        modified = state.get("last_modified") if anonymous else None
        if modified is not None and utcnow() - modified < timedelta(seconds=1):
            modified = None                                 # not a strong validator yet
        out = MutableHeaders(raw=list(start["headers"]))
        out["etag"] = etag
        if modified is not None:
            out["last-modified"] = _http_date(modified)
        vary = out.get("vary")
        if not vary:
            out["vary"] = "Cookie"
        elif "cookie" not in vary.lower():
            out["vary"] = f"{vary}, Cookie"
        cache_control = out.get("cache-control")
        if cache_control is None:
            out["cache-control"] = "no-cache" if anonymous else "private, no-cache"
        if (key is not None and anonymous and who == "anon" and "set-cookie" not in out
                and not any(word in (cache_control or "") for word in ("no-store", "private"))):
            self.cache.put(key, _Entry(time.monotonic() + self.cache.seconds, start["status"], out.raw, body, etag,
                                       modified))
        await self._send(send, headers, start["status"], out.raw, body, etag, modified)

    @staticmethod
    async def _send(send: Send, headers: Headers, status: int, raw: list[tuple[bytes, bytes]], body: bytes,
                    etag: str, modified: datetime | None) -> None:
        if _not_modified(headers, etag, modified):
            keep = (b"etag", b"last-modified", b"vary", b"cache-control", b"date", b"expires", b"content-location")
            await send({"type": "http.response.start", "status": 304,
                        "headers": [(k, v) for k, v in raw if k.lower() in keep]})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})
