"""Accounts: sign up, log in, log out, and the account page (API tokens).

Plain forms and 303 redirects: everything works without JavaScript. A form with a
mistake comes back with status 400 and the message next to it (a taken username: 409, the
status serve/errors.py gives a "conflict"). At start-up this router
also gives every template `account(request)` (the viewer: user, csrf_token, can_moderate)
for the header's account links.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...errors import StoreError
from ...store.community import hash_secret
from ...store.digests import DIGEST_PERIODS
from ...tasks.digests import unsubscribe_token, valid_email
from ...store.community import fever_key_hash
from ..auth import (address_key, end_session, get_viewer, hash_password, login_backoff, login_failed,
                    login_limited, login_succeeded, rate_limited, require_csrf, safe_next, start_session,
                    too_many_requests, validate_credentials, validate_settings, verify_password)
from ..deps import CurrentUser, IdPath, StoreDep, ViewerDep
from ..errors import status_for
from .render import render

__all__ = ["router", "render", "redirect"]


@asynccontextmanager
async def lifespan(app: FastAPI):
    validate_settings(app.state.settings)
    app.state.templates.env.globals["account"] = get_viewer
    yield


router = APIRouter(include_in_schema=False, lifespan=lifespan)


def _target(next_url: str) -> str:
    """Where to go after logging in or signing up: a local page, never back to these forms."""
    target = safe_next(next_url)
    return "/" if target.split("?")[0] in ("/login", "/signup", "/logout") else target


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- sign up ---------------------------------------------------------------------
@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request, viewer: ViewerDep, next: str = "/"):
    if viewer.user is not None:
        return redirect(_target(next))
    return render(request, "signup.html", next=_target(next))


@router.post("/signup", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
def signup(request: Request, store: StoreDep, username: str = Form(""), password: str = Form(""),
           password2: str = Form(""), next: str = Form("/")):
    username, target = username.strip(), _target(next)

    def again(message: str, status: int = 400, **headers: str) -> Response:
        return render(request, "signup.html", status=status, headers=headers or None, error=message,
                      username=username, next=target)

    error = validate_credentials(username, password)
    if error is None and password != password2:
        error = "The two passwords differ."
    if error:
        return again(error)
    wait = rate_limited(request, "signup_rate_limit", address_key(request))
    if wait is not None:
        return too_many_requests(request, wait, "sign-ups from this address")
    try:
        user = store.create_user(username, hash_password(request, password))
    except StoreError as exc:
        if exc.code != "conflict":
            raise
        return again("That username is taken.", status_for(exc))
    store.set_fever_key(user.id, fever_key_hash(user.username, password))     # the Fever API's key (serve/api/fever.py)
    response = redirect(target)
    start_session(request, response, user)
    return response


# -- log in / out ------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, viewer: ViewerDep, next: str = "/"):
    if viewer.user is not None:
        return redirect(_target(next))
    return render(request, "login.html", next=_target(next))


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
async def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/")):
    """Async so that a back-off waits on the event loop: a sleeping worker thread per held-back
    attempt would let a stranger starve the pool every page shares. The store and argon2
    run in the thread pool as a plain handler's would."""
    username, target = username.strip(), _target(next)
    wait = await run_in_threadpool(login_limited, request, username)
    if wait is not None:
        return too_many_requests(request, wait, "login attempts")
    delay = await run_in_threadpool(login_backoff, request, username)
    if delay > 0:
        await asyncio.sleep(delay)
    return await run_in_threadpool(_check_login, request, username, password, target)


def _check_login(request: Request, username: str, password: str, target: str) -> Response:
    """A wrong password and an unknown user take the same path: one argon2 verification, one
    failure counted, the same page (verify_password checks a dummy hash for a missing user)."""
    store = request.app.state.store
    user = store.find_user(username) if username and len(username) <= 64 else None
    if not verify_password(request, user, password[:1024]):
        login_failed(request, username)
        return render(request, "login.html", status=400, error="Wrong username or password.", username=username,
                      next=target)
    login_succeeded(request, username)
    if user.banned:
        return render(request, "login.html", status=403, error="This account is banned.", username=username,
                      next=target)
    store.set_fever_key(user.id, fever_key_hash(user.username, password[:1024]))   # known only now: refresh it
    response = redirect(target)
    start_session(request, response, user)
    return response


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request):
    response = redirect("/")
    end_session(request, response)
    return response


# -- account page: API tokens ------------------------------------------------------
def _digest_context(request: Request, user) -> dict:
    """The account page's digest section: the settings, whether email can go out, the last sends."""
    store, settings = request.app.state.store, request.app.state.settings
    return {"digest": store.get_digest(user.id), "digest_email_on": bool(settings.smtp_host),
            "digest_sends": store.digest_sends(user.id, limit=3), "digest_periods": DIGEST_PERIODS}


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, user: CurrentUser, store: StoreDep):
    return render(request, "account.html", tokens=store.list_api_tokens(user.id), **_digest_context(request, user))


@router.post("/account/tokens", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
def create_token(request: Request, user: CurrentUser, store: StoreDep, name: str = Form("api")):
    """The new token is shown once, in this response (never stored in the clear, so no redirect)."""
    wait = rate_limited(request, "token_rate_limit", f"user:{user.id}")
    if wait is not None:
        return too_many_requests(request, wait, "API tokens")
    token = store.create_api_token(user.username, name=name.strip()[:100] or "api")
    return render(request, "account.html", status=201, headers={"Cache-Control": "no-store"}, new_token=token,
                  tokens=store.list_api_tokens(user.id), **_digest_context(request, user))


@router.post("/account/tokens/{token_id}/revoke", dependencies=[Depends(require_csrf)])
def revoke_token(token_id: IdPath, user: CurrentUser, store: StoreDep):
    store.revoke_api_token(user.id, token_id)
    return redirect("/account")


# -- account page: the digest ------------------------------------------------------
@router.post("/account/digest", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
def save_digest(request: Request, user: CurrentUser, store: StoreDep, period: str = Form("off"),
                email: str = Form("")):
    """How often the email digest goes out, and where (tasks/digests.py sends it)."""
    email = email.strip()
    error = None
    if period not in DIGEST_PERIODS:
        error = "Choose off, daily or weekly."
    elif email and not valid_email(email):
        error = "That email address does not look right."
    elif period != "off" and not email:
        error = "Give the address the digest goes to."
    if error:
        return render(request, "account.html", status=400, digest_error=error, tokens=store.list_api_tokens(user.id),
                      **_digest_context(request, user))
    store.save_digest(user.id, period=period, email=email or None)
    store.set_digest_unsubscribe_hash(user.id, hash_secret(unsubscribe_token(request.app.state.settings, user.id)))
    return redirect("/account#digest-heading")


@router.post("/account/digest/feed", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
def new_digest_feed(request: Request, user: CurrentUser, store: StoreDep):
    """A new private Atom feed URL, shown once in this response; the previous one stops working."""
    token = store.new_digest_feed_token(user.id)
    url = f"{request.app.state.settings.base_url.rstrip('/')}/digests/{token}.atom"
    return render(request, "account.html", status=201, headers={"Cache-Control": "no-store"}, new_feed_url=url,
                  tokens=store.list_api_tokens(user.id), **_digest_context(request, user))
