"""End to end: the real Rasa server (trained model, action server, SQL tracker store)
with the Telegram channel, talking to the fake Bot API.

Telegram-shaped updates are POSTed to the webhook exactly as Telegram would send
them (or queued for getUpdates in polling mode); the assertions are on what the
fake Bot API received. Started by `make test-telegram` (after `make train`);
skipped when there is no trained model unless TELEGRAM_E2E_REQUIRED=1.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from bot import responses
from scripts.serve import ServerConfig, Servers, free_port
from scripts.telegram_admin import merge_credentials
from tests.telegram.conftest import REPO_ROOT, SECRET, message
from tests.telegram.fake_telegram import (
    BOT_USER,
    TEST_TOKEN,
    FakeTelegram,
    callback_update,
    message_update,
    sticker_update,
)

pytestmark = pytest.mark.e2e

WEBHOOK_PUBLIC_URL = "https://bot.example.org/webhooks/telegram/webhook"
RED_FLAG = "I have a temperature of 38.5 on day 5 of capecitabine"


def _text(name: str) -> str:
    return responses.responses()[name][0]["text"]


def _static_prefix(template: str) -> str:
    """The part of a response before its first {slot}."""
    return template.split("{", 1)[0].strip()


@pytest.fixture(scope="module")
def model() -> Path:
    path = os.environ.get("MODEL") or subprocess.check_output(
        [sys.executable, "scripts/train.py", "--print-path"], cwd=REPO_ROOT, text=True
    )
    model_path = Path(path.strip())
    if not model_path.exists():
        message = f"no trained model at {model_path}: run `make train` first"
        if os.environ.get("TELEGRAM_E2E_REQUIRED"):
            pytest.fail(message)
        pytest.skip(message)
    return model_path


def _start(
    model: Path,
    fake: FakeTelegram,
    tmp: Path,
    mode: str,
    actions_port: int,
    start_actions: bool,
    extra: dict[str, Any],
) -> Servers:
    env = {
        "TELEGRAM_TOKEN": TEST_TOKEN,
        "TELEGRAM_BOT_NAME": BOT_USER["username"],
        "TELEGRAM_MODE": mode,
        "TELEGRAM_SECRET": SECRET if mode == "webhook" else "",
        "TELEGRAM_WEBHOOK_URL": WEBHOOK_PUBLIC_URL if mode == "webhook" else "",
        "TELEGRAM_API_BASE": fake.base_url,
    }
    credentials = merge_credentials(
        str(REPO_ROOT / "bot" / "credentials.yml"),
        str(REPO_ROOT / "bot" / "credentials.telegram.yml"),
        env,
    )
    credentials["bot.channels.telegram.TelegramInput"].update(extra)
    credentials_path = tmp / "credentials.yml"
    credentials_path.write_text(yaml.safe_dump(credentials), encoding="utf-8")
    config = ServerConfig.in_folder(
        model,
        tmp,
        actions_port=actions_port,
        credentials=credentials_path,
        extra_env=env,
        start_actions=start_actions,
    )
    servers = Servers(config).start()
    started = "setWebhook" if mode == "webhook" else "getUpdates"
    if not fake.wait_for(lambda f: f.calls_to(started), timeout=60):
        servers.stop()
        raise RuntimeError(f"the channel never called {started}; see {tmp / 'logs'}")
    return servers


@pytest.fixture(scope="module")
def webhook_assistant(
    model: Path, fake_telegram_server: FakeTelegram, tmp_path_factory: Any
) -> Iterator[Servers]:
    tmp = tmp_path_factory.mktemp("telegram_webhook")
    servers = _start(model, fake_telegram_server, tmp, "webhook", free_port(), True, {})
    yield servers
    servers.stop()


@pytest.fixture(scope="module")
def polling_fake() -> Iterator[FakeTelegram]:
    fake = FakeTelegram().start()  # its own bot: a webhook and getUpdates exclude
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def polling_assistant(
    webhook_assistant: Servers,
    polling_fake: FakeTelegram,
    model: Path,
    tmp_path_factory: Any,
) -> Iterator[Servers]:
    tmp = tmp_path_factory.mktemp("telegram_polling")
    servers = _start(
        model,
        polling_fake,
        tmp,
        "polling",
        webhook_assistant.config.actions_port,  # share the action server
        False,
        {"poll_timeout": 2, "max_message_length": 200},  # short parts: real splitting
    )
    yield servers
    servers.stop()


def _post(servers: Servers, update: dict[str, Any], secret: Any = SECRET) -> int:
    url = f"http://127.0.0.1:{servers.config.rasa_port}/webhooks/telegram/webhook"
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    return requests.post(url, json=update, headers=headers, timeout=120).status_code


def _user_events(servers: Servers, chat_id: int) -> list[str]:
    """What Rasa stored as user messages for ``chat_id`` (the tracker store's rows)."""
    with sqlite3.connect(servers.config.tracker_db) as conn:
        rows = conn.execute(
            "SELECT data FROM events WHERE sender_id=? AND type_name='user'",
            (f"tg:{chat_id}",),  # Rasa's id for a chat (bot/channels/senders.py)
        ).fetchall()
    return [json.loads(data).get("text") for (data,) in rows]


def _texts(fake: FakeTelegram, chat_id: int) -> list[str]:
    assert fake.errors == [], f"the fake Bot API refused calls: {fake.errors}"
    return fake.sent_texts(chat_id)


def test_webhook_was_registered_with_the_secret(
    webhook_assistant: Servers, fake_telegram_server: FakeTelegram
) -> None:
    assert fake_telegram_server.webhook["secret_token"] == SECRET
    assert fake_telegram_server.webhook["url"] == WEBHOOK_PUBLIC_URL


def test_no_set_webhook_route(webhook_assistant: Servers) -> None:
    base = f"http://127.0.0.1:{webhook_assistant.config.rasa_port}/webhooks/telegram"
    for method in ("GET", "POST"):
        status = requests.request(method, f"{base}/set_webhook", timeout=10).status_code
        assert status in (404, 405)


@pytest.mark.parametrize("secret", [None, "wrong-secret"])
def test_wrong_or_missing_secret_rejected_and_nothing_sent(
    webhook_assistant: Servers, fake_telegram: FakeTelegram, secret: Any
) -> None:
    chat = 9001
    assert (
        _post(webhook_assistant, message_update("what is CAPTEM?", chat), secret) == 403
    )
    assert fake_telegram.calls == []
    db = webhook_assistant.config.tracker_db
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM events WHERE sender_id=?", (f"tg:{chat}",)
        )
        assert rows.fetchone()[0] == 0


