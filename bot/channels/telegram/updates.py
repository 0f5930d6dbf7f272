"""Reading a Telegram update: chat ids, conversation ids, content kinds, button titles."""

from __future__ import annotations

import re
from typing import Any

from bot.channels.senders import TELEGRAM_PREFIX, valid_sender

# The update kinds the bot asks Telegram for (setWebhook / getUpdates).
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]

# Message fields that carry content a user sent (anything else is a service message).
CONTENT_FIELDS = (
    "text",
    "caption",
    "sticker",
    "photo",
    "voice",
    "audio",
    "video",
    "video_note",
    "animation",
    "document",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
)


def conversation_id(chat_id: str) -> str:
    """The Rasa sender id of a Telegram chat (``tg:<chat id>``, see bot/channels/senders)."""
    return TELEGRAM_PREFIX + chat_id


def chat_id_of(update_chat: Any) -> str | None:
    """The chat id of a ``chat`` object as text, or None if it is not a usable id."""
    if not isinstance(update_chat, dict):
        return None
    raw = update_chat.get("id")
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        return None
    text = str(raw)
    if not re.fullmatch(r"-?[0-9]{1,20}", text) or valid_sender(text) is None:
        return None
    return text


def button_title(message: dict[str, Any], data: str | None) -> str | None:
    """Title of the button with ``callback_data == data`` in ``message``, if any."""
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    for row in keyboard:
        for button in row if isinstance(row, list) else []:
            if isinstance(button, dict) and button.get("callback_data") == data:
                return str(button.get("text") or "") or None
    return None
