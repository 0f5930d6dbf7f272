"""Telegram state shared by every instance, in Redis (issue 12).

With ``TELEGRAM_REDIS_URL`` (default: ``LOCK_STORE_URL``) set, the Telegram channel keeps
in Redis what one process would otherwise keep in memory:

* **button tokens** (``buttons:<conversation>``, e.g. ``buttons:tg:42``, a hash kept 30
  days; bot.channels.guard.OfferedButtons): a press is honoured by whichever instance
  receives it, not only by the one that offered the button;
* **seen updates** (``tg:update:<id>``, kept a day): Telegram resends an update it thinks
  failed, possibly to another instance; it is handled once;
* **the poller** (``tg:poller``, 90 s, renewed while polling, released on shutdown):
  one instance long-polls (two pollers would each take some updates); the others wait
  and take over when it stops or its claim expires.

Per-chat order across instances comes from the Redis lock store (bot/lock_store.py). If
Redis does not answer, each instance falls back to its own memory (a WARNING a minute).
Unset: nothing here is used and the channel works as one process.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from typing import Any

import redis

logger = logging.getLogger(__name__)

URL_ENV = "TELEGRAM_REDIS_URL"
FALLBACK_ENV = "LOCK_STORE_URL"
BUTTONS_TTL_S = 30 * 86_400
UPDATE_TTL_S = 86_400
POLLER_TTL_S = 90
POLLER_KEY = "tg:poller"
ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
WARN_EVERY_S = 60.0
_last_warning = 0.0


def _warn(exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY_S:
        _last_warning = now
        logger.warning(
            "Telegram: Redis unreachable (%s); using this instance's memory",
            type(exc).__name__,
        )


def shared_redis(environ: dict | None = None) -> redis.Redis | None:
    """The Redis client for shared Telegram state, or None when none is configured."""
    env = os.environ if environ is None else environ
    url = (env.get(URL_ENV) or env.get(FALLBACK_ENV) or "").strip()
    if not url or url.startswith("memory://"):
        return None
    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


class SharedState:
    """Button tokens, seen updates and the poller claim, in one Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self.red = client
        self.instance = secrets.token_hex(8)

    # -- buttons ----------------------------------------------------------------------
    def save_button(self, conversation: str, token: str, payload: str) -> None:
        """Remember that ``token`` stands for ``payload`` in ``conversation``."""
        key = f"buttons:{conversation}"
        try:
            pipe = self.red.pipeline()
            pipe.hset(key, token, payload)
            pipe.expire(key, BUTTONS_TTL_S)
            pipe.execute()
        except ERRORS as exc:
            _warn(exc)

    def button(self, conversation: str, token: str) -> str | None:
        """The payload behind ``token`` in ``conversation``, if any instance offered it."""
        try:
            raw: Any = self.red.hget(f"buttons:{conversation}", token)
        except ERRORS as exc:
            _warn(exc)
            return None
        return raw.decode("utf-8") if isinstance(raw, bytes) else raw

    def forget_buttons(self, conversation: str) -> None:
        """Drop every token of ``conversation``."""
        try:
            self.red.delete(f"buttons:{conversation}")
        except ERRORS as exc:
            _warn(exc)

    # -- updates ----------------------------------------------------------------------
    def seen(self, update_id: int) -> bool | None:
        """True if some instance already took ``update_id``; None if Redis is away."""
        try:
            first = self.red.set(f"tg:update:{update_id}", 1, nx=True, ex=UPDATE_TTL_S)
        except ERRORS as exc:
            _warn(exc)
            return None
        return not first

    # -- the poller -------------------------------------------------------------------
    def claim_poller(self) -> bool:
        """Become (or stay) the one polling instance; False if another one polls."""
        try:
            if self.red.set(POLLER_KEY, self.instance, nx=True, ex=POLLER_TTL_S):
                return True
            holder = self.red.get(POLLER_KEY)
            if holder is not None and holder.decode() == self.instance:
                self.red.expire(POLLER_KEY, POLLER_TTL_S)
                return True
            return False
        except ERRORS as exc:
            _warn(exc)
            return True  # cannot tell: one instance polling beats none

    def release_poller(self) -> None:
        """Give up the claim (on shutdown)."""
        try:
            holder = self.red.get(POLLER_KEY)
            if holder is not None and holder.decode() == self.instance:
                self.red.delete(POLLER_KEY)
        except ERRORS as exc:
            _warn(exc)


def shared_state() -> SharedState | None:
    """The shared state when Redis is configured, else None."""
    client = shared_redis()
    return SharedState(client) if client is not None else None
