"""Comments API (/api/v1): list a story's comments; create, edit, delete and report them.

Reads are public. Writes need `Authorization: Bearer <API token>` (`newsloom users token
USERNAME`, or the account page) or a session cookie plus an `X-CSRF-Token` header; without
either: 401. The same rate limits as the web form apply (429 with Retry-After). A store
error goes to the one error handler (serve/errors.py): "forbidden" 403, "invalid" 400.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from ...store.community import MAX_COMMENT_LENGTH, CommentView
from ..auth import address_key, rate_limited, too_many_requests
from ..conditional import last_modified
from ..deps import MAX_ID, ApiUser, IdPath, StoreDep, ViewerDep

__all__ = ["router", "CommentPublic", "CommentCreate", "CommentUpdate", "ReportCreate", "ReportResult"]

router = APIRouter(tags=["comments"])


class CommentPublic(BaseModel):
    id: int
    story_id: int
    parent_id: int | None
    author: str | None = Field(description="Username; null once the comment is deleted or removed")
    body: str = Field(description="Plain text (render it escaped); empty unless state is visible or hidden")
    state: str = Field(description="visible | hidden (seen by moderators and the author) | removed | deleted")
    created_at: datetime
    edited_at: datetime | None


class CommentCreate(BaseModel):
    body: str = Field(min_length=1, max_length=MAX_COMMENT_LENGTH)
    parent_id: int | None = Field(None, ge=1, le=MAX_ID)


class CommentUpdate(BaseModel):
    body: str = Field(min_length=1, max_length=MAX_COMMENT_LENGTH)


class ReportCreate(BaseModel):
    reason: str = Field("", max_length=500)


class ReportResult(BaseModel):
    comment_id: int
    created: bool = Field(description="False when you had already reported this comment")


def _public(c: CommentView) -> CommentPublic:
    shown = c.state in ("visible", "hidden")
    return CommentPublic(id=c.id, story_id=c.story_id, parent_id=c.parent_id, author=c.username if shown else None,
                         body=c.body if shown else "", state=c.state, created_at=c.created_at, edited_at=c.edited_at)


def _flatten(thread: list[CommentView]) -> list[CommentView]:
    out: list[CommentView] = []
    for c in thread:
        out.append(c)
        out.extend(_flatten(c.replies))
    return out


@router.get("/stories/{story_id}/comments", response_model=list[CommentPublic],
            summary="A story's comments, threads in order (parent before its replies)")
async def list_comments(request: Request, story_id: IdPath, store: StoreDep, viewer: ViewerDep):
    story = store.get_story(story_id)
    thread = _flatten(store.comment_thread(story.id, viewer_id=viewer.user.id if viewer.user else None,
                                           moderator=viewer.can_moderate))
    last_modified(request, *(c.created_at for c in thread), *(c.edited_at for c in thread))
    return [_public(c) for c in thread]


@router.post("/stories/{story_id}/comments", response_model=CommentPublic, status_code=201,
             summary="Comment on a story, or reply with parent_id")
def create_comment(request: Request, story_id: IdPath, payload: CommentCreate, user: ApiUser, store: StoreDep):
    store.get_story(story_id)
    wait = rate_limited(request, "comment_rate_limit", f"user:{user.id}", address_key(request))
    if wait is not None:
        return too_many_requests(request, wait, "comments")
    return _public(store.post_comment(story_id, user.id, payload.body, parent_id=payload.parent_id))


@router.patch("/comments/{comment_id}", response_model=CommentPublic, summary="Edit your comment")
def edit_comment(comment_id: IdPath, payload: CommentUpdate, user: ApiUser, store: StoreDep):
    return _public(store.edit_comment(comment_id, user.id, payload.body))


@router.delete("/comments/{comment_id}", status_code=204, response_class=Response,
               summary="Delete your comment (kept as [deleted] while it has replies)")
def delete_comment(comment_id: IdPath, user: ApiUser, store: StoreDep):
    store.delete_comment(comment_id, user.id)
    return Response(status_code=204)


@router.post("/comments/{comment_id}/reports", response_model=ReportResult, status_code=201,
             summary="Report someone else's comment to the moderators (once per comment)")
def report_comment(comment_id: IdPath, payload: ReportCreate, user: ApiUser, store: StoreDep):
    created = store.report_comment(comment_id, user.id, payload.reason)
    return ReportResult(comment_id=comment_id, created=created)
