"""The real Fetcher (and refresh_feed / parse_feed) against a hostile server on loopback.

Small limits keep the suite fast: 2 s per request, 3 s for a whole fetch. The fetcher is
allowed its server's own /32 and nothing else, and every socket connection the test
process makes is checked: only the hostile servers may be reached, so a broken address
guard fails a test instead of sending traffic to a private network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_server import (  # noqa: E402
    BROKEN_DATES, CHARSET_TITLE, FEED_ITEMS, FEED_TITLE, MANY_ITEMS, HostileServer,
)

from newsloom.errors import FetchError  # noqa: E402
from newsloom.ingest.feeds import XXE_MESSAGE, parse_feed  # noqa: E402
from newsloom.ingest.http import FetchPolicy, Fetcher  # noqa: E402
from newsloom.models import Feed  # noqa: E402
from newsloom.tasks.pipeline import fetch_policy, refresh_feed  # noqa: E402

TIMEOUT, DEADLINE = 2.0, 3.0
MARGIN = 0.75           # scheduling slack on a busy machine; far below one more 1.2 s hop
UTC = timezone.utc


@pytest.fixture(scope="module")
def hostile():
    with HostileServer("127.0.0.1") as srv:
        yield srv


@pytest.fixture(scope="module")
def hostile_b():
    """A second server on another loopback address, for redirects to 127.0.0.1 itself."""
    with HostileServer("127.0.0.2") as srv:
        yield srv


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    """Record every connection attempt; refuse any to an address other than 127.0.0.1/2."""
    attempts: list[str] = []
    allowed = {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("127.0.0.2")}
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(sock, address):
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        host = str(address[0]).split("%", 1)[0]
        attempts.append(host)
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise OSError(f"test guard: refusing connect to non-literal {host!r}") from None
        if ip not in allowed:
            raise OSError(f"test guard: refusing connect to {host}")

    def connect(self, address):
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self, address):
        check(self, address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return attempts


def policy(**kw) -> FetchPolicy:
    kw.setdefault("allow_networks", ("127.0.0.1/32",))
    kw.setdefault("timeout", TIMEOUT)
    kw.setdefault("deadline", DEADLINE)
    return FetchPolicy(**kw)


def fetch(url: str, pol: FetchPolicy | None = None):
    async def go():
        async with Fetcher(pol or policy()) as f:
            return await f.fetch(url)
    return asyncio.run(go())


def fetch_error(url: str, pol: FetchPolicy | None = None) -> tuple[FetchError, float]:
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetch(url, pol)
    elapsed = time.monotonic() - started
    assert str(info.value).startswith("fetch: "), str(info.value)
    return info.value, elapsed


def refresh(store, settings, url: str):
    feed, _ = store.add_feed(Feed(url=url))
    settings = settings.replace(fetch_timeout=TIMEOUT, fetch_deadline=DEADLINE)

    async def go():
        async with Fetcher(fetch_policy(settings)) as fetcher:
            return await refresh_feed(store, fetcher, feed, settings)
    return asyncio.run(go()), feed


# --------------------------------------------------------------------------- finding 5

def test_finding_05_slow_redirect_chain_is_cut_by_the_deadline(hostile):
    # five redirects, each answering after 1.2 s: every hop is well inside the 2 s request
    # timeout, so only the whole-fetch deadline can stop the chain (it would take 7.2 s)
    before = sum(n for path, n in hostile.hits.items() if path.startswith("/slow-redirect/"))
    err, elapsed = fetch_error(hostile.url("/slow-redirect/5"))
    assert err.code == "timeout"
    assert "gave up" in str(err) and "redirects included" in str(err)
    assert elapsed < DEADLINE + MARGIN
    served = sum(n for path, n in hostile.hits.items() if path.startswith("/slow-redirect/")) - before
    assert served <= 3


def test_slow_redirect_chain_through_refresh_feed_records_the_deadline(hostile, store, settings):
    started = time.monotonic()
    report, feed = refresh(store, settings, hostile.url("/slow-redirect/5"))
    assert time.monotonic() - started < DEADLINE + MARGIN + 1.0   # + the store's own work
    assert report.status == "error" and report.pending == []
    saved = store.get_feed(feed.id)
    assert saved.last_error.startswith("fetch: gave up on ") and saved.error_count == 1


def test_slow_body_is_cut_by_the_request_timeout(hostile):
    err, elapsed = fetch_error(hostile.url("/slow-body"))
    assert err.code == "timeout"
    assert elapsed < TIMEOUT + MARGIN


def test_redirect_within_the_allowed_network_is_followed(hostile):
    res = fetch(hostile.url("/to/127.0.0.1"))
    assert res.status == 200 and res.url == hostile.url("/feed.xml")


# --------------------------------------------------------------------------- bodies

def test_gzip_bomb_is_refused(hostile):
    err, _ = fetch_error(hostile.url("/gzip-bomb"), policy(max_bytes=1_000_000))
    assert err.code == "too_large"


def test_body_longer_than_its_content_length_is_cut_at_the_declared_length(hostile):
    res = fetch(hostile.url("/length-over"))
    assert res.body.endswith(b"</rss>\n") and b"and then some" not in res.body
    assert len(res.body) == int(res.headers["content-length"])
    assert parse_feed(res.body, res.headers, res.url).title == FEED_TITLE


def test_body_shorter_than_its_content_length_is_a_network_error(hostile):
    err, _ = fetch_error(hostile.url("/length-under"))
    assert err.code == "network"


@pytest.mark.parametrize("path", ["/charset-wrong", "/charset-bogus"])
def test_wrong_and_bogus_charsets_still_parse(hostile, path):
    res = fetch(hostile.url(path))
    pf = parse_feed(res.body, res.headers, res.url)
    assert pf.title == CHARSET_TITLE
    assert [e.title for e in pf.entries] == ["L\u2019\u00e9t\u00e9 arrive"]


# --------------------------------------------------------------------------- entity tricks

def test_entity_trick_is_refused_through_refresh_feed(hostile, store, settings):
    report, feed = refresh(store, settings, hostile.url("/entities"))
    assert report.status == "error" and report.error == XXE_MESSAGE and report.pending == []
    assert store.get_feed(feed.id).last_error == XXE_MESSAGE


def test_entity_hidden_in_a_comment_is_not_expanded(hostile):
    res = fetch(hostile.url("/entities-comment"))
    pf = parse_feed(res.body, res.headers, res.url)
    assert [e.link for e in pf.entries] == ["https://pier.example.org/1"]
    assert "INJECTED" not in (pf.title or "") + "".join(e.title or "" for e in pf.entries)


# --------------------------------------------------------------------------- private addresses

@pytest.mark.parametrize("target, refused_ip", [
    ("10.0.0.1", "10.0.0.1"),
    ("169.254.169.254", "169.254.169.254"),
    ("[::1]", "::1"),
    ("0x7f.1", "127.0.0.1"),        # 127.0.0.1 spelled short and in hex
])
def test_redirects_to_private_addresses_are_refused_before_connecting(hostile, hostile_b, connections,
                                                                      target, refused_ip):
    # 0x7f.1 is 127.0.0.1: that redirect starts from the server on 127.0.0.2, which is
    # then the only network allowed
    srv = hostile_b if refused_ip == "127.0.0.1" else hostile
    pol = policy(allow_networks=(f"{srv.host}/32",))
    err, _ = fetch_error(srv.url(f"/to/{target}"), pol)
    assert err.code == "blocked", str(err)
    assert refused_ip in str(err)
    assert refused_ip not in connections and connections == [srv.host]


# --------------------------------------------------------------------------- feed shapes

def test_huge_item_count_parses_every_entry(hostile):
    # there is no item cap in parse_feed: all of them come back, none raises
    res = fetch(hostile.url("/many-items"))
    pf = parse_feed(res.body, res.headers, res.url)
    assert len(pf.entries) == MANY_ITEMS
    assert pf.entries[-1].link == f"https://harbour.example.org/log/{MANY_ITEMS - 1}"


def test_broken_dates_keep_their_entries(hostile, store, settings):
    res = fetch(hostile.url("/broken-dates"))
    pf = parse_feed(res.body, res.headers, res.url)
    assert [e.title for e in pf.entries] == [why for _, why in BROKEN_DATES]
    for entry in pf.entries:
        when = entry.published_at
        assert when is None or (when.tzinfo is not None and 1 <= when.year <= 9999), (entry.title, when)
    assert pf.entries[-1].published_at == datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
    # and the store takes them as they are
    report, _ = refresh(store, settings, hostile.url("/broken-dates"))
    assert report.status == "ok" and len(report.pending) == len(BROKEN_DATES)


def test_well_behaved_feed_for_contrast(hostile):
    res = fetch(hostile.url("/feed.xml"))
    pf = parse_feed(res.body, res.headers, res.url)
    assert pf.title == FEED_TITLE and [e.title for e in pf.entries] == FEED_ITEMS
