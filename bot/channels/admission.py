"""How many user messages one server process works on at once, and in which order.

Every channel (REST, socket.io, Telegram) hands its messages to Rasa through one
:class:`AdmissionGate` per process (:func:`gated`). Under load, Rasa interleaves every
message in flight: each one then progresses at 1/N of a core, and a message that needs
a little more work (a knowledge answer with two action calls) waits many times longer
than the rest. The gate lets at most ``MAX_CONCURRENT_MESSAGES`` messages into Rasa at a
time and queues the others first come, first served, so waiting is shared fairly and the
slow tail shrinks (docs/performance.md, "Admission gate").

Red flags and crisis messages never queue: a message the safety screen escalates
(the same deterministic screen as the NLU pipeline's, :func:`bot.components.safety.build_screen`)
goes straight in, whatever is queued, so a slow action server or a flood of knowledge
questions cannot delay the urgent reply. The screen runs only for a message that would
otherwise wait. ``MAX_CONCURRENT_MESSAGES=0`` turns the gate off (Rasa's own behaviour).

The gate bounds work on this process's CPU, not waiting elsewhere: a message that has
waited for the action server for half a second (:func:`outside`, used by patch 1 in
bot/rasa_patches.py) gives its place to the next in the queue, and comes back first in
line. So a slow or hung action server holds no place for long, and queued messages are
not stuck behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import UserMessage

logger = logging.getLogger(__name__)

LIMIT_ENV = "MAX_CONCURRENT_MESSAGES"
# Measured on 2 cores with one Rasa instance per core (docs/performance.md).
DEFAULT_LIMIT = 2
# A message still waiting for the action server after this long gives its place up.
OUTSIDE_AFTER_S = 0.5

Handler = Callable[[UserMessage], Awaitable[Any]]
UrgentCheck = Callable[[str], bool]


def limit_from_env(environ: Mapping[str, str] | None = None) -> int:
    """``MAX_CONCURRENT_MESSAGES`` (0 = no gate), or :data:`DEFAULT_LIMIT`.

    Raises:
        ValueError: the variable is set but is not a whole number >= 0.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    raw = (env.get(LIMIT_ENV) or "").strip()
    if not raw:
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{LIMIT_ENV} must be a whole number >= 0, not {raw!r}")
    return value


def screen_is_urgent() -> UrgentCheck:
    """A check that is True for a message the safety screen escalates (red flag or crisis).

    Built once per process: it reads the safety lexicon (config/safety/).
    """
    from bot.components.safety import build_screen

    screen = build_screen(detect_other_language=False, detect_personal_advice=False)

    def is_urgent(text: str) -> bool:
        result = screen.screen(text)
        return bool(result.red_flags or result.crisis)

    return is_urgent


@dataclass
class _Place:
    """The place one message holds in a gate (shared with the tasks it starts)."""

    gate: AdmissionGate
    held: bool = True


_PLACE: contextvars.ContextVar[_Place | None] = contextvars.ContextVar(
    "netchemo_admission_place", default=None
)


class AdmissionGate:
    """At most ``limit`` messages in Rasa at once, the rest first come, first served;
    urgent messages (``is_urgent``) go straight in."""

    def __init__(self, limit: int, is_urgent: UrgentCheck | None = None) -> None:
        self.limit = limit
        self._is_urgent = is_urgent
        self._active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.urgent_admitted = (
            0  # urgent messages that would have waited (for tests, logs)
        )

    @property
    def active(self) -> int:
        """Messages inside Rasa now (urgent ones that skipped the queue not counted)."""
        return self._active

    @property
    def waiting(self) -> int:
        """Messages queued now."""
        return len(self._waiters)

    def urgent(self, text: str) -> bool:
        """True when ``text`` must not wait; a failing check counts as urgent."""
        if self._is_urgent is None:
            return False
        try:
            return self._is_urgent(text)
        except Exception:  # never let the check keep a message out
            logger.exception(
                "admission: the urgency check failed; admitting the message"
            )
            return True

    async def run(self, message: UserMessage, handler: Handler) -> Any:
        """Run ``handler(message)`` when a place is free (urgent messages at once)."""
        if self.limit <= 0:
            return await handler(message)
        if (self._active >= self.limit or self._waiters) and self.urgent(
            message.text or ""
        ):
            self.urgent_admitted += 1
            return await handler(message)
        await self._acquire()
        place = _Place(self)
        token = _PLACE.set(place)
        try:
            return await handler(message)
        finally:
            _PLACE.reset(token)
            if place.held:
                self._release()

    async def _acquire(self, first: bool = False) -> None:
        """Take a place, queueing (at the back, or ``first`` in line) while none is free."""
        if self._active < self.limit and not self._waiters:
            self._active += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if first:
            self._waiters.appendleft(waiter)
        else:
            self._waiters.append(waiter)
        try:
            await waiter  # _release hands the place over with _active unchanged
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a place just as it was cancelled: pass it on
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    def _release(self) -> None:
        """Hand the place to the next waiter, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the place passes on: _active unchanged
                return
        self._active -= 1


@contextlib.asynccontextmanager
async def outside(after_s: float | None = None) -> AsyncIterator[None]:
    """Wait elsewhere; after ``after_s`` seconds (:data:`OUTSIDE_AFTER_S`) still waiting,
    give this message's place to the next one; take it back first in line afterwards.

    A quick call keeps the place (giving it up on every call would let every queued
    message in and bring the slow tail back). A no-op outside a gated message or for an
    urgent one, which holds no place.
    """
    place = _PLACE.get()
    if place is None or not place.held:
        yield
        return

    def give_up() -> None:
        if place.held:
            place.held = False
            place.gate._release()

    timer = asyncio.get_running_loop().call_later(
        OUTSIDE_AFTER_S if after_s is None else after_s, give_up
    )
    try:
        yield
    finally:
        timer.cancel()
        if not place.held:
            await place.gate._acquire(first=True)
            place.held = True


_GATE: AdmissionGate | None = None


def gate() -> AdmissionGate:
    """The process's gate, built on first use from the environment."""
    global _GATE
    if _GATE is None:
        limit = limit_from_env()
        _GATE = AdmissionGate(limit, screen_is_urgent() if limit > 0 else None)
        logger.info("admission: at most %d messages at once (%s)", limit, LIMIT_ENV)
    return _GATE


def gated(handler: Handler) -> Handler:
    """``handler`` behind the process's gate (see the module docstring)."""

    async def admitted(message: UserMessage) -> Any:
        return await gate().run(message, handler)

    return admitted


async def warm_up(_app: Any = None, _loop: Any = None) -> None:
    """Build the gate (and its screen) before the first message: a Sanic listener."""
    gate()
