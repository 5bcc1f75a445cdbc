"""The scaled-out pipeline: Celery workers on a Redis broker, PostgreSQL the system of record.

The same four steps as tasks/pipeline.py, one Celery task per unit of work; these wrappers
only open a store and a fetcher, call the step, and enqueue what comes next:

  refresh_feed(feed_id)     pipeline.refresh_feed, then one ingest_entry per pending entry
  ingest_entry(pending_id)  pipeline.ingest_entry, then cluster
  cluster()                 pipeline.cluster_pending inside store.exclusive("cluster"): one
                            consumer at a time across every worker, oldest article first;
                            then build_insights for each dirty story
  build_insights(story_id)  debounced: while the story keeps changing (less than
                            insights_debounce seconds since the last change) it re-enqueues
                            itself for the rest of the quiet period, at most insights_max_wait
                            after it was first asked; then pipeline.build_insights

``newsloom scheduler`` runs :meth:`QueueScheduler.tick` every ``scheduler_tick`` seconds: it
leases due feeds and enqueues their refresh (the same due-feed query as the embedded
scheduler), hands pending entries whose lease ran out to a new ingest, enqueues cluster while
articles wait for a story and build_insights for dirty stories whose burst is over; at most
once a minute it sends the email digests that are due (tasks/digests.py), in a thread of its
own, as the embedded scheduler does (no Celery task: the claim in ``digest_sends`` already
makes any number of schedulers send each digest once).

Nothing is lost when a worker dies, however it dies:

1. Tasks are acknowledged late, one prefetched per pool process. A worker killed with -9
   leaves what it held unacknowledged: the broker delivers it again after
   ``task_visibility_timeout`` seconds. A pool process that dies is rejected to the queue.
2. The Redis transport takes a message off the queue (BRPOP) a moment before it records it
   as unacknowledged: a worker killed in that moment loses that message. PostgreSQL says
   what is unfinished, so the scheduler asks again for work whose message is gone: a
   refresh it handed out that did not happen, pending entries, unclustered articles, dirty
   stories. "Gone" is what the enqueue guard says: one key per unit of work
   (``refresh:{feed_id}``, ``entry:{pending_id}``, ``cluster``, ``insights:{story_id}``: the
   task id too), set when a message is sent and living ``task_visibility_timeout`` seconds,
   the bound the broker applies to its own redelivery. The guard also keeps one message per
   key waiting, so the scheduler can ask every tick without flooding a queue. While a queue
   has a backlog the scheduler leaves its work alone (the leases still apply).
3. Every step is idempotent (leases, ON CONFLICT, dirty marks): a second run stores nothing.

Every key on the broker lives under ``{queue_prefix}:``; queues are ``{queue_prefix}.{name}``.

The pool is prefork: extraction, clustering and insights are CPU-bound Python holding the GIL,
so each pool process gets its own interpreter (a core each), its own Store (SQLAlchemy
engines are never shared across a fork: created lazily per process) and its own StoryEngine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from datetime import datetime
from typing import Any, Awaitable, Callable, Iterable

from celery import Celery, signals

from ..errors import NewsloomError, NotFound
from ..ingest.http import Fetcher
from ..models import utcnow
from ..settings import Settings, load_settings
from ..store import Store
from . import pipeline
from .digests import send_due_digests
from .insights import mark_outdated_insights
from .scheduler import DIGEST_EVERY, feed_lease, process_name
from .stories import StoryEngine

__all__ = ["app", "configure", "QUEUES", "queue_name", "queue_depths", "refresh_feed", "ingest_entry", "cluster",
           "build_insights", "QueueScheduler", "run_worker", "run_scheduler", "open_worker_store"]

log = logging.getLogger("newsloom.queue")

QUEUES = ("feeds", "entries", "cluster", "insights")
ROUTES = {"newsloom.refresh_feed": "feeds", "newsloom.ingest_entry": "entries", "newsloom.cluster": "cluster",
          "newsloom.build_insights": "insights"}
CLUSTER_BATCH = 500        # articles per cluster task; a full batch enqueues the next one
CLUSTER_DELAY = 0.5        # seconds a cluster run asked for by an ingest waits (measured: one run
                           # per article cost 150 runs x 16 ms for 150 articles on one worker)
SWEEP_LIMIT = 500          # pending entries the scheduler looks at per tick
WORKER_BEAT = 5.0          # seconds between two heartbeats of a worker


# -- settings and the Celery app ---------------------------------------------------------
_settings: Settings | None = None


def settings() -> Settings:
    """The settings of this process: given by :func:`configure`, else NEWSLOOM_* (read once)."""
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def queue_name(s: Settings, short: str) -> str:
    return f"{s.queue_prefix}.{short}"


def _key_prefix(s: Settings) -> str:
    return f"{s.queue_prefix}:"


def _is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "unix://"))


def celery_config(s: Settings) -> dict[str, Any]:
    vt = int(s.task_visibility_timeout)
    return {
        "broker_url": s.broker_url,
        "result_backend": s.result_backend,
        "task_ignore_result": True,            # fire and forget: the store holds every outcome
        "task_acks_late": True,                # acknowledged after the task ran, never before
        "task_reject_on_worker_lost": True,    # a pool process killed mid-task: back to the queue
        "worker_prefetch_multiplier": 1,       # one message waiting per pool process, no hoard
        "broker_transport_options": {
            "visibility_timeout": vt,          # unacknowledged this long: delivered again
            "global_keyprefix": _key_prefix(s),
            # look for the messages of dead workers often enough for that timeout
            "unacked_restore_interval": max(1, min(10, vt // 5)),
            "unacked_restore_throttle": 1,
            "unacked_mutex_expire": max(5, min(300, vt)),
        },
        "result_backend_transport_options": {"global_keyprefix": _key_prefix(s)},
        "task_default_queue": queue_name(s, "feeds"),
        "task_routes": {name: {"queue": queue_name(s, q)} for name, q in ROUTES.items()},
        "task_serializer": "json",
        "accept_content": ["json"],
        "enable_utc": True,
        "broker_connection_retry_on_startup": True,
        "worker_send_task_events": False,
    }


app = Celery("newsloom", set_as_current=False)


@app.on_configure.connect
def _configure_from_settings(sender: Celery, **_: Any) -> None:
    sender.conf.update(celery_config(settings()))


def configure(s: Settings) -> Celery:
    """Use these settings in this process (and in the pool processes it forks)."""
    global _settings
    _settings = s
    app.conf.update(celery_config(s))
    if s.task_visibility_timeout <= s.insights_debounce:
        log.warning("visibility_timeout_too_short visibility_timeout=%s insights_debounce=%s: debounced "
                    "insights tasks will be delivered twice", s.task_visibility_timeout, s.insights_debounce)
    return app


# -- per-process resources -----------------------------------------------------------------
class _Local:
    pid: int | None = None
    store: Store | None = None
    engine: StoryEngine | None = None
    redis: Any = None
    loop: asyncio.AbstractEventLoop | None = None
    loop_pid: int | None = None
    fetcher: Fetcher | None = None


_local = _Local()
_local_guard = threading.Lock()


def _after_fork_in_child() -> None:
    # The parent's pooled connections belong to the parent: drop them without closing them.
    global _local_guard
    _local_guard = threading.Lock()           # another thread may have held it at the fork
    if _local.store is not None:
        _local.store.engine.dispose(close=False)
    _local.pid = _local.store = _local.engine = _local.redis = None
    _local.loop = _local.loop_pid = _local.fetcher = None      # the parent's loop thread is not here


os.register_at_fork(after_in_child=_after_fork_in_child)


def _store() -> Store:
    """This process's Store (created on first use; the schema is `newsloom init`'s job)."""
    with _local_guard:
        if _local.store is None or _local.pid != os.getpid():
            _local.store, _local.engine, _local.pid = Store(settings().db_url), None, os.getpid()
        return _local.store


def _engine(store: Store) -> StoryEngine:
    with _local_guard:
        if _local.engine is None:
            _local.engine = StoryEngine(store)
        return _local.engine


def _redis():
    """A client of the broker's Redis (the enqueue guard); None for another broker."""
    if not _is_redis(settings().broker_url):
        return None
    with _local_guard:
        if _local.redis is None:
            import redis

            _local.redis = redis.Redis.from_url(settings().broker_url, socket_connect_timeout=5, socket_timeout=10)
        return _local.redis


