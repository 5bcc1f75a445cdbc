"""Fetcher against a real local HTTP server (see conftest.py); no network beyond 127.0.0.1."""

from __future__ import annotations

import asyncio
import doctest
import socket
import time

import httpx
import pytest

from newsloom.errors import FetchError
from newsloom.ingest import http as http_mod
from newsloom.ingest.http import (
    DEFAULT_ACCEPT, DEFAULT_USER_AGENT, FetchPolicy, Fetcher, check_url_allowed,
    parse_max_age, parse_retry_after,
)

LOCAL = ("127.0.0.1/32",)


def policy(**kw) -> FetchPolicy:
    kw.setdefault("allow_networks", LOCAL)
    kw.setdefault("timeout", 1.0)
    return FetchPolicy(**kw)


def fetch(url: str, pol: FetchPolicy | None = None, **kw):
    async def go():
        async with Fetcher(pol or policy()) as f:
            return await f.fetch(url, **kw)
    return asyncio.run(go())


def fetch_error(url: str, pol: FetchPolicy | None = None, **kw) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(url, pol, **kw)
    err = info.value
    assert str(err).startswith("fetch: "), str(err)
    return err


# ------------------------------------------------------------------ happy paths

def test_ok_feed_and_sent_headers(server):
    res = fetch(server.base + "/feed.xml")
    assert res.status == 200 and res.body == server.feed and not res.not_modified
    assert res.url == server.base + "/feed.xml"
    assert res.headers["content-type"] == "application/rss+xml"
    assert res.max_age == 900 and res.retry_after is None
    assert res.elapsed > 0
    sent = server.hits("/feed.xml")[0]
    assert sent["user-agent"] == DEFAULT_USER_AGENT
    assert sent["accept"] == DEFAULT_ACCEPT
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_custom_accept_and_user_agent(server):
    fetch(server.base + "/feed.xml", policy(user_agent="probe/1"), accept="text/html")
    sent = server.hits("/feed.xml")[0]
    assert sent["user-agent"] == "probe/1" and sent["accept"] == "text/html"


def test_conditional_get_304(server):
    ETAG, LAST_MODIFIED = server.etag, server.last_modified
    first = fetch(server.base + "/etag")
    assert first.status == 200 and first.etag == ETAG and first.last_modified == LAST_MODIFIED
    again = fetch(server.base + "/etag", etag=first.etag, last_modified=first.last_modified)
    assert again.status == 304 and again.not_modified and again.body == b""
    assert again.etag == ETAG and again.last_modified == LAST_MODIFIED
    sent = server.hits("/etag")[1]
    assert sent["if-none-match"] == ETAG and sent["if-modified-since"] == LAST_MODIFIED


def test_gzip_body_is_decoded(server):
    res = fetch(server.base + "/gzip")
    assert res.body == server.feed * 50


def test_decoded_bytes_count_towards_cap(server):
    err = fetch_error(server.base + "/gzip-bomb", policy(max_bytes=1_000_000))
    assert err.code == "too_large"


def test_redirect_chain_is_followed(server):
    res = fetch(server.base + "/redirect/4")
    assert res.status == 200 and res.body == server.feed
    assert res.url == server.base + "/feed.xml"
    assert [p for p, _ in server.requests] == [
        "/redirect/4", "/redirect/3", "/redirect/2", "/redirect/1", "/redirect/0", "/feed.xml"]


def test_too_many_redirects(server):
    err = fetch_error(server.base + "/redirect/9", policy(max_redirects=3))
    assert err.code == "redirects"
    assert len(server.hits("/feed.xml")) == 0


def test_redirect_loop(server):
    err = fetch_error(server.base + "/loop")
    assert err.code == "redirects"
    assert len(server.hits("/loop")) == 6   # first request + max_redirects (5)


# ------------------------------------------------------------------ failures

def test_http_500(server):
    err = fetch_error(server.base + "/500")
    assert err.code == "http" and err.status == 500 and err.retry_after is None


def test_http_429_retry_after_seconds(server):
    err = fetch_error(server.base + "/429")
    assert err.code == "http" and err.status == 429 and err.retry_after == 120.0


def test_http_503_retry_after_date(server):
    err = fetch_error(server.base + "/503-date")
    assert err.status == 503 and 3500 < err.retry_after <= 3600


def test_slow_server_times_out(server):
    t0 = time.monotonic()
    err = fetch_error(server.base + "/slow", policy(timeout=0.5))
    assert err.code == "timeout"
    assert time.monotonic() - t0 < 2


