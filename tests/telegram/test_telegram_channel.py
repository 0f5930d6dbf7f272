"""Channel tests against the fake Bot API, with a scripted assistant (no model).

The Sanic app serves only the Telegram blueprint; the assistant is
``conftest.ScriptedAssistant``. The full path through Rasa is in test_telegram_e2e.py.
"""

from typing import Any

import aiohttp
import pytest

from bot.channels.guard import max_message_chars
from tests.channels.harness import domain_with
from tests.telegram.conftest import (
    SECRET,
    ChannelServer,
    credentials,
    load_domain,
    message,
    wait_until,
)
from tests.telegram.fake_telegram import (
    FakeTelegram,
    callback_update,
    edited_message_update,
    message_update,
    parse_telegram_html,
    sticker_update,
)

# asyncio_mode = "auto" (pyproject.toml) runs the async tests.

CHAT = 424242


def disclaimer() -> str:
    return load_domain().responses["utter_disclaimer"][0]["text"]


async def test_webhook_registered_with_secret_at_start_up(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    assert await wait_until(lambda: fake_telegram.calls_to("setWebhook"))
    (params,) = fake_telegram.calls_to("setWebhook")
    assert params["secret_token"] == SECRET
    assert params["url"] == "https://bot.example.org/webhooks/telegram/webhook"
    assert set(params["allowed_updates"]) == {
        "message",
        "edited_message",
        "callback_query",
    }


async def test_no_route_can_change_the_webhook(webhook_server: ChannelServer) -> None:
    base = f"http://127.0.0.1:{webhook_server.port}/webhooks/telegram"
    async with aiohttp.ClientSession() as session:
        for method in ("GET", "POST"):
            async with session.request(method, f"{base}/set_webhook") as resp:
                assert resp.status in (404, 405)
        async with session.get(f"{base}/webhook") as resp:
            assert resp.status in (404, 405)


STARTUP_METHODS = frozenset({"getMe", "setWebhook"})


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET[:-1]])
async def test_wrong_or_missing_secret_is_rejected_unprocessed(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram, secret: str
) -> None:
    assert await wait_until(lambda: fake_telegram.calls_to("setWebhook"))
    fake_telegram.reset()
    resp = await webhook_server.post(message_update("what is CAPTEM?"), secret=secret)
    assert resp.status == 403
    assert webhook_server.assistant.received == []
    # nothing sent to the chat; a start-up registration retried on a slow machine
    # (getMe, setWebhook) may still arrive after the reset above
    assert [c for c in fake_telegram.calls if c["method"] not in STARTUP_METHODS] == []


