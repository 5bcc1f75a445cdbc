"""Digests (issue 13, item 3): each reader's daily or weekly digest of what they follow, sent
through a real local SMTP server (aiosmtpd) once per period, across restarts too, and served
as a private Atom feed that feedparser reads as valid Atom 1.0. Real stores (SQLite and
PostgreSQL), the real app through TestClient, the embedded scheduler in-process.
"""

from __future__ import annotations

import re
import socket
import time
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage

import feedparser
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from newsloom.models import Article, Story, Tag, utcnow
from newsloom.serve import create_app
from newsloom.serve.auth import SESSION_COOKIE
from newsloom.settings import load_settings
from newsloom.store import Store, open_store
from newsloom.tasks.digests import build_digest, due_digests, period_key, send_due_digests
from newsloom.tasks.insights import INSIGHTS_VERSION
from newsloom.tasks.scheduler import EmbeddedScheduler

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)        # a Wednesday, after the 07:00 send time
BASE = "https://news.example"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# -- a local SMTP server ------------------------------------------------------------------------
class Inbox:
    """aiosmtpd handler: every message the server accepts, parsed."""

    def __init__(self):
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox():
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture
def mail_settings(settings, inbox):
    return settings.replace(smtp_host="127.0.0.1", smtp_port=inbox.port, smtp_tls="none", digest_hour=7,
                            base_url=BASE, smtp_from="digest@news.example")


# -- a small newsroom two readers follow --------------------------------------------------------
class Newsroom:
    """alice follows the ferry story and #DamWatch; bob follows the orchard story. A fourth
    story nobody follows, and a followed one that did not change in the period."""

    def __init__(self, store, arrived: datetime):
        self.store = store
        self.harbor = store.upsert_source("Harbor Gazette")
        self.valley = store.upsert_source("Valley Courier")
        self.ferry = self.story("Ferry strike ends", arrived, (self.harbor, self.valley))
        self.dam = self.story("Dam inspection ordered", arrived, (self.valley,))
        self.orchard = self.story("Orchard frost warning", arrived, (self.harbor,))
        self.quarry = self.story("Quarry road closes", arrived, (self.harbor,))
        self.old = self.story("Lighthouse keeper retires", arrived - timedelta(days=10), (self.harbor,))
        store.save_story_insights(self.ferry.id, version=INSIGHTS_VERSION, article_count=2, hashtags=[],
                                  dirty_mark=None, data={"brief": [{"sentence": "Ferry crews went back to work "
                                                                    "after a nine-day strike.", "article_id": 1,
                                                                    "source": "Harbor Gazette"}]})
        store.tag_story(self.dam.id, Tag(name="DamWatch", slug="damwatch"))
        self.alice = store.create_user("alice", "x")
        self.bob = store.create_user("bob", "x")
        store.follow(self.alice.id, "story", self.ferry.id)
        store.follow(self.alice.id, "tag", "damwatch")
        store.follow(self.alice.id, "story", self.old.id)
        store.follow(self.bob.id, "story", self.orchard.id)
        store.save_digest(self.alice.id, period="daily", email="alice@example.org")
        store.save_digest(self.bob.id, period="daily", email="bob@example.org")

    def story(self, title: str, arrived: datetime, sources) -> Story:
        story = self.store.add_story(Story(title=title, first_seen_at=arrived, last_seen_at=arrived,
                                           article_count=len(sources), source_count=len(sources)))
        for src in sources:
            self.article(story, src, arrived)
        return story

    def article(self, story: Story, source, arrived: datetime, n: int = 0):
        slug = re.sub(r"\W+", "-", story.title.lower())
        art, _ = self.store.add_article(Article(url=f"https://{source.id}.example/{slug}/{n}",
                                                title=f"{story.title} ({source.name})", source_id=source.id,
                                                published_at=arrived, fetched_at=arrived, text=f"{story.title}.",
                                                story_id=story.id))
        return art


def parts(message: EmailMessage) -> tuple[str, str]:
    return (message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content())


