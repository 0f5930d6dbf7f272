"""Telegram: the feedback buttons under an answer and the /questions command (issue 10).

Against the fake Bot API with a scripted assistant (no model), like
test_telegram_channel.py.
"""

from __future__ import annotations

import json

from tests.telegram.conftest import ChannelServer
from tests.telegram.fake_telegram import FakeTelegram, callback_update, message_update

CHAT = 424242
FEEDBACK_UP = '/feedback{"kb_id":"captem","facet":"what_is","vote":"up"}'
BUTTONS = [
    {"title": "👍 Helpful", "payload": FEEDBACK_UP},
    {"title": "👎 Not helpful", "payload": FEEDBACK_UP.replace("up", "down")},
    {
        "title": "Questions to ask your team",
        "payload": '/ask_team_questions{"kb_id":"captem"}',
    },
]


async def test_questions_command_shows_the_saved_list(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    listing = "Questions to ask my specialist team:\n\n1. Is it for me?\n2. How often?"
    webhook_server.assistant.script["/show_saved_questions"] = [
        {"text": listing},
        {"text": "This is general information."},
    ]
    await webhook_server.post(message_update("/questions"))
    assert webhook_server.assistant.received == ["/show_saved_questions"]
    texts = fake_telegram.sent_texts(CHAT)
    assert texts[0] == listing  # the whole list in ONE message
    assert len(texts) == 2


async def test_thumbs_are_inline_buttons_and_a_press_sends_the_payload(
    webhook_server: ChannelServer, fake_telegram: FakeTelegram
) -> None:
    webhook_server.assistant.script["what is captem"] = [
        {"text": "CAPTEM is two chemotherapy drugs."},
        {"text": "This is general information.", "buttons": BUTTONS},
    ]
    await webhook_server.post(message_update("what is captem"))
    [with_keyboard] = [
        p for p in fake_telegram.calls_to("sendMessage", CHAT) if p.get("reply_markup")
    ]
    markup = with_keyboard["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    rows = markup["inline_keyboard"]
    assert [row[0]["text"] for row in rows] == [b["title"] for b in BUTTONS]
    await webhook_server.post(callback_update(rows[0][0]["callback_data"], CHAT, rows))
    assert webhook_server.assistant.received[-1] == FEEDBACK_UP
