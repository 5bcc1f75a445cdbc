"""/healthz and /readyz through the real app, on both stores: a live database, one that stops
answering (a PostgreSQL server behind a TCP relay that goes down; an SQLite volume that goes
away), and a database whose schema is not at this release's head."""

from __future__ import annotations

import shutil
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from newsloom.serve import create_app
from newsloom.serve.probes import schema_head
from newsloom.store import open_store


def _client(settings, store):
    return TestClient(create_app(settings.replace(page_cache_seconds=0), store))


def test_live_store_is_healthy_and_ready(settings, store):
    with _client(settings, store) as client:
        r = client.get("/healthz")
        assert r.status_code == 200 and r.text == "ok" and r.headers["cache-control"] == "no-store"
        r = client.get("/readyz")
        assert r.status_code == 200 and r.text == "ready"
    assert store.schema_revision() == schema_head() is not None


class _Relay:
    """A TCP relay to the PostgreSQL server: the app's only way to reach it. stop() closes the
    listening socket and every relayed connection, as a network outage would."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.stopped:
                client.close()
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self.stopped = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)      # wakes the accept() above, refuses what follows
        except OSError:
            pass
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


def test_unreachable_database_is_not_ready_but_still_healthy(settings, store_url, tmp_path):
    if store_url.startswith("sqlite"):
        volume = tmp_path / "volume"
        broken = open_store(f"sqlite:///{volume / 'newsloom.db'}")
        stop = lambda: (broken.engine.dispose(), shutil.rmtree(volume))          # noqa: E731 - the volume goes
    else:
        parts = urlsplit(store_url)
        relay = _Relay(parts.hostname or "127.0.0.1", parts.port or 5432)
        netloc = parts.netloc.rsplit("@", 1)
        hostport = f"127.0.0.1:{relay.port}"
        relayed = urlunsplit(parts._replace(netloc=f"{netloc[0]}@{hostport}" if len(netloc) == 2 else hostport))
        broken = open_store(relayed)
        stop = relay.stop
    try:
        with _client(settings, broken) as client:
            assert client.get("/readyz").status_code == 200
            stop()
            r = client.get("/readyz")
            assert r.status_code == 503 and r.text.startswith("store: database unreachable")
            assert "postgresql" not in r.text and "sqlite" not in r.text           # no URL, no driver text
            assert client.get("/healthz").text == "ok"                           # the process is fine
    finally:
        broken.engine.dispose()


@pytest.fixture
def private_url(store_url, tmp_path, pg_schema_factory):
    """A database of this test's own (it is damaged below)."""
    if store_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'private.db'}"
    return pg_schema_factory("nl_readyz")


def test_schema_behind_head_is_not_ready(settings, private_url):
    private = open_store(private_url)
    try:
        with _client(settings, private) as client:
            assert client.get("/readyz").status_code == 200
            with private.write() as conn:
                conn.execute(sa.text("DROP TABLE alembic_version"))               # as before `newsloom init`
            r = client.get("/readyz")
            assert r.status_code == 503 and "no revision" in r.text and schema_head() in r.text
            assert client.get("/healthz").status_code == 200
    finally:
        private.close()
