"""When to check a feed again. Pure arithmetic, no I/O, no clock reads.

>>> from datetime import datetime, timedelta, timezone
>>> now = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)

A healthy feed is checked every ``interval`` (30 minutes by default) ...

>>> next_check_at(now)
datetime.datetime(2024, 1, 1, 12, 30, tzinfo=datetime.timezone.utc)

... or later when the feed's <ttl> or Cache-Control max-age asks for it:

>>> next_check_at(now, ttl_minutes=60)
datetime.datetime(2024, 1, 1, 13, 0, tzinfo=datetime.timezone.utc)
>>> next_check_at(now, max_age=7200)
datetime.datetime(2024, 1, 1, 14, 0, tzinfo=datetime.timezone.utc)
>>> next_check_at(now, ttl_minutes=10_000)   # capped at max_interval (24 h)
datetime.datetime(2024, 1, 2, 12, 0, tzinfo=datetime.timezone.utc)

A failing feed backs off exponentially: 30 min, 1 h, 2 h, 4 h ... capped at 24 h.

>>> next_check_at(now, error_count=1)
datetime.datetime(2024, 1, 1, 12, 30, tzinfo=datetime.timezone.utc)
>>> next_check_at(now, error_count=3)
datetime.datetime(2024, 1, 1, 14, 0, tzinfo=datetime.timezone.utc)
>>> next_check_at(now, error_count=50)
datetime.datetime(2024, 1, 2, 12, 0, tzinfo=datetime.timezone.utc)

...but never earlier than the server's Retry-After (seconds):

>>> next_check_at(now, error_count=1, retry_after=3 * 3600)
datetime.datetime(2024, 1, 1, 15, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

__all__ = ["next_check_at"]

_MAX_EXPONENT = 40  # 2**40 intervals is far beyond any sane cap; avoids overflow
_MAX_RETRY_AFTER = 365 * 86400.0  # a Retry-After beyond a year is treated as a year


def next_check_at(now: datetime, *, error_count: int = 0, retry_after: float | None = None,
                  ttl_minutes: int | None = None, max_age: int | None = None,
                  interval: timedelta = timedelta(minutes=30),
                  max_interval: timedelta = timedelta(hours=24)) -> datetime:
    """The moment a feed should next be fetched.

    Success (``error_count == 0``): ``now + max(interval, ttl, max_age)``, capped at
    ``max_interval``. Failure: ``interval * 2**(error_count - 1)`` capped at
    ``max_interval``. In both cases the result is never earlier than ``now +
    retry_after`` (a server's explicit Retry-After is honoured even beyond the cap,
    up to one year).
    Non-positive or missing ttl / max_age / retry_after are ignored.
    """
    base = max(interval.total_seconds(), 0.0)
    cap = max(max_interval.total_seconds(), 0.0)
    if error_count <= 0:
        delay = base
        if ttl_minutes is not None and ttl_minutes > 0:
            delay = max(delay, ttl_minutes * 60.0)
        if max_age is not None and max_age > 0:
            delay = max(delay, float(max_age))
        delay = min(delay, cap)
    else:
        delay = min(base * 2.0 ** min(error_count - 1, _MAX_EXPONENT), cap)
    if retry_after is not None and math.isfinite(retry_after) and retry_after > 0:
        delay = max(delay, min(float(retry_after), _MAX_RETRY_AFTER))
    return now + timedelta(seconds=delay)
