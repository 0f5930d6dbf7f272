"""The hardened REST channel with a stub message handler (no model needed)."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from types import SimpleNamespace
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot import responses
from bot.channels.ratelimit import RateLimiter, parse_limits
from bot.channels.rest import SafeRestInput


class Served:
    """A Sanic app running in a background thread on a free loopback port."""

    def __init__(self, app: Sanic) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.app = app
        self.loop: Any = None

        async def remember_loop(_app: Any, loop: Any) -> None:
            self.loop = loop

        app.register_listener(remember_loop, "after_server_start")
        self.thread = threading.Thread(
            target=app.run,
            kwargs={"host": "127.0.0.1", "port": self.port, "single_process": True}
            if "single_process" in app.run.__code__.co_varnames
            else {"host": "127.0.0.1", "port": self.port, "workers": 1,
                  "register_sys_signals": False, "access_log": False},
            daemon=True,
        )  # fmt: skip
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("test server did not start")

    def post(self, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        status, data, _ = self.post_full(body, headers)
        return status, data

    def post_full(
        self, body: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        """Status, decoded JSON (or None) and headers of a POST to the webhook."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/webhooks/rest/webhook",
            data=data,
            headers=headers or {},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, json.loads(resp.read()), dict(resp.headers)
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                decoded = json.loads(raw)
            except ValueError:
                decoded = None
            return err.code, decoded, dict(err.headers)

    def stop(self) -> None:
        # Sanic's app.stop() needs the server's loop in the calling thread.
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def served():
    seen: list[UserMessage] = []

    async def handler(message: UserMessage) -> None:
        seen.append(message)
        if message.text == "boom":
            raise RuntimeError("handler failed")
        await message.output_channel.send_text_message(message.sender_id, "ok")

    app = Sanic(f"rest_test_{id(seen)}")
    app.ctx.agent = SimpleNamespace(tracker_store=None)
    generous = RateLimiter("rest-test", parse_limits("t", "10000/minute"))
    app.blueprint(
        SafeRestInput(max_chars=50, limiter=generous).blueprint(handler),
        url_prefix="/webhooks/rest",
    )
    server = Served(app)
    yield server, seen
    server.stop()


@pytest.fixture
def app_and_seen(served):
    server, seen = served
    seen.clear()
    return server, seen


def post(server: Served, body: Any) -> SimpleNamespace:
    status, data = server.post(body)
    return SimpleNamespace(status=status, json=data)


def test_valid_message_is_handled(app_and_seen) -> None:
    app, seen = app_and_seen
    response = post(app, {"sender": "u1", "message": " what is\u200b CAPTEM "})
    assert response.status == 200
    assert response.json == [{"recipient_id": "u1", "text": "ok"}]
    assert seen[0].text == "what is CAPTEM" and seen[0].input_channel == "rest"


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"{oops", "valid JSON"),
        ([1, 2], "JSON object"),
        ({"message": "hi"}, "'sender'"),
        ({"sender": 7, "message": "hi"}, "'sender'"),
        ({"sender": "x" * 200, "message": "hi"}, "'sender'"),
        ({"sender": "u"}, "'message'"),
        ({"sender": "u", "message": ["hi"]}, "'message'"),
        ({"sender": "u", "message": "hi", "metadata": [1]}, "'metadata'"),
    ],
)
def test_bad_requests_are_400(app_and_seen, body, reason: str) -> None:
    app, seen = app_and_seen
    response = post(app, body)
    assert response.status == 400
    assert response.json["error"] == "bad_request" and reason in response.json["reason"]
    assert seen == []


def test_empty_and_long_messages_get_kb_replies(app_and_seen) -> None:
    app, seen = app_and_seen
    assert post(app, {"sender": "u", "message": "  "}).json[0][
        "text"
    ] == responses.message("empty_message")
    long = post(app, {"sender": "u", "message": "y" * 51}).json
    assert long[0]["text"] == responses.message("message_too_long")
    assert seen == []


def test_typed_command_is_neutralised(app_and_seen) -> None:
    app, seen = app_and_seen
    post(app, {"sender": "u", "message": "/restart"})
    assert seen[0].text == "restart"


def test_handler_error_is_not_a_500(app_and_seen) -> None:
    app, _ = app_and_seen
    response = post(app, {"sender": "u", "message": "boom"})
    assert response.status == 200
    assert response.json[-1]["text"] == responses.message("ask_rephrase")
