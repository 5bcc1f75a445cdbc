"""The Google Reader API, as Miniflux, FreshRSS and the apps that speak to them use it.

Reeder, NetNewsWire, ReadKit, FeedMe and others sign in with the instance's URL, a username
and a password, and from then on read and mark articles here; what they mark is the read
state the web pages show (store/reading.py: one state, whoever changes it).

**Signing in.** ``POST /accounts/ClientLogin`` (form ``Email``, ``Passwd``) checks the password
as the web login does, counted by the same rate limits and back-off (serve/auth.py), and
answers ``SID=…\\nLSID=…\\nAuth=…\\n`` (a JSON object with ``output=json``). The ``Auth`` value
is an API token named "Google Reader": listed on /account and revocable there like any other.
Every ``/reader/api/0`` call sends it as ``Authorization: GoogleLogin auth=<token>``.
Session cookies are never read here, so a page on another site cannot make a browser call
these routes as its user: that is why they need no CSRF token. Writes (POST) also carry the
protocol's write token ``T`` from ``GET /reader/api/0/token``: an HMAC of the API token under
the instance's secret key, so it dies with the token it was derived from.

**What is served.** Streams: ``user/-/state/com.google/reading-list`` (every article of the
reader's feeds: the instance's feeds until they choose their own), ``…/read``, ``…/starred``,
``…/kept-unread`` (unread), ``feed/<id>`` and one label, ``user/-/label/newsloom``, that holds
every feed: the instance has no folders, and one label keeps apps from showing one folder per
feed. ``user/<own id>/…`` is accepted for ``user/-/…``. Item ids go out in the long form
``tag:google.com,2005:reader/item/<16 hex digits>`` (contents) and the decimal short form
(``stream/items/ids``); both are read back. ``stream/items/ids`` pages by article id: the
continuation is the last id of the page.

Not served: adding feeds the instance does not have (``subscription/quickadd`` finds only the
instance's own feeds; ``subscription/edit`` subscribes to or drops those), renaming feeds,
labels other than the one, ``rename-tag``, ``disable-tag``: answered 400 with the reason.

Errors are JSON in the project's shape ({"error": {"code", "message"}}); a 401 also sends
``X-Reader-Google-Bad-Token: true``, which tells apps to sign in again (or, on a bad ``T``,
to fetch a fresh write token). Every number a client sends is bounded (ids by MAX_ID, counts,
timestamps); past the bounds is a 400, never a 500. Responses are ``Cache-Control: no-store``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any, Iterable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from ...errors import NewsloomError
from ...models import Article, Feed, User, utcnow
from ...store import Store
from ...store.community import fever_key_hash
from ..auth import login_backoff, login_failed, login_limited, login_succeeded, verify_password
from ..deps import MAX_ID

__all__ = ["router", "ReaderError", "bounded_int", "reader_feeds", "article_html",
           "unix", "item_id_long", "parse_item_id", "LABEL"]

TOKEN_NAME = "Google Reader"
LABEL = "newsloom"                                     # the one label (folder) holding every feed
ITEM_PREFIX = "tag:google.com,2005:reader/item/"
STATE = "user/-/state/com.google/"
READING_LIST, READ, STARRED, KEPT_UNREAD = (STATE + s for s in ("reading-list", "read", "starred", "kept-unread"))
LABEL_STREAM = f"user/-/label/{LABEL}"
MAX_ITEMS = 10_000            # n= for stream/items/ids (Google's own ceiling)
MAX_REQUEST_IDS = 1_000       # i= per contents or edit-tag call
STORE_PAGE = 1_000            # articles per article_stream call (its own ceiling)
MAX_TIMESTAMP = 2**62         # seconds, milli-, micro- or nanoseconds: anything past this is nonsense
NO_STORE = {"Cache-Control": "no-store"}
_STREAM = re.compile(r"user/(-|\d{1,20})/(state/com\.google|label)/(.{1,200})")


# -- errors ----------------------------------------------------------------------
class ReaderError(NewsloomError):
    """A request these protocols refuse. The one error handler (serve/errors.py) answers it:
    the status from its code (STATUS), the project's JSON shape, its own headers."""

    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message, code=code)
        self.headers = {**NO_STORE, **(headers or {})}


def _unauthorized(message: str) -> ReaderError:
    return ReaderError(message, code="unauthorized", headers={"X-Reader-Google-Bad-Token": "true",
                                                              "WWW-Authenticate": "GoogleLogin"})


