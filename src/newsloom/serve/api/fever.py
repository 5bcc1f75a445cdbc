"""The Fever API at ``/fever/``, for the apps that speak it (Reeder, ReadKit, FeedMe, Unread...).

Every call is ``/fever/?api`` plus what it asks for, with ``api_key`` = md5("username:password")
in lower-case hex, posted (a query parameter is read too). The key is the account's own
username and password: the store keeps SHA-256 of it (users.fever_key_hash), set at sign-up
and at each web or Google Reader login, the only moments the password is known, so an account
made elsewhere connects after its first login. Session cookies are never read: a page on
another site cannot act through a visitor's browser, hence no CSRF token. Failed keys count
against the client's address under the login address limit (``login_address_rate_limit``);
over it, 429.

Every answer is JSON with ``api_version`` 3 and ``auth`` (0 for a missing or wrong key, and
nothing else then), and with ``auth`` 1 ``last_refreshed_on_time``, plus one member per thing
asked for:

- ``groups``: one group, ``newsloom`` (id 1), holding every feed (the instance has no
  folders), with ``feeds_groups``; ``feeds``: the reader's feeds (the instance's until they
  choose their own), with ``feeds_groups``;
- ``items``: at most 50 articles, ``since_id`` (ids above it, oldest first), ``max_id`` (ids
  below it, newest first) or ``with_ids`` (up to 50, comma-separated); with ``total_items``.
  No argument is ``since_id=0``;
- ``unread_item_ids``, ``saved_item_ids``: comma-separated ids;
- ``links`` and ``favicons``: empty (no Hot links; no icons are stored);
- writes: ``mark=item&as=read|unread|saved|unsaved&id=``, and ``mark=feed|group&as=read&id=
  &before=`` (a Unix time; group 0, Kindling, and group 1 are everything, -1, Sparks, is none).
  Marking read marks the article's wire copies too (store/reading.py). The answer carries the
  updated ``unread_item_ids`` or ``saved_item_ids``.

Numbers outside their bounds (ids over MAX_ID, an odd ``as``) are a 400 in the project's error
shape, never a 500.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ...errors import NewsloomError
from ...models import Article, User, utcnow
from ...store import Store
from ...store.community import hash_secret
from ..auth import address_key, parse_rate
from ..deps import MAX_ID
from .greader import LABEL, NO_STORE, ReaderError, article_html, bounded_int, reader_feeds, unix

__all__ = ["router", "API_VERSION", "GROUP_ID", "MAX_ITEMS"]

API_VERSION = 3
GROUP_ID = 1
MAX_ITEMS = 50
MAX_ID_LIST = 200_000         # unread_item_ids / saved_item_ids: more than any reader keeps unread
_PAGE = 1_000

router = APIRouter(include_in_schema=False)


async def _params(request: Request) -> dict[str, str]:
    out = {k: v for k, v in request.query_params.items()}
    if request.method == "POST":
        form = await request.form()
        out.update({k: v for k, v in form.items() if isinstance(v, str)})
    return out


def _int(fields: dict[str, str], name: str, *, low: int = 0, high: int = MAX_ID) -> int | None:
    return bounded_int(fields.get(name), name, low=low, high=high, component="fever")


def _failures_key(request: Request) -> str:
    return f"fever_failures:{address_key(request)}"


def _fever_user(request: Request, fields: dict[str, str]) -> User | None:
    """The key's owner, or None. Failures are counted per address and refused past the limit."""
    store: Store = request.app.state.store
    limit, window = parse_rate(request.app.state.settings.login_address_rate_limit)
    if store.count_rate_events(_failures_key(request), window) >= limit:
        raise ReaderError("rate limit: too many wrong Fever keys from this address; try again later",
                          code="rate_limited", headers={"Retry-After": str(int(window))})
    key = (fields.get("api_key") or "").strip().lower()
    user = store.user_for_fever_key(hash_secret(key)) if 0 < len(key) <= 64 else None
    if user is None or user.banned:
        store.add_rate_event(_failures_key(request))
        return None
    return user


def _id_list(store: Store, user: User, *, unread: bool) -> str:
    if not unread:
        return ",".join(str(i) for i in sorted(store.starred_ids(user.id))[:MAX_ID_LIST])
    ids: list[int] = []
    cursor = None
    while len(ids) < MAX_ID_LIST:
        page = store.article_stream(user.id, unread_only=True, newest_first=False, after_id=cursor, limit=_PAGE)
        ids += [a.id for a in page]
        if len(page) < _PAGE:
            break
        cursor = page[-1].id
    return ",".join(map(str, ids))


