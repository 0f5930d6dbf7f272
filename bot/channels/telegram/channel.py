"""The Telegram input channel (``TelegramInput``): authenticated webhook or long polling,
one chat at a time, commands, buttons, and the shared input checks of bot.channels.guard.
"""

from __future__ import annotations

import asyncio
import collections
import hmac
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.admission import gated, warm_up
from bot.channels.guard import (
    EMPTY,
    FORGET_FAILED,
    FORGOTTEN,
    TEXT_ONLY,
    TOO_LONG,
    OfferedButtons,
    check_message,
    forget_conversation,
    max_message_chars,
    neutralise_commands,
    render_response,
    reply_text,
    strip_command,
)
from bot.channels.payload import limit_request_size, parse_json_object
from bot.channels.telegram.api import TelegramAPIError, TelegramBotAPI
from bot.channels.telegram.commands import (
    COMMAND_FORGET,
    COMMAND_INTENTS,
    parse_command,
)
from bot.channels.telegram.output import CHANNEL_NAME, TelegramOutput
from bot.channels.telegram.settings import MODE_WEBHOOK, TelegramSettings
from bot.channels.telegram.shared import POLLER_TTL_S, shared_state
from bot.channels.telegram.updates import (
    ALLOWED_UPDATES,
    CONTENT_FIELDS,
    button_title,
    chat_id_of,
    conversation_id,
)

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
MAX_CONCURRENT_UPDATES = 8  # polled updates handled at once (different chats)
POLLER_RETRY_S = POLLER_TTL_S / 3  # how often a waiting instance tries to take over

# Fixed sentences the channel sends by itself: keys of bot/domain/channels.yml, sent with
# ``reply_text(key, CHANNEL_NAME)`` (``check_message`` answers with the same text-only, empty and
# too-long sentences on every channel).
RESPONSE_TEXT_ONLY = TEXT_ONLY
RESPONSE_EDITED = "edited_message"
RESPONSE_GROUP = "private_chat_only"
RESPONSE_FORGOTTEN = FORGOTTEN
RESPONSE_FORGET_FAILED = FORGET_FAILED
RESPONSE_EMPTY = EMPTY
MESSAGE_KEYS = (
    RESPONSE_TEXT_ONLY,
    RESPONSE_EDITED,
    RESPONSE_GROUP,
    RESPONSE_FORGOTTEN,
    RESPONSE_FORGET_FAILED,
    RESPONSE_EMPTY,
    TOO_LONG,
)
# The disclaimer is a domain response (rules use it too), rendered by Rasa's NLG.
RESPONSE_DISCLAIMER = "utter_disclaimer"


