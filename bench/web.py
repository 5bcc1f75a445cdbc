"""Web throughput: requests/s and latency of the app's pages against a floor, under 50 connections.

    python bench/web.py                          # 1 and 2 web processes, 10 s per page, 50 connections
    python bench/web.py --workers 1 --seconds 20
    python bench/web.py --page-cache 0           # the anonymous page cache off: every request renders
    python bench/web.py --path /search?q=kestrel --path /feeds/home.atom     # other pages as well
    python bench/web.py --driver python          # the Python driver even when wrk is installed

Loads the demo newsroom into a temporary NEWSLOOM_HOME (SQLite) through the pipeline
(DemoServer -> import_opml -> tasks.pipeline.refresh: articles, stories, stored insights),
then starts `newsloom serve --no-scheduler` (no background refresh is measured) once per
--workers value, on 127.0.0.1. Each run measures, one after the other:

* the widest story page (most publishers), the home page, a hashtag page (the widest
  story's first hashtag), any --path given;
* the floor: a constant page of the same app, /static/style.css, through the same server,
  middleware and connections;

and prints requests/s, p50 and p99 latency and errors (non-2xx/3xx answers, socket errors)
for each, then the story page against the floor: its req/s ratio (target >= 0.50) and its
p99 ratio (target <= 2.0). The load comes from wrk (`apt-get install wrk`) when installed,
else from an asyncio httpx driver (slower: it shares the CPUs with the server). Every request
is anonymous, so with the default settings the pages come from the anonymous page cache
(serve/conditional.py); `--page-cache 0` measures the rendering path. Only 127.0.0.1 is
contacted. Prints figures only; nothing here asserts a time.

With --workers > 1, `newsloom serve` binds the listening socket with its protocol marked
TCP, so that asyncio sets TCP_NODELAY on the accepted connections (uvicorn's own binding
leaves it 0, and each keep-alive response then waited for the client's delayed ACK, ~40 ms,
capping a run at about connections / 44 ms requests/s whatever the page).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import httpx

from newsloom.demo.server import DemoServer
from newsloom.settings import load_settings
from newsloom.store import open_store
from newsloom.tasks.jobs import fetch_bytes, import_opml
from newsloom.tasks.pipeline import refresh

DEMO_NOW = datetime(2026, 3, 12, 18, tzinfo=timezone.utc)
FLOOR = "/static/style.css"


@dataclass
class Result:
    path: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    detail: str = ""


def load_demo(home: Path) -> tuple[int, str | None]:
    """Fill `home` with the demo newsroom through the pipeline; return the id of the story with
    the most publishers and the slug of its first hashtag."""
    settings = load_settings({}, home=str(home), fetch_allow_networks=["127.0.0.1/32"])
    with DemoServer(now=DEMO_NOW) as demo:
        store = open_store(settings.db_url)
        import_opml(store, fetch_bytes(settings, demo.url("/opml/demo.opml")))
        refresh(store, settings, all_feeds=True)
    story = max(store.list_stories(limit=500), key=lambda s: (s.source_count, s.article_count))
    tags = store.story_hashtags(story.id)
    built = store.get_story_insights(story.id) is not None
    print(f"demo: {store.count_articles()} articles, {store.count_stories()} stories; story {story.id} has "
          f"{story.article_count} articles from {story.source_count} publishers, insights "
          f"{'stored' if built else 'NOT built'}, {len(tags)} hashtags", file=sys.stderr)
    store.close()
    return story.id, tags[0].tag.slug if tags else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int, workers: int, page_cache: float | None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLOOM_")}
    env["NEWSLOOM_HOME"] = str(home)
    if page_cache is not None:
        env["NEWSLOOM_PAGE_CACHE_SECONDS"] = str(page_cache)
    proc = subprocess.Popen([sys.executable, "-m", "newsloom.cli", "serve", "--no-scheduler", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench: server exited: {proc.stderr.read().decode(errors='replace')}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)      # any answer: it is serving
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("bench: server did not answer within 30 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


# -- drivers ----------------------------------------------------------------------------
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    return float(m.group(1)) * _UNIT_MS[m.group(2)] if m else float("nan")


def run_wrk(wrk: str, url: str, path: str, connections: int, seconds: float, threads: int) -> Result:
    out = subprocess.run([wrk, f"-t{threads}", f"-c{connections}", f"-d{max(int(seconds), 1)}s", "--latency", url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if not (rps and p50 and p99 and total):
        raise SystemExit(f"bench: could not read wrk's output:\n{out}")
    errors = int(non2xx.group(1)) if non2xx else 0
    detail = []
    if non2xx:
        detail.append(f"non-2xx/3xx {non2xx.group(1)}")
    if sock:
        errors += sum(int(g) for g in sock.groups())
        detail.append(f"socket errors {sock.group(0).split(': ', 1)[1]}")
    return Result(path, float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), int(total.group(1)), errors,
                  "; ".join(detail))


async def _drive(url: str, connections: int, seconds: float) -> tuple[list[float], Counter, float]:
    latencies: list[float] = []
    statuses: Counter = Counter()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        start = time.perf_counter()
        deadline = start + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                try:
                    r = await client.get(url)
                    statuses[r.status_code] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - t)

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    return latencies, statuses, elapsed


def run_python(url: str, path: str, connections: int, seconds: float) -> Result:
    latencies, statuses, elapsed = asyncio.run(_drive(url, connections, seconds))
    errors = sum(v for k, v in statuses.items() if not (isinstance(k, int) and k < 400))
    if len(latencies) < 2:
        return Result(path, 0.0, float("nan"), float("nan"), len(latencies), errors, str(dict(statuses)))
    qs = statistics.quantiles(latencies, n=100, method="inclusive")
    other = {k: v for k, v in statuses.items() if k != 200}
    return Result(path, len(latencies) / elapsed, qs[49] * 1000, qs[98] * 1000, len(latencies), errors,
                  f"other: {other}" if other else "")


# -- one server ---------------------------------------------------------------------------
def warm(url: str, n: int = 30) -> int:
    with httpx.Client(timeout=30) as client:
        statuses = {client.get(url).status_code for _ in range(n)}
    return max(statuses)


def measure(home: Path, workers: int, pages: list[tuple[str, str]], args: argparse.Namespace) -> list[Result]:
    port = free_port()
    server = start_server(home, port, workers, args.page_cache)
    wrk = shutil.which("wrk") if args.driver != "python" else None
    if args.driver == "wrk" and not wrk:
        raise SystemExit("bench: --driver wrk but wrk is not installed (apt-get install wrk)")
    driver = "wrk" if wrk else "python (httpx)"
    cache = "app default" if args.page_cache is None else f"{args.page_cache:g} s"
    print(f"\n== newsloom serve --no-scheduler --workers {workers}; {args.connections} connections, "
          f"{args.seconds:g} s per page, driver {driver}, anonymous page cache: {cache}")
    results: list[Result] = []
    try:
        for label, path in pages:
            url = f"http://127.0.0.1:{port}{path}"
            status = warm(url)
            if status >= 400:
                print(f"{label:<8} {path}: HTTP {status} on warm-up; skipped")
                continue
            r = (run_wrk(wrk, url, path, args.connections, args.seconds, args.threads) if wrk
                 else run_python(url, path, args.connections, args.seconds))
            results.append(r)
            print(f"{label:<8} {path:<34} {r.rps:8.0f} req/s   p50 {r.p50_ms:7.1f} ms   p99 {r.p99_ms:7.1f} ms   "
                  f"{r.requests} requests, {r.errors} errors" + (f" ({r.detail})" if r.detail else ""))
    finally:
        stop_server(server)
    by_path = {r.path: r for r in results}
    story, floor = by_path.get(pages[0][1]), by_path.get(FLOOR)
    if story and floor and floor.rps and story.p99_ms == story.p99_ms and floor.p99_ms:
        print(f"story/floor: req/s ratio {story.rps / floor.rps:.2f} (target >= 0.50); "
              f"p99 ratio {story.p99_ms / floor.p99_ms:.2f} (target <= 2.0); "
              f"errors story {story.errors}, floor {floor.errors}")
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="load time per page")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--workers", type=int, action="append",
                    help="web processes (newsloom serve --workers); repeat to compare (default: 1 and 2)")
    ap.add_argument("--path", action="append", default=[], help="another page to load (after the standard ones)")
    ap.add_argument("--page-cache", type=float, default=None,
                    help="NEWSLOOM_PAGE_CACHE_SECONDS for the server (default: the app's default)")
    ap.add_argument("--driver", choices=("auto", "wrk", "python"), default="auto")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        story_id, tag = load_demo(home)
        pages = [("story", f"/stories/{story_id}"), ("home", "/")]
        if tag:
            pages.append(("hashtag", f"/tags/{tag}"))
        pages += [("extra", p) for p in args.path]
        pages.append(("floor", FLOOR))
        for workers in args.workers or [1, 2]:
            measure(home, workers, pages, args)


if __name__ == "__main__":
    main()
