"""ONE error handler: an error becomes JSON for the API and an HTML page for the site.

A :class:`~newsloom.errors.NewsloomError` carries a stable ``code``; :data:`STATUS` is the one
table from code to HTTP status (anything not listed is a 400). Two errors belong to serving:
:class:`LoginRequired` (a page that needs a signed-in reader: 303 to the login form on the
site, 401 on the API) and :class:`Forbidden` (403). HTTP errors raised by FastAPI itself
(404 for an unknown path, 422 for a bad parameter) go through the same renderer.

A 422 says which parameter and why, never echoing the input back (a JSON body with a lone
surrogate such as ``"\\ud800"`` cannot be encoded into the answer). A number too large for the
database (``OverflowError`` from SQLite, ``DataError`` from PostgreSQL), reaching it through a
route that took an integer without the bounds of serve/deps.py, is a 422 as well, not a 500;
it is logged, so that route can be given its bounds.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import NewsloomError

__all__ = ["STATUS", "status_for", "LoginRequired", "Forbidden", "wants_json", "render_error", "install"]

log = logging.getLogger(__name__)

# Error code -> HTTP status. The codes are those of newsloom.errors and the store
# (StoreError(code=...)); a code missing here is the client's mistake: 400.
STATUS: dict[str, int] = {
    "not_found": 404,
    "forbidden": 403,
    "login_required": 401,
    "unauthorized": 401,        # wrong protocol credentials (the Google Reader and Fever APIs)
    "conflict": 409,            # e.g. a username that is taken
    "invalid": 400,             # not acceptable: an empty comment, a reply across stories, your own comment reported
    "bad_request": 400,
    "bad_query": 400,
    "rate_limited": 429,
    "settings": 500,
    "schema": 503,              # the database is not at the schema this release needs
}


def status_for(exc: NewsloomError) -> int:
    return STATUS.get(exc.code, 400)


class LoginRequired(NewsloomError):
    """The page or call needs a signed-in reader."""

    code = "login_required"


class Forbidden(NewsloomError):
    code = "forbidden"


# Paths whose callers are programs: the JSON API and the feed-reader protocols (Google Reader, Fever).
_JSON_PATHS = ("/api/", "/reader/api/", "/accounts/ClientLogin", "/fever/")


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(_JSON_PATHS) or "application/json" in request.headers.get("accept", "")


def _login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='/')}"


def render_error(request: Request, status: int, code: str, message: str, headers: dict | None = None,
                 **extra: object):
    """The error as JSON ({"error": {"code", "message"}}, plus `extra`) or as the site's error page."""
    if wants_json(request):
        return JSONResponse({"error": {"code": code, "message": message}, **extra}, status_code=status,
                            headers=headers)
    templates = request.app.state.templates
    return templates.TemplateResponse(request, "error.html", {"status": status, "message": message},
                                      status_code=status, headers=headers)


def _text(value: object) -> str:
    """`value` as text that can always be encoded (a lone surrogate becomes '?')."""
    return str(value).encode("utf-8", "replace").decode("utf-8")


def install(app: FastAPI) -> None:
    @app.exception_handler(NewsloomError)
    async def newsloom_error(request: Request, exc: NewsloomError):
        if isinstance(exc, LoginRequired):
            if not wants_json(request):
                return RedirectResponse(_login_url(request), status_code=303)
            return render_error(request, 401, exc.code, exc.message, {"WWW-Authenticate": "Bearer"})
        # an error may carry headers of its own (Retry-After, a protocol's auth challenge)
        return render_error(request, status_for(exc), exc.code, exc.message, getattr(exc, "headers", None))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return render_error(request, exc.status_code, getattr(exc, "code", "http"), str(exc.detail),
                            getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        # FastAPI's own handler echoes each bad input back, which fails (a 500) on text that
        # cannot be encoded; say where and why only. `detail` keeps FastAPI's documented shape.
        detail = [{"loc": [p if isinstance(p, int) else _text(p) for p in e.get("loc", ())],
                   "msg": _text(e.get("msg", "")), "type": _text(e.get("type", ""))} for e in exc.errors()]
        message = "request: " + "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in detail[:5])
        return render_error(request, 422, "invalid_request", message, detail=detail)

    async def out_of_range(request: Request, exc: Exception):
        log.warning("request_value_out_of_range path=%s error=%s", request.url.path, type(exc).__name__)
        return render_error(request, 422, "invalid_request", "request: a value is out of range")

    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(DataError, out_of_range)
