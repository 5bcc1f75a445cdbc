"""The demo newsroom as plain article dicts grouped by story (ids are the URLs)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

import pytest

from newsloom.demo import load_gold_articles

DEMO_NOW = datetime(2026, 3, 12, 18, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def demo_stories() -> dict[str, list[dict]]:
    by: dict[str, list[dict]] = defaultdict(list)
    for a in load_gold_articles("http://demo.test", DEMO_NOW):
        by[a["story"]].append({**a, "id": a["url"]})
    return dict(by)


@pytest.fixture(scope="session")
def multi_publisher(demo_stories) -> dict[str, list[dict]]:
    return {k: v for k, v in demo_stories.items() if len({a["source"] for a in v}) > 1}


# -- a real local server speaking the OpenAI chat-completions protocol ---------------
import json as _json
import threading as _threading
import time as _time
from http.server import BaseHTTPRequestHandler as _Handler, ThreadingHTTPServer as _HTTPServer


class _Server:
    """Records each request; replies with whatever ``reply`` holds (status, body, delay)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.reply: tuple[int, bytes, float] = (200, b"{}", 0.0)
        outer = self

        class Handler(_Handler):
            def do_POST(self):  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests.append({"path": self.path, "headers": dict(self.headers),
                                       "json": _json.loads(body)})
                status, payload, delay = outer.reply
                if delay:
                    _time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except OSError:          # the client gave up (the timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.httpd = _HTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = _threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def completion(self, content: str) -> None:
        body = {"id": "cmpl-1", "object": "chat.completion", "model": "tiny",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}]}
        self.reply = (200, _json.dumps(body).encode(), 0.0)

    def close(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.close()


