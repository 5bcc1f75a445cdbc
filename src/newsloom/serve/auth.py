"""Accounts on the web: password hashing, sessions, CSRF, the current user, rate limits.

- **Passwords**: argon2id through argon2-cffi's PasswordHasher (its defaults unless the
  `argon2_*` settings say otherwise); a hash made with older parameters is replaced at the
  next successful login. An unknown username still costs one verification (no timing oracle).
- **Sessions**: server-side. The `newsloom_session` cookie (HttpOnly, SameSite=Lax, Secure
  when base_url is https) holds a random token; the store keeps its SHA-256 with an expiry.
  Logging out deletes the row; a ban deletes all of a user's rows.
- **CSRF**: every form posts `csrf_token`. With a session it is the session's synchronizer
  token; without one (the login and sign-up forms) it is a signed double-submit token,
  HMAC(secret_key, the random `newsloom_csrf` cookie). JSON calls riding on a session send
  it as `X-CSRF-Token`; calls with `Authorization: Bearer <API token>` need none. A missing or
  wrong token is a 403.
- **Rate limits**: sliding windows counted in the store (`rate_events`), so every process and
  host of a deployment shares them; a Redis counter can replace `Store.hit_rate_limit` later
  without touching callers. Over the limit: 429 with Retry-After. Logins count per username
  *and address* pair (so a stranger's failures never refuse the owner elsewhere) and per
  address; many addresses failing at one account only slow its logins down (a back-off,
  never a lockout). An IPv6 client counts by its /64, which one host can rotate through.
- **Client addresses**: the peer's. `X-Forwarded-For` is read only when the peer is one of
  the `trusted_proxies`, and then from the right, where those proxies append what they saw.
  `newsloom serve` starts uvicorn without its own proxy-header handling, so this is the one
  place that decides.
- **Passwords people choose** (NIST SP 800-63B): 10 to 1024 characters, any characters,
  spaces included, no composition rules; refused when only blank, repetitive, sequential,
  common (zxcvbn's frequency lists of leaked passwords, words and names) or built on the
  username or the site's name.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from typing import Any, Union

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, Response

from ..errors import SettingsError
from ..models import User
from ..settings import Settings
from ..store.community import WebSession

__all__ = ["SESSION_COOKIE", "CSRF_COOKIE", "CSRF_FIELD", "CSRF_HEADER", "Viewer", "get_viewer", "require_csrf",
           "check_csrf", "hash_password", "verify_password", "start_session", "end_session", "parse_rate",
           "rate_limited", "too_many_requests", "client_ip", "address_key", "parse_networks", "safe_next", "api_user",
           "validate_settings", "USERNAME_RE", "MIN_PASSWORD_LENGTH", "MAX_PASSWORD_LENGTH", "validate_credentials",
           "password_problem", "login_limited", "login_backoff", "login_failed", "login_succeeded"]

SESSION_COOKIE = "newsloom_session"
CSRF_COOKIE = "newsloom_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
USERNAME_RE = re.compile(r"[A-Za-z0-9_-]{3,32}")
MIN_PASSWORD_LENGTH = 10        # NIST asks for 8 at least; we keep the 10 we always had
MAX_PASSWORD_LENGTH = 1024      # NIST asks for 64 at least; argon2 hashes any length in the same time
SITE_WORDS = ("newsloom",)      # context-specific words NIST says to refuse: everyone knows them
RATE_LIMIT_SETTINGS = ("comment_rate_limit", "signup_rate_limit", "login_rate_limit", "login_address_rate_limit",
                       "token_rate_limit")
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
_Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


# -- settings ------------------------------------------------------------------
def parse_rate(text: str) -> tuple[int, int]:
    """"5/minute" -> (5, 60). Units: second, minute, hour, day (a plural s is fine)."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*([a-z]+?)s?\s*", str(text).lower())
    if not m or m.group(2) not in _UNITS or int(m.group(1)) < 1:
        raise SettingsError(f"settings: rate limit {text!r} must look like 5/minute (second, minute, hour, day)")
    return int(m.group(1)), _UNITS[m.group(2)]