def open_worker_store(s: Settings) -> Store:
    """Open the store for a worker or the scheduler, refusing a database that `newsloom init`
    has not brought to the current schema (these processes never migrate)."""
    from alembic.script import ScriptDirectory

    from ..store.migrate import alembic_config

    store = Store(s.db_url)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    current = store.schema_revision()
    if current != head:
        store.close()
        raise NewsloomError(f"queue: database schema is {current or 'missing'}, expected {head}: "
                            f"run `newsloom init` first", code="schema")
    return store


# -- enqueueing through the guard ------------------------------------------------------------
def _guard_key(key: str) -> str:
    return f"{_key_prefix(settings())}once:{key}"


def _enqueue(task, key: str, *args: Any, countdown: float | None = None, **kwargs: Any) -> bool:
    """Send `task` with task id `key`, unless a message with that key was sent less than
    task_visibility_timeout seconds ago and not handled yet. Returns whether one was sent."""
    client = _redis()
    guard = _guard_key(key)
    if client is not None and not client.set(guard, "1", nx=True, ex=int(settings().task_visibility_timeout)):
        return False
    try:
        task.apply_async(args=args, kwargs=kwargs, task_id=key,
                         countdown=countdown if countdown and countdown > 0 else None)
    except Exception:
        if client is not None:
            client.delete(guard)
        raise
    return True


