"""Comments, moderation, follows and the "For you" page.

Every action is a plain form POST answered by a 303 back to where the reader was. Comment
text is plain text: templates escape it and turn newlines into <br>, nothing else. Who may
do what comes from serve/deps.py (CurrentUser: anonymous readers are sent to log in;
ModeratorUser: moderators and admins, others get a 403). The story page loads its Comments
section with :func:`comments_for`; at start-up this router gives every template
`follow_state(request, kind, target)` (`_follow_button.html`).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...errors import NotFound, StoreError
from ...store.community import CommentView
from ..auth import address_key, get_viewer, rate_limited, require_csrf, safe_next, too_many_requests
from ..deps import MAX_ID, CurrentUser, IdPath, ModeratorUser, StoreDep
from ..errors import Forbidden
from ..views import top_stories
from .accounts import redirect
from .render import render

__all__ = ["router", "comments_for", "follow_state"]


def _walk(thread: list[CommentView]):
    for c in thread:
        yield c
        yield from _walk(c.replies)


def comments_for(request: Request, story_id: int) -> dict[str, Any]:
    """What the story page's Comments section shows to this viewer: the thread, the count of
    visible comments (Store.count_comments' rule, counted on the thread already read: every
    comment neither hidden nor deleted is in it) and the newest comment's time."""
    viewer = get_viewer(request)
    thread = request.app.state.store.comment_thread(story_id, viewer_id=viewer.user.id if viewer.user else None,
                                                    moderator=viewer.can_moderate)
    count, newest = 0, None
    for c in _walk(thread):
        count += not c.hidden and not c.deleted
        for when in (c.created_at, c.edited_at):
            if when is not None and (newest is None or when > newest):
                newest = when
    return {"viewer": viewer, "thread": thread, "count": count, "newest": newest}


def _follow_key(kind: str, target: Any) -> str:
    """The key Store.list_follows gives a target: a hashtag's slug, else the id as text."""
    if kind == "tag":
        return str(target).strip().lstrip("#").lower()
    try:
        return str(int(target))
    except (TypeError, ValueError):
        return ""


def follow_state(request: Request, kind: str, target: Any) -> dict[str, Any]:
    """For `_follow_button.html`: who is asking and whether they follow kind/target. A story
    page has a button per publisher: what the reader follows is read once per request."""
    viewer = get_viewer(request)
    if viewer.user is None:
        return {"viewer": viewer, "following": False}
    followed = getattr(request.state, "followed", None)
    if followed is None:
        followed = {(f.kind, f.key) for f in request.app.state.store.list_follows(viewer.user.id)}
        request.state.followed = followed
    return {"viewer": viewer, "following": (kind, _follow_key(kind, target)) in followed}


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.templates.env.globals.update(follow_state=follow_state)
    yield


router = APIRouter(include_in_schema=False, lifespan=lifespan)


def _comment_form(request: Request, *, story, body: str, error: str | None = None, status: int = 200,
                  parent=None, comment=None) -> Response:
    """The comment form on a page of its own: editing, or a post that needs fixing (the
    draft is kept, the message sits above it)."""
    if comment is not None:
        heading, action, button = "Edit your comment", f"/comments/{comment.id}/edit", "Save"
    elif parent is not None:
        heading, action, button = f"Reply to {parent.username}", f"/stories/{story.id}/comments", "Post reply"
    else:
        heading, action, button = "Add a comment", f"/stories/{story.id}/comments", "Post comment"
    return render(request, "comment_form.html", status=status, story=story, body=body, error=error, parent=parent,
                  heading=heading, action=action, button=button)


def _message(exc: StoreError) -> str:
    return exc.message.removeprefix("comment: ").capitalize() + "."


# -- comments --------------------------------------------------------------------
@router.post("/stories/{story_id}/comments", dependencies=[Depends(require_csrf)])
def post_comment(request: Request, story_id: IdPath, user: CurrentUser, store: StoreDep, body: str = Form(""),
                 parent_id: int | None = Form(None, ge=1, le=MAX_ID)):
    store.get_story(story_id)                                     # 404 before anything is counted
    wait = rate_limited(request, "comment_rate_limit", f"user:{user.id}", address_key(request))
    if wait is not None:
        return too_many_requests(request, wait, "comments")
    try:
        comment = store.post_comment(story_id, user.id, body, parent_id=parent_id)
    except StoreError as exc:
        parent = None
        if parent_id is not None:
            try:
                parent = store.get_comment(parent_id)
            except NotFound:
                pass
        shown = parent if parent is not None and parent.state == "visible" else None
        return _comment_form(request, story=store.get_story(story_id), body=body, error=_message(exc), status=400,
                             parent=shown)
    return redirect(f"/stories/{comment.story_id}#comment-{comment.id}")


@router.get("/comments/{comment_id}/edit", response_class=HTMLResponse)
def edit_form(request: Request, comment_id: IdPath, user: CurrentUser, store: StoreDep):
    comment = store.get_comment(comment_id)
    if comment.user_id != user.id or comment.deleted:
        raise Forbidden("comment: only its author can edit a comment")
    return _comment_form(request, story=store.get_story(comment.story_id), body=comment.body, comment=comment)


@router.post("/comments/{comment_id}/edit", dependencies=[Depends(require_csrf)])
def edit(request: Request, comment_id: IdPath, user: CurrentUser, store: StoreDep, body: str = Form("")):
    try:
        comment = store.edit_comment(comment_id, user.id, body)
    except StoreError as exc:
        if exc.code == "forbidden":
            raise                                                     # the one error handler: 403
        comment = store.get_comment(comment_id)
        return _comment_form(request, story=store.get_story(comment.story_id), body=body, error=_message(exc),
                             status=400, comment=comment)
    return redirect(f"/stories/{comment.story_id}#comment-{comment.id}")


