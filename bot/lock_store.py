"""Lock stores: one conversation is handled by one message at a time, across instances.

``bot/endpoints.yml`` names :class:`EnvLockStore`, which chooses by environment:
``LOCK_STORE_URL`` unset is Rasa's in-memory lock store (one process: ``make run``);
``redis://[:password@]host:6379/<db>`` (or ``rediss://`` for TLS) is
:class:`AtomicRedisLockStore`, shared by every instance behind a proxy.

Why not Rasa's ``RedisLockStore`` as it is (checked against rasa 3.6.21): its ticket
updates are a GET followed by a SET, so two instances issuing tickets for the same
conversation at the same moment can both get the same ticket and handle two messages at
once; the later tracker save then drops the other's turns. Here every read-modify-write of
a lock runs in a Redis optimistic transaction (WATCH/MULTI, retried on conflict). Waiting
messages poll every :data:`POLL_S` seconds instead of Rasa's 1 s.

When Redis does not answer, the message is handled without the lock (one WARNING a
minute): an urgent question must never wait for a lock server. The tracker store still
keeps every turn of a conversation that is not written by two instances at the same moment.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    LOCK_LIFETIME,
    InMemoryLockStore,
    LockStore,
    RedisLockStore,
)
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

URL_ENV = "LOCK_STORE_URL"
POLL_S = 0.05
SOCKET_TIMEOUT_S = 2.0
WARN_EVERY_S = 60.0
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
T = TypeVar("T")


def redis_options(url: str) -> dict:
    """``RedisLockStore`` keyword arguments from a ``redis://`` URL (db 1 by default)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"{URL_ENV} must start with redis:// or rediss://")
    path = parts.path.strip("/")
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 6379,
        "db": int(path) if path else 1,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_ssl": parts.scheme == "rediss",
        "socket_timeout": SOCKET_TIMEOUT_S,
    }


class AtomicRedisLockStore(RedisLockStore):
    """Rasa's Redis lock store with atomic ticket updates and a Redis-down fallback."""

    _last_warning = 0.0

    def _mutate(
        self,
        conversation_id: str,
        change: Callable[[TicketLock | None], tuple[TicketLock | None, T]],
    ) -> T:
        """Apply ``change`` to the stored lock atomically; ``None`` deletes it."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                    new, result = change(lock)
                    pipe.multi()
                    if new is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, new.dumps())
                    pipe.execute()
                    return result
                except redis.exceptions.WatchError:
                    continue  # another instance changed it meanwhile: read again

    def issue_ticket(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME
    ) -> int:
        """A ticket for ``conversation_id``, never the same one twice."""

        def change(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        return self._mutate(conversation_id, change)

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets (a message whose instance died)."""

        def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._mutate(conversation_id, change)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove ``ticket_number``."""
        self._finish(conversation_id, ticket_number, delete_when_idle=False)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove ``ticket_number``; delete the lock if nobody else waits."""
        self._finish(conversation_id, ticket_number, delete_when_idle=True)

    def _finish(
        self, conversation_id: str, ticket: int, delete_when_idle: bool
    ) -> None:
        def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket)
            if delete_when_idle and not lock.is_someone_waiting():
                return None, None
            return lock, None

        self._mutate(conversation_id, change)

    def _warn(self, what: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - AtomicRedisLockStore._last_warning >= WARN_EVERY_S:
            AtomicRedisLockStore._last_warning = now
            logger.warning(
                "lock store unreachable while %s (%s): handling messages without the "
                "lock until it answers",
                what,
                type(exc).__name__,
            )

    # Rasa declares that lock() yields a TicketLock; this one yields None while Redis is
    # away. Every caller in Rasa 3.6.21 (rasa/core/agent.py, processor.py, server.py) uses
    # ``async with store.lock(id):`` and never the yielded value, hence the ignore.
    @asynccontextmanager
    async def lock(  # type: ignore[override]
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_S,
    ) -> AsyncGenerator[TicketLock | None, None]:
        """Hold the conversation's lock; without Redis, go on unlocked (docstring)."""
        ticket: int | None = None
        held: TicketLock | None = None
        try:
            ticket = self.issue_ticket(conversation_id, lock_lifetime)
            held = await self._acquire_lock(
                conversation_id, ticket, min(wait_time_in_seconds, POLL_S)
            )
        except REDIS_ERRORS as exc:
            self._warn("taking a lock", exc)
        try:
            yield held
        finally:
            if ticket is not None:
                try:
                    self.cleanup(conversation_id, ticket)
                except REDIS_ERRORS as exc:  # the ticket expires by itself
                    self._warn("releasing a lock", exc)


class EnvLockStore(LockStore):
    """The lock store ``bot/endpoints.yml`` names: in memory, or Redis by environment.

    Rasa instantiates the class it is given (``endpoint_config=``); this one hands back
    the store ``LOCK_STORE_URL`` asks for.
    """

    def __new__(  # type: ignore[misc]
        cls, endpoint_config: EndpointConfig | None = None
    ) -> LockStore:
        return lock_store_from_url(os.environ.get(URL_ENV, ""))


def lock_store_from_url(url: str) -> LockStore:
    """In memory for an empty ``url``, else :class:`AtomicRedisLockStore`."""
    url = url.strip()
    if not url or url == "memory://":
        return InMemoryLockStore()
    store = AtomicRedisLockStore(**redis_options(url))
    logger.debug(
        "Redis lock store (db %s)",
        store.red.connection_pool.connection_kwargs.get("db"),
    )
    return store