def _handled(key: str) -> None:
    """The message for `key` is being (or was) handled: a later change may send another."""
    client = _redis()
    if client is not None:
        try:
            client.delete(_guard_key(key))
        except Exception:  # noqa: BLE001 - the guard expires by itself
            log.warning("enqueue_guard_not_cleared key=%s", key)


def _guarded(keys: list[str]) -> list[bool]:
    client = _redis()
    if client is None or not keys:
        return [True] * len(keys)             # no guard: never ask again early
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.exists(_guard_key(key))
        return [bool(n) for n in pipe.execute()]


def _queue_idle(short: str) -> bool:
    """Nothing waits in this queue (messages held by workers are not in it)."""
    client = _redis()
    if client is None:
        return False
    s = settings()
    return client.llen(_key_prefix(s) + queue_name(s, short)) == 0


def enqueue_refresh(feed_id: int) -> bool:
    return _enqueue(refresh_feed, f"refresh:{feed_id}", feed_id)


def enqueue_ingest(pending_id: int) -> bool:
    return _enqueue(ingest_entry, f"entry:{pending_id}", pending_id)


def enqueue_cluster(*, countdown: float | None = None) -> bool:
    return _enqueue(cluster, "cluster", countdown=countdown)


def enqueue_insights(story_id: int, *, deadline: float | None = None, countdown: float | None = None) -> bool:
    return _enqueue(build_insights, f"insights:{story_id}", story_id, deadline=deadline, countdown=countdown)


def _fetch_loop(s: Settings) -> tuple[asyncio.AbstractEventLoop, Fetcher]:
    """This process's event loop (in its own thread) and its one Fetcher: a task hands its
    fetch step over instead of paying for a new loop, client and connection pool each time
    (measured: ~47 ms of a ~78 ms ingest task went to that)."""
    with _local_guard:
        if _local.loop is None or _local.loop_pid != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="newsloom-fetch-loop", daemon=True).start()

            async def open_fetcher() -> Fetcher:
                return await Fetcher(pipeline.fetch_policy(s)).__aenter__()

            _local.fetcher = asyncio.run_coroutine_threadsafe(open_fetcher(), loop).result()
            _local.loop, _local.loop_pid = loop, os.getpid()
        return _local.loop, _local.fetcher


def _with_fetcher(s: Settings, step: Callable[[Fetcher], Awaitable[Any]]) -> Any:
    loop, fetcher = _fetch_loop(s)
    return asyncio.run_coroutine_threadsafe(step(fetcher), loop).result()


