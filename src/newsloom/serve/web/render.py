"""The one way a page is rendered: a template, the viewer in its context, the viewer's cookies."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ..auth import get_viewer, set_cookies

__all__ = ["render"]


def render(request: Request, name: str, status: int = 200, headers: dict[str, str] | None = None,
           **context: Any) -> Response:
    """Render templates/`name` with `context` (plus ``viewer``); a CSRF cookie minted while
    rendering a form is set on the response."""
    context.setdefault("viewer", get_viewer(request))
    response = request.app.state.templates.TemplateResponse(request, name, context, status_code=status,
                                                            headers=headers)
    return set_cookies(request, response)
