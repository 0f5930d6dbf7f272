"""Issue 9 on the Telegram channel: chat ids are validated and namespaced (rows 1, 5),
typed commands follow the shared rule (row 2), nested JSON after the secret check is a
400, not a 500 (row 7). Against the fake Bot API with a scripted assistant (no model)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.telegram.conftest import SECRET, ChannelServer
from tests.telegram.fake_telegram import FakeTelegram, message_update

CHAT = 424242


async def post_raw(
    server: ChannelServer, body: bytes, secret: str | None = SECRET
) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    async with aiohttp.ClientSession() as session, session.post(
        server.webhook_url, data=body, headers=headers
    ) as resp:
        await resp.read()
        return resp.status


NESTED = {
    "open-arrays": b"[" * 50_000,
    "closed-arrays": b"[" * 20_000 + b"]" * 20_000,
    "deep-message": b'{"update_id": 1, "message": ' + b'{"a":' * 10_000 + b"1",
    "depth-40": b'{"update_id": 2, "message": ' + b"[" * 40 + b"]" * 40 + b"}",
}


@pytest.mark.parametrize("body", NESTED.values(), ids=NESTED.keys())
async def test_nested_json_after_the_secret_is_a_400(
    webhook_server: ChannelServer, body: bytes
) -> None:
    assert await post_raw(webhook_server, body) == 400
    assert await post_raw(webhook_server, body, secret="wrong") == 403
    assert webhook_server.assistant.received == []
    # still serving
    resp = await webhook_server.post(message_update("what is CAPTEM?", CHAT))
    assert resp.status == 200
    assert webhook_server.assistant.received == ["what is CAPTEM?"]


BAD_CHATS: dict[str, Any] = {
    "text-id": {"id": "not-a-number", "type": "private"},
    "surrogate-id": {"id": "\ud800", "type": "private"},
    "nul-id": {"id": "1\u00002", "type": "private"},
    "float-id": {"id": 1.5, "type": "private"},
    "bool-id": {"id": True, "type": "private"},
    "list-id": {"id": [1], "type": "private"},
    "huge-id": {"id": 10**40, "type": "private"},
    "no-id": {"type": "private"},
}


@pytest.mark.parametrize("chat", BAD_CHATS.values(), ids=BAD_CHATS.keys())
async def test_unusable_chat_ids_are_ignored_never_a_crash(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram, chat: dict[str, Any]
) -> None:
    update = message_update("what is CAPTEM?", CHAT, chat=chat)
    resp = await webhook_server.post(update)
    assert resp.status == 200
    assert webhook_server.assistant.received == []


async def test_conversations_are_namespaced_per_channel(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    store = webhook_server.agent.tracker_store
    await webhook_server.post(message_update("what is CAPTEM?", CHAT))
    assert await store.retrieve(f"tg:{CHAT}") is not None
    assert await store.retrieve(str(CHAT)) is None  # a REST sender "424242" is not it
    # replies still go to the bare chat id
    assert fake_telegram.sent_texts(CHAT)


@pytest.mark.parametrize(
    "typed",
    [
        "/ /restart",
        "/\n/restart",
        "/\t/restart",
        "/\u200b/restart",
        "\uff0frestart",
        "\u2215restart",
    ],
)
async def test_typed_command_bypasses_are_words(
    webhook_server: ChannelServer, typed: str
) -> None:
    await webhook_server.post(message_update(typed, CHAT))
    assert webhook_server.assistant.received == ["restart"]


async def test_fever_after_a_typed_intent_reaches_rasa_as_words(
    webhook_server: ChannelServer,
) -> None:
    typed = '/ /ask_what_is{"kb_term":"captem"} I have a fever of 39 and chest pain'
    await webhook_server.post(message_update(typed, CHAT))
    assert webhook_server.assistant.received == [
        "ask what is captem I have a fever of 39 and chest pain"
    ]
