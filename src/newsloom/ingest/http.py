"""The only module in newsloom that speaks HTTP.

``Fetcher.fetch(url)`` returns a :class:`FetchResult` or raises :class:`FetchError`
(never an httpx exception). Every fetch is:

* **address-guarded** - :func:`check_url_allowed` runs on the URL and on every
  redirect hop before anything is sent, and refuses non-http(s) schemes, URLs with
  credentials, and hosts resolving to loopback / private / link-local / multicast /
  reserved / unspecified / shared (100.64/10) addresses unless they fall in
  ``FetchPolicy.allow_networks``;
* **bounded** - a byte cap on the decoded body, a redirect cap, per-host plus global
  concurrency limits, and two wall-clock limits: ``timeout`` per request (one hop:
  connect, send, headers, body; a server trickling one byte a second cannot hold
  us) and ``deadline`` for the whole fetch (DNS, connect, every redirect hop,
  headers and body together). Without the second, a chain of redirects whose hops
  each answer just inside ``timeout`` would hold a worker ``max_redirects + 1``
  times longer; with it, no fetch holds a worker longer than ``deadline`` once it
  has its connection slots (time queued behind our own concurrency limits is not
  the server's doing and is not counted);
* **polite** - a clear User-Agent and conditional GET (If-None-Match /
  If-Modified-Since; a 304 becomes ``FetchResult(not_modified=True)``).

DNS rebinding (time-of-check / time-of-use): checking a name and then letting the
HTTP client resolve it again would let a hostile DNS server answer "public" to the
check and "10.0.0.1" to the connect. The default transport therefore uses a guarded
network backend: at connect time it resolves the host once, checks every address,
and connects to the checked IP literal (TLS still verifies and sends SNI for the
original host name). The pre-flight :func:`check_url_allowed` remains as a cheap
early refusal and as the only guard when a caller injects its own ``transport``
(tests); with such a transport the rebinding window is the caller's responsibility.
Proxies from the environment are ignored (``trust_env=False``) so the guard cannot
be bypassed by a proxy that resolves names itself.

Residual risks, accepted: decompression happens inside httpx, so one compressed
network chunk may expand in memory before the byte cap sees it (bounded by the
chunk size times the compression ratio); Semaphores bind to the running event loop,
so use one Fetcher per loop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Iterable

import httpcore
import httpx

from newsloom.errors import FetchError

__all__ = [
    "FetchResult", "FetchPolicy", "Fetcher", "check_url_allowed", "post_json",
    "parse_retry_after", "parse_max_age", "DEFAULT_ACCEPT", "DEFAULT_USER_AGENT",
]

DEFAULT_USER_AGENT = "newsloom/0.1 (+https://github.com/newsloom/newsloom)"
DEFAULT_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
                  "application/json, application/xml;q=0.9, text/html;q=0.8, */*;q=0.5")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass
class FetchResult:
    url: str                    # final URL after redirects
    status: int                 # 2xx (normally 200) or 304
    body: bytes                 # b"" on 304
    headers: dict[str, str]     # lower-cased names
    etag: str | None
    last_modified: str | None
    not_modified: bool
    elapsed: float              # seconds, whole fetch including redirects
    retry_after: float | None = None  # parsed Retry-After seconds if present
    max_age: int | None = None        # Cache-Control max-age if present


@dataclass
class FetchPolicy:
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 20.0           # per request (hop): connect+send+read, as a wall-clock deadline
    deadline: float = 30.0          # whole fetch: DNS, connect, every redirect hop, headers and body
    max_bytes: int = 10_000_000     # decoded body cap -> FetchError(code="too_large")
    max_redirects: int = 5
    per_host: int = 2               # concurrent requests per host name
    concurrency: int = 10           # concurrent fetches overall
    allow_networks: tuple[str, ...] = ()   # CIDRs allowed despite being non-global


# --------------------------------------------------------------------------- guard

def _short(url: object, limit: int = 200) -> str:
    """URL for messages: credentials removed, length bounded."""
    text = str(url)
    text = re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#]*@", r"\1", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse_networks(allow_networks: Iterable[str | _IPNetwork]) -> tuple[_IPNetwork, ...]:
    nets = []
    for item in allow_networks or ():
        try:
            nets.append(item if isinstance(item, (ipaddress.IPv4Network, ipaddress.IPv6Network))
                        else ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError as exc:
            raise FetchError(f"fetch: bad allow_networks entry {item!r}: {exc}",
                             code="blocked") from None
    return tuple(nets)


def _is_allowed(ip: _IPAddress, nets: tuple[_IPNetwork, ...]) -> bool:
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(c.version == n.version and c in n for c in candidates for n in nets)


def _address_problem(ip: _IPAddress) -> str | None:
    """Why ``ip`` must not be fetched from, or None when it is a global unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _address_problem(ip.ipv4_mapped)
        embedded = ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = _address_problem(embedded)
            if inner:
                return f"{inner} (embeds {embedded})"
        if ip.teredo is not None:
            return "reserved (Teredo)"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared address space"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "not global"
    return None