def test_question_answered_then_disclaimer(
    webhook_assistant: Servers, fake_telegram: FakeTelegram
) -> None:
    chat = 9002
    assert _post(webhook_assistant, message_update("what is CAPTEM?", chat)) == 200
    texts = _texts(fake_telegram, chat)
    assert len(texts) >= 2
    assert "CAPTEM" in texts[0]
    assert texts[-1] == _text("utter_disclaimer")
    assert any("Source" in t for t in texts[:-1]), texts
    for params in fake_telegram.calls_to("sendMessage", chat):
        assert params["parse_mode"] == "HTML"


def test_html_special_characters_never_break_a_message(
    webhook_assistant: Servers, fake_telegram: FakeTelegram
) -> None:
    chat = 9003
    question = 'is <b>5-FU</b> & "capecitabine" chemo? a_b *c* </i>'
    assert _post(webhook_assistant, message_update(question, chat)) == 200
    assert _texts(fake_telegram, chat)  # answered, and the fake parsed every message


def test_button_press_answered_and_acknowledged(
    webhook_assistant: Servers, fake_telegram: FakeTelegram
) -> None:
    chat = 9004
    assert _post(webhook_assistant, message_update("/help", chat)) == 200
    with_buttons = [
        p for p in fake_telegram.calls_to("sendMessage", chat) if p.get("reply_markup")
    ]
    assert with_buttons, "utter_capabilities should offer buttons"
    keyboard = with_buttons[-1]["reply_markup"]["inline_keyboard"]
    for row in keyboard:
        for button in row:
            assert len(button["callback_data"].encode()) <= 64
    first = keyboard[0][0]
    fake_telegram.reset()

    press = callback_update(first["callback_data"], chat, keyboard)
    assert _post(webhook_assistant, press) == 200
    acks = fake_telegram.calls_to("answerCallbackQuery")
    assert [a["callback_query_id"] for a in acks] == [press["callback_query"]["id"]]
    texts = _texts(fake_telegram, chat)
    assert texts, "the button press got no answer"
    assert texts[-1] == _text("utter_disclaimer")