async def test_text_is_escaped_for_html(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    tricky = "Ki-67 <3% & grade_1 **bold** </b> <script>"
    webhook_server.assistant.script["hi"] = [{"text": tricky}]
    resp = await webhook_server.post(message_update("hi"))
    assert resp.status == 200
    (params,) = fake_telegram.calls_to("sendMessage", CHAT)
    assert params["parse_mode"] == "HTML"
    assert "<b>bold</b>" in params["text"]
    assert parse_telegram_html(params["text"]) == tricky.replace("**", "")


async def test_answer_then_source_line_then_disclaimer(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    webhook_server.assistant.script["what is captem"] = [
        {"text": "CAPTEM is a chemotherapy combination."},
        {"text": "It is taken by mouth."},
        {
            "custom": {
                "kb_answer": {
                    "id": "captem",
                    "title": "CAPTEM",
                    "kind": "regimen",
                    "facet": None,
                    "sources": [
                        {
                            "id": "cruk",
                            "title": "Chemotherapy for NETs",
                            "publisher": "Cancer Research UK",
                            "url": "https://www.cancerresearchuk.org/x",
                        }
                    ],
                    "reviewed": "2026-11-26",
                }
            }
        },
        {"text": disclaimer()},
    ]
    await webhook_server.post(message_update("what is captem"))
    assert fake_telegram.sent_texts(CHAT) == [
        "CAPTEM is a chemotherapy combination.",
        "It is taken by mouth.\n\nSource: Chemotherapy for NETs \u2014 Cancer Research UK",
        disclaimer(),
    ]
    assert fake_telegram.calls_to("sendChatAction", CHAT)


async def test_buttons_use_short_tokens_and_presses_are_acknowledged(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    long_payload = '/ask_side_effects{"kb_term": "' + "cisplatin_etoposide" * 4 + '"}'
    assert len(long_payload.encode()) > 64
    webhook_server.assistant.script["help me"] = [
        {
            "text": "Did you mean one of these?",
            "buttons": [
                {"title": "Side effects of EP", "payload": long_payload},
                {"title": "What is CAPTEM?", "payload": "/ask_what_is"},
            ],
        }
    ]
    await webhook_server.post(message_update("help me"))
    (sent,) = fake_telegram.calls_to("sendMessage", CHAT)
    keyboard = sent["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == [
        "Side effects of EP",
        "What is CAPTEM?",
    ]
    data = keyboard[0][0]["callback_data"]
    assert len(data.encode()) <= 64

    fake_telegram.reset()
    press = callback_update(data, CHAT, keyboard)
    resp = await webhook_server.post(press)
    assert resp.status == 200
    ack = fake_telegram.calls_to("answerCallbackQuery")
    assert [a["callback_query_id"] for a in ack] == [press["callback_query"]["id"]]
    assert webhook_server.assistant.received[-1] == long_payload
    assert fake_telegram.sent_texts(CHAT) == [f"You said: {long_payload}"]


async def test_unknown_button_falls_back_to_its_title_and_forgery_is_ignored(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    # e.g. after a restart: the token is gone, the title is read as typed text
    keyboard = [[{"text": "/ask_what_is CAPTEM", "callback_data": "b:stale-token"}]]
    await webhook_server.post(callback_update("b:stale-token", CHAT, keyboard))
    assert webhook_server.assistant.received == ["ask what is CAPTEM"]
    # a forged callback naming no button: acknowledged, nothing else
    fake_telegram.reset()
    forged = callback_update('/ask_what_is{"kb_term":"x"}', CHAT, keyboard)
    resp = await webhook_server.post(forged)
    assert resp.status == 200
    assert len(fake_telegram.calls_to("answerCallbackQuery")) == 1
    assert webhook_server.assistant.received == ["ask what is CAPTEM"]
    assert fake_telegram.calls_to("sendMessage") == []


async def test_long_answer_is_split_cleanly(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    paragraphs = [f"Paragraph {i}: " + "chemo & NETs < 5. " * 60 for i in range(8)]
    webhook_server.assistant.script["long"] = [{"text": "\n\n".join(paragraphs)}]
    await webhook_server.post(message_update("long"))
    texts = fake_telegram.sent_texts(CHAT)
    assert len(texts) > 1
    assert all(len(t) <= 4096 for t in texts)
    assert all(t.startswith("Paragraph") and t.endswith(".") for t in texts)
    assert "\n\n".join(texts) == "\n\n".join(p.strip() for p in paragraphs)


async def test_sticker_gets_a_kind_text_only_reply(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    resp = await webhook_server.post(sticker_update(CHAT))
    assert resp.status == 200
    assert fake_telegram.sent_texts(CHAT) == [message("text_only")]
    assert webhook_server.assistant.received == []


@pytest.mark.parametrize(
    "content",
    [
        {"photo": [{"file_id": "p", "file_unique_id": "u", "width": 90, "height": 90}]},
        {"voice": {"file_id": "v", "file_unique_id": "u", "duration": 3}},
        {"document": {"file_id": "d", "file_unique_id": "u", "file_name": "scan.pdf"}},
        {"photo": [{"file_id": "p", "file_unique_id": "u"}], "caption": "is this ok?"},
        {"location": {"latitude": 51.5, "longitude": -0.1}},
    ],
)
async def test_other_media_get_the_same_reply(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram, content: dict
) -> None:
    await webhook_server.post(message_update(None, CHAT, **content))
    assert fake_telegram.sent_texts(CHAT) == [message("text_only")]
    assert webhook_server.assistant.received == []


async def test_edited_message_is_answered_kindly_not_processed(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    await webhook_server.post(edited_message_update("what is FOLFOX", CHAT))
    assert fake_telegram.sent_texts(CHAT) == [message("edited_message")]
    assert webhook_server.assistant.received == []


async def test_group_messages_are_never_processed(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    group = {"id": -100123, "title": "NET support group", "type": "supergroup"}
    await webhook_server.post(message_update("/start@net_chemo_test_bot", chat=group))
    assert fake_telegram.sent_texts(-100123) == [message("private_chat_only")]
    fake_telegram.reset()
    joined = message_update(None, chat=group, new_chat_members=[{"id": 1}])
    await webhook_server.post(joined)
    assert fake_telegram.calls_to("sendMessage") == []
    assert webhook_server.assistant.received == []


async def test_start_greets_and_adds_the_disclaimer(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    webhook_server.assistant.script["/greet"] = [{"text": "Hello."}]
    await webhook_server.post(message_update("/start"))
    assert webhook_server.assistant.received == ["/greet"]
    assert fake_telegram.sent_texts(CHAT) == ["Hello.", disclaimer()]


async def test_start_does_not_repeat_a_disclaimer_the_greeting_gave(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    webhook_server.assistant.script["/greet"] = [
        {"text": "Hello."},
        {"text": disclaimer()},
    ]
    await webhook_server.post(message_update("/start"))
    assert fake_telegram.sent_texts(CHAT) == ["Hello.", disclaimer()]


async def test_help_asks_for_capabilities(webhook_server: ChannelServer) -> None:
    await webhook_server.post(message_update("/help"))
    assert webhook_server.assistant.received == ["/ask_capabilities"]


async def test_typed_slash_commands_never_force_intents(
    webhook_server: ChannelServer,
) -> None:
    await webhook_server.post(message_update('/ask_what_is{"kb_term": "captem"}'))
    await webhook_server.post(message_update("/restart"))
    await webhook_server.post(message_update("/help@SomeOtherBot"))
    await webhook_server.post(message_update("/ /greet"))
    await webhook_server.post(message_update("\u200b/crisis"))
    assert webhook_server.assistant.received == [
        "ask what is captem",
        "restart",
        "help@SomeOtherBot",
        "greet",
        "crisis",
    ]
    # Even the payload of a button just offered: buttons come back as click data.
    payload = '/ask_what_is{"kb_term":"captem"}'
    webhook_server.assistant.script["tablets"] = [
        {"text": "Did you mean?", "buttons": [{"title": "CAPTEM", "payload": payload}]}
    ]
    await webhook_server.post(message_update("tablets"))
    await webhook_server.post(message_update(payload))
    assert webhook_server.assistant.received[-1] == "ask what is captem"


@pytest.mark.parametrize(
    "text, key",
    [
        ("x" * 5000, "message_too_long"),
        ("what is CAPTEM? " * 400, "message_too_long"),
        ("", "empty_message"),
        ("   \n\t ", "empty_message"),
        ("?!...", "empty_message"),
        ("\u200b\u200d\ufeff", "empty_message"),
        ("/", "empty_message"),
    ],
    ids=[
        "5000-chars",
        "long-words",
        "empty",
        "blank",
        "punctuation",
        "invisible",
        "slash",
    ],
)
async def test_long_or_empty_text_answered_without_calling_rasa(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram, text: str, key: str
) -> None:
    resp = await webhook_server.post(message_update(text, CHAT))
    assert resp.status == 200
    assert fake_telegram.sent_texts(CHAT) == [message(key)]
    assert webhook_server.assistant.received == []
    assert fake_telegram.calls_to("sendChatAction") == []


async def test_a_message_at_the_length_limit_is_passed_on(
    webhook_server: ChannelServer,
) -> None:
    text = ("what is CAPTEM " * 1000)[: max_message_chars()].strip()
    assert len(text) <= max_message_chars() < 5000
    await webhook_server.post(message_update(text, CHAT))
    assert webhook_server.assistant.received == [text]


async def test_rasa_reads_the_cleaned_text(webhook_server: ChannelServer) -> None:
    await webhook_server.post(message_update("  what\u200b is\n\n  CAPTEM?\u202e  "))
    await webhook_server.post(message_update("cafe\u0301 au lait"))  # NFC
    assert webhook_server.assistant.received == ["what is CAPTEM?", "caf\u00e9 au lait"]


async def test_forget_deletes_the_conversation(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    store = webhook_server.agent.tracker_store
    await webhook_server.post(message_update("what is CAPTEM", CHAT))
    await webhook_server.post(message_update("what is CAPTEM", 777))
    # Rasa knows a chat as tg:<chat id> (bot/channels/senders.py)
    assert await store.retrieve(f"tg:{CHAT}") is not None
    fake_telegram.reset()

    await webhook_server.post(message_update("/forget", CHAT))
    assert await store.retrieve(f"tg:{CHAT}") is None
    assert await store.retrieve("tg:777") is not None
    assert fake_telegram.sent_texts(CHAT) == [message("forgotten")]
    assert "/forget" not in webhook_server.assistant.received


async def test_forget_on_an_unsupported_store_says_it_failed(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    from rasa.core.tracker_store import TrackerStore

    class OddStore(TrackerStore):
        async def save(self, tracker: Any) -> None:
            pass

        async def retrieve(self, sender_id: str) -> None:
            return None

    webhook_server.agent.tracker_store = OddStore(load_domain())
    await webhook_server.post(message_update("/forget", CHAT))
    assert fake_telegram.sent_texts(CHAT) == [message("forget_failed")]
    assert webhook_server.assistant.received == []


async def test_redelivered_update_is_processed_once(
    webhook_server: ChannelServer,
) -> None:
    update = message_update("hello")
    await webhook_server.post(update)
    await webhook_server.post(update)
    assert webhook_server.assistant.received == ["hello"]


async def test_blocked_by_user_still_answers_telegram_200(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail_next["sendMessage"] = {
        "ok": False,
        "error_code": 403,
        "description": "Forbidden: bot was blocked by the user",
    }
    resp = await webhook_server.post(message_update("hello"))
    assert resp.status == 200


async def test_a_failing_assistant_still_answers_telegram_200(
    webhook_server: ChannelServer,
) -> None:
    resp = await webhook_server.post(message_update("raise an error"))
    assert resp.status == 200  # a 500 would make Telegram redeliver it forever


async def test_flood_control_is_retried(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail_next["sendMessage"] = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    await webhook_server.post(message_update("hello"))
    assert len(fake_telegram.calls_to("sendMessage")) == 2
    assert fake_telegram.sent_texts() == ["You said: hello"] * 2  # 1st was refused


def test_every_fixed_reply_is_a_reviewed_sentence() -> None:
    from bot.channels.telegram.channel import MESSAGE_KEYS

    # bot.responses.message raises KeyError for a key the domain lacks.
    assert all(message(key).strip() for key in MESSAGE_KEYS)
    assert "utter_disclaimer" in load_domain().responses


async def test_a_domain_without_the_disclaimer_fails_loudly(
    fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    from rasa.shared.core.domain import Domain

    server = ChannelServer(credentials(fake_telegram))
    server.agent.domain = Domain.empty()
    await server.start()
    try:
        server.assistant.script["/greet"] = [{"text": "Hello."}]
        resp = await server.post(message_update("/start", CHAT))
        assert resp.status == 200  # logged, not redelivered
        assert fake_telegram.sent_texts(CHAT) == ["Hello."]
        assert "no response 'utter_disclaimer'" in caplog.text
    finally:
        await server.stop()


async def test_polling_mode(
    polling_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    assert await wait_until(lambda: fake_telegram.calls_to("getUpdates"))
    assert fake_telegram.calls_to("deleteWebhook")
    # Only calls from this server's start-up on: a setWebhook sent by the previous test's
    # (webhook-mode) server just before it stopped can reach the shared fake late.
    calls = list(fake_telegram.calls)
    start = next(i for i, c in enumerate(calls) if c["method"] == "deleteWebhook")
    assert [c for c in calls[start:] if c["method"] == "setWebhook"] == []
    fake_telegram.enqueue_update(message_update("hello from a laptop"))
    fake_telegram.enqueue_update(sticker_update(CHAT))
    assert await wait_until(lambda: len(fake_telegram.sent_texts(CHAT)) >= 2)
    assert fake_telegram.sent_texts(CHAT) == [
        "You said: hello from a laptop",
        message("text_only"),
    ]
    # the offset moves on: nothing is processed twice
    fake_telegram.enqueue_update(message_update("second"))
    assert await wait_until(lambda: len(fake_telegram.sent_texts(CHAT)) >= 3)
    assert polling_server.assistant.received == ["hello from a laptop", "second"]
    # polling mode has no webhook route at all
    url = f"http://127.0.0.1:{polling_server.port}/webhooks/telegram/webhook"
    async with aiohttp.ClientSession() as session, session.post(url, json={}) as resp:
        assert resp.status in (404, 405)


async def test_channel_sentences_take_the_telegram_variant(
    fake_telegram: FakeTelegram, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sentences the channel sends by itself honour ``channel: telegram`` variants."""
    domain_with(
        tmp_path,
        monkeypatch,
        {
            "utter_text_only": [
                {"text": "Text please."},
                {"channel": "telegram", "text": "Text please, Telegram."},
            ],
            "utter_source_label": [
                {"text": "Source"},
                {"channel": "telegram", "text": "Telegram source"},
            ],
        },
    )
    server = ChannelServer(credentials(fake_telegram))
    await server.start()
    try:
        await server.post(sticker_update(CHAT))
        assert fake_telegram.sent_texts(CHAT) == ["Text please, Telegram."]
        source = {"id": "s", "title": "A leaflet", "url": "https://example.org/x"}
        server.assistant.script["which source?"] = [
            {"text": "An answer."},
            {"custom": {"kb_answer": {"id": "captem", "sources": [source]}}},
        ]
        await server.post(message_update("which source?", chat_id=CHAT))
        assert fake_telegram.sent_texts(CHAT)[-1] == (
            "An answer.\n\nTelegram source: A leaflet"
        )
    finally:
        await server.stop()
