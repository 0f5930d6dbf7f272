"""Send conversations to the Rasa REST channel, many at once, and check every reply."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp

from convtest.checks import Failure, Reply, check_reply, find_button
from convtest.domain import ResponseCatalog
from convtest.script import Conversation, Step

DEFAULT_URL = "http://localhost:5005/webhooks/rest/webhook"


@dataclass
class StepResult:
    """What happened on one turn of one step (a step with ``repeat: 3`` has three)."""

    step: Step
    turn: int
    sent: str | None = (
        None  # the text actually sent (a button's payload for button steps)
    )
    reply: Reply | None = None
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None  # could not send, or the server misbehaved
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """True if the turn was sent and every expectation held."""
        return self.error is None and not self.failures


@dataclass
class ConversationResult:
    """The outcome of one conversation."""

    conversation: Conversation
    sender: str
    steps: list[StepResult] = field(default_factory=list)
    not_run: int = 0  # steps skipped after an error
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """True if every step ran and passed."""
        return self.not_run == 0 and all(s.passed for s in self.steps)

    @property
    def errored(self) -> bool:
        """True if a step could not be run at all (as opposed to a failed expectation)."""
        return any(s.error for s in self.steps)


class BotClient:
    """Posts user messages to the REST webhook and names the replies."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        catalog: ResponseCatalog,
        timeout: float,
    ) -> None:
        self.session = session
        self.url = url
        self.catalog = catalog
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, sender: str, text: str) -> Reply:
        """Send one message; returns the named reply.

        Raises:
            ConnectionError: if the server cannot be reached or answers with an error.
        """
        try:
            async with self.session.post(
                self.url, json={"sender": sender, "message": text}, timeout=self.timeout
            ) as response:
                body = await response.text()
                if response.status != 200:
                    raise ConnectionError(
                        f"HTTP {response.status} from {self.url}: {body[:300]}"
                    )
                try:
                    payload = await response.json(content_type=None)
                except ValueError as exc:
                    raise ConnectionError(
                        f"the server did not return JSON: {body[:300]}"
                    ) from exc
        except asyncio.TimeoutError as exc:
            raise ConnectionError(
                f"no answer from {self.url} within {self.timeout.total:.0f}s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise ConnectionError(f"cannot reach {self.url}: {exc}") from exc
        try:
            return Reply.from_rest(payload, self.catalog)
        except ValueError as exc:
            raise ConnectionError(str(exc)) from exc


async def run_conversation(
    client: BotClient, conversation: Conversation, sender: str
) -> ConversationResult:
    """Run every step in order as one sender; stop early only if a message cannot be sent."""
    result = ConversationResult(conversation=conversation, sender=sender)
    started = time.perf_counter()
    previous: Reply | None = None
    for position, step in enumerate(conversation.steps):
        stop = False
        for turn in range(1, step.repeat + 1):
            step_result = StepResult(step=step, turn=turn)
            result.steps.append(step_result)
            t0 = time.perf_counter()
            text = step.user
            if step.button is not None:
                offered = previous.buttons if previous else ()
                button = find_button(offered, step.button)
                if button is None:
                    titles = ", ".join(repr(b.title) for b in offered) or "none"
                    step_result.error = (
                        f"cannot press button {step.button!r}: "
                        f"the previous reply offered {titles}"
                    )
                    stop = True
                    break
                text = button.payload
            step_result.sent = text
            try:
                reply = await client.send(sender, text or "")
            except ConnectionError as exc:
                step_result.error = str(exc)
                stop = True
                break
            finally:
                step_result.seconds = time.perf_counter() - t0
            step_result.reply = reply
            step_result.failures = check_reply(step.expect, reply)
            previous = reply
        if stop:
            result.not_run = len(conversation.steps) - position - 1
            break
    result.seconds = time.perf_counter() - started
    return result


def new_run_id() -> str:
    """A short random id that makes this run's sender ids unique."""
    return uuid.uuid4().hex[:8]


async def run_all(
    conversations: Sequence[Conversation],
    catalog: ResponseCatalog,
    url: str = DEFAULT_URL,
    concurrency: int = 8,
    timeout: float = 60.0,
    run_id: str | None = None,
) -> list[ConversationResult]:
    """Run conversations with at most ``concurrency`` in flight; results keep script order."""
    run_id = run_id or new_run_id()
    limit = asyncio.Semaphore(max(1, concurrency))
    connector = aiohttp.TCPConnector(limit=max(1, concurrency))
    async with aiohttp.ClientSession(connector=connector) as session:
        client = BotClient(session, url, catalog, timeout)

        async def one(index: int, conversation: Conversation) -> ConversationResult:
            async with limit:
                return await run_conversation(
                    client, conversation, f"convtest-{run_id}-{index:04d}"
                )

        return list(
            await asyncio.gather(*(one(i, c) for i, c in enumerate(conversations)))
        )
