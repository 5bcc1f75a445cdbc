"""Digests: each reader's daily or weekly summary of what they follow, by email and as a
private Atom feed (serve/web/digests.py renders that one from :func:`build_digest`).

A digest covers the followed stories, hashtags and publishers (the ``follows`` table) whose
stories gained articles in the period: ``build_digest`` reads stored rows only (titles,
publishers, counts, the stored brief), like a page does.

:func:`send_due_digests` is what the schedulers call (the embedded one at most once a minute,
``newsloom scheduler`` likewise); for each digest whose send time has come
(``digest_hour`` UTC, and ``digest_weekday`` for weekly ones):

  1. claim the (user, period key) row in ``digest_sends``: an insert, so a conflict means
     another scheduler, or this one before a restart, sent it or is sending it;
  2. build the digest; with nothing new it is marked done without an email;
  3. send it through SMTP (``smtp_*`` settings; ``smtp_host`` empty turns email off);
  4. mark it sent. When sending fails the claim is dropped, so a later tick tries again, and
     the failure is recorded as the "digest" stage's last error (``newsloom status``).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from ipaddress import ip_address
from urllib.parse import urlsplit

from ..models import User, utcnow
from ..settings import Settings
from ..store import Store
from ..store.community import hash_secret
from ..store.digests import DigestPrefs

__all__ = ["Digest", "DigestStory", "DueDigest", "period_key", "period_span", "due_digests", "build_digest",
           "render_email", "send_due_digests", "unsubscribe_token", "unsubscribe_check", "unsubscribe_url",
           "valid_email", "WEEKDAYS"]

log = logging.getLogger("newsloom.digests")

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SMTP_TIMEOUT = 30.0
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]\\]{1,64}@[^@\s<>(),;:\"\[\]\\]{1,255}$")


@dataclass
class DigestStory:
    id: int
    title: str
    path: str                          # /stories/{id}: links are made absolute from base_url
    publishers: list[str]
    article_count: int
    new_articles: int
    line: str                          # one sentence of the stored brief ("" when none yet)
    reasons: list[str] = field(default_factory=list)
    updated: datetime | None = None


@dataclass
class Digest:
    user_id: int
    username: str
    email: str | None
    period: str                        # daily | weekly
    period_key: str
    since: datetime
    until: datetime
    follows: list[str]                 # labels of what the reader follows
    stories: list[DigestStory]


@dataclass
class DueDigest:
    prefs: DigestPrefs
    period_key: str


# -- periods -------------------------------------------------------------------------------
def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def period_key(period: str, now: datetime) -> str:
    """The period `now` falls in: "2026-12-02" (daily, UTC) or the ISO week "2026-W49" (weekly)."""
    now = _utc(now)
    if period == "daily":
        return now.strftime("%Y-%m-%d")
    if period == "weekly":
        year, week, _ = now.isocalendar()
        return f"{year}-W{week:02d}"
    raise ValueError(f"digest: unknown period {period!r}")


def period_span(period: str) -> timedelta:
    return timedelta(days=7) if period == "weekly" else timedelta(days=1)


def _send_time(period: str, now: datetime, settings: Settings) -> datetime:
    """When this period's digest goes out: digest_hour UTC of the day, or of digest_weekday."""
    hour = min(int(settings.digest_hour), 23)
    day = _utc(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "weekly":
        day = day - timedelta(days=day.weekday()) + timedelta(days=WEEKDAYS.index(settings.digest_weekday))
    return day + timedelta(hours=hour)


def due_digests(store: Store, settings: Settings, now: datetime) -> list[DueDigest]:
    """The email digests whose send time in the current period has passed and that nobody has
    claimed for this period yet."""
    now = _utc(now)
    due = [DueDigest(p, period_key(p.period, now)) for p in store.email_digests()
           if p.period in ("daily", "weekly") and now >= _send_time(p.period, now, settings)]
    taken = store.sent_digest_keys([d.prefs.user_id for d in due], sorted({d.period_key for d in due}))
    return [d for d in due if (d.prefs.user_id, d.period_key) not in taken]


# -- building --------------------------------------------------------------------------------
def _line(insights: dict) -> str:
    text = (insights.get("brief_text") or "").strip()
    if not text:
        brief = insights.get("brief") or []
        text = str(brief[0].get("sentence", "")).strip() if brief and isinstance(brief[0], dict) else ""
    else:
        text = re.split(r"(?<=[.!?])\s+", text, maxsplit=1)[0]
    return text if len(text) <= 300 else text[:300].rsplit(" ", 1)[0] + " …"


def build_digest(store: Store, user: User, period: str, now: datetime | None = None) -> Digest:
    """What `user`'s digest for the period ending at `now` says (stored rows only)."""
    if period not in ("daily", "weekly"):
        raise ValueError(f"digest: unknown period {period!r}")
    until = _utc(now or utcnow())
    since = until - period_span(period)
    prefs = store.get_digest(user.id)
    rows = store.digest_stories(user.id, since, until)
    stories = [DigestStory(id=r.id, title=r.title, path=f"/stories/{r.id}", publishers=r.publishers,
                           article_count=r.article_count, new_articles=r.new_articles, line=_line(r.insights),
                           reasons=r.reasons, updated=r.last_seen_at) for r in rows]
    return Digest(user_id=user.id, username=user.username, email=prefs.email if prefs else None, period=period,
                  period_key=period_key(period, until), since=since, until=until,
                  follows=[f.label for f in store.list_follows(user.id)], stories=stories)


# -- unsubscribe secrets -----------------------------------------------------------------------
def _mac(settings: Settings, message: str) -> str:
    return hmac.new(settings.secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def unsubscribe_token(settings: Settings, user_id: int) -> str:
    """The secret of a reader's unsubscribe link: stable (every digest they ever got carries a
    working link), derived from secret_key, and stored as its SHA-256 to find the reader."""
    return _mac(settings, f"newsloom:digest-unsubscribe:{user_id}")


def unsubscribe_check(settings: Settings, token: str) -> str:
    """The form token of the unsubscribe page (and of the one-click link): only someone who
    holds the unsubscribe link can make it."""
    return _mac(settings, f"newsloom:digest-unsubscribe-form:{token}")


def unsubscribe_url(settings: Settings, user_id: int) -> str:
    return f"{_base(settings)}/digests/unsubscribe/{unsubscribe_token(settings, user_id)}"


def valid_email(address: str) -> bool:
    return bool(_EMAIL.match(address or ""))


# -- the email ---------------------------------------------------------------------------------
def _base(settings: Settings) -> str:
    return settings.base_url.rstrip("/")


def _sender(settings: Settings) -> str:
    if settings.smtp_from:
        return settings.smtp_from
    host = urlsplit(settings.base_url).hostname or "localhost"
    try:
        ip_address(host)
        host = f"[{host}]"
    except ValueError:
        pass
    return f"newsloom@{host}"


def _heading(digest: Digest) -> str:
    if digest.period == "weekly":
        year, week = digest.period_key.split("-W")
        return f"week {int(week)} of {year}"
    return f"{digest.until.day} {digest.until:%B %Y}"


def _counts(s: DigestStory) -> str:
    new = f" ({s.new_articles} new)" if s.new_articles else ""
    return f"{s.article_count} article{'s' if s.article_count != 1 else ''}{new}"


def render_email(digest: Digest, settings: Settings) -> EmailMessage:
    """The digest as an email: plain text with an HTML alternative, absolute links, an
    unsubscribe link in the body and in List-Unsubscribe (one-click, RFC 8058)."""
    base = _base(settings)
    unsubscribe = unsubscribe_url(settings, digest.user_id)
    one_click = f"{unsubscribe}?k={unsubscribe_check(settings, unsubscribe.rsplit('/', 1)[1])}"
    n = len(digest.stories)
    when = _heading(digest)
    msg = EmailMessage()
    msg["Subject"] = f"Your {digest.period} newsloom digest, {when}: {n} stor{'y' if n == 1 else 'ies'}"
    msg["From"] = _sender(settings)
    if digest.email:
        msg["To"] = digest.email
    msg["Date"] = format_datetime(digest.until)
    msg["Message-ID"] = make_msgid("digest", domain=urlsplit(base).hostname or "localhost")
    msg["List-Unsubscribe"] = f"<{one_click}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"

    following = ", ".join(digest.follows) or "nothing yet"
    text = [f"Your {digest.period} newsloom digest, {when}", f"What you follow: {following}", ""]
    for i, s in enumerate(digest.stories, 1):
        text.append(f"{i}. {s.title}")
        text.append(f"   {', '.join(s.publishers) or 'Unknown source'} · {_counts(s)}")
        if s.line:
            text.append(f"   {s.line}")
        text.append(f"   {base}{s.path}")
        text.append("")
    text += ["-- ", f"You get this digest because you asked for it on {base}/account.",
             f"Unsubscribe: {unsubscribe}", ""]
    msg.set_content("\n".join(text))

    e = html.escape
    items = []
    for s in digest.stories:
        line = f"<p>{e(s.line)}</p>" if s.line else ""
        items.append(f'<li><h2><a href="{e(base + s.path)}">{e(s.title)}</a></h2>'
                     f"<p>{e(', '.join(s.publishers) or 'Unknown source')} · {e(_counts(s))}</p>{line}</li>")
    body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(msg["Subject"])}</title></head>'
            f"<body><h1>Your {e(digest.period)} newsloom digest, {e(when)}</h1>"
            f"<p>What you follow: {e(following)}</p><ol>{''.join(items)}</ol><hr>"
            f'<p>You get this digest because you asked for it on <a href="{e(base)}/account">your account</a>. '
            f'<a href="{e(unsubscribe)}">Unsubscribe</a></p></body></html>')
    msg.add_alternative(body, subtype="html")
    return msg