# -- periods ---------------------------------------------------------------------------------------
def test_period_keys_are_the_utc_day_and_the_iso_week():
    assert period_key("daily", NOW) == "2026-12-02"
    assert period_key("weekly", NOW) == "2026-W49"
    assert period_key("weekly", datetime(2027, 1, 1, tzinfo=timezone.utc)) == "2026-W53"     # ISO year
    assert period_key("daily", datetime(2026, 12, 2, 23, 30, tzinfo=timezone(timedelta(hours=-5)))) == "2026-12-03"


def test_weekly_digests_wait_for_their_weekday_and_hour(store, mail_settings):
    room = Newsroom(store, NOW - timedelta(hours=2))
    store.save_digest(room.alice.id, period="weekly", email="alice@example.org")
    s = mail_settings.replace(digest_weekday="thursday", digest_hour=9)
    due = lambda when: sorted((d.prefs.username, d.period_key) for d in due_digests(store, s, when))  # noqa: E731
    assert due(NOW) == []                                                  # bob's daily one waits for 09:00
    assert due(NOW.replace(hour=9)) == [("bob", "2026-12-02")]             # alice's weekly one: Thursday
    assert due(NOW + timedelta(days=1, hours=1)) == [("alice", "2026-W49"), ("bob", "2026-12-03")]
    # the next Monday is week 50: alice's next digest waits for Thursday again, bob's goes at 09:00
    assert due(NOW + timedelta(days=5, hours=1)) == [("bob", "2026-12-07")]


# -- the email digest --------------------------------------------------------------------------------
def test_each_reader_gets_their_stories_once_per_period_even_after_a_restart(store, store_url, mail_settings, inbox):
    room = Newsroom(store, NOW - timedelta(hours=2))
    assert send_due_digests(store, mail_settings, now=NOW - timedelta(hours=2)) == 0     # before 07:00
    assert send_due_digests(store, mail_settings, now=NOW) == 2

    [alice_mail] = inbox.to("alice@example.org")
    text, body = parts(alice_mail)
    assert alice_mail["To"] == "alice@example.org" and alice_mail["From"] == "digest@news.example"
    assert "2 stories" in alice_mail["Subject"] and "daily" in alice_mail["Subject"]
    for page in (text, body):
        assert "Ferry strike ends" in page and "Dam inspection ordered" in page
        assert "Ferry crews went back to work after a nine-day strike." in page        # the stored brief
        assert "Harbor Gazette, Valley Courier" in page
        assert f"{BASE}/stories/{room.ferry.id}" in page and f"{BASE}/stories/{room.dam.id}" in page
        assert "Ferry strike ends, Lighthouse keeper retires, #DamWatch" in page      # what alice follows
        for other in (room.orchard, room.quarry, room.old):                  # bob's, nobody's, unchanged
            assert f"/stories/{other.id}" not in page and "Orchard frost" not in page and "Quarry" not in page
    unsubscribe = re.search(rf"{BASE}/digests/unsubscribe/\w+", text).group(0)
    assert f'href="{unsubscribe}"' in body
    assert alice_mail["List-Unsubscribe"].startswith(f"<{unsubscribe}?k=")
    assert alice_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    [bob_mail] = inbox.to("bob@example.org")
    bob_text, _ = parts(bob_mail)
    assert "Orchard frost warning" in bob_text and "Ferry strike ends" not in bob_text
    assert re.search(rf"{BASE}/digests/unsubscribe/\w+", bob_text).group(0) != unsubscribe

    # the same period again, then after a restart (a new Store over the same database, fresh settings)
    assert send_due_digests(store, mail_settings, now=NOW + timedelta(hours=1)) == 0
    again = Store(store_url)
    try:
        assert send_due_digests(again, mail_settings.replace(page_size=31), now=NOW + timedelta(hours=3)) == 0
    finally:
        again.close()
    assert len(inbox.messages) == 2
    assert [(d.period_key, d.stories) for d in store.digest_sends(room.alice.id)] == [("2026-12-02", 2)]

    # the next day: a new ferry article arrives; alice gets a digest again, bob (nothing new) none
    room.article(room.ferry, room.harbor, NOW + timedelta(hours=20), n=1)
    assert send_due_digests(store, mail_settings, now=NOW + timedelta(days=1)) == 1
    [_, second] = inbox.to("alice@example.org")
    text, _ = parts(second)
    assert "Ferry strike ends" in text and "Dam inspection ordered" not in text and "1 story" in second["Subject"]
    assert [d.period_key for d in store.digest_sends(room.bob.id)] == ["2026-12-03", "2026-12-02"]
    assert len(inbox.to("bob@example.org")) == 1


