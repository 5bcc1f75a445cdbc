"""The web edge: pure ASGI middleware that runs before any route or dependency.

:class:`WebEdge`, outermost, does three things to every HTTP request:

* **HEAD is answered as GET without a body**: the same status and headers (ETag and 304
  included: serve/conditional.py sees a GET), for uptime monitors and link checkers.
* **Request bodies are capped before anything reads them**: forms (urlencoded or multipart)
  at ``max_form_bytes``, anything else (the API's JSON) at ``max_body_bytes``. A declared
  ``Content-Length`` over the cap is answered 413 at once, the body unread; a body without
  one (chunked) is counted as it arrives and refused with 413 once over, so the process holds
  at most about the cap whatever is sent, and whoever is asking (authentication runs after
  the body is read).
* **Security headers on every response**: a Content-Security-Policy with no inline script or
  style (/docs too: Swagger UI comes from this site's files and styles itself through the
  DOM, which the policy allows; a route may set a stricter one, as the SVG charts do),
  ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and a Referrer-Policy. They
  are added to what the inner layers send, so cached pages and 304s get them too.

Pure ASGI rather than BaseHTTPMiddleware: nothing is buffered, responses stream through.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request

from .errors import render_error

__all__ = ["WebEdge", "BodyTooLarge", "SITE_CSP", "SECURITY_HEADERS"]

Message = dict[str, Any]

SITE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = {
    "content-security-policy": SITE_CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a body goes over its cap. An HTTPException, so FastAPI's
    body reader passes it on to the one error handler (serve/errors.py) unchanged."""

    code = "too_large"

    def __init__(self, cap: int):
        super().__init__(413, f"request: body over the {cap}-byte limit", headers={"Connection": "close"})


class WebEdge:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: Callable[..., Awaitable[None]], *, max_body_bytes: int, max_form_bytes: int):
        self.app, self.max_body_bytes, self.max_form_bytes = app, max_body_bytes, max_form_bytes

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        headers = Headers(scope=scope)
        cap = self.max_form_bytes if headers.get("content-type", "").startswith(_FORMS) else self.max_body_bytes
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                out = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    out.setdefault(name, value)
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            await send(message)

        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            await self._refuse(scope, receive, guarded_send, BodyTooLarge(cap))
            return
        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge(cap)
            return message

        try:
            await self.app(scope, capped_receive, guarded_send)
        except BodyTooLarge as exc:                # read outside a route (a route's own goes to the handler)
            if started:
                raise
            await self._refuse(scope, receive, guarded_send, exc)

    @staticmethod
    async def _refuse(scope: dict[str, Any], receive: Callable, send: Callable, exc: BodyTooLarge) -> None:
        response = render_error(Request(scope, receive), exc.status_code, exc.code, exc.detail, exc.headers)
        await response(scope, receive, send)
