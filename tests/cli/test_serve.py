"""`newsloom serve` as a real process on 127.0.0.1, with one and with several workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from newsloom.models import Article, utcnow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_pages_and_api(cli_env, store, workers):
    src = store.upsert_source("Harbor Gazette")
    store.add_article(Article(url="https://a.example/1", title="Quay lights return", source_id=src.id,
                              published_at=utcnow(), text="The lanterns are back on the quay."))
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "newsloom.cli", "serve", "--port", str(port),
                             "--workers", str(workers)], env={**os.environ, **cli_env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline, home = time.monotonic() + 30, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                home = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert home is not None and home.status_code == 200, proc.stderr.read().decode() if proc.poll() else ""
        assert "Quay lights return" in home.text and "Harbor Gazette" in home.text
        api = httpx.get(f"http://127.0.0.1:{port}/api/v1/articles", timeout=5).json()
        assert api["total"] == 1
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