def test_trickling_server_hits_the_wall_clock_deadline(server):
    # each byte arrives well within the read timeout; only the overall deadline stops it
    t0 = time.monotonic()
    err = fetch_error(server.base + "/trickle", policy(timeout=0.6))
    assert err.code == "timeout"
    assert time.monotonic() - t0 < 2


def test_huge_body_stops_at_the_cap(server):
    err = fetch_error(server.base + "/huge", policy(max_bytes=1_000_000))
    assert err.code == "too_large"
    time.sleep(0.2)
    assert server.huge_sent < 50_000_000   # we hung up instead of draining it


def test_declared_content_length_refused_up_front(server):
    err = fetch_error(server.base + "/big-length", policy(max_bytes=1_000_000))
    assert err.code == "too_large" and "declares" in str(err)


def test_connection_refused_is_a_network_error():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()     # nothing listens there now
    err = fetch_error(f"http://127.0.0.1:{port}/feed.xml")
    assert err.code == "network"
    assert err.__cause__ is None and err.__suppress_context__   # no httpx exception leaks


def test_unresolvable_host_is_a_network_error(monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(socket, "getaddrinfo", fail)
    err = fetch_error("http://no-such-host.invalid/feed.xml")
    assert err.code == "network" and "resolve" in str(err)


# ------------------------------------------------------------------ address guard

@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://127.1/", "http://localhost/", "http://[::1]/", "http://0.0.0.0/",
    "http://10.0.0.1/", "http://10.255.255.1/feed.xml", "http://172.16.0.1/", "http://172.31.255.254/",
    "http://192.168.1.1/", "http://169.254.169.254/latest", "http://[fc00::1]/", "http://[fd12:3456::1]/",
    "http://[fe80::1]/", "http://100.64.0.1/", "http://100.127.255.254/", "http://224.0.0.1/",
    "http://240.0.0.1/", "http://[::ffff:10.0.0.1]/", "http://[::ffff:127.0.0.1]/", "http://[::]/",
    "http://[2002:a00:1::]/", "https://192.168.0.10:8443/feed",
])
def test_non_global_addresses_are_blocked(url):
    with pytest.raises(FetchError) as info:
        check_url_allowed(url)
    assert info.value.code == "blocked" and str(info.value).startswith("fetch: refusing ")


def test_block_message_names_address_and_reason():
    with pytest.raises(FetchError, match=r"^fetch: refusing http://10\.255\.255\.1/feed\.xml: "
                                         r"address 10\.255\.255\.1 is private$"):
        check_url_allowed("http://10.255.255.1/feed.xml")
    with pytest.raises(FetchError, match="address 100.64.0.1 is shared address space"):
        check_url_allowed("http://100.64.0.1/")


@pytest.mark.parametrize("url", ["ftp://example.org/feed", "file:///etc/passwd", "gopher://x/",
                                 "http://user:secret@8.8.8.8/", "http:///nohost", "not a url"])
def test_bad_schemes_credentials_and_junk_are_blocked(url):
    with pytest.raises(FetchError) as info:
        check_url_allowed(url)
    assert info.value.code == "blocked"
    assert "secret" not in str(info.value)


@pytest.mark.parametrize("url", ["http://8.8.8.8/", "https://93.184.216.34/feed.xml",
                                 "http://[2606:4700:4700::1111]/", "http://[::ffff:8.8.8.8]/"])
def test_global_addresses_pass_the_check(url):
    check_url_allowed(url)    # check only; nothing is fetched


def test_allow_networks():
    check_url_allowed("http://127.0.0.1:8080/", ("127.0.0.1/32",))
    check_url_allowed("http://[::ffff:127.0.0.1]/", ("127.0.0.1/32",))
    check_url_allowed("http://10.1.2.3/", ("10.0.0.0/8",))
    with pytest.raises(FetchError):
        check_url_allowed("http://127.0.0.2/", ("127.0.0.1/32",))
    with pytest.raises(FetchError):   # localhost must be allowed for *every* address it resolves to
        check_url_allowed("http://localhost/", ("10.0.0.0/8",))


def test_hostname_resolving_to_private_address_is_blocked(monkeypatch):
    def fake(host, port, *args, **kwargs):
        assert host == "intranet.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.0.5", port))]
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(FetchError, match=r"address 192\.168\.0\.5 \(intranet\.example\) is private"):
        check_url_allowed("http://intranet.example/")


def test_default_policy_blocks_the_local_server_before_connecting(server, no_egress):
    err = fetch_error(server.base + "/feed.xml", FetchPolicy(timeout=1.0))
    assert err.code == "blocked" and "loopback" in str(err)
    assert server.requests == [] and no_egress == []


