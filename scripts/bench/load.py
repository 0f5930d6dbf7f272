"""The simulated users: closed loop (as fast as answers come) and open loop (a human pace)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

HUMAN_PACE_S = (10.0, 20.0)  # open loop: seconds between one user's messages
P95_TARGET_MS = 1000.0
TURNS_PER_CONVERSATION = 8  # a simulated user starts a new conversation after this many
RUN_ID = uuid.uuid4().hex[:8]  # fresh conversations in every run


@dataclass
class Level:
    """Results of one load level."""

    users: int
    messages: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def rate(self) -> float:
        """Messages answered per second."""
        return self.messages / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """Latency percentile in ms (NaN without answers)."""
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q / 100 * len(data)))]

    def row(self) -> dict[str, Any]:
        """The figures of this level, as stored in bench.json."""
        return {
            "users": self.users,
            "msg_per_s": self.rate,
            "p50_ms": self.pct(50),
            "p95_ms": self.pct(95),
            "p99_ms": self.pct(99),
            "messages": self.messages,
            "errors": self.errors,
        }


def body(tag: str, users: int, index: int, sent: int, questions: list[str]) -> dict:
    """The ``sent``-th message of simulated user ``index``: its conversation changes every
    :data:`TURNS_PER_CONVERSATION` messages; users start at different questions."""
    return {
        "sender": f"{tag}-{RUN_ID}-{users}-{index}-{sent // TURNS_PER_CONVERSATION}",
        "message": questions[(index + sent) % len(questions)],
    }


async def post(
    session: aiohttp.ClientSession, url: str, message: dict, level: Level
) -> None:
    """Send one message; record its latency in ``level``, or an error."""
    started = time.perf_counter()
    try:
        async with session.post(url, json=message) as resp:
            await resp.read()
            ok = resp.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        ok = False
    if ok:
        level.latencies_ms.append((time.perf_counter() - started) * 1000)
        level.messages += 1
    else:
        level.errors += 1


async def run_level(
    url: str, questions: list[str], users: int, seconds: float, tag: str = "bench"
) -> Level:
    """Closed loop: each user sends the next question when the previous one is answered."""
    level = Level(users=users)
    deadline = time.perf_counter() + seconds
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=0)  # the users bound concurrency themselves

    async def user(index: int, session: aiohttp.ClientSession) -> None:
        sent = 0
        while time.perf_counter() < deadline:
            await post(session, url, body(tag, users, index, sent, questions), level)
            sent += 1

    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(user(i, session) for i in range(users)))
    level.seconds = time.perf_counter() - started
    return level


async def run_open_loop(
    url: str, questions: list[str], users: int, seconds: float, tag: str = "human"
) -> Level:
    """Open loop: each user sends a message every 10-20 s whatever the server does.

    Users start at random moments of the first pace interval, so the load is spread
    as real people spread it; only messages sent in the first ``seconds`` count.
    """
    level = Level(users=users, seconds=seconds)
    rng = random.Random(users)  # noqa: S311 (load timing, not security)
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=0)
    deadline = time.perf_counter() + seconds

    async def user(index: int, session: aiohttp.ClientSession) -> None:
        await asyncio.sleep(rng.uniform(0, HUMAN_PACE_S[1]))
        sent = 0
        pending = []
        while time.perf_counter() < deadline:
            message = body(tag, users, index, sent, questions)
            pending.append(asyncio.ensure_future(post(session, url, message, level)))
            sent += 1
            await asyncio.sleep(rng.uniform(*HUMAN_PACE_S))
        await asyncio.gather(*pending)

    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(user(i, session) for i in range(users)))
    return level


def human_pace_capacity(
    url: str, questions: list[str], closed_rate: float, seconds: float
) -> dict[str, Any]:
    """Most users at a human pace with p95 <= 1 s, searched around the closed-loop rate.

    A user sends one message per 15 s on average, so ``closed_rate * 15`` users would
    keep the server exactly busy; levels at fractions of that find where p95 passes 1 s.
    """
    mean_pace = sum(HUMAN_PACE_S) / 2
    full = max(10, int(closed_rate * mean_pace))
    tried = []
    best = 0
    exceeded = False
    for fraction in (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0):
        users = max(1, int(full * fraction))
        level = asyncio.run(run_open_loop(url, questions, users, seconds))
        row = {
            "users": users,
            "msg_per_s": level.messages / seconds,
            "p50_ms": level.pct(50),
            "p95_ms": level.pct(95),
            "errors": level.errors,
        }
        tried.append(row)
        logger.info(
            "human pace %5d users: %5.1f msg/s  p50 %5.0f ms  p95 %6.0f ms  errors %d",
            users, row["msg_per_s"], row["p50_ms"], row["p95_ms"], level.errors,
        )  # fmt: skip
        if level.pct(95) <= P95_TARGET_MS and not level.errors:
            best = users
        else:
            exceeded = True
            break
    return {"users_at_p95_1s": best, "limit_found": exceeded, "levels": tried}