def _check_address(url: str, host: str, ip: _IPAddress, nets: tuple[_IPNetwork, ...]) -> None:
    if _is_allowed(ip, nets):
        return
    problem = _address_problem(ip)
    if problem:
        name = "" if str(ip) == host else f" ({host})"
        raise FetchError(f"fetch: refusing {_short(url)}: address {ip}{name} is {problem}",
                         code="blocked")


def _ip_literal(host: str) -> _IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _addresses_from_infos(infos) -> list[_IPAddress]:
    out: list[_IPAddress] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(sockaddr[0])
        if ip not in out:
            out.append(ip)
    return out


def _parse_target(url: str) -> tuple[httpx.URL, str, int]:
    """Validate scheme/credentials/host; return (URL, ascii host, port)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(f"fetch: refusing {_short(url)}: not a valid URL ({exc})",
                         code="blocked") from None
    if parsed.scheme not in ("http", "https"):
        raise FetchError(f"fetch: refusing {_short(url)}: scheme {parsed.scheme or '(none)'!r} "
                         "is not http or https", code="blocked")
    if parsed.userinfo:
        raise FetchError(f"fetch: refusing {_short(url)}: URLs with credentials are not fetched",
                         code="blocked")
    host = parsed.raw_host.decode("ascii", "replace")
    if not host:
        raise FetchError(f"fetch: refusing {_short(url)}: no host", code="blocked")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed, host, port


def _resolve(url: str, host: str, port: int) -> list[_IPAddress]:
    literal = _ip_literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise FetchError(f"fetch: cannot resolve {host}: {reason}", code="network") from None
    addresses = _addresses_from_infos(infos)
    if not addresses:
        raise FetchError(f"fetch: cannot resolve {host}: no IPv4/IPv6 address", code="network")
    return addresses


def check_url_allowed(url: str, allow_networks: Iterable[str] = ()) -> None:
    """Raise ``FetchError(code="blocked")`` unless ``url`` may be fetched.

    The scheme must be http or https, the URL must carry no ``user:password@``, and
    every address the host resolves to (``socket.getaddrinfo``; IP literals, odd
    IPv4 spellings like ``127.1`` and IPv4-mapped / 6to4 / NAT64 IPv6 included)
    must be global unicast - unless it lies inside one of ``allow_networks``.
    A name that does not resolve raises ``FetchError(code="network")``.
    Blocking (does DNS); from async code call it via ``asyncio.to_thread``.
    """
    _parsed, host, port = _parse_target(url)
    nets = _parse_networks(allow_networks)
    for ip in _resolve(url, host, port):
        _check_address(url, host, ip, nets)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve once, check every address, connect to the checked IP (no rebinding window)."""

    def __init__(self, allow_networks: tuple[_IPNetwork, ...]):
        self._nets = allow_networks
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        label = f"{host}:{port}"
        addresses = await asyncio.to_thread(_resolve, label, host, port)
        for ip in addresses:
            _check_address(label, host, ip, self._nets)
        last: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(str(ip), port, timeout=timeout,
                                                     local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover
        raise FetchError("fetch: unix sockets are not fetched", code="blocked")

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - used by httpcore retries
        await self._inner.sleep(seconds)


def _guarded_transport(policy: FetchPolicy, nets: tuple[_IPNetwork, ...]) -> httpx.AsyncBaseTransport:
    limits = httpx.Limits(max_connections=max(1, policy.concurrency),
                          max_keepalive_connections=max(1, policy.concurrency))
    transport = httpx.AsyncHTTPTransport(trust_env=False, limits=limits)
    # httpx (<1) keeps its httpcore pool in ``_pool``; swap in one with the guarded
    # backend. If that internal ever changes we fall back to the pre-flight check only.
    if isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool):
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True, http2=False,
            network_backend=_GuardedBackend(nets),
        )
    return transport


