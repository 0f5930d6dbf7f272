"""Fixtures against the machine's real PostgreSQL (127.0.0.1:5432) and Redis (6379).

Each test module gets a database of its own (``netchemo_test_<random>``, dropped after)
and an empty Redis db (flushed after). Under ``CI=true`` both services are required;
elsewhere the tests are skipped with a plain message when a service does not answer.
:class:`TcpProxy` stands between the assistant and a service, so a test can make that
service unreachable for itself alone without stopping the machine's server.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.cluster import (
    DEFAULT_REDIS_URL,
    drop_database,
    ensure_database,
    pg_answers,
    redis_answers,
)

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS_SERVER = "redis://127.0.0.1:6379"
REDIS_TEST_DBS = range(15, 9, -1)  # a db nobody else here uses is taken from these


def need(service: str, ok: bool) -> None:
    """Skip (or fail under CI) when ``service`` does not answer."""
    if ok:
        return
    message = f"{service} does not answer on 127.0.0.1; these tests need it"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (required under CI)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """URL of a fresh database, dropped afterwards."""
    need("PostgreSQL", pg_answers(f"{PG_SERVER}/postgres"))
    url = f"{PG_SERVER}/netchemo_test_{secrets.token_hex(4)}"
    ensure_database(url)
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """URL of an empty Redis db, flushed afterwards."""
    import redis

    need("Redis", redis_answers(DEFAULT_REDIS_URL))
    for db in REDIS_TEST_DBS:
        client = redis.Redis.from_url(f"{REDIS_SERVER}/{db}")
        if client.dbsize() == 0:
            break
    else:
        pytest.fail("no empty Redis db among 10-15")
    try:
        yield f"{REDIS_SERVER}/{db}"
    finally:
        client.flushdb()
        client.close()


class TcpProxy:
    """A loopback TCP proxy to ``target_port``; :meth:`stop` refuses and cuts every
    connection (the service looks unreachable), :meth:`start` serves again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        sock.close()
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        return self

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
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
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self._server is not None:
            # shutdown wakes the accept() of the other thread (close alone does not)
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
            self._server = None
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()


@pytest.fixture(scope="module")
def model() -> Path:
    """The trained model (server tests run from ``make test-cluster``)."""
    raw = os.environ.get("NETCHEMO_MODEL")
    if not raw:
        pytest.skip("server tests run from make test-cluster (NETCHEMO_MODEL unset)")
    path = Path(raw)
    if not path.exists():
        pytest.fail(f"no trained model at {path}: run `make train` first")
    return path
