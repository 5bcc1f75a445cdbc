"""ONE error handler: an error becomes JSON for the API and an HTML page for the site.

A :class:`~newsloom.errors.NewsloomError` carries a stable ``code``; :data:`STATUS` is the one
table from code to HTTP status (anything not listed is a 400). Two errors belong to serving:
:class:`LoginRequired` (a page that needs a signed-in reader: 303 to the login form on the
site, 401 on the API) and :class:`Forbidden` (403). HTTP errors raised by FastAPI itself
(404 for an unknown path, 422 for a bad parameter) go through the same renderer.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import NewsloomError

__all__ = ["STATUS", "status_for", "LoginRequired", "Forbidden", "wants_json", "install"]

# Error code -> HTTP status. The codes are those of newsloom.errors and the store
# (StoreError(code=...)); a code missing here is the client's mistake: 400.
STATUS: dict[str, int] = {
    "not_found": 404,
    "forbidden": 403,
    "login_required": 401,
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


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def _login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='/')}"


def install(app: FastAPI) -> None:
    def render(request: Request, status: int, code: str, message: str, headers: dict | None = None):
        if wants_json(request):
            return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)
        templates = request.app.state.templates
        return templates.TemplateResponse(request, "error.html", {"status": status, "message": message},
                                          status_code=status, headers=headers)

    @app.exception_handler(NewsloomError)
    async def newsloom_error(request: Request, exc: NewsloomError):
        if isinstance(exc, LoginRequired):
            if not wants_json(request):
                return RedirectResponse(_login_url(request), status_code=303)
            return render(request, 401, exc.code, exc.message, {"WWW-Authenticate": "Bearer"})
        return render(request, status_for(exc), exc.code, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return render(request, exc.status_code, "http", str(exc.detail), getattr(exc, "headers", None))