def parse_networks(values: list[str]) -> tuple[_Network, ...]:
    """["10.0.0.0/8", "::1"] -> networks; SettingsError naming NEWSLOOM_TRUSTED_PROXIES otherwise."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise SettingsError(f"settings: NEWSLOOM_TRUSTED_PROXIES: {value!r} is not a network "
                                f"(write CIDRs such as 10.0.0.0/8 or 127.0.0.1/32)") from None
    return tuple(networks)


def validate_settings(settings: Settings) -> None:
    for name in RATE_LIMIT_SETTINGS:
        try:
            parse_rate(getattr(settings, name))
        except SettingsError:
            raise SettingsError(f"settings: NEWSLOOM_{name.upper()} must look like 5/minute "
                                f"(second, minute, hour, day), got {getattr(settings, name)!r}") from None
    parse_networks(settings.trusted_proxies)


def _secure(settings: Settings) -> bool:
    return str(settings.base_url).lower().startswith("https://")


# -- passwords -----------------------------------------------------------------
def _hasher(request: Request) -> PasswordHasher:
    state = request.app.state
    ph = getattr(state, "password_hasher", None)
    if ph is None:
        s = state.settings
        ph = PasswordHasher(time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_cost)
        state.password_hasher = ph
        state.password_dummy_hash = ph.hash(secrets.token_urlsafe(16))
    return ph


def hash_password(request: Request, password: str) -> str:
    return _hasher(request).hash(password)


def verify_password(request: Request, user: User | None, password: str) -> bool:
    """True when `password` is the user's. Upgrades the stored hash when parameters changed."""
    ph = _hasher(request)
    if user is None:
        try:   # same work as a real check: response time does not reveal unknown usernames
            ph.verify(request.app.state.password_dummy_hash, password)
        except VerificationError:
            pass
        return False
    try:
        ph.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if ph.check_needs_rehash(user.password_hash):
        request.app.state.store.set_password_hash(user.id, ph.hash(password))
    return True


_GUESSABLE = ("That password is too easy to guess: common passwords, repeated or sequential characters and "
              "passwords built on your username are refused. A few unrelated words make a strong one.")
_ZXCVBN_MAX = 72           # zxcvbn 4.5 refuses longer input, and its matching grows fast with the length:
_ZXCVBN_WINDOWS = 2        # a long password is scored in pieces (up to ~75 ms each); one strong piece will do


