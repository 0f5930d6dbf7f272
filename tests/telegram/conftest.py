"""Fixtures for the Telegram channel tests.

Nothing here contacts api.telegram.org: every Bot API call goes to the fake server
in ``fake_telegram.py`` on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import rasa.core.agent  # noqa: F401  (imported before harness resets the loop policy)

from tests.channels.harness import InProcessServer
from tests.telegram.fake_telegram import TEST_TOKEN, FakeTelegram

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-secret_0123456789"


def message(key: str) -> str:
    """The domain sentence the channel sends for ``key`` (what Telegram users read)."""
    from bot import responses

    return responses.message(key, "telegram")


@pytest.fixture(scope="session")
def fake_telegram_server() -> Iterator[FakeTelegram]:
    fake = FakeTelegram().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_telegram(fake_telegram_server: FakeTelegram) -> FakeTelegram:
    fake_telegram_server.reset()
    fake_telegram_server.webhook = {}
    fake_telegram_server.fail_next.clear()
    return fake_telegram_server


@functools.lru_cache(maxsize=1)
def load_domain() -> Any:
    """The real domain (bot/domain): the disclaimer after /start is rendered from it."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(REPO_ROOT / "bot" / "domain"))


class ScriptedAssistant:
    """Stands in for Rasa's agent.handle_message: replies from a script.

    It also saves a tracker per sender so that /forget has something to delete.
    """

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.received: list[str] = []
        self.script: dict[str, list[dict[str, Any]]] = {}

    async def __call__(self, message: Any) -> None:
        from rasa.shared.core.events import UserUttered

        self.received.append(message.text)
        if message.text == "raise an error":
            raise RuntimeError("the assistant failed")
        tracker = await self.agent.tracker_store.get_or_create_tracker(
            message.sender_id
        )
        tracker.update(UserUttered(message.text))
        await self.agent.tracker_store.save(tracker)
        replies = self.script.get(message.text, [{"text": f"You said: {message.text}"}])
        for reply in replies:
            await message.output_channel.send_response(message.sender_id, dict(reply))


class ChannelServer(InProcessServer):
    """A Sanic app serving only the Telegram blueprint, in this test's event loop."""

    def __init__(self, credentials: dict[str, Any], tracker_store: Any = None) -> None:
        from rasa.core.agent import Agent

        from bot.channels.telegram import TelegramInput

        super().__init__("telegram_test")
        self.channel = TelegramInput.from_credentials(credentials)
        self.agent = Agent(domain=load_domain(), tracker_store=tracker_store)
        self.assistant = ScriptedAssistant(self.agent)
        self.app.ctx.agent = self.agent
        self.app.blueprint(
            self.channel.blueprint(self.assistant), url_prefix="/webhooks/telegram"
        )

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/telegram/webhook"

    async def post(
        self, update: dict[str, Any], secret: str | None = SECRET
    ) -> aiohttp.ClientResponse:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        async with aiohttp.ClientSession() as session, session.post(
            self.webhook_url, json=update, headers=headers
        ) as r:
            await r.read()
            return r


def credentials(fake: FakeTelegram, **overrides: Any) -> dict[str, Any]:
    values = {
        "access_token": TEST_TOKEN,
        "bot_name": "net_chemo_test_bot",
        "mode": "webhook",
        "secret": SECRET,
        "webhook_url": "https://bot.example.org/webhooks/telegram/webhook",
        "api_base": fake.base_url,
        "poll_timeout": "1",
    }
    values.update(overrides)
    return values


@pytest.fixture
async def webhook_server(fake_telegram: FakeTelegram) -> AsyncIterator[ChannelServer]:
    server = ChannelServer(credentials(fake_telegram))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def polling_server(fake_telegram: FakeTelegram) -> AsyncIterator[ChannelServer]:
    server = ChannelServer(credentials(fake_telegram, mode="polling", secret=""))
    await server.start()
    yield server
    await server.stop()


async def wait_until(predicate: Any, timeout: float = 20.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


# An empty Redis db of its own, flushed afterwards (shared with tests/cluster).
from tests.cluster.conftest import redis_url  # noqa: E402, F401
