"""The Telegram output channel: one user turn's replies, buffered, as HTML messages."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import OutputChannel

from bot.channels.guard import OfferedButtons
from bot.channels.senders import TELEGRAM_PREFIX, local_id
from bot.channels.telegram.api import TelegramAPIError, TelegramBotAPI
from bot.channels.telegram.formatting import (
    CHANNEL_NAME,
    MAX_MESSAGE_LENGTH,
    format_sources,
    split_message,
    to_telegram_html,
    utf16_len,
)
from bot.channels.telegram.updates import conversation_id

logger = logging.getLogger(__name__)


@dataclass
class _Outgoing:
    """One assistant message waiting to be sent (text is raw, not yet HTML)."""

    text: str = ""
    buttons: list[dict[str, Any]] = field(default_factory=list)
    # e.g. the Source line(s), each at most max_length long (format_sources)
    suffix_html: list[str] = field(default_factory=list)
    image: str | None = None


class TelegramOutput(OutputChannel):
    """Sends assistant messages to one Telegram chat.

    Messages of one user turn are buffered and sent by ``flush()`` so that the
    ``kb_answer`` Source line can be appended to the answer it belongs to. With
    ``buffered=False`` (used by Rasa for reminders / ``trigger_intent``) every
    message is sent at once.
    """

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(
        self,
        api: TelegramBotAPI,
        buttons: OfferedButtons,
        buffered: bool = True,
        show_sources: bool = True,
        max_length: int = MAX_MESSAGE_LENGTH,
    ) -> None:
        self.api = api
        self.buttons = buttons
        self.buffered = buffered
        self.show_sources = show_sources
        self.max_length = min(max_length, MAX_MESSAGE_LENGTH)
        self._pending: list[tuple] = []  # (chat_id, _Outgoing)
        self.sent_texts: list[str] = []  # raw texts, to check what a turn said

    async def _emit(self, chat_id: str, item: _Outgoing) -> None:
        chat_id = local_id(TELEGRAM_PREFIX, str(chat_id))  # Rasa's id is tg:<chat id>
        if self.buffered:
            self._pending.append((str(chat_id), item))
        else:
            await self._send(str(chat_id), item)

    async def flush(self) -> None:
        """Sends every buffered message, in order."""
        pending, self._pending = self._pending, []
        for chat_id, item in pending:
            await self._send(chat_id, item)

    async def send_text_message(
        self, recipient_id: str, text: str, **kwargs: Any
    ) -> None:
        """Queues a text message."""
        self.sent_texts.append(text)
        await self._emit(recipient_id, _Outgoing(text=text))

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        """Queues a text message with an inline keyboard."""
        self.sent_texts.append(text)
        usable = [b for b in buttons if b.get("title") and b.get("payload")]
        await self._emit(recipient_id, _Outgoing(text=text, buttons=usable))

    async def send_image_url(
        self, recipient_id: str, image: str, **kwargs: Any
    ) -> None:
        """Queues a photo (by URL)."""
        await self._emit(recipient_id, _Outgoing(image=image))

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """Handles ``{"kb_answer": {...}}``: its sources become a Source line.

        Other custom payloads are ignored: unlike the stock connector, a custom
        payload can never choose the recipient or call arbitrary Bot API methods.
        """
        kb_answer = json_message.get("kb_answer") if json_message else None
        if not isinstance(kb_answer, dict):
            logger.debug("Ignoring a custom payload Telegram cannot show.")
            return
        lines = format_sources(kb_answer, self.max_length) if self.show_sources else []
        if not lines:
            return
        last = self._pending[-1][1] if self._pending else None
        if (
            last is not None
            and self._pending[-1][0] == local_id(TELEGRAM_PREFIX, str(recipient_id))
            and last.text
            and not last.buttons
        ):
            last.suffix_html.extend(lines)
        else:
            await self._emit(recipient_id, _Outgoing(suffix_html=lines))

    async def _send(self, chat_id: str, item: _Outgoing) -> None:
        if item.image:
            await self.api.call("sendPhoto", chat_id=chat_id, photo=item.image)
            return
        parts = [to_telegram_html(p) for p in split_message(item.text, self.max_length)]
        for suffix in item.suffix_html:
            if (
                parts
                and utf16_len(parts[-1]) + 2 + utf16_len(suffix) <= self.max_length
            ):
                parts[-1] = f"{parts[-1]}\n\n{suffix}"
            else:
                parts.append(suffix)
        if not parts:
            if not item.buttons:
                return
            parts = [""]  # Telegram needs text to hang a keyboard on
        markup = self._keyboard(chat_id, item.buttons) if item.buttons else None
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            await self._send_html(chat_id, part or "\u2063", markup if last else None)

    def _keyboard(self, chat_id: str, buttons: list[dict[str, Any]]) -> dict:
        # One button per row: titles are questions, often too long to sit side by side.
        rows = [
            [
                {
                    "text": str(b["title"]),
                    "callback_data": self.buttons.offer(
                        conversation_id(chat_id), str(b["payload"])
                    ),
                }
            ]
            for b in buttons
        ]
        return {"inline_keyboard": rows}

    async def _send_html(
        self, chat_id: str, text_html: str, markup: dict | None
    ) -> None:
        try:
            await self.api.call(
                "sendMessage",
                chat_id=chat_id,
                text=text_html,
                parse_mode="HTML",
                disable_web_page_preview=True,
                reply_markup=markup,
            )
        except TelegramAPIError as error:
            if error.error_code == 400 and "parse" in error.description.lower():
                # Should never happen (all text is escaped): send it plain rather
                # than lose the message.
                logger.error(f"Telegram rejected our HTML ({error.description}).")
                plain = re.sub(r"<[^>]+>", "", text_html)
                await self.api.call(
                    "sendMessage",
                    chat_id=chat_id,
                    text=html.unescape(plain),
                    reply_markup=markup,
                )
            else:
                raise
