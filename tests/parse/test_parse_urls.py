"""newsloom.ingest.urls: canonical_url / host_of."""

from __future__ import annotations

import pytest

from newsloom.ingest.urls import TRACKING_PARAMS, canonical_url, host_of

BASE = "https://news.example.org/section/page.html"


@pytest.mark.parametrize("url, expected", [
    ("HTTP://Example.COM", "http://example.com/"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("https://example.com/a#section-2", "https://example.com/a"),
    ("https://example.com/a?", "https://example.com/a"),
    ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
    ("https://example.com/a?id=3&utm_campaign=x&page=2", "https://example.com/a?id=3&page=2"),
    ("https://example.com/a?UTM_Source=x&Id=1", "https://example.com/a?Id=1"),
    ("https://example.com/a?fbclid=abc&gclid=def&b=2&a=1", "https://example.com/a?b=2&a=1"),
    ("https://example.com/a?mc_cid=1&mc_eid=2&igshid=3&yclid=4&_hsenc=5&_hsmi=6", "https://example.com/a"),
    ("https://example.com/a?ref_src=twsrc&cmpid=rss&at_medium=x&dclid=1&msclkid=2", "https://example.com/a"),
    ("https://example.com/search?q=a+b&x=%2F&&y=", "https://example.com/search?q=a+b&x=%2F&y="),
    ("https://example.com/a%20b/c", "https://example.com/a%20b/c"),
    ("https://example.com/a b/é", "https://example.com/a%20b/%C3%A9"),
    ("https://Bücher.Example/Path", "https://xn--bcher-kva.example/Path"),
    ("https://example.com./x", "https://example.com/x"),
    ("http://[::1]:80/x", "http://[::1]/x"),
    ("  https://example.com/x  ", "https://example.com/x"),
    ("mailto:desk@example.com", "mailto:desk@example.com"),
])
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


@pytest.mark.parametrize("url, expected", [
    ("/news/2025/x?utm_source=a", "https://news.example.org/news/2025/x"),
    ("other.html#top", "https://news.example.org/section/other.html"),
    ("../up", "https://news.example.org/up"),
    ("//cdn.example.net/a", "https://cdn.example.net/a"),
    ("https://absolute.example/", "https://absolute.example/"),
])
def test_canonical_url_with_base(url, expected):
    assert canonical_url(url, BASE) == expected


def test_canonical_is_idempotent():
    for url in ("https://Bücher.Example:443/a b?utm_x=1&k=v#f", "HTTP://A.example"):
        once = canonical_url(url)
        assert canonical_url(once) == once


def test_tracking_list_is_a_frozenset():
    assert isinstance(TRACKING_PARAMS, frozenset)
    assert {"fbclid", "gclid", "msclkid"} <= TRACKING_PARAMS


def test_garbage_does_not_raise():
    assert canonical_url("http://[::1/broken#x") == "http://[::1/broken"
    assert canonical_url("https://a.example:99999/x") == "https://a.example/x"
    assert canonical_url("") == ""


def test_host_of():
    assert host_of("https://WWW.Example.com:8080/x") == "www.example.com"
    assert host_of("https://bücher.example/") == "xn--bcher-kva.example"
    assert host_of("not a url") == ""
