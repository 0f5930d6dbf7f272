"""An in-process Sanic app serving the real REST channel on loopback, for the fuzz tests.

The channel is the production ``SafeRestInput``; only Rasa behind it is replaced by a small
recorder, so thousands of requests run in seconds. ``tests/e2e/test_fuzz_live.py`` sends the
same kind of traffic to the real servers.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator, List

import pytest

from scripts.serve import free_port


@dataclass
class Recorder:
    """Stands in for Rasa: remembers what reached it and answers one text."""

    messages: List[Any] = field(default_factory=list)

    async def __call__(self, message: Any) -> None:
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, "ok")


@dataclass
class RestApp:
    port: int
    recorder: Recorder

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"


@pytest.fixture(scope="module")
def rest_app(monkeypatch_module) -> Iterator[RestApp]:
    from sanic import Sanic

    from bot.channels.rest import SafeRestInput

    monkeypatch_module.setenv("RATE_LIMIT_PER_SENDER", "off")
    monkeypatch_module.setenv("RATE_LIMIT_PER_IP", "off")
    monkeypatch_module.delenv("REST_TOKEN", raising=False)
    monkeypatch_module.delenv("RASA_HOST", raising=False)
    recorder = Recorder()
    app = Sanic(f"fuzz_rest_{free_port()}")
    channel = SafeRestInput()
    app.blueprint(channel.blueprint(recorder), url_prefix="/webhooks/rest")
    app.ctx.agent = None  # no tracker store: no offered buttons, every command is typed
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    done: asyncio.Future[None] = loop.create_future()

    async def serve() -> None:
        server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
        )
        await server.startup()
        await server.start_serving()
        ready.set()
        await done
        await server.close()

    thread = threading.Thread(
        target=lambda: loop.run_until_complete(serve()), daemon=True
    )
    thread.start()
    assert ready.wait(30), "the in-process REST app did not start"
    yield RestApp(port, recorder)
    loop.call_soon_threadsafe(done.set_result, None)
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch
