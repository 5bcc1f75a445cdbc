"""next_check_at: pure scheduling arithmetic."""

from __future__ import annotations

import doctest
from datetime import datetime, timedelta, timezone

import pytest

from newsloom.ingest import schedule
from newsloom.ingest.schedule import next_check_at

NOW = datetime(2024, 3, 1, 8, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def test_doctests():
    result = doctest.testmod(schedule)
    assert result.attempted >= 5 and result.failed == 0


def test_success_uses_the_largest_of_interval_ttl_and_max_age():
    assert next_check_at(NOW) == NOW + 30 * M
    assert next_check_at(NOW, ttl_minutes=5) == NOW + 30 * M          # never below interval
    assert next_check_at(NOW, ttl_minutes=90) == NOW + 90 * M
    assert next_check_at(NOW, max_age=3 * 3600) == NOW + 3 * H
    assert next_check_at(NOW, ttl_minutes=90, max_age=60) == NOW + 90 * M
    assert next_check_at(NOW, interval=10 * M) == NOW + 10 * M


def test_success_is_capped():
    assert next_check_at(NOW, ttl_minutes=100_000) == NOW + 24 * H
    assert next_check_at(NOW, max_age=10**9, max_interval=6 * H) == NOW + 6 * H


@pytest.mark.parametrize("errors,expected", [(1, 30 * M), (2, H), (3, 2 * H), (4, 4 * H),
                                             (5, 8 * H), (6, 16 * H), (7, 24 * H), (10**6, 24 * H)])
def test_failure_backs_off_exponentially(errors, expected):
    assert next_check_at(NOW, error_count=errors) == NOW + expected


def test_failure_ignores_ttl_and_max_age():
    assert next_check_at(NOW, error_count=1, ttl_minutes=600, max_age=7200) == NOW + 30 * M


def test_retry_after_is_a_floor():
    assert next_check_at(NOW, error_count=1, retry_after=7200) == NOW + 2 * H
    assert next_check_at(NOW, error_count=4, retry_after=60) == NOW + 4 * H
    assert next_check_at(NOW, error_count=1, retry_after=3 * 86400) == NOW + 72 * H   # beyond cap
    assert next_check_at(NOW, error_count=1, retry_after=1e30) == NOW + timedelta(days=365)


@pytest.mark.parametrize("kw", [{"retry_after": -5}, {"retry_after": float("nan")},
                                {"ttl_minutes": 0}, {"ttl_minutes": -3}, {"max_age": 0},
                                {"error_count": -2}])
def test_junk_inputs_are_ignored(kw):
    assert next_check_at(NOW, **kw) == NOW + 30 * M


def test_is_deterministic_and_keeps_timezone():
    naive = datetime(2024, 3, 1, 8, 0)
    assert next_check_at(naive) == naive + 30 * M
    assert next_check_at(NOW).tzinfo is timezone.utc