@pytest.mark.parametrize("path,target", [("/to-private", "10.255.255.1"),
                                         ("/to-metadata", "169.254.169.254")])
def test_redirect_to_private_address_is_blocked_before_connecting(server, no_egress, path, target):
    err = fetch_error(server.base + path)
    assert err.code == "blocked"
    assert f"address {target} is" in str(err)
    assert target not in no_egress
    assert set(no_egress) == {"127.0.0.1"}


def test_redirect_to_other_scheme_is_blocked(server):
    assert fetch_error(server.base + "/to-ftp").code == "blocked"


def test_blocked_before_the_transport_is_used():
    seen = []

    def handler(request):
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://192.168.1.1/admin"})

    async def go():
        async with Fetcher(policy(), transport=httpx.MockTransport(handler)) as f:
            return await f.fetch("http://8.8.8.8/feed.xml")
    with pytest.raises(FetchError) as info:
        asyncio.run(go())
    assert info.value.code == "blocked"
    assert seen == ["http://8.8.8.8/feed.xml"]


def test_dns_rebinding_is_caught_at_connect_time(server, monkeypatch, no_egress):
    """The pre-flight check sees a public address; the connect-time resolution sees loopback."""
    port = server.server_address[1]
    answers = iter(["93.184.216.34", "127.0.0.1"])
    real = socket.getaddrinfo

    def fake(host, p, *args, **kwargs):
        if host != "rebind.example":
            return real(host, p, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), p))]
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    err = fetch_error(f"http://rebind.example:{port}/feed.xml", FetchPolicy(timeout=1.0))
    assert err.code == "blocked" and "127.0.0.1" in str(err)
    assert server.requests == [] and no_egress == []


def test_guarded_backend_connects_to_the_checked_address(server, monkeypatch):
    port = server.server_address[1]
    real = socket.getaddrinfo

    def fake(host, p, *args, **kwargs):
        if host == "feeds.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", p))]
        return real(host, p, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    res = fetch(f"http://feeds.example:{port}/feed.xml")
    assert res.body == server.feed
    assert server.hits("/feed.xml")[0]["host"] == f"feeds.example:{port}"


# ------------------------------------------------------------------ concurrency

def test_per_host_concurrency_is_limited(server):
    async def go():
        async with Fetcher(policy(per_host=2, concurrency=10)) as f:
            return await asyncio.gather(*(f.fetch(server.base + "/concurrent") for _ in range(6)))
    results = asyncio.run(go())
    assert [r.body for r in results] == [b"ok"] * 6
    assert server.max_in_flight == 2


def test_global_concurrency_is_limited(server):
    async def go():
        async with Fetcher(policy(per_host=10, concurrency=3)) as f:
            return await asyncio.gather(*(f.fetch(server.base + "/concurrent") for _ in range(7)))
    asyncio.run(go())
    assert server.max_in_flight == 3


def test_a_busy_host_does_not_hold_slots_other_hosts_need(server):
    """Queued requests wait for their host before taking a global slot: with one slot per
    host and two in all, a request to a second host is answered while the first host's
    queue (4 x 0.15 s) is still being served."""
    other = server.base.replace("127.0.0.1", "localhost")

    async def go():
        async with Fetcher(policy(per_host=1, concurrency=2)) as f:
            async def timed(url):
                await f.fetch(url)
                return time.monotonic()
            start = time.monotonic()
            busy = [asyncio.ensure_future(timed(server.base + "/concurrent")) for _ in range(4)]
            await asyncio.sleep(0.05)
            quick = await timed(other + "/concurrent")
            return quick - start, max(await asyncio.gather(*busy)) - start
    quick, busy = asyncio.run(go())
    assert quick < busy      # before: the queued requests held both global slots, so it came last


def test_unlimited_host_sees_real_parallelism(server):
    """Control for the two tests above: without a tight limit requests do overlap."""
    async def go():
        async with Fetcher(policy(per_host=6, concurrency=6)) as f:
            return await asyncio.gather(*(f.fetch(server.base + "/concurrent") for _ in range(6)))
    asyncio.run(go())
    assert server.max_in_flight > 2


# ------------------------------------------------------------------ header parsing

def test_parse_helpers():
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("-5") == 0.0 and parse_retry_after(" 30 ") == 30.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT") == 0.0
    assert parse_max_age("no-cache") is None and parse_max_age('max-age="60", s-maxage=5') == 60
    assert parse_max_age("s-maxage=5") is None


def test_module_doctests():
    assert doctest.testmod(http_mod).failed == 0