def test_a_failing_smtp_server_leaves_the_digest_to_a_later_tick(store, mail_settings, inbox):
    room = Newsroom(store, NOW - timedelta(hours=2))
    store.save_digest(room.bob.id, period="off", email="bob@example.org")
    nobody = mail_settings.replace(smtp_port=free_port())                  # nothing listens there
    assert send_due_digests(store, nobody, now=NOW) == 0
    assert store.digest_sends(room.alice.id) == []                          # the claim was dropped
    [error] = [e for e in store.stage_errors() if e.stage == "digest"]
    assert error.message.startswith(f"digest: user {room.alice.id} 2026-12-02: ")
    assert send_due_digests(store, mail_settings, now=NOW + timedelta(minutes=1)) == 1
    assert len(inbox.to("alice@example.org")) == 1
    assert [d.sent_at is not None for d in store.digest_sends(room.alice.id)] == [True]


def test_no_smtp_host_sends_nothing_and_claims_nothing(store, mail_settings, inbox):
    room = Newsroom(store, NOW - timedelta(hours=2))
    assert send_due_digests(store, mail_settings.replace(smtp_host=""), now=NOW) == 0
    assert store.digest_sends(room.alice.id) == [] and inbox.messages == []


# -- the web: unsubscribe, account settings, the private Atom feed ----------------------------------------
@pytest.fixture
def web(mail_settings, store):
    app = create_app(mail_settings.replace(page_cache_seconds=0), store)
    opened = []

    def client(user=None) -> TestClient:
        c = TestClient(app, base_url="http://testserver", follow_redirects=False)
        c.__enter__()
        opened.append(c)
        if user is not None:
            c.cookies.set(SESSION_COOKIE, store.create_session(user.id, max_age=3600).token)
        return c

    yield client
    for c in opened:
        c.__exit__(None, None, None)


def local(url: str) -> str:
    return url.removeprefix(BASE)


