"""A reader's digest on the web: the private Atom feed and the unsubscribe link of the emails.

* ``GET /digests/{token}.atom`` — the stories the reader follows that changed in their
  digest's period (daily unless weekly is chosen), as Atom 1.0. The token is the secret: it
  is shown once on the account page and only its SHA-256 is stored; an unknown one is a 404.
  The response is ``private``: the anonymous page cache never keeps it.
* ``GET /digests/unsubscribe/{token}`` — a confirm form; ``POST`` the same URL unsubscribes.
  Nobody is signed in (the link comes from an email), so the form's CSRF token is derived
  from the unsubscribe token (tasks/digests.py, ``unsubscribe_check``): only a page served
  for that link can post it. Mail clients' one-click unsubscribe (RFC 8058) posts to the
  List-Unsubscribe URL, which carries the same check as ``?k=``.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from ...errors import NotFound
from ...models import utcnow
from ...tasks.digests import build_digest, unsubscribe_check
from ..deps import SettingsDep, StoreDep
from .atom import ATOM_TYPE, AtomEntry, atom_document
from .render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PRIVATE = {"Cache-Control": "private, no-cache"}


def _counts(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


@router.get("/digests/{token}.atom")
def digest_feed(token: str, store: StoreDep, settings: SettingsDep):
    prefs = store.digest_for_feed_token(token)
    if prefs is None:
        raise NotFound("digest: no such feed")
    period = "weekly" if prefs.period == "weekly" else "daily"
    digest = build_digest(store, store.get_user(prefs.user_id), period, utcnow())
    base = settings.base_url.rstrip("/")
    entries = []
    for s in digest.stories:
        publishers = ", ".join(s.publishers) or "Unknown source"
        summary = (f"{publishers} · {_counts(s.article_count, 'article')} ({s.new_articles} new)."
                   + (f" {s.line}" if s.line else ""))
        entries.append(AtomEntry(id=f"{base}{s.path}", title=s.title, updated=s.updated or digest.until,
                                 link=f"{base}{s.path}", summary=summary))
    body = atom_document(feed_id=f"{base}/digests/{prefs.user_id}", title=f"newsloom: {prefs.username}'s {period} digest",
                         subtitle="What changed in the stories, hashtags and publishers you follow",
                         self_url=f"{base}/digests/{token}.atom", alternate=f"{base}/for-you", entries=entries,
                         updated=max((e.updated for e in entries), default=digest.until))
    return Response(body, media_type=ATOM_TYPE, headers={"X-Content-Type-Options": "nosniff", **PRIVATE})


def _unsubscriber(request: Request, token: str):
    store, settings = request.app.state.store, request.app.state.settings
    prefs = store.digest_for_unsubscribe_token(token)
    if prefs is None:
        raise NotFound("digest: this unsubscribe link is not known (or no longer works)")
    return prefs, unsubscribe_check(settings, token)


async def require_unsubscribe_check(request: Request, token: str) -> None:
    """The unsubscribe form's CSRF check: the `csrf_token` field (or the one-click link's `k`)
    must be the one derived from this link's token."""
    expected = unsubscribe_check(request.app.state.settings, token)
    submitted = request.query_params.get("k")
    if submitted is None:
        value = (await request.form()).get("csrf_token")
        submitted = value if isinstance(value, str) else None
    if not submitted or not hmac.compare_digest(submitted, expected):
        raise HTTPException(403, "csrf: the form is missing its security token; open the link from the email again")


@router.get("/digests/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_form(request: Request, token: str):
    prefs, check = _unsubscriber(request, token)
    return render(request, "digest_unsubscribe.html", headers=PRIVATE, prefs=prefs, token=token, check=check,
                  done=False)


@router.post("/digests/unsubscribe/{token}", response_class=HTMLResponse,
             dependencies=[Depends(require_unsubscribe_check)])
def unsubscribe(request: Request, token: str, store: StoreDep):
    prefs, check = _unsubscriber(request, token)
    store.unsubscribe_digest(prefs.user_id)
    return render(request, "digest_unsubscribe.html", headers=PRIVATE, prefs=prefs, token=token, check=check,
                  done=True)