def _periodic(text: str) -> bool:
    """One unit said again and again ("abcabcab", "hunter2hunter2", 20 spaces): NIST's repetitive."""
    return any(text[n:] == text[:-n] for n in range(1, len(text) // 2 + 1))


def _guessable(password: str, username: str) -> bool:
    """True when the password falls to a guesser with the usual lists and rules.

    zxcvbn (Dropbox's estimator) scores it against its frequency lists (leaked passwords,
    English words, names, TV and film) and its repeat, sequence, keyboard and date patterns:
    under 3 (about 10^8 guesses, what it calls "safely unguessable" for an online attack) is
    refused, and so is one pattern covering the whole password. The username and the site's
    name are known to any attacker, so they are taken out first and what is left must stand
    on its own ("mallory-2024!" for mallory leaves "-2024!").
    """
    from zxcvbn import zxcvbn   # here, not at import: its lists take ~50 ms to load, paid by the first check

    if _periodic(password):
        return True
    context = [w for w in (username.strip(), *SITE_WORDS) if len(w) >= 3]
    rest = password
    for word in context:
        rest = re.sub(re.escape(word), "", rest, flags=re.IGNORECASE)
    if not rest.strip():
        return True
    for start in range(0, min(len(rest), _ZXCVBN_MAX * _ZXCVBN_WINDOWS), _ZXCVBN_MAX):
        piece = rest[start:start + _ZXCVBN_MAX]
        result = zxcvbn(piece, user_inputs=context)
        whole = len(result["sequence"]) == 1 and result["sequence"][0]["pattern"] != "bruteforce"
        if result["score"] >= 3 and not whole:
            return False
    return True


def password_problem(password: str, username: str = "") -> str | None:
    """Why a new password is refused, or None: NIST SP 800-63B's rules for passwords people
    choose (length, blocklists, repetition and context; no composition rules, every printable
    character and space allowed, nothing else asked)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Passwords need at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Passwords are at most {MAX_PASSWORD_LENGTH} characters."
    if not password.strip():
        return "A password cannot be only spaces."
    if username and password.strip().lower() == username.strip().lower():
        return "The password cannot be the username."
    if _guessable(password, username):
        return _GUESSABLE
    return None


def validate_credentials(username: str, password: str) -> str | None:
    """A message for the sign-up form (and `newsloom users add`), or None when both are acceptable."""
    if not USERNAME_RE.fullmatch(username):
        return "Usernames are 3 to 32 characters: letters, digits, _ and -."
    return password_problem(password, username)


# -- who is asking -------------------------------------------------------------
@dataclass
class Viewer:
    """The person behind a request: a session's user, or anonymous."""

    session: WebSession | None
    secret_key: str
    anon_token: str | None = None      # value of the newsloom_csrf cookie
    new_anon_token: bool = False       # minted during this request: the response must set it
    csrf_used: bool = False            # the page embeds this reader's token: never share it (serve/conditional.py)

    @property
    def user(self) -> User | None:
        return self.session.user if self.session else None

    @property
    def can_moderate(self) -> bool:
        return self.user is not None and self.user.role in ("moderator", "admin")

    @property
    def csrf_token(self) -> str:
        self.csrf_used = True
        if self.session is not None:
            return self.session.csrf_token
        if not self.anon_token:
            self.anon_token, self.new_anon_token = secrets.token_urlsafe(32), True
        return _sign(self.secret_key, self.anon_token)


def _sign(secret_key: str, value: str) -> str:
    return hmac.new(secret_key.encode(), b"csrf:" + value.encode(), hashlib.sha256).hexdigest()


def get_viewer(request: Request) -> Viewer:
    """The viewer of this request, looked up once and kept on request.state."""
    viewer = getattr(request.state, "viewer", None)
    if viewer is None:
        session = request.app.state.store.get_session(request.cookies.get(SESSION_COOKIE))
        anon = request.cookies.get(CSRF_COOKIE)
        viewer = Viewer(session, request.app.state.settings.secret_key,
                        anon if anon and len(anon) <= 100 else None)
        request.state.viewer = viewer
    return viewer


def set_cookies(request: Request, response: Response) -> Response:
    """Give the response the anonymous CSRF cookie when a form minted one."""
    viewer = getattr(request.state, "viewer", None)
    if viewer is not None and viewer.new_anon_token and viewer.anon_token:
        response.set_cookie(CSRF_COOKIE, viewer.anon_token, httponly=True, samesite="lax", path="/",
                            secure=_secure(request.app.state.settings))
    return response


def check_csrf(request: Request, submitted: str | None) -> None:
    viewer = get_viewer(request)
    if viewer.session is not None:
        expected = viewer.session.csrf_token
    elif viewer.anon_token:
        expected = _sign(viewer.secret_key, viewer.anon_token)
    else:
        expected = None
    if not submitted or not expected or not hmac.compare_digest(str(submitted), expected):
        raise HTTPException(403, "csrf: the form is missing its security token or it has expired; "
                                 "reload the page and try again")


async def require_csrf(request: Request) -> None:
    """Dependency for every form POST: the `csrf_token` field must match."""
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    check_csrf(request, submitted)


# -- sessions ------------------------------------------------------------------
def start_session(request: Request, response: Response, user: User) -> None:
    """Log `user` in: a fresh session (the old one, if any, is dropped), its cookie on `response`."""
    store, settings = request.app.state.store, request.app.state.settings
    store.delete_session(request.cookies.get(SESSION_COOKIE))
    session = store.create_session(user.id, max_age=settings.session_max_age)
    response.set_cookie(SESSION_COOKIE, session.token or "", max_age=settings.session_max_age, httponly=True,
                        samesite="lax", path="/", secure=_secure(settings))
    request.state.viewer = Viewer(session, settings.secret_key)


def end_session(request: Request, response: Response) -> None:
    request.app.state.store.delete_session(request.cookies.get(SESSION_COOKIE))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=_secure(request.app.state.settings))


# -- client addresses ----------------------------------------------------------
def _address(text: str) -> _Address | None:
    """An address as a peer or a proxy writes it: 1.2.3.4, 1.2.3.4:80, ::1, [::1]:80; None if not one."""
    text = text.strip()
    bracketed = re.fullmatch(r"\[([^\]]+)\](?::\d+)?", text)
    if bracketed:
        text = bracketed.group(1)
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    return (addr.ipv4_mapped or addr) if isinstance(addr, ipaddress.IPv6Address) else addr


def _trusted(request: Request) -> tuple[_Network, ...]:
    state = request.app.state
    networks = getattr(state, "trusted_proxy_networks", None)
    if networks is None:
        networks = state.trusted_proxy_networks = parse_networks(state.settings.trusted_proxies)
    return networks


def client_ip(request: Request) -> str:
    """Who is asking: the peer address, unless the peer is a trusted proxy; then the right-most
    `X-Forwarded-For` address that is not a trusted proxy.

    Read from the right because each proxy appends the address it saw: everything left of the
    entry our own outermost proxy wrote came from the client and proves nothing. A hop that
    is not an address (a proxy writing "unknown") stops the walk at the proxy that sent it.
    """
    peer = request.client.host if request.client else ""
    addr = _address(peer)
    if addr is None:
        return peer[:64] or "unknown"
    networks = _trusted(request)
    if not any(addr in net for net in networks):
        return str(addr)
    hops = [hop for line in request.headers.getlist("x-forwarded-for") for hop in line.split(",")]
    for hop in reversed(hops):
        hop_addr = _address(hop)
        if hop_addr is None:
            break
        addr = hop_addr
        if not any(addr in net for net in networks):
            break
    return str(addr)


def address_key(request: Request) -> str:
    """The rate-limit key of the client's address: an IPv4 address, or an IPv6 /64 (one host
    commonly holds a whole /64 and could otherwise pick a fresh address per attempt)."""
    text = client_ip(request)
    addr = _address(text)
    if isinstance(addr, ipaddress.IPv6Address):
        return f"ip:{ipaddress.ip_network((addr, 64), strict=False)}"
    return f"ip:{text}"


# -- rate limits ---------------------------------------------------------------
def rate_limited(request: Request, setting: str, *keys: str) -> float | None:
    """Count one attempt against each key under the limit named by `setting`; the seconds to
    wait when any key is over it, else None."""
    limit, window = parse_rate(getattr(request.app.state.settings, setting))
    store = request.app.state.store
    for key in keys:
        wait = store.hit_rate_limit(f"{setting}:{key}", limit, window)
        if wait is not None:
            return wait
    return None


def _account(username: str) -> str:
    return "user:" + username.strip().lower()[:64]


def _pair(request: Request, username: str) -> str:
    return f"{_account(username)}|{address_key(request)}"     # no "|" in an address: the pair is unambiguous


def login_limited(request: Request, username: str) -> float | None:
    """Count one login attempt for this username from this address, and one from this
    address; the seconds to wait when over either limit. Counted before the password is
    checked, so parallel guesses cannot all slip in under the limit; a success clears the
    pair (login_succeeded), so what remains counted is failures."""
    return (rate_limited(request, "login_address_rate_limit", address_key(request))
            or rate_limited(request, "login_rate_limit", _pair(request, username)))


def login_backoff(request: Request, username: str) -> float:
    """Seconds to hold this login back: 0 until the account's failures, from everywhere, reach
    what one address may make in the window (`login_rate_limit`); then 0.25 s, doubling with
    every further such allowance, up to `login_backoff_max`. Guessing from many addresses gets
    slower; the owner still gets in. A delay and not a refusal: a refusal would be the
    lockout a stranger could impose again."""
    settings = request.app.state.settings
    if settings.login_backoff_max <= 0:
        return 0.0
    limit, window = parse_rate(settings.login_rate_limit)
    failures = request.app.state.store.count_rate_events(f"login_failures:{_account(username)}", window)
    if failures < limit:
        return 0.0
    doublings = min((failures - limit) / limit, 32.0)       # bounded: 2.0 ** 1100 would overflow
    return min(settings.login_backoff_max, 0.25 * 2 ** doublings)


def login_failed(request: Request, username: str) -> None:
    request.app.state.store.add_rate_event(f"login_failures:{_account(username)}")


def login_succeeded(request: Request, username: str) -> None:
    request.app.state.store.clear_rate_limit(f"login_rate_limit:{_pair(request, username)}")


def too_many_requests(request: Request, wait: float, what: str) -> Response:
    seconds = max(int(wait + 0.999), 1)
    message = f"rate limit: too many {what}; try again in {seconds} second{'s' if seconds != 1 else ''}"
    headers = {"Retry-After": str(seconds)}
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": {"code": "rate_limited", "message": message}}, status_code=429,
                            headers=headers)
    return request.app.state.templates.TemplateResponse(request, "error.html", {"status": 429, "message": message},
                                                        status_code=429, headers=headers)


# -- redirects -----------------------------------------------------------------
def safe_next(value: Any, default: str = "/") -> str:
    """A local path to go back to; anything else (other hosts, //evil, \\evil) becomes `default`."""
    text = str(value or "")
    if not text.startswith("/") or text.startswith("//") or "\\" in text or any(ord(c) < 32 for c in text):
        return default
    return text


# -- API callers ---------------------------------------------------------------
def _api_error(status: int, message: str, **headers: str) -> HTTPException:
    return HTTPException(status, message, headers=headers or None)


def api_user(request: Request) -> User:
    """Dependency for API writes: `Authorization: Bearer <token>`, or a session cookie plus
    the X-CSRF-Token header. 401 without credentials, 403 for a banned account."""
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        user = request.app.state.store.user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise _api_error(401, "auth: invalid API token", **{"WWW-Authenticate": "Bearer"})
    else:
        viewer = get_viewer(request)
        if viewer.user is None:
            raise _api_error(401, "auth: send Authorization: Bearer <API token>", **{"WWW-Authenticate": "Bearer"})
        check_csrf(request, request.headers.get(CSRF_HEADER))
        user = viewer.user
    if user.banned:
        raise _api_error(403, "auth: this account is banned")
    request.state.api_user = user
    return user