# -- sending -------------------------------------------------------------------------------------
class _Mailer:
    """One SMTP connection for a run, opened on first use, dropped after a failure."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.conn: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_tls == "ssl":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT,
                                                  context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT)
            if s.smtp_tls == "starttls":
                conn.starttls(context=ssl.create_default_context())
        if s.smtp_username:
            conn.login(s.smtp_username, s.smtp_password)
        return conn

    def send(self, message: EmailMessage) -> None:
        if self.conn is None:
            self.conn = self._open()
        try:
            self.conn.send_message(message)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except Exception:  # noqa: BLE001 - the connection is gone either way
                self.conn.close()
            self.conn = None


def _stage_failed(store: Store, message: str) -> None:
    try:
        store.record_stage_error("digest", message)
    except Exception:  # noqa: BLE001 - recording an error must never raise another
        log.exception("stage_error_not_recorded stage=digest")


def send_due_digests(store: Store, settings: Settings, now: datetime | None = None) -> int:
    """Send every email digest that is due (steps 1-4 above). Returns how many were sent."""
    if not settings.smtp_host:
        return 0
    now = _utc(now or utcnow())
    mailer = _Mailer(settings)
    sent = 0
    try:
        for due in due_digests(store, settings, now):
            prefs = due.prefs
            if not store.claim_digest_send(prefs.user_id, due.period_key, now=now):
                continue
            try:
                digest = build_digest(store, store.get_user(prefs.user_id), prefs.period, now)
                if digest.stories:
                    token_hash = hash_secret(unsubscribe_token(settings, prefs.user_id))
                    if prefs.unsubscribe_token_hash != token_hash:
                        store.set_digest_unsubscribe_hash(prefs.user_id, token_hash)
                    mailer.send(render_email(digest, settings))
            except Exception as exc:  # noqa: BLE001 - one reader's digest never stops the others
                store.release_digest_send(prefs.user_id, due.period_key)
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                _stage_failed(store, f"digest: user {prefs.user_id} {due.period_key}: {reason}")
                log.warning("digest_failed user_id=%s period_key=%s error=%s", prefs.user_id, due.period_key, reason)
                continue
            store.finish_digest_send(prefs.user_id, due.period_key, stories=len(digest.stories), now=utcnow())
            if digest.stories:
                sent += 1
                log.info("digest_sent user_id=%s period_key=%s stories=%d", prefs.user_id, due.period_key,
                         len(digest.stories))
    finally:
        mailer.close()
    return sent