# -- the tasks -------------------------------------------------------------------------------
@app.task(name="newsloom.refresh_feed")
def refresh_feed(feed_id: int) -> dict[str, Any]:
    """Step 1 for one feed, then one ingest task per entry it recorded."""
    store, s = _store(), settings()
    try:
        feed = store.get_feed(feed_id)
    except NotFound:
        return {"status": "gone"}
    report = _with_fetcher(s, lambda fetcher: pipeline.refresh_feed(store, fetcher, feed, s))
    for pending_id in report.pending:
        enqueue_ingest(pending_id)
    _handled(f"refresh:{feed_id}")            # after a crash the guard expires instead: no hot loop
    return {"status": report.status, "pending": len(report.pending)}


@app.task(name="newsloom.ingest_entry")
def ingest_entry(pending_id: int) -> dict[str, Any]:
    """Step 2 for one pending entry, then clustering. (Its guard is left to expire: an entry
    that failed is tried again a visibility timeout later, not at the next tick.)"""
    store, s = _store(), settings()
    created, fell_back = _with_fetcher(s, lambda fetcher: pipeline.ingest_entry(store, fetcher, pending_id, s))
    if created:                # a short delay lets one cluster run take a whole burst of entries
        enqueue_cluster(countdown=CLUSTER_DELAY)
    return {"created": created, "fell_back": fell_back}


@app.task(name="newsloom.cluster")
def cluster() -> dict[str, Any]:
    """Step 3: one consumer at a time, across every worker; then insights for dirty stories."""
    store, s = _store(), settings()
    with store.exclusive("cluster"):
        # handled only now: one run works, at most one more waits for the lock
        _handled("cluster")
        done = pipeline.cluster_pending(store, _engine(store), limit=CLUSTER_BATCH)
    if done >= CLUSTER_BATCH:
        enqueue_cluster()
    asked = 0
    deadline = time.time() + s.insights_max_wait
    for story_id in store.dirty_stories(quiet_for=0.0, max_wait=s.insights_max_wait):
        # first look when the burst may be over: a story still changing comes back later anyway
        asked += enqueue_insights(story_id, deadline=deadline, countdown=s.insights_debounce)
    return {"clustered": done, "insights_asked": asked}


@app.task(name="newsloom.build_insights")
def build_insights(story_id: int, deadline: float | None = None) -> dict[str, Any]:
    """Step 4 for one story, once its burst is over.

    `deadline` (epoch seconds) is when the first request of this burst must be served at
    the latest (insights_max_wait after it was made); the scheduler sends 0 for stories the
    store says are due."""
    _handled(f"insights:{story_id}")
    store, s = _store(), settings()
    with store.exclusive(f"insights:{story_id}"):     # one builder of a story at a time
        touched = store.story_dirty_mark(story_id)
        if touched is None:                   # rebuilt meanwhile, or merged away
            return {"status": "clean"}
        now = time.time()
        deadline = now + s.insights_max_wait if deadline is None else deadline
        quiet_left = s.insights_debounce - (utcnow() - touched).total_seconds()
        if quiet_left > 0 and now < deadline:     # still changing: come back when it is quiet
            countdown = min(quiet_left, deadline - now)
            enqueue_insights(story_id, deadline=deadline, countdown=countdown)
            return {"status": "deferred", "countdown": round(countdown, 3)}
        report = pipeline.build_insights(store, s, story_ids=[story_id])
    return {"status": "built" if report.insights else ("failed" if report.errors else "empty")}


