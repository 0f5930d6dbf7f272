"""Unit tests of bot/channels/socketio.py: no server, no browser."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.guard import OfferedButtons
from bot.channels.sessions import SessionSecretError, SessionSigner
from bot.channels.socketio import (
    DEFAULT_ALLOWED_ORIGINS,
    OriginsConfigError,
    WidgetSocketIOInput,
    WidgetSocketIOOutput,
    parse_origins,
)


class RecordingSio:
    """Stands in for socketio.AsyncServer: records emit() calls."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any, dict[str, Any]]] = []

    async def emit(self, event: str, data: Any = None, **kwargs: Any) -> None:
        self.emitted.append((event, data, kwargs))


def test_default_origins_are_the_demo_page_not_star() -> None:
    channel = WidgetSocketIOInput.from_credentials({})
    assert channel.cors_allowed_origins == list(DEFAULT_ALLOWED_ORIGINS)
    assert "*" not in channel.cors_allowed_origins
    assert channel.session_persistence is True


@pytest.mark.parametrize(
    "value, expected",
    [
        (
            ["https://forum.example/", "http://localhost:8080"],
            ["https://forum.example", "http://localhost:8080"],
        ),
        (
            "https://a.example, https://b.example",
            ["https://a.example", "https://b.example"],
        ),
        (None, list(DEFAULT_ALLOWED_ORIGINS)),
    ],
)
def test_parse_origins(value: Any, expected: list[str]) -> None:
    assert parse_origins(value) == expected


@pytest.mark.parametrize("value", ["*", ["https://a.example", "*"]])
def test_star_origin_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        parse_origins(value)


def test_origins_of_wrong_type_are_refused() -> None:
    with pytest.raises(TypeError):
        parse_origins(42)


@pytest.mark.parametrize("value", [[], (), "", " ", ",", " , ", [""], ["  "]], ids=repr)
def test_empty_origin_list_is_refused_at_start_up(value: Any) -> None:
    # python-engineio reads an empty list as "accept every origin" (issue 9 row 9)
    with pytest.raises(OriginsConfigError, match="empty"):
        parse_origins(value)
    with pytest.raises(OriginsConfigError, match="cors_allowed_origins"):
        WidgetSocketIOInput.from_credentials({"cors_allowed_origins": value})


def test_signed_session_ids() -> None:
    signer = SessionSigner(b"s" * 32)
    issued = signer.issue()
    key, signature = issued.split(".")
    assert signer.verify(issued) == key
    assert len(key) == 22 and len(signature) == 22
    assert signer.issue() != issued
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for forged in (
        f"{key}.{flipped}",
        key,
        f"{key}.",
        "0123456789abcdef0123456789abcdef",  # the old client-chosen shape
        f"web:{key}",
        issued + "x",
        None,
        42,
    ):
        assert signer.verify(forged) is None, forged
    assert SessionSigner(b"t" * 32).verify(issued) is None  # another secret


def test_session_secret_from_env(monkeypatch: Any, caplog: Any) -> None:
    monkeypatch.setenv("WIDGET_SESSION_SECRET", "x" * 40)
    issued = SessionSigner.from_env().issue()
    assert SessionSigner.from_env().verify(issued)  # survives a restart
    monkeypatch.setenv("WIDGET_SESSION_SECRET", "short")
    with pytest.raises(SessionSecretError):
        SessionSigner.from_env()
    monkeypatch.delenv("WIDGET_SESSION_SECRET")
    with caplog.at_level("WARNING"):
        one, two = SessionSigner.from_env(), SessionSigner.from_env()
    assert "will not survive a restart" in caplog.text
    assert two.verify(one.issue()) is None  # random per process


async def test_output_sends_custom_json_as_custom_message_to_the_session_room() -> None:
    sio = RecordingSio()
    out = WidgetSocketIOOutput(sio, "bot_uttered", OfferedButtons(), None)  # type: ignore[arg-type]
    payload = {"kb_answer": {"id": "captem", "title": "CAPTEM", "sources": []}}
    await out.send_response("session-1", {"custom": payload})
    assert sio.emitted == [
        ("bot_uttered", {"custom": payload}, {"room": "session-1", "namespace": None})
    ]


async def test_output_records_offered_buttons() -> None:
    sio = RecordingSio()
    offered = OfferedButtons()
    out = WidgetSocketIOOutput(sio, "bot_uttered", offered, None)  # type: ignore[arg-type]
    buttons = [{"title": "CAPTEM", "payload": '/ask_what_is{"kb_term":"captem"}'}]
    await out.send_response("s", {"text": "Did you mean?", "buttons": buttons})
    assert offered.latest("s") == {'/ask_what_is{"kb_term":"captem"}'}
    event, data, kwargs = sio.emitted[-1]
    assert data["quick_replies"][0]["payload"] == buttons[0]["payload"]
    assert kwargs["room"] == "s"


async def test_typed_command_only_passes_when_offered() -> None:
    channel = WidgetSocketIOInput.from_credentials({})
    channel.buttons.offer("s", "/greet")
    assert await channel.allow_commands("/greet", "s") == "/greet"
    assert await channel.allow_commands("/restart", "s") == "restart"
    assert await channel.allow_commands("/ /restart", "s") == "restart"
    assert await channel.allow_commands("/ /greet", "s") == "greet"
    assert await channel.allow_commands("what is CAPTEM?", "s") == "what is CAPTEM?"
    assert await channel.allow_commands("/greet", "other-session") == "greet"


def test_max_chars_from_credentials_or_settings() -> None:
    assert (
        WidgetSocketIOInput.from_credentials({"max_message_chars": 300}).max_chars
        == 300
    )
    from bot.settings import load_settings

    expected = load_settings().input.max_message_chars
    assert WidgetSocketIOInput.from_credentials({}).max_chars == expected
