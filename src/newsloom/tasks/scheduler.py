"""The embedded scheduler: the pipeline running by itself inside ``newsloom serve``.

One background thread with its own asyncio loop; the web keeps answering while it works.
Every ``scheduler_tick`` seconds (and as soon as a refresh finishes) it:

  1. beats (``newsloom status`` lists it with its age);
  2. leases each due feed (``next_check_at`` passed, no refresh in progress) and starts its
     refresh as its own task: steps 1 and 2 of tasks/pipeline.py, so a feed that hangs,
     fails or carries 10,000 items holds up nobody else. Per-host politeness and the global
     connection limit are the fetcher's (ingest/http.py);
  3. hands pending entries whose lease ran out (a crash) to a new ingest, unless a refresh
     of this process still holds them in its queue (a feed with 10,000 new items takes
     longer than one lease);
  4. settles: clusters what arrived and rebuilds the stories whose burst is over
     (``insights_debounce`` seconds without change), in one worker thread: a single writer
     of stories, and the event loop never waits on clustering;
  5. at most once a minute, sends the email digests that are due (tasks/digests.py) in a
     thread of their own: a slow SMTP server holds up neither feeds nor clustering.

On start it marks every story whose stored insights were built by another pipeline version
dirty, so a new release rebuilds them, and frees the feeds a killed predecessor had leased
(they would otherwise wait minutes for the lease to run out). This is the only writer of
the embedded (SQLite) deployment; the scaled-out deployment runs the same steps as Celery
tasks (tasks/queue.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from ..ingest.http import Fetcher
from ..models import Feed, utcnow
from ..settings import Settings
from ..store import Store
from .digests import send_due_digests
from .insights import mark_outdated_insights
from .pipeline import entry_lease, fetch_policy, ingest_entries, refresh_feed, settle
from .stories import StoryEngine

__all__ = ["EmbeddedScheduler", "process_name", "feed_lease", "DIGEST_EVERY"]

log = logging.getLogger("newsloom.scheduler")
DIGEST_EVERY = 60.0      # seconds between two looks at the due digests


def process_name(role: str) -> str:
    return f"{role}@{socket.gethostname()}:{os.getpid()}"


def feed_lease(settings: Settings) -> float:
    """Seconds a feed stays claimed by one refresh (longer than any fetch may take)."""
    return max(300.0, 10 * settings.fetch_timeout)


class EmbeddedScheduler:
    def __init__(self, store: Store, settings: Settings, *, tick: float | None = None):
        self.store, self.settings = store, settings
        self.tick = float(tick if tick is not None else settings.scheduler_tick)
        self.name = process_name("embedded")
        self.started_at = utcnow()
        self.ticks = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = threading.Event()
        self._in_flight: set[int] = set()          # feeds being refreshed
        self._owned: set[int] = set()              # pending entries queued or being ingested here
        self._tasks: set[asyncio.Task] = set()
        self._settler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsloom-settle")
        self._engine = StoryEngine(store)
        self._mailer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsloom-digests")
        self._digests: Future | None = None
        self._digests_at: float | None = None       # monotonic time of the last look

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> "EmbeddedScheduler":
        self._thread = threading.Thread(target=self._run, name="newsloom-scheduler", daemon=True)
        self._thread.start()
        log.info("scheduler_started name=%s tick=%s", self.name, self.tick)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._loop and self._wake:
            self._loop.call_soon_threadsafe(self._wake.set)
        if self._thread:
            self._thread.join(timeout)
        self._settler.shutdown(wait=False, cancel_futures=True)
        self._mailer.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> "EmbeddedScheduler":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._main())

    # -- the loop ----------------------------------------------------------------
    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        await self._in_thread(mark_outdated_insights, self.store)
        await self._in_thread(self._free_feed_leases)
        settling: asyncio.Future | None = None
        first = True
        async with Fetcher(fetch_policy(self.settings)) as fetcher:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    self._beat()
                    self._start_due_feeds(fetcher)
                    # at start, whatever a crash of this (only) writer left pending; later, expired leases
                    stale = self.store.lease_stale_pending(entry_lease(self.settings), take_leased=first)
                    leftovers = [i for i in stale if i not in self._owned]
                    if leftovers:
                        self._spawn(self._ingest(fetcher, leftovers))
                    first = False
                    if settling is None or settling.done():
                        settling = self._loop.run_in_executor(self._settler, self._settle)
                    self._start_digests()
                except Exception:  # noqa: BLE001 - a bad tick (database gone a moment) must not end the loop
                    log.exception("scheduler_tick_failed")
                self.ticks += 1
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.tick)
                except asyncio.TimeoutError:
                    pass
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _in_thread(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._settler, fn, *args)

    def _settle(self) -> None:
        report = settle(self.store, self.settings, engine=self._engine, quiet_for=self.settings.insights_debounce,
                        max_wait=self.settings.insights_max_wait, limit=500)
        if report.clustered or report.insights:
            log.info("settled clustered=%d insights=%d", report.clustered, report.insights)
        if report.clustered >= 500 and self._loop and self._wake:     # more is waiting: go on at once
            self._loop.call_soon_threadsafe(self._wake.set)

    def _start_digests(self) -> None:
        """Step 5: hand send_due_digests to the mailer thread, at most once every DIGEST_EVERY
        seconds and never while the previous run is still sending."""
        now = time.monotonic()
        if self._digests_at is not None and now - self._digests_at < DIGEST_EVERY:
            return
        if self._digests is not None and not self._digests.done():
            return
        self._digests_at = now
        self._digests = self._mailer.submit(self._send_digests)

    def _send_digests(self) -> None:
        try:
            sent = send_due_digests(self.store, self.settings)
            if sent:
                log.info("digests_sent count=%d", sent)
        except Exception:  # noqa: BLE001 - the next look tries again
            log.exception("digests_failed")

    def _free_feed_leases(self) -> None:
        """The only writer is starting: no refresh is in progress, whatever the leases say."""
        try:
            self.store.release_feed_leases()
        except Exception:  # noqa: BLE001 - the leases then run out by themselves
            log.exception("feed_leases_not_freed")

    def _beat(self) -> None:
        self.store.beat(self.name, "embedded", {"ticks": self.ticks, "feeds_in_flight": len(self._in_flight)},
                        started_at=self.started_at)

    def _start_due_feeds(self, fetcher: Fetcher) -> None:
        for feed in self.store.due_feeds():
            if feed.id in self._in_flight or not self.store.lease_feed(feed.id, feed_lease(self.settings)):
                continue
            self._in_flight.add(feed.id)
            self._spawn(self._refresh(fetcher, feed))

    async def _refresh(self, fetcher: Fetcher, feed: Feed) -> None:
        try:
            report = await refresh_feed(self.store, fetcher, feed, self.settings)
            await self._ingest(fetcher, [i for i in report.pending if i not in self._owned])
        except Exception:  # noqa: BLE001 - the lease runs out and the feed is tried again
            log.exception("feed_refresh_crashed feed_id=%s", feed.id)
        finally:
            self._in_flight.discard(feed.id)
            if self._wake:
                self._wake.set()       # settle what arrived now, not at the next tick

    async def _ingest(self, fetcher: Fetcher, pending_ids: list[int]) -> None:
        self._owned.update(pending_ids)
        try:
            await ingest_entries(self.store, fetcher, pending_ids, self.settings)
        finally:
            self._owned.difference_update(pending_ids)

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
