"""Human time: "10 hours ago", as aggregators print it."""

from __future__ import annotations

from datetime import datetime

from ..models import utcnow

__all__ = ["relative_time"]

_UNITS = ((365 * 86400, "year"), (30 * 86400, "month"), (7 * 86400, "week"), (86400, "day"),
          (3600, "hour"), (60, "minute"))


def relative_time(when: datetime | None, now: datetime | None = None) -> str:
    if when is None:
        return ""
    seconds = int(((now or utcnow()) - when).total_seconds())
    if seconds < 0:
        return "just now" if seconds > -300 else "in the future"
    if seconds < 60:
        return "just now"
    for size, name in _UNITS:
        if seconds >= size:
            n = seconds // size
            return f"{n} {name}{'s' if n != 1 else ''} ago"
    return "just now"  # pragma: no cover
