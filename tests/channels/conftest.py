"""A REST channel served in the test's own event loop (tests/channels/harness.py), so a
test module can start as many servers as it needs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage

from bot.channels.ratelimit import RateLimiter, parse_limits
from bot.channels.rest import SafeRestInput
from tests.channels.harness import InProcessServer


def generous_limiter() -> RateLimiter:
    return RateLimiter("rest-test", parse_limits("t", "10000/minute"))


class RestServer(InProcessServer):
    """The real REST channel in front of a stub handler that answers "ok" (with the
    buttons in ``offer``, if any)."""

    def __init__(self, channel: SafeRestInput) -> None:
        super().__init__("rest_test")
        self.channel = channel
        self.seen: list[UserMessage] = []
        self.offer: list[dict[str, str]] = []  # buttons the stub sends with its "ok"
        self.app.ctx.agent = SimpleNamespace(tracker_store=None)

        async def handler(message: UserMessage) -> None:
            self.seen.append(message)
            out = message.output_channel
            if self.offer:
                await out.send_text_with_buttons(message.sender_id, "ok", self.offer)
            else:
                await out.send_text_message(message.sender_id, "ok")

        self.app.blueprint(channel.blueprint(handler), url_prefix="/webhooks/rest")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"

    async def post(
        self, body: Any, headers: dict[str, str] | None = None, route: str = "webhook"
    ) -> tuple[int, Any, dict[str, str]]:
        """Status, decoded JSON (None if not JSON) and headers of a POST to ``route``."""
        data = body if isinstance(body, bytes) else json.dumps(body)
        url = self.url.rsplit("/", 1)[0] + "/" + route
        try:
            async with aiohttp.ClientSession() as session, session.post(
                url, data=data, headers=headers or {}
            ) as resp:
                raw = await resp.read()
                try:
                    decoded = json.loads(raw)
                except ValueError:
                    decoded = None
                return resp.status, decoded, dict(resp.headers)
        except aiohttp.ClientError as error:  # the server hung up while we sent
            return -1, str(error), {}


@pytest.fixture
async def rest_server() -> AsyncIterator[Callable[..., Any]]:
    """Starts REST servers for a test: ``await rest_server(token=..., limiter=...)``."""
    servers: list[RestServer] = []

    async def start(**kwargs: Any) -> RestServer:
        kwargs.setdefault("max_chars", 100)
        kwargs.setdefault("limiter", generous_limiter())
        server = await RestServer(SafeRestInput(**kwargs)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()