def _items(store: Store, user: User, fields: dict[str, str]) -> dict[str, Any]:
    chosen = set(store.chosen_feed_ids(user.id))          # none chosen: every article is the reader's
    if fields.get("with_ids"):
        parts = [p for p in fields["with_ids"].split(",") if p.strip()]
        if len(parts) > MAX_ITEMS:
            raise ReaderError(f"fever: with_ids takes at most {MAX_ITEMS} ids")
        articles: list[Article] = []
        for part in parts:
            article_id = bounded_int(part, "with_ids", low=1, high=MAX_ID, component="fever")
            try:
                article = store.get_article(article_id)
            except NewsloomError:
                continue
            if not chosen or article.feed_id in chosen:
                articles.append(article)
    elif fields.get("max_id"):
        max_id = _int(fields, "max_id", low=1)
        articles = store.article_stream(user.id, before_id=max_id, newest_first=True, limit=MAX_ITEMS)
    else:
        since = _int(fields, "since_id") or 0
        articles = store.article_stream(user.id, after_id=since or None, newest_first=False, limit=MAX_ITEMS)
    ids = [a.id for a in articles]
    read, saved = store.read_ids(user.id, ids), store.starred_ids(user.id, ids)
    items = [{"id": a.id, "feed_id": a.feed_id or 0, "title": a.title, "author": a.author or "",
              "html": article_html(a), "url": a.url, "is_saved": int(a.id in saved), "is_read": int(a.id in read),
              "created_on_time": unix(a.published_at or a.fetched_at)} for a in articles]
    return {"items": items, "total_items": store.count_stream(user.id)}


def _mark(store: Store, user: User, fields: dict[str, str]) -> dict[str, Any]:
    what, how = fields.get("mark"), fields.get("as")
    if what == "item":
        article_id = _int(fields, "id", low=1)
        if article_id is None or how not in ("read", "unread", "saved", "unsaved"):
            raise ReaderError("fever: mark=item takes id= and as=read, unread, saved or unsaved")
        try:
            store.get_article(article_id)
        except NewsloomError:
            raise ReaderError(f"fever: no item {article_id}", code="not_found") from None
        if how in ("read", "unread"):
            store.mark_read(user.id, [article_id], read=how == "read")
            return {"unread_item_ids": _id_list(store, user, unread=True)}
        store.set_starred(user.id, [article_id], starred=how == "saved")
        return {"saved_item_ids": _id_list(store, user, unread=False)}
    if what in ("feed", "group"):
        if how != "read":
            raise ReaderError(f"fever: mark={what} takes as=read")
        target = _int(fields, "id", low=-1)
        before_ts = _int(fields, "before", low=0, high=2**40)
        before = datetime.fromtimestamp(before_ts, timezone.utc) if before_ts else None
        if target is None:
            raise ReaderError(f"fever: mark={what} needs id=")
        if what == "feed":
            store.mark_all_read(user.id, feed_id=target, before=before)
        elif target in (0, GROUP_ID):
            store.mark_all_read(user.id, before=before)
        elif target != -1:                               # -1: Sparks, which holds no feed
            raise ReaderError(f"fever: no group {target}", code="not_found")
        return {"unread_item_ids": _id_list(store, user, unread=True)}
    raise ReaderError("fever: mark= takes item, feed or group")


def _answer(store: Store, user: User, fields: dict[str, str]) -> dict[str, Any]:
    feeds = reader_feeds(store, user.id)
    refreshed = max((f.last_fetched_at for f in feeds if f.last_fetched_at), default=None) or utcnow()
    out: dict[str, Any] = {"api_version": API_VERSION, "auth": 1, "last_refreshed_on_time": unix(refreshed)}
    feeds_groups = [{"group_id": GROUP_ID, "feed_ids": ",".join(str(f.id) for f in feeds)}]
    if "mark" in fields:
        out |= _mark(store, user, fields)
    if "groups" in fields:
        out |= {"groups": [{"id": GROUP_ID, "title": LABEL}], "feeds_groups": feeds_groups}
    if "feeds" in fields:
        out |= {"feeds": [{"id": f.id, "favicon_id": 0, "title": f.title or f.url, "url": f.url,
                           "site_url": f.site_url or "", "is_spark": 0,
                           "last_updated_on_time": unix(f.last_success_at or f.last_fetched_at)} for f in feeds],
                "feeds_groups": feeds_groups}
    if "items" in fields:
        out |= _items(store, user, fields)
    if "unread_item_ids" in fields:
        out["unread_item_ids"] = _id_list(store, user, unread=True)
    if "saved_item_ids" in fields:
        out["saved_item_ids"] = _id_list(store, user, unread=False)
    if "links" in fields:
        out["links"] = []
    if "favicons" in fields:
        out["favicons"] = []
    return out


@router.api_route("/fever/", methods=["GET", "POST"])
async def fever(request: Request):
    fields = await _params(request)
    store: Store = request.app.state.store

    def work() -> dict[str, Any]:
        user = _fever_user(request, fields)
        if user is None:
            return {"api_version": API_VERSION, "auth": 0}
        return _answer(store, user, fields)

    return JSONResponse(await run_in_threadpool(work), headers=NO_STORE)