def test_the_unsubscribe_link_asks_then_unsubscribes_without_a_session(store, mail_settings, inbox, web):
    room = Newsroom(store, NOW - timedelta(hours=2))
    send_due_digests(store, mail_settings, now=NOW)
    [alice_mail] = inbox.to("alice@example.org")
    link = re.search(rf"{BASE}/digests/unsubscribe/\w+", parts(alice_mail)[0]).group(0)
    anonymous = web()
    page = anonymous.get(local(link))
    assert page.status_code == 200 and "alice@example.org" in page.text and "Unsubscribe" in page.text
    assert store.get_digest(room.alice.id).period == "daily"                # a GET (a mail scanner) changes nothing
    assert anonymous.post(local(link), data={}).status_code == 403
    assert anonymous.post(local(link), data={"csrf_token": "forged"}).status_code == 403
    forged = local(link)[:-1] + ("1" if link.endswith("0") else "0")
    assert anonymous.get(forged).status_code == 404                         # a token that is not alice's
    done = anonymous.post(local(link), data={"csrf_token": CSRF.search(page.text).group(1)})
    assert done.status_code == 200 and "no more email digests" in done.text
    assert store.get_digest(room.alice.id).period == "off"
    assert store.get_digest(room.bob.id).period == "daily"                  # bob's stays

    # bob's mail client unsubscribes in one click (RFC 8058) through List-Unsubscribe
    [bob_mail] = inbox.to("bob@example.org")
    one_click = bob_mail["List-Unsubscribe"].strip("<>")
    assert web().post(local(one_click), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert store.get_digest(room.bob.id).period == "off"
    room.article(room.ferry, room.harbor, NOW + timedelta(hours=20), n=1)
    assert send_due_digests(store, mail_settings, now=NOW + timedelta(days=1)) == 0


def test_the_account_page_sets_the_digest_and_shows_the_feed_url_once(store, web):
    room = Newsroom(store, utcnow() - timedelta(hours=1))
    alice, bob = web(room.alice), web(room.bob)
    csrf = CSRF.search(alice.get("/account").text).group(1)
    r = alice.post("/account/digest", data={"csrf_token": csrf, "period": "weekly", "email": "a@example.org"})
    assert r.status_code == 303
    prefs = store.get_digest(room.alice.id)
    assert (prefs.period, prefs.email) == ("weekly", "a@example.org")
    for bad in ({"period": "daily", "email": "not an address"}, {"period": "daily", "email": ""},
                {"period": "hourly", "email": "a@example.org"}):
        r = alice.post("/account/digest", data={"csrf_token": csrf, **bad})
        assert r.status_code == 400 and 'class="form-error"' in r.text, bad
    assert store.get_digest(room.alice.id).period == "weekly"
    assert "a@example.org" not in bob.get("/account").text                  # bob sees his own settings

    made = alice.post("/account/digest/feed", data={"csrf_token": csrf})
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    url = re.search(rf"{BASE}/digests/[\w-]+\.atom", made.text).group(0)
    assert url not in alice.get("/account").text                            # shown once
    assert "Make a new feed URL" in alice.get("/account").text
    assert web().get(local(url)).status_code == 200
    newer = re.search(rf"{BASE}/digests/[\w-]+\.atom", alice.post("/account/digest/feed",
                                                                  data={"csrf_token": csrf}).text).group(0)
    assert web().get(local(url)).status_code == 404 and web().get(local(newer)).status_code == 200


def test_the_private_atom_digest_validates_and_stays_private(store, web):
    room = Newsroom(store, utcnow() - timedelta(hours=1))
    feeds = {}
    for user in (room.alice, room.bob):
        client = web(user)
        csrf = CSRF.search(client.get("/account").text).group(1)
        made = client.post("/account/digest/feed", data={"csrf_token": csrf}).text
        feeds[user.username] = local(re.search(rf"{BASE}/digests/[\w-]+\.atom", made).group(0))

    stranger = web()
    r = stranger.get(feeds["alice"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    assert "private" in r.headers["cache-control"]
    parsed = feedparser.parse(r.content)
    assert parsed.bozo is False and parsed.version == "atom10"
    assert sorted(e.title for e in parsed.entries) == ["Dam inspection ordered", "Ferry strike ends"]
    ferry = next(e for e in parsed.entries if e.title == "Ferry strike ends")
    assert ferry.link == f"{BASE}/stories/{room.ferry.id}"
    assert "Ferry crews went back to work" in ferry.summary

    bobs = feedparser.parse(stranger.get(feeds["bob"]).content)
    assert bobs.bozo is False and [e.title for e in bobs.entries] == ["Orchard frost warning"]
    assert "alice" not in stranger.get(feeds["bob"]).text
    assert stranger.get("/digests/" + "x" * 43 + ".atom").status_code == 404
    assert stranger.get("/digests/" + "x" * 500 + ".atom").status_code == 404


def test_build_digest_reads_only_the_readers_follows(store):
    room = Newsroom(store, NOW - timedelta(hours=2))
    digest = build_digest(store, room.bob, "daily", NOW)
    assert [s.title for s in digest.stories] == ["Orchard frost warning"] and digest.period_key == "2026-12-02"
    weekly = build_digest(store, room.alice, "weekly", NOW)
    assert {s.title for s in weekly.stories} == {"Ferry strike ends", "Dam inspection ordered"}
    assert "#DamWatch" in weekly.follows and weekly.period_key == "2026-W49"


# -- the embedded scheduler sends it by itself ------------------------------------------------------------
def test_the_embedded_scheduler_sends_due_digests_with_no_command(tmp_path, inbox):
    """The embedded deployment (SQLite): the scheduler's own loop sends the digest."""
    store = open_store(f"sqlite:///{tmp_path / 'scheduled.db'}")
    try:
        room = Newsroom(store, utcnow() - timedelta(hours=1))
        store.save_digest(room.bob.id, period="off", email=None)
        settings = load_settings({}, home=str(tmp_path), database_url=store.url, env="test",
                                 secret_key="test-secret-not-a-placeholder", base_url=BASE, smtp_host="127.0.0.1",
                                 smtp_port=inbox.port, smtp_tls="none", digest_hour=0)
        with EmbeddedScheduler(store, settings, tick=0.1):
            deadline = time.monotonic() + 15
            while not inbox.to("alice@example.org") and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)                                              # more ticks: still one digest
        [mail] = inbox.to("alice@example.org")
        assert "Ferry strike ends" in parts(mail)[0]
        assert len(inbox.messages) == 1
        assert [d.period_key for d in store.digest_sends(room.alice.id)] == [period_key("daily", utcnow())]
    finally:
        store.close()


def test_the_queue_scheduler_sends_them_from_its_tick_in_a_thread_at_most_once_a_minute(store, mail_settings, inbox):
    """`newsloom scheduler`'s digest step (QueueScheduler.tick calls it), without a broker."""
    from newsloom.tasks.queue import QueueScheduler

    room = Newsroom(store, utcnow() - timedelta(hours=1))
    scheduler = QueueScheduler(store, mail_settings.replace(digest_hour=0))
    scheduler._start_digests()
    first = scheduler._digests
    first.join(10)
    scheduler._start_digests()                                   # within the minute: no second run
    assert scheduler._digests is first
    assert {m["To"] for _, m in inbox.messages} == {"alice@example.org", "bob@example.org"}
    assert store.digest_sends(room.alice.id)[0].sent_at is not None


def test_a_claim_is_taken_once_released_on_failure_and_taken_over_when_abandoned(store):
    """The once-per-period guarantee between schedulers racing for the same digest."""
    user = store.create_user("carol", "x")
    assert store.claim_digest_send(user.id, "2026-12-02", now=NOW) is True
    assert store.claim_digest_send(user.id, "2026-12-02", now=NOW + timedelta(seconds=5)) is False   # being sent
    store.release_digest_send(user.id, "2026-12-02")                                                 # it failed
    assert store.claim_digest_send(user.id, "2026-12-02", now=NOW + timedelta(seconds=10)) is True
    # its sender died mid-send: after stale_after seconds another scheduler takes it over
    assert store.claim_digest_send(user.id, "2026-12-02", now=NOW + timedelta(minutes=20)) is True
    store.finish_digest_send(user.id, "2026-12-02", stories=3, now=NOW + timedelta(minutes=21))
    assert store.claim_digest_send(user.id, "2026-12-02", now=NOW + timedelta(days=2)) is False     # sent: never again
    store.release_digest_send(user.id, "2026-12-02")                                                 # a sent one stays
    assert [(d.period_key, d.stories) for d in store.digest_sends(user.id)] == [("2026-12-02", 3)]
    assert store.claim_digest_send(user.id, "2026-12-03", now=NOW + timedelta(days=1)) is True       # the next period


def test_two_schedulers_at_once_send_each_digest_once(store, store_url, mail_settings, inbox):
    import threading

    Newsroom(store, NOW - timedelta(hours=2))
    other = Store(store_url)
    counts: list[int] = []
    start = threading.Barrier(2)

    def run(s):
        start.wait()
        counts.append(send_due_digests(s, mail_settings, now=NOW))

    try:
        threads = [threading.Thread(target=run, args=(s,)) for s in (store, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    finally:
        other.close()
    assert sum(counts) == 2 and sorted(r[0] for r, _ in inbox.messages) == ["alice@example.org", "bob@example.org"]