router = APIRouter(include_in_schema=False)


# -- shared with the Fever API -----------------------------------------------------
def unix(when: datetime | None) -> int:
    if when is None:
        return 0
    return int((when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp())


def reader_feeds(store: Store, user_id: int) -> list[Feed]:
    """The feeds this reader reads (every feed of the instance until they choose), by id."""
    wanted = set(store.reader_feed_ids(user_id))
    return [f for f in store.list_feeds() if f.id in wanted]


def feed_title(feed: Feed) -> str:
    return feed.title or feed.url


def article_html(article: Article) -> str:
    """The stored text as HTML paragraphs (escaped: the text is plain), else the feed's summary
    (sanitized when it was stored)."""
    paragraphs = [p.strip() for p in (article.text or "").split("\n\n") if p.strip()]
    if paragraphs:
        return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return article.summary or ""


def item_id_long(article_id: int) -> str:
    return f"{ITEM_PREFIX}{article_id:016x}"


def parse_item_id(value: str) -> int:
    """An article id from the long form (16 hex digits) or the short form (signed decimal, as
    Google wrote 64-bit ids); 400 for anything else or out of 1..MAX_ID."""
    text = value.strip()
    try:
        if text.startswith(ITEM_PREFIX):
            digits = text[len(ITEM_PREFIX):]
            if not re.fullmatch(r"[0-9a-fA-F]{1,16}", digits):
                raise ValueError
            number = int(digits, 16)
        else:
            if not re.fullmatch(r"-?\d{1,20}", text):
                raise ValueError
            number = int(text)
    except ValueError:
        raise ReaderError(f"reader: {text[:60]!r} is not an item id") from None
    if not 1 <= number <= MAX_ID:
        raise ReaderError(f"reader: item id {text[:60]!r} is out of range")
    return number


def bounded_int(value: str | None, name: str, *, low: int, high: int, default: int | None = None,
                component: str = "reader") -> int | None:
    if value is None or value.strip() == "":
        return default
    text = value.strip()
    if not re.fullmatch(r"-?\d{1,20}", text) or not low <= int(text) <= high:
        raise ReaderError(f"{component}: {name} must be a whole number from {low} to {high}")
    return int(text)


def timestamp(value: str | None, name: str) -> datetime | None:
    """A Unix time in seconds, or (as apps send them) milli-, micro- or nanoseconds."""
    number = bounded_int(value, name, low=0, high=MAX_TIMESTAMP)
    if number is None:
        return None
    for scale in (1, 1_000, 1_000_000, 1_000_000_000):
        if number / scale < 100_000_000_000:       # before the year 5138 in this unit
            return datetime.fromtimestamp(number / scale, timezone.utc)
    raise ReaderError(f"reader: {name} is not a time")       # pragma: no cover - MAX_TIMESTAMP stops it


# -- requests --------------------------------------------------------------------
async def _params(request: Request) -> dict[str, list[str]]:
    """Query and form fields together (apps send either), each name's values in order."""
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        out.setdefault(key, []).append(value)
    if request.method == "POST":
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, str):
                out.setdefault(key, []).append(value)
    return out


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _token_of(request: Request) -> str:
    """The API token of `Authorization: GoogleLogin auth=<token>`; 401 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, rest = header.strip().partition(" ")
    key, _, token = rest.strip().partition("=")
    if scheme != "GoogleLogin" or key != "auth" or not token or len(token) > 200:
        raise _unauthorized("reader: send Authorization: GoogleLogin auth=<the Auth value of ClientLogin>")
    return token.strip()


def reader_user(request: Request) -> User:
    """The dependency of every /reader/api/0 call: the owner of the GoogleLogin token."""
    token = _token_of(request)
    user = request.app.state.store.user_for_token(token)
    if user is None:
        raise _unauthorized("reader: unknown or revoked token; sign in again")
    if user.banned:
        raise ReaderError("reader: this account is banned", code="forbidden")
    request.state.reader_token = token
    return user


ReaderUser = Annotated[User, Depends(reader_user)]


def _write_token(request: Request) -> str:
    secret = request.app.state.settings.secret_key.encode("utf-8")
    return hmac.new(secret, b"greader-write:" + request.state.reader_token.encode("utf-8"),
                    hashlib.sha256).hexdigest()[:57]


def _check_write_token(request: Request, params: dict[str, list[str]]) -> None:
    sent = _one(params, "T") or ""
    if not sent or not hmac.compare_digest(sent.encode("utf-8", "replace"), _write_token(request).encode()):
        raise _unauthorized("reader: the write token T is missing or wrong; fetch /reader/api/0/token")


def _json(data: Any) -> JSONResponse:
    return JSONResponse(data, headers=NO_STORE)


def _ok() -> PlainTextResponse:
    return PlainTextResponse("OK", headers=NO_STORE)


# -- streams ---------------------------------------------------------------------
@dataclass(frozen=True)
class Stream:
    kind: str                     # all | feed | read | starred | unread
    feed_id: int | None = None


def parse_stream(value: str | None, user: User, feeds: Iterable[Feed] = ()) -> Stream:
    text = (value or "").strip()
    if text.startswith("feed/"):
        rest = text[len("feed/"):]
        if re.fullmatch(r"\d{1,20}", rest):
            number = int(rest)
            if not 1 <= number <= MAX_ID:
                raise ReaderError(f"reader: feed id {rest[:30]} is out of range")
            return Stream("feed", number)
        for feed in feeds:                            # Google's own form: feed/<feed URL>
            if feed.url == rest:
                return Stream("feed", feed.id)
        raise ReaderError(f"reader: no feed {rest[:100]!r}", code="not_found")
    m = _STREAM.fullmatch(text)
    if m is None:
        raise ReaderError(f"reader: unknown stream {text[:100]!r}")
    who, kind, name = m.groups()
    if who != "-" and who != str(user.id):
        raise ReaderError("reader: streams of other users are not served", code="forbidden")
    if kind == "label":
        if name != LABEL:
            raise ReaderError(f"reader: the only label is {LABEL!r}", code="not_found")
        return Stream("all")
    states = {"reading-list": "all", "read": "read", "starred": "starred", "kept-unread": "unread"}
    if name not in states:
        raise ReaderError(f"reader: the stream state {name[:50]!r} is not served")
    return Stream(states[name])


def _stream_ids(store: Store, user: User, stream: Stream, *, exclude_read: bool, only_starred: bool,
                limit: int, newest_first: bool, after: int | None, newer_than: datetime | None,
                older_than: datetime | None) -> tuple[list[Article], int | None]:
    """One page of a stream, and the continuation (the last id) when there may be more."""
    kwargs: dict[str, Any] = {"feed_id": stream.feed_id, "starred": stream.kind == "starred" or only_starred,
                              "unread_only": exclude_read or stream.kind == "unread", "newer_than": newer_than,
                              "older_than": older_than, "newest_first": newest_first}
    cursor = after
    out: list[Article] = []
    while len(out) < limit:
        want = min(limit - len(out), STORE_PAGE)
        page_kwargs = dict(kwargs, limit=want)
        if cursor is not None:
            page_kwargs["before_id" if newest_first else "after_id"] = cursor
        page = store.article_stream(user.id, **page_kwargs)
        if not page:
            return out, None
        cursor = page[-1].id
        if stream.kind == "read":                 # no such filter in the store: keep the read ones
            read = store.read_ids(user.id, [a.id for a in page])
            out += [a for a in page if a.id in read]
        else:
            out += page
        if len(page) < want:
            return out, None
    return out, cursor


def _categories(article: Article, read: set[int], starred: set[int]) -> list[str]:
    cats = [READING_LIST, LABEL_STREAM]
    if article.id in read:
        cats.append(READ)
    if article.id in starred:
        cats.append(STARRED)
    return cats


def _items(store: Store, user: User, articles: list[Article], feeds: dict[int, Feed]) -> list[dict[str, Any]]:
    ids = [a.id for a in articles]
    read, starred = store.read_ids(user.id, ids), store.starred_ids(user.id, ids)
    out = []
    for a in articles:
        feed = feeds.get(a.feed_id) if a.feed_id is not None else None
        published = a.published_at or a.fetched_at
        body = {"direction": "ltr", "content": article_html(a)}
        out.append({
            "id": item_id_long(a.id),
            "crawlTimeMsec": str(unix(a.fetched_at or published) * 1000),
            "timestampUsec": str(unix(published) * 1_000_000),
            "published": unix(published),
            "updated": unix(a.fetched_at or published),
            "title": a.title,
            "author": a.author or "",
            "canonical": [{"href": a.url}],
            "alternate": [{"href": a.url, "type": "text/html"}],
            "categories": _categories(a, read, starred),
            "summary": body,
            "content": body,
            "origin": {"streamId": f"feed/{a.feed_id}" if a.feed_id is not None else LABEL_STREAM,
                       "title": feed_title(feed) if feed else (a.source_name or ""),
                       "htmlUrl": (feed.site_url or "") if feed else ""},
            "enclosure": [],
        })
    return out


# -- sign-in -------------------------------------------------------------------------
@router.post("/accounts/ClientLogin")
async def client_login(request: Request):
    """Async, as the web login: a back-off waits on the event loop, not in a pool thread."""
    params = await _params(request)
    username = (_one(params, "Email") or "").strip()
    password = (_one(params, "Passwd") or "")[:1024]
    wait = await run_in_threadpool(login_limited, request, username)
    if wait is not None:
        seconds = max(int(wait + 0.999), 1)
        raise ReaderError(f"rate limit: too many login attempts; try again in {seconds} seconds",
                          code="rate_limited", headers={"Retry-After": str(seconds)})
    delay = await run_in_threadpool(login_backoff, request, username)
    if delay > 0:
        await asyncio.sleep(delay)
    token = await run_in_threadpool(_client_login, request, username, password)
    if _one(params, "output") == "json":
        return _json({"SID": token, "LSID": token, "Auth": token})
    return PlainTextResponse(f"SID={token}\nLSID={token}\nAuth={token}\n", headers=NO_STORE)


def _client_login(request: Request, username: str, password: str) -> str:
    store = request.app.state.store
    user = store.find_user(username) if username and len(username) <= 64 else None
    if not verify_password(request, user, password):
        login_failed(request, username)
        raise ReaderError("reader: wrong username or password", code="unauthorized",
                          headers={"WWW-Authenticate": "GoogleLogin"})
    login_succeeded(request, username)
    if user.banned:
        raise ReaderError("reader: this account is banned", code="forbidden")
    store.set_fever_key(user.id, fever_key_hash(user.username, password))   # the password is known now too
    return store.create_api_token(user.username, name=TOKEN_NAME)


# -- reads ---------------------------------------------------------------------------
@router.get("/reader/api/0/token")
def write_token(request: Request, user: ReaderUser):
    return PlainTextResponse(_write_token(request), headers=NO_STORE)


@router.get("/reader/api/0/user-info")
def user_info(user: ReaderUser):
    return _json({"userId": str(user.id), "userName": user.username, "userProfileId": str(user.id),
                  "userEmail": user.email or "", "isBloggerUser": False,
                  "signupTimeSec": unix(user.created_at), "isMultiLoginEnabled": False})


@router.get("/reader/api/0/subscription/list")
def subscription_list(request: Request, user: ReaderUser):
    store: Store = request.app.state.store
    subs = [{"id": f"feed/{f.id}", "title": feed_title(f), "categories": [{"id": LABEL_STREAM, "label": LABEL}],
             "url": f.url, "htmlUrl": f.site_url or "", "iconUrl": "", "firstitemmsec": "0",
             "sortid": f"{f.id:08x}"} for f in reader_feeds(store, user.id)]
    return _json({"subscriptions": subs})


@router.get("/reader/api/0/tag/list")
def tag_list(user: ReaderUser):
    return _json({"tags": [{"id": STARRED}, {"id": LABEL_STREAM, "label": LABEL, "type": "folder"}]})


@router.get("/reader/api/0/unread-count")
def unread_count(request: Request, user: ReaderUser):
    store: Store = request.app.state.store
    counts = store.unread_counts(user.id)
    rows, newest_all = [], 0
    for feed in reader_feeds(store, user.id):
        n = counts.by_feed.get(feed.id, 0)
        if not n:
            continue
        latest = store.article_stream(user.id, feed_id=feed.id, unread_only=True, limit=1)
        when = unix((latest[0].published_at or latest[0].fetched_at) if latest else None) * 1_000_000
        newest_all = max(newest_all, when)
        rows.append({"id": f"feed/{feed.id}", "count": n, "newestItemTimestampUsec": str(when)})
    if counts.total:
        for stream in (LABEL_STREAM, READING_LIST):
            rows.append({"id": stream, "count": counts.total, "newestItemTimestampUsec": str(newest_all)})
    return _json({"max": max([counts.total, *(r["count"] for r in rows)]) if rows else 0, "unreadcounts": rows})


def _page_args(params: dict[str, list[str]], user: User, feeds: list[Feed]) -> dict[str, Any]:
    stream = parse_stream(_one(params, "s") or READING_LIST, user, feeds)
    excluded = [parse_stream(x, user, feeds) for x in params.get("xt", [])]
    included = [parse_stream(x, user, feeds) for x in params.get("it", [])]
    if any(x.kind not in ("read",) for x in excluded):
        raise ReaderError("reader: only the read state can be excluded (xt=user/-/state/com.google/read)")
    if any(x.kind not in ("starred", "all") for x in included):
        raise ReaderError("reader: only the starred state can be a filter (it=user/-/state/com.google/starred)")
    if stream.kind == "read" and excluded:
        return {"stream": stream, "empty": True}
    return {"stream": stream, "exclude_read": bool(excluded),
            "only_starred": any(x.kind == "starred" for x in included),
            "limit": bounded_int(_one(params, "n"), "n", low=1, high=MAX_ITEMS, default=20),
            "newest_first": _one(params, "r") != "o",
            "after": bounded_int(_one(params, "c"), "c", low=1, high=MAX_ID),
            "newer_than": timestamp(_one(params, "ot"), "ot"),
            "older_than": timestamp(_one(params, "nt"), "nt")}


@router.get("/reader/api/0/stream/items/ids")
async def stream_item_ids(request: Request, user: ReaderUser):
    params = await _params(request)
    store: Store = request.app.state.store

    def work() -> dict[str, Any]:
        args = _page_args(params, user, reader_feeds(store, user.id))
        if args.pop("empty", False):
            return {"itemRefs": []}
        articles, more = _stream_ids(store, user, **args)
        out: dict[str, Any] = {"itemRefs": [
            {"id": str(a.id), "directStreamIds": [f"feed/{a.feed_id}"] if a.feed_id is not None else [],
             "timestampUsec": str(unix(a.published_at or a.fetched_at) * 1_000_000)} for a in articles]}
        if more is not None:
            out["continuation"] = str(more)
        return out

    return _json(await run_in_threadpool(work))


@router.api_route("/reader/api/0/stream/items/contents", methods=["GET", "POST"])
async def stream_item_contents(request: Request, user: ReaderUser):
    """GET or POST, i= repeated. POST needs the write token only when the app sends one (Reeder
    and others post this read with T; some do not): it changes nothing."""
    params = await _params(request)
    raw = params.get("i", [])
    if not raw:
        raise ReaderError("reader: name the items with i=")
    if len(raw) > MAX_REQUEST_IDS:
        raise ReaderError(f"reader: at most {MAX_REQUEST_IDS} items a call")
    ids = list(dict.fromkeys(parse_item_id(v) for v in raw))
    newest_first = _one(params, "r") != "o"
    store: Store = request.app.state.store

    def work() -> dict[str, Any]:
        feeds = {f.id: f for f in store.list_feeds()}
        chosen = set(store.chosen_feed_ids(user.id))          # none chosen: every article is the reader's
        found = []
        for article_id in ids:
            try:
                article = store.get_article(article_id)
            except NewsloomError:
                continue
            if not chosen or article.feed_id in chosen or article_id in store.starred_ids(user.id, [article_id]):
                found.append(article)
        found.sort(key=lambda a: a.id, reverse=newest_first)
        return {"direction": "ltr", "id": READING_LIST, "title": "newsloom", "author": user.username,
                "updated": unix(utcnow()), "self": [{"href": str(request.url_for("stream_item_contents"))}],
                "items": _items(store, user, found, feeds)}

    return _json(await run_in_threadpool(work))


# -- writes --------------------------------------------------------------------------
@router.post("/reader/api/0/edit-tag")
async def edit_tag(request: Request, user: ReaderUser):
    params = await _params(request)
    _check_write_token(request, params)
    raw = params.get("i", [])
    if not raw or len(raw) > MAX_REQUEST_IDS:
        raise ReaderError(f"reader: name 1 to {MAX_REQUEST_IDS} items with i=")
    ids = list(dict.fromkeys(parse_item_id(v) for v in raw))
    add = [parse_stream(s, user) for s in params.get("a", [])]
    remove = [parse_stream(s, user) for s in params.get("r", [])]
    if not add and not remove:
        raise ReaderError("reader: say what to add (a=) or remove (r=)")
    changes: dict[str, bool] = {}
    for stream, on in [(s, True) for s in add] + [(s, False) for s in remove]:
        if stream.kind == "read":
            key, value = "read", on
        elif stream.kind == "unread":          # kept-unread: its opposite
            key, value = "read", not on
        elif stream.kind == "starred":
            key, value = "starred", on
        else:
            raise ReaderError("reader: only read, kept-unread and starred can be added or removed")
        if changes.get(key, value) != value:
            raise ReaderError(f"reader: {key} is both added and removed")
        changes[key] = value
    store: Store = request.app.state.store

    def work() -> None:
        existing = _existing(store, ids)
        if not existing:
            return
        if "read" in changes:
            store.mark_read(user.id, existing, read=changes["read"])
        if "starred" in changes:
            store.set_starred(user.id, existing, starred=changes["starred"])

    await run_in_threadpool(work)
    return _ok()


def _existing(store: Store, ids: list[int]) -> list[int]:
    out = []
    for article_id in ids:
        try:
            store.get_article(article_id)
        except NewsloomError:
            continue
        out.append(article_id)
    return out


@router.post("/reader/api/0/mark-all-as-read")
async def mark_all_as_read(request: Request, user: ReaderUser):
    params = await _params(request)
    _check_write_token(request, params)
    store: Store = request.app.state.store
    stream = parse_stream(_one(params, "s") or READING_LIST, user, await run_in_threadpool(store.list_feeds))
    if stream.kind not in ("all", "feed", "unread"):
        raise ReaderError("reader: mark-all-as-read takes the reading list, the label or a feed")
    before = timestamp(_one(params, "ts"), "ts")
    await run_in_threadpool(lambda: store.mark_all_read(user.id, feed_id=stream.feed_id, before=before))
    return _ok()


@router.post("/reader/api/0/subscription/edit")
async def subscription_edit(request: Request, user: ReaderUser):
    """Subscribe to or drop feeds of this instance (ac=subscribe|unsubscribe, s=feed/<id>);
    adding feeds to the instance, renaming and moving between labels are not served."""
    params = await _params(request)
    _check_write_token(request, params)
    store: Store = request.app.state.store
    action = _one(params, "ac") or ""
    if action not in ("subscribe", "unsubscribe"):
        raise ReaderError("reader: subscription/edit does ac=subscribe and ac=unsubscribe (feeds are the "
                          "instance's; titles and labels are not edited here)")

    def work() -> None:
        feeds = store.list_feeds()
        known = {f.id for f in feeds}
        streams = [parse_stream(s, user, feeds) for s in params.get("s", [])]
        if not streams or any(s.kind != "feed" for s in streams):
            raise ReaderError("reader: name the feeds with s=feed/<id>")
        for s in streams:
            if s.feed_id not in known:
                raise ReaderError(f"reader: this instance has no feed {s.feed_id}; an administrator adds feeds", code="not_found")
        for s in streams:
            (store.subscribe if action == "subscribe" else store.unsubscribe)(user.id, s.feed_id)

    await run_in_threadpool(work)
    return _ok()


@router.post("/reader/api/0/subscription/quickadd")
async def quickadd(request: Request, user: ReaderUser):
    """Finds the URL among the instance's feeds (by feed or site URL) and subscribes to it;
    fetching a feed the instance does not have is an administrator's job: numResults 0."""
    params = await _params(request)
    _check_write_token(request, params)
    url = (_one(params, "quickadd") or "").strip()
    if url.startswith("feed/"):
        url = url[len("feed/"):]
    store: Store = request.app.state.store

    def work() -> dict[str, Any]:
        for feed in store.list_feeds():
            if url and url in (feed.url, feed.site_url):
                store.subscribe(user.id, feed.id)
                return {"numResults": 1, "query": feed.url, "streamId": f"feed/{feed.id}",
                        "streamName": feed_title(feed)}
        return {"numResults": 0, "query": url[:2000]}

    return _json(await run_in_threadpool(work))


@router.post("/reader/api/0/rename-tag")
@router.post("/reader/api/0/disable-tag")
async def labels_are_fixed(request: Request, user: ReaderUser):
    raise ReaderError(f"reader: labels are not edited here; every feed is under {LABEL!r}")