def test_sticker_answered_kindly(
    webhook_assistant: Servers, fake_telegram: FakeTelegram
) -> None:
    chat = 9005
    assert _post(webhook_assistant, sticker_update(chat)) == 200
    assert _texts(fake_telegram, chat) == [message("text_only")]
    assert _user_events(webhook_assistant, chat) == []


def test_red_flag_gets_the_urgent_reply_first(
    webhook_assistant: Servers, fake_telegram: FakeTelegram
) -> None:
    chat = 9006
    assert _post(webhook_assistant, message_update(RED_FLAG, chat)) == 200
    texts = _texts(fake_telegram, chat)
    assert texts, "no reply to a red-flag message"
    assert texts[0].startswith(_static_prefix(_text("utter_urgent_red_flag")))


def test_forget_removes_the_conversation(
    webhook_assistant: Servers, fake_telegram: FakeTelegram
) -> None:
    chat, other = 9007, 9008
    db = webhook_assistant.config.tracker_db

    def rows(sender: int) -> int:
        with sqlite3.connect(db) as conn:
            query = "SELECT count(*) FROM events WHERE sender_id=?"
            return conn.execute(query, (f"tg:{sender}",)).fetchone()[0]

    _post(webhook_assistant, message_update("what is CAPTEM?", chat))
    _post(webhook_assistant, message_update("what is CAPTEM?", other))
    assert rows(chat) > 0 and rows(other) > 0
    fake_telegram.reset()

    assert _post(webhook_assistant, message_update("/forget", chat)) == 200
    assert rows(chat) == 0
    assert rows(other) > 0
    assert _texts(fake_telegram, chat) == [message("forgotten")]


@pytest.mark.parametrize(
    "chat, text, key",
    [
        (9010, "What is CAPTEM? " * 313, "message_too_long"),  # 5,008 characters
        (9011, "", "empty_message"),
        (9012, " ?! \u200b ", "empty_message"),
    ],
    ids=["5000-chars", "empty", "punctuation"],
)
def test_long_or_empty_message_answered_without_rasa(
    webhook_assistant: Servers,
    fake_telegram: FakeTelegram,
    chat: int,
    text: str,
    key: str,
) -> None:
    assert _post(webhook_assistant, message_update(text, chat)) == 200
    assert _texts(fake_telegram, chat) == [message(key)]
    assert _user_events(webhook_assistant, chat) == []  # Rasa never saw it


def test_typed_intent_is_not_forced(
    webhook_assistant: Servers, fake_telegram: FakeTelegram
) -> None:
    chat = 9009
    _post(webhook_assistant, message_update("/crisis", chat))
    _post(webhook_assistant, message_update("/ /greet", chat))
    # the slashes were stripped: NLU reads words, no intent is forced
    assert _user_events(webhook_assistant, chat) == ["crisis", "greet"]


def test_polling_mode_answers_and_splits_long_replies(
    polling_assistant: Servers, polling_fake: FakeTelegram
) -> None:
    chat = 9101
    assert polling_fake.calls_to("deleteWebhook")  # getUpdates needs no webhook set
    polling_fake.enqueue_update(message_update("what is CAPTEM?", chat))
    disclaimer = _text("utter_disclaimer")

    def answered(fake: FakeTelegram) -> bool:
        texts = fake.sent_texts(chat)
        return bool(texts) and texts[-1] == disclaimer[-len(texts[-1]) :]

    assert polling_fake.wait_for(answered, timeout=60, settle=0.5)
    texts = _texts(polling_fake, chat)
    assert all(len(t) <= 200 for t in texts)  # max_message_length: 200 in this server
    assert len(texts) >= 3
    assert "CAPTEM" in texts[0]
    # the sticker path through polling too
    polling_fake.reset()
    polling_fake.enqueue_update(sticker_update(chat))
    assert polling_fake.wait_for(lambda f: f.sent_texts(chat), timeout=30)
    assert _texts(polling_fake, chat) == [message("text_only")]