# -- the scheduler ---------------------------------------------------------------------------
class QueueScheduler:
    """What `newsloom scheduler` runs. Any number may run (leases and the guard make a tick
    safe anywhere); one is enough. It keeps, in memory, the refreshes it handed out, to
    ask again for those whose message was lost."""

    def __init__(self, store: Store, s: Settings):
        self.store, self.settings = store, s
        self.name, self.started_at, self.ticks = process_name("scheduler"), utcnow(), 0
        self._refreshing: dict[int, tuple[datetime | None, float]] = {}   # feed -> (last fetched, leased at)
        self._digests: threading.Thread | None = None
        self._digests_at: float | None = None

    def start(self) -> int:
        """Stories whose insights another pipeline version built (or none) become dirty."""
        return mark_outdated_insights(self.store)

    def tick(self) -> dict[str, int]:
        """One look at what is due and what is unfinished; enqueue it."""
        store, s = self.store, self.settings
        store.beat(self.name, "scheduler", {"ticks": self.ticks, "refreshing": len(self._refreshing)},
                   started_at=self.started_at)
        self.ticks += 1
        report = {"feeds": 0, "entries": 0, "cluster": 0, "insights": 0}
        # 1. due feeds, each leased to one refresh (the refresh releases it when it saves the feed)
        for feed in store.due_feeds():
            if not store.lease_feed(feed.id, feed_lease(s)):
                continue
            # remembered first: if the broker refuses the message, the next ticks ask again
            self._refreshing[feed.id] = (feed.last_fetched_at, time.monotonic())
            report["feeds"] += enqueue_refresh(feed.id)
        if self._refreshing and _queue_idle("feeds"):
            report["feeds"] += self._ask_again_for_refreshes()
        # 2. pending entries nobody holds any more: their lease ran out, or (no message waits
        #    in the queue and none was sent within the visibility timeout) their message is gone
        lease = pipeline.entry_lease(s)
        for pending_id in store.lease_stale_pending(lease):
            report["entries"] += enqueue_ingest(pending_id)
        if _queue_idle("entries"):
            for pending_id in store.lease_stale_pending(lease, limit=SWEEP_LIMIT, take_leased=True):
                report["entries"] += enqueue_ingest(pending_id)     # the guard skips those in hand
        # 3. articles waiting for a story
        if store.unclustered_article_ids(limit=1):
            report["cluster"] += enqueue_cluster()
        # 4. stories whose burst is over (or that waited insights_max_wait): build now
        for story_id in store.dirty_stories(quiet_for=s.insights_debounce, max_wait=s.insights_max_wait):
            report["insights"] += enqueue_insights(story_id, deadline=0.0)
        # 5. email digests, at most once a minute, never blocking the tick
        self._start_digests()
        return report

    def _start_digests(self) -> None:
        now = time.monotonic()
        if self._digests_at is not None and now - self._digests_at < DIGEST_EVERY:
            return
        if self._digests is not None and self._digests.is_alive():
            return
        self._digests_at = now

        def run() -> None:
            try:
                send_due_digests(self.store, self.settings)
            except Exception:  # noqa: BLE001 - the next look tries again
                log.exception("digests_failed")

        self._digests = threading.Thread(target=run, name="newsloom-digests", daemon=True)
        self._digests.start()

    def _ask_again_for_refreshes(self) -> int:
        """Refreshes handed out whose guard is gone: done (the feed was fetched since), or
        lost (ask again), or older than the lease (the feed is due again by itself)."""
        ids = list(self._refreshing)
        asked = 0
        for feed_id, waiting in zip(ids, _guarded([f"refresh:{i}" for i in ids])):
            if waiting:
                continue
            fetched_before, leased_at = self._refreshing[feed_id]
            try:
                feed = self.store.get_feed(feed_id)
            except NotFound:
                feed = None
            if (feed is None or feed.last_fetched_at != fetched_before
                    or time.monotonic() - leased_at > feed_lease(self.settings)):
                del self._refreshing[feed_id]
            else:
                asked += enqueue_refresh(feed_id)
        return asked