@router.post("/comments/{comment_id}/delete", dependencies=[Depends(require_csrf)])
def delete(request: Request, comment_id: IdPath, user: CurrentUser, store: StoreDep):
    story_id = store.delete_comment(comment_id, user.id)              # StoreError "forbidden": 403
    return redirect(f"/stories/{story_id}#comments")


@router.post("/comments/{comment_id}/report", dependencies=[Depends(require_csrf)])
def report(request: Request, comment_id: IdPath, user: CurrentUser, store: StoreDep, reason: str = Form("")):
    comment = store.get_comment(comment_id)
    store.report_comment(comment_id, user.id, reason)                 # your own comment: "invalid", 400
    return redirect(f"/stories/{comment.story_id}?reported={comment_id}#comment-{comment_id}")


# -- moderation ------------------------------------------------------------------
@router.get("/moderation", response_class=HTMLResponse)
def moderation(request: Request, me: ModeratorUser, store: StoreDep):
    banned = store.list_banned_users()
    # only the bans this moderator may lift get an Unban button (the POST checks the same rule)
    liftable = {u.id for u in banned if _ban_refusal(store, me, u, banning=False) is None}
    return render(request, "moderation.html", queue=store.moderation_queue(), banned=banned, liftable=liftable)


def _back(next_url: str, comment) -> str:
    return safe_next(next_url, f"/stories/{comment.story_id}#comment-{comment.id}")


@router.post("/comments/{comment_id}/hide", dependencies=[Depends(require_csrf)])
def hide(comment_id: IdPath, _: ModeratorUser, store: StoreDep, next: str = Form("")):
    return redirect(_back(next, store.set_comment_hidden(comment_id, True)))


@router.post("/comments/{comment_id}/restore", dependencies=[Depends(require_csrf)])
def restore(comment_id: IdPath, _: ModeratorUser, store: StoreDep, next: str = Form("")):
    return redirect(_back(next, store.set_comment_hidden(comment_id, False)))


@router.post("/comments/{comment_id}/dismiss", dependencies=[Depends(require_csrf)])
def dismiss(comment_id: IdPath, _: ModeratorUser, store: StoreDep, next: str = Form("")):
    store.dismiss_reports(comment_id)
    return redirect(_back(next, store.get_comment(comment_id)))


def _ban_refusal(store, me, target, banning: bool) -> str | None:
    """The one rule for bans, both ways; why `me` may not, or None. An admin may ban or unban
    anyone but themselves; a moderator only regular users, and never lifts a ban an admin placed
    (or one of unknown origin: from before bans recorded who placed them, or made outside the site)."""
    verb = "ban" if banning else "unban"
    if target.id == me.id:
        return f"moderation: you cannot {verb} yourself"
    if me.role == "admin":
        return None
    if target.role != "user":
        return f"moderation: only an admin can {verb} a moderator or an admin"
    if not banning and target.banned:
        banner = store.ban_placed_by(target.id)
        if banner is None or banner.role == "admin":
            return "moderation: only an admin can lift this ban (an admin placed it, or nobody knows who)"
    return None


def _may_ban(store, me, username: str, banning: bool):
    target = store.find_user(username)
    if target is None:
        raise NotFound(f"moderation: no user {username!r}")
    refusal = _ban_refusal(store, me, target, banning)
    if refusal:
        raise Forbidden(refusal)
    return target


@router.post("/users/{username}/ban", dependencies=[Depends(require_csrf)])
def ban(username: str, me: ModeratorUser, store: StoreDep, next: str = Form("/moderation")):
    target = _may_ban(store, me, username, banning=True)
    # Banning again never makes a moderator the author of an admin's ban (which they could then lift).
    if not target.banned or me.role == "admin":
        store.set_banned(target.username, True, by=me.id)
    return redirect(safe_next(next, "/moderation"))


@router.post("/users/{username}/unban", dependencies=[Depends(require_csrf)])
def unban(username: str, me: ModeratorUser, store: StoreDep, next: str = Form("/moderation")):
    target = _may_ban(store, me, username, banning=False)
    store.set_banned(target.username, False)
    return redirect(safe_next(next, "/moderation"))


# -- follows and "For you" -------------------------------------------------------
@router.post("/follow", dependencies=[Depends(require_csrf)])
def follow(request: Request, user: CurrentUser, store: StoreDep, kind: str = Form(...), target: str = Form(...),
           action: str = Form("follow"), next: str = Form("/for-you")):
    try:
        if action == "unfollow":
            store.unfollow(user.id, kind, target)
        else:
            store.follow(user.id, kind, target)
    except (NotFound, StoreError) as exc:
        if safe_next(next) == "/for-you":
            return _for_you_page(request, user, status=404 if isinstance(exc, NotFound) else 400,
                                 follow_error=exc.message.removeprefix("follow: ").capitalize() + ".",
                                 follow_draft=target)
        raise
    return redirect(safe_next(next, "/for-you"))


def _for_you_page(request: Request, user, *, status: int = 200, **extra: Any) -> Response:
    store, settings = request.app.state.store, request.app.state.settings
    follows = store.list_follows(user.id)
    items = store.for_you(user.id, limit=settings.page_size, half_life_hours=settings.for_you_half_life) \
        if follows else []
    fallback = [] if items else top_stories(store, limit=settings.page_size)
    return render(request, "for_you.html", status=status, items=items, follows=follows, fallback=fallback, **extra)


@router.get("/for-you", response_class=HTMLResponse)
def for_you(request: Request, user: CurrentUser):
    return _for_you_page(request, user)