class TelegramInput(InputChannel):
    """Telegram input channel: authenticated webhook or long polling."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        return cls(TelegramSettings.from_credentials(credentials or {}))

    def __init__(self, settings: TelegramSettings) -> None:
        self.settings = settings
        self.api = TelegramBotAPI(settings.access_token, settings.api_base)
        self.shared = shared_state()  # Redis when configured: several instances
        self.buttons = OfferedButtons(shared=self.shared)
        self._chat_locks: weakref.WeakValueDictionary[str, asyncio.Lock]
        self._chat_locks = weakref.WeakValueDictionary()
        self._seen_updates: collections.deque[int] = collections.deque(maxlen=2048)
        self._seen_set: set[int] = set()
        self._tasks: set[asyncio.Task] = set()
        self._polling_task: asyncio.Task | None = None
        self._concurrency: asyncio.Semaphore | None = None
        self._max_chars: int | None = None

    @property
    def max_chars(self) -> int:
        """Longest message passed on to Rasa (``input.max_message_chars``).

        Read on first use, not at start-up: nothing is loaded at import time.
        """
        if self._max_chars is None:
            self._max_chars = max_message_chars()
        return self._max_chars

    # -- Rasa hooks ---------------------------------------------------------------------

    def get_output_channel(self) -> OutputChannel:
        """Unbuffered output (used by Rasa for reminders and ``trigger_intent``)."""
        return TelegramOutput(
            self.api,
            self.buttons,
            buffered=False,
            show_sources=self.settings.show_sources,
            max_length=self.settings.max_message_length,
        )

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Routes: ``GET /`` health, ``POST /webhook`` (webhook mode only)."""
        on_new_message = gated(on_new_message)
        telegram = Blueprint("telegram_hardened", __name__)

        @telegram.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "mode": self.settings.mode})

        if self.settings.mode == MODE_WEBHOOK:

            @telegram.route("/webhook", methods=["POST"])
            async def webhook(request: Request) -> HTTPResponse:
                if not self._secret_ok(request.headers.get(SECRET_HEADER)):
                    logger.warning("Telegram webhook: rejected an update (bad secret).")
                    return response.json({"ok": False}, status=403)
                # Not JSON, not an object, too deep (RecursionError) or too big: 400.
                update, _reason = parse_json_object(request.body)
                if update is None:
                    return response.json({"ok": False}, status=400)
                try:
                    await self.handle_update(update, on_new_message, request.app.ctx)
                except Exception:
                    # Logged, not re-raised: a 500 would make Telegram redeliver it.
                    logger.exception("Telegram: failed to handle an update.")
                # Always 200 once authenticated: otherwise Telegram redelivers.
                return response.json({"ok": True})

        @telegram.listener("before_server_start")
        async def limit_size(app: Any, _loop: Any) -> None:
            limit_request_size(app)
            await warm_up()

        @telegram.listener("after_server_start")
        async def start(app: Any, _loop: Any) -> None:
            self._concurrency = asyncio.Semaphore(MAX_CONCURRENT_UPDATES)
            if self.settings.mode == MODE_WEBHOOK:
                self._spawn(self._register_webhook())
            else:
                self._polling_task = asyncio.ensure_future(
                    self._poll(on_new_message, app.ctx)
                )

        @telegram.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            if self._polling_task is not None:
                self._polling_task.cancel()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(
                *(t for t in [self._polling_task, *self._tasks] if t is not None),
                return_exceptions=True,
            )
            if self._polling_task is not None and self.shared is not None:
                # so that a restarted (or another) instance polls at once
                await asyncio.to_thread(self.shared.release_poller)
            await self.api.close()

        return telegram

    # -- start-up -----------------------------------------------------------------------

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check_bot(self) -> None:
        me = await self.api.call("getMe")
        username = (me or {}).get("username")
        if self.settings.bot_name and username and username != self.settings.bot_name:
            logger.warning(
                f"Telegram: TELEGRAM_BOT_NAME is '{self.settings.bot_name}' but the "
                f"token belongs to '{username}'."
            )
        if not self.settings.bot_name:
            self.settings.bot_name = username
        logger.info(f"Telegram: connected as @{username} ({self.settings.mode}).")

    async def _register_webhook(self) -> None:
        delay = 2.0
        for attempt in range(5):
            try:
                await self._check_bot()
                await self.api.call(
                    "setWebhook",
                    url=self.settings.webhook_url,
                    secret_token=self.settings.secret,
                    allowed_updates=ALLOWED_UPDATES,
                )
                logger.info("Telegram: webhook registered (with secret token).")
                return
            except TelegramAPIError as error:
                logger.error(f"Telegram: could not register the webhook: {error}")
                if error.error_code in (401, 404):  # bad token: retrying won't help
                    return
            await asyncio.sleep(delay * (2**attempt))

    def _secret_ok(self, header: str | None) -> bool:
        expected = self.settings.secret
        if not expected or not header:
            return False
        return hmac.compare_digest(header.encode("utf-8"), expected.encode("utf-8"))

    # -- polling ------------------------------------------------------------------------

    async def _poll(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]], ctx: Any
    ) -> None:
        """Long-polls getUpdates until the server stops.

        With shared state, only the instance holding the poller claim polls; the others
        wait and try again every :data:`POLLER_RETRY_S`, so one takes over when the
        holder stops (it releases the claim) or dies (the claim expires).
        """
        await self._wait_for_poller_claim()
        delay = 1.0
        while True:
            try:
                await self._check_bot()
                # getUpdates refuses to work while a webhook is set.
                await self.api.call("deleteWebhook", drop_pending_updates=False)
                break
            except TelegramAPIError as error:
                logger.error(f"Telegram: cannot start polling: {error}")
                if error.error_code in (401, 404):
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
        offset: int | None = None
        delay = 1.0
        while True:
            if self.shared is not None and not self.shared.claim_poller():
                logger.warning("Telegram: another instance took over polling.")
                await self._wait_for_poller_claim()
            try:
                updates = await self.api.call(
                    "getUpdates",
                    http_timeout=self.settings.poll_timeout + 15,
                    offset=offset,
                    timeout=self.settings.poll_timeout,
                    allowed_updates=ALLOWED_UPDATES,
                )
                delay = 1.0
            except TelegramAPIError as error:
                logger.warning(f"Telegram: getUpdates failed: {error}")
                if error.error_code in (401, 404):
                    logger.error("Telegram: the token was rejected; polling stops.")
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            except asyncio.TimeoutError:
                continue
            for update in updates or []:
                if not isinstance(update, dict):
                    continue
                update_id = update.get("update_id")
                if isinstance(update_id, int):
                    offset = max(offset or 0, update_id + 1)
                self._spawn(self._handle_bounded(update, on_new_message, ctx))

    async def _wait_for_poller_claim(self) -> None:
        """Returns once this instance holds the poller claim (at once without Redis)."""
        if self.shared is None:
            return
        told = False
        while not await asyncio.to_thread(self.shared.claim_poller):
            if not told:
                logger.warning(
                    "Telegram: another instance is polling; this one waits to take "
                    "over (long polling runs on one instance only; use the webhook "
                    "for several)."
                )
                told = True
            await asyncio.sleep(POLLER_RETRY_S)
        if told:
            logger.info("Telegram: this instance now polls.")

    async def _handle_bounded(
        self,
        update: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        ctx: Any,
    ) -> None:
        if self._concurrency is None:  # polling started outside after_server_start
            self._concurrency = asyncio.Semaphore(MAX_CONCURRENT_UPDATES)
        async with self._concurrency:
            try:
                await self.handle_update(update, on_new_message, ctx)
            except Exception:  # a bad update must not stop polling
                logger.exception("Telegram: failed to handle an update.")

    # -- updates ------------------------------------------------------------------------

    def _is_duplicate(self, update: dict[str, Any]) -> bool:
        update_id = update.get("update_id")
        if not isinstance(update_id, int):
            return False
        if update_id in self._seen_set:
            return True
        if self.shared is not None and self.shared.seen(update_id):
            return True  # another instance took it
        if len(self._seen_updates) == self._seen_updates.maxlen:
            self._seen_set.discard(self._seen_updates[0])
        self._seen_updates.append(update_id)
        self._seen_set.add(update_id)
        return False

    def _chat_lock(self, chat_id: str) -> asyncio.Lock:
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = asyncio.Lock()
            self._chat_locks[chat_id] = lock
        return lock

    async def handle_update(
        self,
        update: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        ctx: Any,
    ) -> None:
        """Handles one authenticated Telegram update (both modes end here)."""
        if self._is_duplicate(update):
            logger.debug("Telegram: ignoring a redelivered update.")
            return
        if isinstance(update.get("callback_query"), dict):
            await self._handle_callback(update["callback_query"], on_new_message, ctx)
            return
        edited = update.get("edited_message")
        sent = update.get("message")
        message: dict[str, Any]
        if isinstance(sent, dict):
            message = sent
        elif isinstance(edited, dict):
            message = edited
        else:
            logger.debug(f"Telegram: ignoring update kind {sorted(update)}.")
            return
        chat = message.get("chat") or {}
        sender = message.get("from") or {}
        chat_id = chat_id_of(chat)
        if chat_id is None or not isinstance(sender, dict) or sender.get("is_bot"):
            logger.debug("Telegram: ignoring an update without a usable chat id.")
            return
        is_private = chat.get("type") == "private"
        async with self._chat_lock(chat_id):
            output = self._output()
            try:
                if not is_private:
                    # Health questions do not belong in a group: never process them.
                    if isinstance(edited, dict) or not any(
                        k in message for k in CONTENT_FIELDS
                    ):
                        return  # edits and service messages (joins, pins): stay quiet
                    await self._utter(output, chat_id, RESPONSE_GROUP)
                elif isinstance(edited, dict):
                    await self._utter(output, chat_id, RESPONSE_EDITED)
                elif any(k in message for k in CONTENT_FIELDS):
                    # Anything but text (stickers, photos, ...) gets text_only there.
                    await self._handle_text(
                        message.get("text"), chat_id, output, on_new_message, ctx
                    )
            finally:
                await self._flush(output)

    async def _handle_text(
        self,
        text: Any,
        chat_id: str,
        output: TelegramOutput,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        ctx: Any,
    ) -> None:
        """Typed text: input hygiene, then a command or a message for Rasa.

        Anything but text, over-long and empty (or punctuation-only) messages are
        answered from bot/domain/channels.yml and never reach Rasa. Rasa reads the cleaned text.
        """
        checked = check_message(text, self.max_chars)
        if checked.reply is not None or not checked.text:
            await self._utter(output, chat_id, checked.reply or RESPONSE_EMPTY)
            return
        text = checked.text
        command = parse_command(text, self.settings.bot_name)
        if command == COMMAND_FORGET:
            await self._forget(output, ctx, chat_id)
            return
        await self._typing(chat_id)
        if command in COMMAND_INTENTS:
            await on_new_message(
                self._message(COMMAND_INTENTS[command], output, chat_id)
            )
            if command == "start":
                await self._ensure_disclaimer(output, ctx, chat_id)
            return
        # Intent syntax can hold nothing but keys (/{"a": null}): never send "".
        # Buttons come back as click data, so no typed command is a button here.
        words = await neutralise_commands(text, conversation_id(chat_id))
        await on_new_message(self._message(words, output, chat_id))

    async def _handle_callback(
        self,
        query: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        ctx: Any,
    ) -> None:
        # Acknowledge first, so the button's spinner stops whatever happens next.
        try:
            await self.api.call(
                "answerCallbackQuery", callback_query_id=query.get("id")
            )
        except TelegramAPIError as error:
            logger.debug(f"Telegram: answerCallbackQuery failed: {error}")
        message = query.get("message") or {}
        chat = message.get("chat") if isinstance(message, dict) else None
        chat_id = chat_id_of(chat)
        if (
            chat_id is None
            or not isinstance(chat, dict)
            or chat.get("type") != "private"
        ):
            return
        data = query.get("data")
        async with self._chat_lock(chat_id):
            output = self._output()
            try:
                payload = self.buttons.payload_of(conversation_id(chat_id), data)
                if payload is None:
                    # Unknown token (e.g. the bot restarted): read the button's title
                    # as if typed. A forged token matches no button: ignored.
                    title = button_title(message, data)
                    if title is None:
                        logger.debug("Telegram: ignoring an unknown button press.")
                        return
                    payload = strip_command(title)
                    if not payload:
                        return
                await self._typing(chat_id)
                await on_new_message(self._message(payload, output, chat_id))
            finally:
                await self._flush(output)

    # -- helpers ------------------------------------------------------------------------

    def _output(self) -> TelegramOutput:
        return TelegramOutput(
            self.api,
            self.buttons,
            buffered=True,
            show_sources=self.settings.show_sources,
            max_length=self.settings.max_message_length,
        )

    def _message(self, text: str, output: TelegramOutput, chat_id: str) -> UserMessage:
        # No metadata: names and usernames are not needed and would be stored.
        return UserMessage(
            text, output, conversation_id(chat_id), input_channel=self.name()
        )

    async def _flush(self, output: TelegramOutput) -> None:
        try:
            await output.flush()
        except TelegramAPIError as error:
            # e.g. 403 "bot was blocked by the user": nothing more to do.
            logger.warning(f"Telegram: could not deliver a reply: {error}")

    async def _typing(self, chat_id: str) -> None:
        try:
            await self.api.call("sendChatAction", chat_id=chat_id, action="typing")
        except TelegramAPIError as error:
            logger.debug(f"Telegram: sendChatAction failed: {error}")

    async def _utter(self, output: TelegramOutput, chat_id: str, key: str) -> None:
        """Sends the fixed sentence ``key`` of bot/domain/channels.yml to ``chat_id``."""
        await output.send_response(chat_id, {"text": reply_text(key, CHANNEL_NAME)})

    async def _ensure_disclaimer(
        self, output: TelegramOutput, ctx: Any, chat_id: str
    ) -> None:
        """Adds ``utter_disclaimer`` to this turn unless the greeting already said it."""
        message = await render_response(
            getattr(ctx, "agent", None),
            RESPONSE_DISCLAIMER,
            conversation_id(chat_id),
            CHANNEL_NAME,
        )
        if message.get("text") not in output.sent_texts:
            await output.send_response(chat_id, message)

    async def _forget(self, output: TelegramOutput, ctx: Any, chat_id: str) -> None:
        """``/forget``: deletes this chat's conversation and confirms (or says it failed)."""
        agent = getattr(ctx, "agent", None)
        if not await forget_conversation(agent, conversation_id(chat_id)):
            await self._utter(output, chat_id, RESPONSE_FORGET_FAILED)
            return
        self.buttons.forget(conversation_id(chat_id))
        await self._utter(output, chat_id, RESPONSE_FORGOTTEN)