def run_scheduler(s: Settings, *, stop: threading.Event | None = None,
                  on_start: Callable[[str], None] | None = None) -> int:
    """`newsloom scheduler`: tick every scheduler_tick seconds until SIGTERM or SIGINT.
    Returns the number of ticks run."""
    configure(s)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    store = open_worker_store(s)
    scheduler = QueueScheduler(store, s)
    scheduler.start()
    if on_start:
        on_start(scheduler.name)
    log.info("scheduler_started name=%s tick=%s queues=%s", scheduler.name, s.scheduler_tick, queue_name(s, "*"))
    try:
        while not stop.is_set():
            try:
                report = scheduler.tick()
                if any(report.values()):
                    log.info("enqueued %s", " ".join(f"{k}={v}" for k, v in report.items()))
            except Exception:  # noqa: BLE001 - the database or the broker gone a moment: next tick
                log.exception("scheduler_tick_failed")
            stop.wait(s.scheduler_tick)
    finally:
        store.close()
    log.info("scheduler_stopped name=%s ticks=%d", scheduler.name, scheduler.ticks)
    return scheduler.ticks


# -- the worker ------------------------------------------------------------------------------
class _Heartbeat:
    """The worker's main process beats every WORKER_BEAT seconds while the worker is up."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.info: dict[str, Any] = {}

    def start(self) -> None:
        if self.thread is not None:
            return
        self.thread = threading.Thread(target=self._run, name="newsloom-worker-beat", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        name, started_at = process_name("worker"), utcnow()
        while True:
            try:
                _store().beat(name, "worker", self.info, started_at=started_at)
            except Exception:  # noqa: BLE001 - the database gone a moment: beat again later
                log.warning("worker_beat_failed name=%s", name)
            if self.stop.wait(WORKER_BEAT):
                return


_heartbeat = _Heartbeat()


@signals.worker_ready.connect
def _on_worker_ready(sender: Any = None, **_: Any) -> None:
    _heartbeat.start()


@signals.worker_shutdown.connect
def _on_worker_shutdown(sender: Any = None, **_: Any) -> None:
    _heartbeat.stop.set()


def _queue_names(s: Settings, queues: Iterable[str] | None) -> list[str]:
    wanted = [q.strip() for part in (queues or ()) for q in part.split(",") if q.strip()] or list(QUEUES)
    unknown = sorted(set(wanted) - set(QUEUES))
    if unknown:
        raise NewsloomError(f"queue: unknown queue(s) {', '.join(unknown)}; choose among {', '.join(QUEUES)}",
                            code="usage")
    return [queue_name(s, q) for q in dict.fromkeys(wanted)]


def _preload() -> None:
    """Import what ingest imports lazily before the pool forks: pool processes share those
    pages of memory and none pays for the import on its first task."""
    import lxml.html  # noqa: F401
    import trafilatura  # noqa: F401


def run_worker(s: Settings, *, concurrency: int | None = None, queues: Iterable[str] | None = None,
               loglevel: str = "INFO") -> None:
    """`newsloom worker`: a Celery worker in this process, with a prefork pool."""
    configure(s)
    names = _queue_names(s, queues)
    open_worker_store(s).close()              # fail early, with a clear message
    _preload()
    concurrency = concurrency or os.cpu_count() or 1
    _heartbeat.info = {"pool": "prefork", "concurrency": concurrency, "queues": names}
    app.worker_main([
        "worker", "--pool=prefork", f"--concurrency={concurrency}", f"--queues={','.join(names)}",
        # no gossip or mingle: these workers share nothing but the broker and the database
        "--without-gossip", "--without-mingle", f"--hostname=newsloom-{os.getpid()}@%h",
        f"--loglevel={loglevel}",
    ])


# -- status ------------------------------------------------------------------------------------
def queue_depths(s: Settings) -> dict[str, int]:
    """Messages waiting in each queue (LLEN on the Redis broker); {} when it is unreachable
    or not Redis. Messages a worker holds (running or counting down) are not counted."""
    if not _is_redis(s.broker_url):
        return {}
    try:
        import redis

        client = redis.Redis.from_url(s.broker_url, socket_connect_timeout=1, socket_timeout=2)
        try:
            with client.pipeline(transaction=False) as pipe:
                for short in QUEUES:
                    pipe.llen(_key_prefix(s) + queue_name(s, short))
                depths = pipe.execute()
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - status must answer without the broker
        log.info("queue_depths_unavailable broker=%s", s.broker_url.split("@")[-1])
        return {}
    return dict(zip(QUEUES, (int(d) for d in depths)))
