"""The demo newsroom: a fictional set of publishers, their feeds and article pages.

It is both the ``make run`` demo and the test fixture of the whole project.
Everything in it (publishers, people, places, events) is invented.

* ``newsroom.json`` - the content, as structured data (edit this).
* ``build.py``      - renders it into the static site under ``newsroom/`` (committed).
* ``server.py``     - :class:`DemoServer`, serves the site on 127.0.0.1 with placeholders
  substituted, plus deliberately broken endpoints under ``/broken/``.

Rendered files contain two kinds of placeholders, replaced at serve time by
:func:`render`:

* ``__BASE__``                      - base URL of the server, no trailing slash;
* ``__DATE(<offset_hours>,<fmt>)__`` - ``now + offset`` hours, fmt one of
  ``rfc822`` (RSS, HTTP), ``iso`` (Atom, JSON Feed, HTML meta; RFC 3339 with ``+00:00``)
  or ``human`` (visible dates on pages, "14 March 2024, 09:00 UTC").
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

__all__ = [
    "DEMO_DIR", "DATA_FILE", "SITE_DIR", "BASE_PLACEHOLDER", "DATE_FORMATS",
    "default_now", "normalise_now", "format_date", "render", "render_bytes",
    "load_data", "load_gold", "load_gold_articles", "DemoServer",
]

DEMO_DIR = Path(__file__).resolve().parent
DATA_FILE = DEMO_DIR / "newsroom.json"
SITE_DIR = DEMO_DIR / "newsroom"

BASE_PLACEHOLDER = "__BASE__"
DATE_FORMATS = ("rfc822", "iso", "human")
_DATE_RE = re.compile(r"__DATE\((-?\d+(?:\.\d+)?),(rfc822|iso|human)\)__")
_DATE_RE_B = re.compile(rb"__DATE\((-?\d+(?:\.\d+)?),(rfc822|iso|human)\)__")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def default_now() -> datetime:
    """The current UTC time truncated to the hour (the demo's default "now")."""
    return datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)


def normalise_now(now: datetime | None) -> datetime:
    """None -> :func:`default_now`; naive -> taken as UTC; aware -> converted to UTC."""
    if now is None:
        return default_now()
    if now.tzinfo is None:
        return now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc)


def format_date(dt: datetime, fmt: str) -> str:
    """Format an aware datetime the way a ``__DATE(..,fmt)__`` placeholder is rendered."""
    dt = dt.astimezone(timezone.utc)
    if fmt == "rfc822":
        return format_datetime(dt.replace(microsecond=0), usegmt=True)
    if fmt == "iso":
        return dt.replace(microsecond=0).isoformat()
    if fmt == "human":
        return f"{dt.day} {_MONTHS[dt.month - 1]} {dt.year}, {dt:%H:%M} UTC"
    raise ValueError(f"demo: unknown date format {fmt!r}")


def _date_for(offset: str | bytes, fmt: str | bytes, now: datetime) -> str:
    if isinstance(offset, bytes):
        offset, fmt = offset.decode("ascii"), fmt.decode("ascii")
    return format_date(now + timedelta(hours=float(offset)), fmt)


def render(text: str, base_url: str, now: datetime | None) -> str:
    """Substitute ``__BASE__`` and ``__DATE(..)__`` placeholders in *text*."""
    now = normalise_now(now)
    base_url = base_url.rstrip("/")
    text = _DATE_RE.sub(lambda m: _date_for(m.group(1), m.group(2), now), text)
    return text.replace(BASE_PLACEHOLDER, base_url)


def render_bytes(data: bytes, base_url: str, now: datetime | None) -> bytes:
    """Same as :func:`render` on raw bytes (any ASCII-compatible encoding).

    Substituted values are pure ASCII, so files stay valid in the charset they declare.
    """
    now = normalise_now(now)
    base = base_url.rstrip("/").encode("ascii")
    data = _DATE_RE_B.sub(lambda m: _date_for(m.group(1), m.group(2), now).encode("ascii"), data)
    return data.replace(BASE_PLACEHOLDER.encode("ascii"), base)


def load_data(path: Path | None = None) -> dict[str, Any]:
    """The raw content (publishers, stories, articles) from ``newsroom.json``."""
    return json.loads((path or DATA_FILE).read_text(encoding="utf-8"))


def _load_jsonl(name: str, base_url: str, now: datetime | None, site_dir: Path | None) -> list[dict]:
    text = render(((site_dir or SITE_DIR) / "gold" / name).read_text(encoding="utf-8"), base_url, now)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def load_gold(base_url: str, now: datetime | None = None, *, site_dir: Path | None = None) -> list[dict]:
    """The labelled set ``/gold/stories.jsonl`` with placeholders applied.

    One dict per article: url (canonical, no tracking), publisher (name), story (label),
    duplicate_of (canonical url of the original, or None), title, published_offset_h,
    published (ISO 8601).
    """
    return _load_jsonl("stories.jsonl", base_url, now, site_dir)


def load_gold_articles(base_url: str, now: datetime | None = None, *,
                       site_dir: Path | None = None) -> list[dict]:
    """``/gold/articles.jsonl`` (bulk import format: url, title, text, source, published, story)."""
    return _load_jsonl("articles.jsonl", base_url, now, site_dir)


def __getattr__(name: str):  # lazy, so `python -m newsloom.demo.server` imports cleanly
    if name == "DemoServer":
        from newsloom.demo.server import DemoServer
        return DemoServer
    raise AttributeError(name)
