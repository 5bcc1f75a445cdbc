"""Web throughput: requests/s and latency of a page under concurrent connections.

    python bench/web.py                                  # the widest demo story page, 50 connections, 10 s
    python bench/web.py --seconds 20 --connections 50
    python bench/web.py --path /search?q=kestrel --path /feeds/home.atom
    python bench/web.py --wrk                            # also run wrk (when installed) with the same settings

Loads the demo newsroom into a temporary NEWSLOOM_HOME (SQLite) through the real path
(DemoServer -> import_opml -> refresh), starts `newsloom serve` (uvicorn, one process) on
127.0.0.1, and drives it with httpx (asyncio, one connection per worker). Only 127.0.0.1 is
contacted; runs are bounded by time and by --max-requests. Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import httpx

from newsloom.demo.server import DemoServer
from newsloom.settings import load_settings
from newsloom.store import open_store
from newsloom.tasks.jobs import fetch_bytes, import_opml
from newsloom.tasks.pipeline import refresh

DEMO_NOW = datetime(2026, 3, 12, 18, tzinfo=timezone.utc)


def load_demo(home: Path) -> int:
    """Fill `home` with the demo newsroom; return the id of the story with the most publishers."""
    settings = load_settings({}, home=str(home), fetch_allow_networks=["127.0.0.1/32"])
    with DemoServer(now=DEMO_NOW) as demo:
        store = open_store(settings.db_url)
        import_opml(store, fetch_bytes(settings, demo.url("/opml/demo.opml")))
        refresh(store, settings, all_feeds=True)
    story = max(store.list_stories(limit=500), key=lambda s: (s.source_count, s.article_count))
    print(f"demo: {store.count_articles()} articles, {store.count_stories()} stories; "
          f"story {story.id} has {story.source_count} publishers", file=sys.stderr)
    store.close()
    return story.id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int, workers: int = 1) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLOOM_")}
    env["NEWSLOOM_HOME"] = str(home)
    proc = subprocess.Popen([sys.executable, "-m", "newsloom.cli", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench: server exited: {proc.stderr.read().decode(errors='replace')}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("bench: server did not answer within 30 s")


async def drive(url: str, connections: int, seconds: float, max_requests: int) -> tuple[list[float], Counter, float]:
    latencies: list[float] = []
    statuses: Counter = Counter()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        for _ in range(min(connections, 20)):                          # warm-up
            await client.get(url)
        start = time.perf_counter()
        deadline = start + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline and len(latencies) < max_requests:
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


def report(path: str, latencies: list[float], statuses: Counter, elapsed: float, connections: int) -> None:
    if not latencies:
        print(f"{path}: no successful requests ({dict(statuses)})")
        return
    qs = statistics.quantiles(latencies, n=100, method="inclusive")
    ok = statuses.get(200, 0)
    print(f"{path}: {len(latencies)} requests in {elapsed:.1f} s with {connections} connections -> "
          f"{len(latencies) / elapsed:.0f} req/s; latency p50 {qs[49] * 1000:.1f} ms, p90 {qs[89] * 1000:.1f} ms, "
          f"p99 {qs[98] * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms; 200 OK: {ok}"
          + (f"; other: {dict((k, v) for k, v in statuses.items() if k != 200)}" if ok != sum(statuses.values()) else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--max-requests", type=int, default=200_000)
    ap.add_argument("--path", action="append", help="path to load (default: the widest story page)")
    ap.add_argument("--wrk", action="store_true", help="also run wrk when it is installed")
    ap.add_argument("--workers", type=int, default=1, help="web processes (newsloom serve --workers)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        story_id = load_demo(home)
        port = free_port()
        server = start_server(home, port, args.workers)
        try:
            for path in args.path or [f"/stories/{story_id}"]:
                url = f"http://127.0.0.1:{port}{path}"
                latencies, statuses, elapsed = asyncio.run(drive(url, args.connections, args.seconds,
                                                                 args.max_requests))
                report(path, latencies, statuses, elapsed, args.connections)
                wrk = shutil.which("wrk")
                if args.wrk and wrk:
                    out = subprocess.run([wrk, "-t4", f"-c{args.connections}", f"-d{int(args.seconds)}s", "--latency",
                                          url], capture_output=True, text=True, timeout=args.seconds + 30)
                    print(out.stdout)
                elif args.wrk:
                    print("wrk: not installed; skipped", file=sys.stderr)
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
