"""Request dependencies, each defined once (as the FastAPI full-stack template's ``deps.py``).

    StoreDep, SettingsDep      the app's one Store and its Settings
    ViewerDep                  who is asking (a session's user, or anonymous); looked up once
    CurrentUser                a signed-in reader; otherwise LoginRequired (303 to /login, 401 on the API)
    ApiUser                    an API write's caller: a Bearer token, or a session plus X-CSRF-Token
    ModeratorUser, AdminUser   role guards: a moderator or admin / an admin; otherwise 403
    Paging(default, maximum)   ?limit=&offset= for the API, validated, with next_offset()
    PageNo                     ?page= for the site's lists (1-based)
    IdPath, IdQuery            a row id in the path / an optional one in the query: 1..MAX_ID

Every dependency is an ``async def`` that only reads app state or runs one indexed query
(the session lookup, skipped when there is no session cookie): FastAPI runs plain ``def``
dependencies in its thread pool, which costs a thread hop per request for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Callable

from fastapi import Depends, Path, Query, Request

from ..models import User
from ..settings import Settings
from ..store import Store
from ..store.schema import MAX_ID
from .auth import Viewer, api_user, get_viewer
from .errors import Forbidden, LoginRequired

__all__ = ["StoreDep", "SettingsDep", "ViewerDep", "CurrentUser", "ApiUser", "ModeratorUser", "AdminUser", "Pagination",
           "Paging", "PageNo", "MAX_PAGE", "MAX_ID", "IdPath", "IdQuery", "get_store", "get_settings", "viewer",
           "current_user", "moderator_user", "admin_user", "pagination"]

MAX_PAGE = 10_000
# MAX_ID (store/schema.py) is the largest value of the schema's INTEGER columns on PostgreSQL
# (int4; SQLite's hold 2**63 - 1). A larger id or count fails in the driver (a 500), and no table
# has more rows than ids, so it bounds every id, count and offset a client sends.


async def get_store(request: Request) -> Store:
    return request.app.state.store


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def viewer(request: Request) -> Viewer:
    return get_viewer(request)


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ViewerDep = Annotated[Viewer, Depends(viewer)]


async def current_user(who: ViewerDep) -> User:
    if who.user is None:
        raise LoginRequired("auth: log in first")
    return who.user


CurrentUser = Annotated[User, Depends(current_user)]
ApiUser = Annotated[User, Depends(api_user)]


async def moderator_user(user: CurrentUser) -> User:
    """Moderators and admins; anonymous readers are sent to log in, other users get a 403."""
    if user.role not in ("moderator", "admin"):
        raise Forbidden("moderation: moderators only")
    return user


async def admin_user(who: ViewerDep) -> User:
    """Administrators only (anyone else, anonymous included, gets a 403). Make the first one
    with `newsloom users add NAME --role admin`."""
    if who.user is None or who.user.role != "admin":
        raise Forbidden("admin: administrators only")
    return who.user


ModeratorUser = Annotated[User, Depends(moderator_user)]
AdminUser = Annotated[User, Depends(admin_user)]


@dataclass(frozen=True)
class Pagination:
    limit: int
    offset: int

    def next_offset(self, total: int) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < total else None

    def page(self, items: list[Any], total: int) -> dict[str, Any]:
        """The fields every paged API response shares (schemas.Page)."""
        return {"items": items, "total": total, "limit": self.limit, "offset": self.offset,
                "next_offset": self.next_offset(total)}


def pagination(default: int = 30, maximum: int = 200, max_offset: int | None = None) -> Callable[..., Any]:
    """A dependency reading ?limit= (1..maximum, default `default`) and ?offset= (0.., at most
    `max_offset`, else MAX_ID)."""

    deepest = MAX_ID if max_offset is None else max_offset

    async def dependency(limit: int = Query(default, ge=1, le=maximum),
                         offset: int = Query(0, ge=0, le=deepest)) -> Pagination:
        return Pagination(limit, offset)

    return dependency


def Paging(default: int = 30, maximum: int = 200, max_offset: int | None = None) -> Any:  # noqa: N802 - a type
    """``page: Paging(50, 500)`` in a route's signature."""
    return Annotated[Pagination, Depends(pagination(default, maximum, max_offset))]


PageNo = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1")]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
