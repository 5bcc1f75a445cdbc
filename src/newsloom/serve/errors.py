"""ONE error handler: a NewsloomError (or HTTP error) becomes JSON for the API and HTML for pages."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import NewsloomError, NotFound, SettingsError

STATUS = {NotFound: 404, SettingsError: 500}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def install(app: FastAPI) -> None:
    def render(request: Request, status: int, code: str, message: str, headers: dict | None = None):
        if _wants_json(request):
            return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)
        templates = request.app.state.templates
        return templates.TemplateResponse(request, "error.html", {"status": status, "message": message},
                                          status_code=status, headers=headers)

    @app.exception_handler(NewsloomError)
    async def newsloom_error(request: Request, exc: NewsloomError):
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        return render(request, status, exc.code, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return render(request, exc.status_code, "http", str(exc.detail), getattr(exc, "headers", None))
