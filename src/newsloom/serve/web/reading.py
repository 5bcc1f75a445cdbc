"""Read state on the site: a signed-in reader's unread counts and read marks on the pages,
and the forms that change them (mark an article read or unread, mark a story read,
subscribe to a feed or drop it).

Every action is a plain form POST with the session's CSRF token, answered by a 303 back to
where the reader was (``next``, through safe_next). Anonymous readers see none of this: the
pages build no reading state for them (:func:`reading_state` returns None), so their pages,
ETags and the anonymous page cache are today's. Reading an article page marks it, and its
wire copies, read (pages.py): the one write a GET makes, and only for a signed-in reader.

At start-up this router gives every template ``reading_counts(request)``, the viewer's
:class:`~newsloom.store.reading.UnreadCounts` (None for anonymous readers), read once per
request (the For you page shows them per followed hashtag and story).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse

from ...models import utcnow
from ...store.reading import UnreadCounts
from ..auth import get_viewer, require_csrf, safe_next
from ..deps import CurrentUser, IdPath, StoreDep

__all__ = ["router", "ReadingState", "reading_state", "reading_counts", "unread_since"]


def unread_since(request: Request) -> datetime:
    """Start of the unread window (the ``reader_unread_days`` setting)."""
    return utcnow() - timedelta(days=request.app.state.settings.reader_unread_days)


@dataclass
class ReadingState:
    """What a page shows of a signed-in reader's reading: the ``reading`` template variable."""

    csrf_token: str
    here: str                                              # this page, for the forms' `next`
    counts: UnreadCounts | None = None
    story_unread: dict[int, int] = field(default_factory=dict)
    read: set[int] = field(default_factory=set)
    feeds: set[int] = field(default_factory=set)           # the reader's feeds (subscribed)

    def is_read(self, article_id: int | None) -> bool:
        return article_id in self.read


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def reading_counts(request: Request) -> UnreadCounts | None:
    """The viewer's unread counts, read once per request; None for anonymous readers."""
    viewer = get_viewer(request)
    if viewer.user is None:
        return None
    counts = getattr(request.state, "unread_counts", None)
    if counts is None:
        counts = request.app.state.store.unread_counts(viewer.user.id, since=unread_since(request))
        request.state.unread_counts = counts
    return counts


def reading_state(request: Request, *, stories: Iterable[Any] = (), articles: Iterable[Any] = (),
                  counts: bool = False, feeds: bool = False) -> ReadingState | None:
    """The signed-in reader's state for the stories and articles a page lists (a few
    aggregate queries, none per item); None for anonymous readers."""
    viewer = get_viewer(request)
    if viewer.user is None:
        return None
    store, uid = request.app.state.store, viewer.user.id
    state = ReadingState(csrf_token=viewer.csrf_token, here=_here(request))
    story_ids = [s.id for s in stories if s.id is not None]
    if story_ids:
        state.story_unread = store.story_unread_counts(uid, story_ids, since=unread_since(request))
    article_ids = [a.id for a in articles if a.id is not None]
    if article_ids:
        state.read = store.read_ids(uid, article_ids)
    if counts:
        state.counts = reading_counts(request)
    if feeds:
        state.feeds = set(store.reader_feed_ids(uid))
    return state


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.templates.env.globals.update(reading_counts=reading_counts)
    yield


router = APIRouter(include_in_schema=False, lifespan=lifespan)


def _back(next: str, default: str) -> RedirectResponse:
    return RedirectResponse(safe_next(next, default), status_code=303)


@router.post("/articles/{article_id}/read", dependencies=[Depends(require_csrf)])
def mark_article(article_id: IdPath, user: CurrentUser, store: StoreDep, read: str = Form("1"),
                 next: str = Form("")):
    """Mark an article read (``read=1``, the default) or unread (``read=0``), with its wire copies."""
    store.get_article(article_id)                          # 404 for an unknown article
    store.mark_read(user.id, [article_id], read=read not in ("0", "false", "no", ""))
    return _back(next, f"/articles/{article_id}")


@router.post("/stories/{story_id}/read", dependencies=[Depends(require_csrf)])
def mark_story(story_id: IdPath, user: CurrentUser, store: StoreDep, next: str = Form("")):
    store.mark_story_read(user.id, story_id)              # NotFound: 404
    return _back(next, f"/stories/{story_id}")


@router.post("/feeds/{feed_id}/subscribe", dependencies=[Depends(require_csrf)])
def subscribe(feed_id: IdPath, user: CurrentUser, store: StoreDep, next: str = Form("")):
    store.subscribe(user.id, feed_id)
    return _back(next, "/feeds")


@router.post("/feeds/{feed_id}/unsubscribe", dependencies=[Depends(require_csrf)])
def unsubscribe(feed_id: IdPath, user: CurrentUser, store: StoreDep, next: str = Form("")):
    store.unsubscribe(user.id, feed_id)
    return _back(next, "/feeds")