# ------------------------------------------------------------------- header parsing

def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP-date); None if absent/bad.

    >>> parse_retry_after("120")
    120.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT",
    ...                   now=datetime(2015, 10, 21, 7, 27, tzinfo=timezone.utc))
    60.0
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


def parse_max_age(cache_control: str | None) -> int | None:
    """The ``max-age`` of a Cache-Control header, or None.

    >>> parse_max_age("public, max-age=600")
    600
    """
    if not cache_control:
        return None
    m = re.search(r'(?:^|[,\s])max-age\s*=\s*"?(\d+)"?', cache_control, re.IGNORECASE)
    return int(m.group(1)) if m else None


# ------------------------------------------------------------------------- fetcher

def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


class _Deadline:
    """The whole-fetch budget. The clock starts when the first hop holds its slots."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._ends: float | None = None

    def left(self) -> float:
        now = time.monotonic()
        if self._ends is None:
            self._ends = now + self.seconds
        return self._ends - now


class Fetcher:
    """Async HTTP GET with the policy above. Use ``async with Fetcher(...) as f``."""

    def __init__(self, policy: FetchPolicy | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.policy = policy or FetchPolicy()
        self._nets = _parse_networks(self.policy.allow_networks)
        self._client = httpx.AsyncClient(
            transport=transport or _guarded_transport(self.policy, self._nets),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(self.policy.timeout),
            headers={"User-Agent": self.policy.user_agent},
        )
        self._global = asyncio.Semaphore(max(1, self.policy.concurrency))
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def _host_semaphore(self, host: str) -> asyncio.Semaphore:
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(max(1, self.policy.per_host))
        return sem

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    accept: str | None = None) -> FetchResult:
        """GET ``url`` following up to ``max_redirects`` redirects, each hop re-checked."""
        started = time.monotonic()
        headers = {"Accept": accept or DEFAULT_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        deadline = _Deadline(self.policy.deadline)
        for _hop in range(self.policy.max_redirects + 1):
            result, location = await self._one(current, headers, started, deadline, url)
            if result is not None:
                if result.not_modified:
                    result.etag = result.etag or etag
                    result.last_modified = result.last_modified or last_modified
                return result
            current = location
        raise FetchError(f"fetch: too many redirects (more than {self.policy.max_redirects}) "
                         f"from {_short(url)}", code="redirects")

    async def _one(self, url: str, headers: dict[str, str], started: float, deadline: _Deadline,
                   first_url: str) -> tuple[FetchResult | None, str]:
        """One request. Returns (result, "") or (None, next URL) for a redirect."""
        _parsed, host, _port = _parse_target(url)
        gave_up = FetchError(f"fetch: gave up on {_short(first_url)} after {deadline.seconds:g}s "
                             "(the whole fetch, redirects included)", code="timeout")
        # the host's slot first, then a global one: a request queued behind a busy host never
        # holds a connection slot that requests to other hosts could use
        async with self._host_semaphore(host.lower()), self._global:
            left = deadline.left()
            if left <= 0:
                raise gave_up
            # this hop gets its own timeout or what is left of the whole fetch, if less
            timeout = min(self.policy.timeout, left)
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.to_thread(check_url_allowed, url, self._nets)
                    return await self._request(url, headers, started)
            except FetchError:
                raise
            except TimeoutError:
                if timeout < self.policy.timeout:
                    raise gave_up from None
                raise FetchError(f"fetch: timed out after {timeout:g}s fetching {_short(url)}",
                                 code="timeout") from None
            except httpx.TimeoutException:
                raise FetchError(f"fetch: timed out fetching {_short(url)}", code="timeout") from None
            except httpx.ConnectError as exc:
                raise FetchError(f"fetch: cannot connect to {host}: {_reason(exc)}",
                                 code="network") from None
            except httpx.DecodingError as exc:
                raise FetchError(f"fetch: bad content encoding from {_short(url)}: {_reason(exc)}",
                                 code="network") from None
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                raise FetchError(f"fetch: {type(exc).__name__} fetching {_short(url)}: "
                                 f"{_reason(exc)}", code="network") from None
            except httpcore.TimeoutException:  # pragma: no cover - httpx maps these
                raise FetchError(f"fetch: timed out fetching {_short(url)}", code="timeout") from None
            except (httpcore.NetworkError, httpcore.ProtocolError, OSError, ssl.SSLError) as exc:
                raise FetchError(f"fetch: network error fetching {_short(url)}: {_reason(exc)}",
                                 code="network") from None

    async def _request(self, url: str, headers: dict[str, str], started: float
                       ) -> tuple[FetchResult | None, str]:
        policy = self.policy
        request = self._client.build_request("GET", url, headers=headers)
        response = await self._client.send(request, stream=True)
        try:
            status = response.status_code
            if status in REDIRECT_STATUSES:
                location = response.headers.get("location")
                if not location:
                    raise FetchError(f"fetch: HTTP {status} without Location from {_short(url)}",
                                     code="http", status=status)
                try:
                    target = response.url.join(location.strip()).copy_with(fragment=None)
                except (httpx.InvalidURL, ValueError) as exc:
                    raise FetchError(f"fetch: bad redirect Location from {_short(url)}: {exc}",
                                     code="http", status=status) from None
                return None, str(target)
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if status >= 400:
                phrase = f" {response.reason_phrase}" if response.reason_phrase else ""
                raise FetchError(f"fetch: HTTP {status}{phrase} from {_short(url)}",
                                 code="http", status=status, retry_after=retry_after)
            if status != 304 and not 200 <= status < 300:
                raise FetchError(f"fetch: unexpected HTTP {status} from {_short(url)}",
                                 code="http", status=status)
            body = b""
            if status != 304:
                declared = response.headers.get("content-length", "").strip()
                if declared.isdigit() and int(declared) > policy.max_bytes:
                    raise FetchError(f"fetch: {_short(url)} declares {int(declared)} bytes, "
                                     f"over the {policy.max_bytes} byte limit", code="too_large")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > policy.max_bytes:
                        raise FetchError(f"fetch: {_short(url)} is over the {policy.max_bytes} "
                                         "byte limit", code="too_large")
                    chunks.append(chunk)
                body = b"".join(chunks)
            return FetchResult(
                url=str(response.url),
                status=status,
                body=body,
                headers={k.lower(): v for k, v in response.headers.items()},
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                not_modified=status == 304,
                elapsed=time.monotonic() - started,
                retry_after=retry_after,
                max_age=parse_max_age(response.headers.get("cache-control")),
            ), ""
        finally:
            await response.aclose()


# -- calls to services the operator configured (the optional LLM) ---------------------------
def post_json(url: str, payload: dict, *, headers: dict[str, str] | None = None, timeout: float = 30.0,
              max_bytes: int = 2_000_000, transport: httpx.BaseTransport | None = None) -> object:
    """POST a JSON document and return the decoded JSON reply, or raise :class:`FetchError`.

    For endpoints the operator configured (e.g. ``NEWSLOOM_LLM_URL``, often on this machine),
    so no address guard; still bounded: `timeout` on connecting and on each read, no redirects, no proxies from
    the environment, a byte cap on the reply.
    """
    try:
        with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False, trust_env=False) as client:
            with client.stream("POST", url, json=payload, headers=headers or {}) as resp:
                if resp.status_code >= 400:
                    raise FetchError(f"fetch: {_short(url)} answered HTTP {resp.status_code}", status=resp.status_code)
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise FetchError(f"fetch: {_short(url)} sent more than {max_bytes} bytes", code="too_large")
        return httpx.Response(200, content=bytes(body)).json()
    except httpx.HTTPError as exc:
        raise FetchError(f"fetch: {_short(url)}: {_reason(exc)}") from None
    except ValueError:
        raise FetchError(f"fetch: {_short(url)} did not answer JSON", code="parse") from None

