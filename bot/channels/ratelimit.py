"""Rate limits per sender and per client IP for the REST and socket.io channels.

Over a limit, the message is not processed and the client gets the kind
``too_many_messages`` sentence of bot/domain/channels.yml (REST: HTTP 429 with ``Retry-After``;
socket.io: a bot message). The conversation is kept: nothing is stored for a refused
message, and the next message inside the limit carries on where it left off.

Settings (environment variables, read when a channel is built):

=========================  ===================  =========================================
variable                   default              meaning
=========================  ===================  =========================================
RATE_LIMIT_PER_SENDER      ``20/minute``        messages per conversation (REST sender,
                                                widget session); ``off`` disables
RATE_LIMIT_PER_IP          ``60/minute``        messages per client IP; ``off`` disables
RATE_LIMIT_EXEMPT_IPS      ``127.0.0.1,::1``    client IPs the per-IP limit ignores
                                                (comma-separated; empty: none). Local
                                                tools (tests, benchmark, ``make shell``)
                                                share one IP; the per-sender limit still
                                                applies to them
RATE_LIMIT_STORAGE_URL     ``$REDIS_URL``, else where the counters live: ``memory://``
                           ``memory://``        (one process) or ``redis://host:port/db``
                                                (shared by every instance)
=========================  ===================  =========================================

Limits use the ``limits`` library's notation (``20/minute``, ``5/second;100/hour``) and a
moving window. Behind a reverse proxy, let Sanic read the client address from the proxy's
header (``SANIC_PROXIES_COUNT=1`` or ``SANIC_REAL_IP_HEADER``), otherwise every client
has the proxy's IP. If Redis does not answer, messages are let through (a WARNING is
logged at most once a minute): an urgent question must never wait for a counter.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

PER_SENDER_ENV = "RATE_LIMIT_PER_SENDER"
PER_IP_ENV = "RATE_LIMIT_PER_IP"
EXEMPT_ENV = "RATE_LIMIT_EXEMPT_IPS"
STORAGE_ENV = "RATE_LIMIT_STORAGE_URL"
REDIS_ENV = "REDIS_URL"
DEFAULT_PER_SENDER = "20/minute"
DEFAULT_PER_IP = "60/minute"
DEFAULT_EXEMPT = "127.0.0.1,::1"
DEFAULT_STORAGE = "memory://"
OFF = {"", "off", "none", "0", "false", "no"}
STORAGE_SCHEMES = ("memory", "redis", "rediss", "redis+unix")
# How long one Redis call may take before the message is let through.
REDIS_TIMEOUT_S = 0.5
WARN_EVERY_S = 60.0
REPLY_KEY = "too_many_messages"


class RateLimitConfigError(RasaException, ValueError):
    """A rate-limit environment variable cannot be read."""


def parse_limits(name: str, value: str) -> list[RateLimitItem]:
    """``20/minute`` (or ``off``) from the variable ``name``, as limit items."""
    if value.strip().lower() in OFF:
        return []
    try:
        return list(parse_many(value))
    except ValueError as error:
        raise RateLimitConfigError(
            f"{name}={value!r} is not a rate limit like '20/minute' or 'off'"
        ) from error


@dataclass
class Verdict:
    """The outcome for one message: allowed, or refused with a retry delay."""

    allowed: bool
    retry_after: int = 0
    scope: str = ""  # "sender" or "ip" when refused


@dataclass
class RateLimiter:
    """Per-sender and per-IP limits for one channel (``scope``: "rest" or "web")."""

    scope: str
    per_sender: list[RateLimitItem] = field(default_factory=list)
    per_ip: list[RateLimitItem] = field(default_factory=list)
    exempt_ips: frozenset = frozenset()
    storage_url: str = DEFAULT_STORAGE
    _limiter: Any = field(default=None, init=False, repr=False)
    _storage: Any = field(default=None, init=False, repr=False)
    _last_warning: float = field(default=0.0, init=False, repr=False)

    @classmethod
    def from_env(cls, scope: str) -> RateLimiter:
        """Reads the settings documented in the module docstring."""
        env = os.environ
        url = (
            env.get(STORAGE_ENV, "").strip()
            or env.get(REDIS_ENV, "").strip()
            or DEFAULT_STORAGE
        )
        scheme = url.split("://", 1)[0].lower()
        if "://" not in url or scheme not in STORAGE_SCHEMES:
            raise RateLimitConfigError(
                f"{STORAGE_ENV} must be memory:// or redis://host:port/db "
                f"(got a '{scheme}' URL)"
            )
        exempt = env.get(EXEMPT_ENV, DEFAULT_EXEMPT)
        return cls(
            scope=scope,
            per_sender=parse_limits(
                PER_SENDER_ENV, env.get(PER_SENDER_ENV, DEFAULT_PER_SENDER)
            ),
            per_ip=parse_limits(PER_IP_ENV, env.get(PER_IP_ENV, DEFAULT_PER_IP)),
            exempt_ips=frozenset(i.strip() for i in exempt.split(",") if i.strip()),
            storage_url=url,
        )

    @property
    def uses_redis(self) -> bool:
        return not self.storage_url.startswith("memory")

    def _strategy(self) -> MovingWindowRateLimiter:
        if self._limiter is None:
            options = (
                {
                    "socket_timeout": REDIS_TIMEOUT_S,
                    "socket_connect_timeout": REDIS_TIMEOUT_S,
                }
                if self.uses_redis
                else {}
            )
            # The strategy keeps only a weak reference to its storage: hold it here.
            self._storage = storage_from_string(self.storage_url, **options)
            self._limiter = MovingWindowRateLimiter(self._storage)
            logger.info(
                "rate limits for %s: %s per sender, %s per IP (%s storage)",
                self.scope,
                ", ".join(map(str, self.per_sender)) or "none",
                ", ".join(map(str, self.per_ip)) or "none",
                "redis" if self.uses_redis else "in-memory",
            )
        return self._limiter

    def _hit(self, checks: list[tuple[str, RateLimitItem, str]]) -> Verdict:
        strategy = self._strategy()
        for kind, item, value in checks:
            if not strategy.hit(item, "netchemo", self.scope, kind, value):
                reset, _ = strategy.get_window_stats(
                    item, "netchemo", self.scope, kind, value
                )
                retry = max(1, math.ceil(reset - time.time()))
                return Verdict(False, retry_after=retry, scope=kind)
        return Verdict(True)

    async def check(self, sender: str | None, ip: str | None) -> Verdict:
        """Counts one message from ``sender`` at ``ip``; refused if over a limit."""
        checks: list[tuple[str, RateLimitItem, str]] = []
        if ip and ip not in self.exempt_ips:
            checks.extend(("ip", item, ip) for item in self.per_ip)
        if sender:
            checks.extend(("sender", item, sender) for item in self.per_sender)
        if not checks:
            return Verdict(True)
        try:
            if self.uses_redis:  # blocking client: keep it off the event loop
                return await asyncio.to_thread(self._hit, checks)
            return self._hit(checks)
        except Exception as error:  # storage down: let the message through, say so
            now = time.monotonic()
            if now - self._last_warning > WARN_EVERY_S:
                self._last_warning = now
                logger.warning(
                    "rate limit storage unavailable (%s); messages are not limited",
                    type(error).__name__,
                    exc_info=True,
                )
            return Verdict(True)

    def reset(self) -> None:
        """Forgets every counter of this process's in-memory storage (tests)."""
        self._limiter = None
        self._storage = None
