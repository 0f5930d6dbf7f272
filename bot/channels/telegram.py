"""Hardened Telegram input/output channel for Rasa 3.6.

Replaces Rasa's stock connector (``rasa.core.channels.telegram``), which has no
webhook authentication, exposes an unauthenticated ``/set_webhook`` route, sends
plain text that breaks on long answers, and forwards typed ``/intent`` text.

What this channel does (see docs/telegram.md for the deployer's walkthrough):

* ``mode: webhook``: every update must carry Telegram's
  ``X-Telegram-Bot-Api-Secret-Token`` header; others get 403 and are not read.
  The webhook is registered (``setWebhook`` with ``secret_token``) at start-up;
  there is no route that changes it.
* ``mode: polling``: ``getUpdates`` long polling, for a laptop without HTTPS.
* Replies use Telegram's HTML parse mode; all text is escaped, ``**bold**`` becomes
  ``<b>``, and replies longer than 4,096 characters are split on paragraph, line
  or word boundaries.
* Buttons become inline keyboards. ``callback_data`` is a short token that maps,
  in memory and per chat, to the payload the bot offered; every press is
  acknowledged with ``answerCallbackQuery``.
* Typed text gets the shared input hygiene (``bot.channels.guard.check_message``):
  over-long or empty messages are answered kindly without reaching Rasa, the rest is
  cleaned (Unicode normalised, invisible characters dropped).
* ``/start`` greets (and adds the disclaimer), ``/help`` lists what the bot can
  answer, ``/questions`` sends the list of saved questions to ask the team as one
  message, ``/forget`` deletes the chat's conversation from the tracker store.
  Other typed ``/...`` text never forces an intent: the slashes are stripped.
* Stickers, photos, voice notes, documents, edited messages and group chats get a
  kind reply instead of being processed.

Every fixed sentence the channel sends by itself is a key of kb/messages.yml, read
with ``bot.channels.guard.reply_text``; the disclaimer after ``/start`` is the domain
response ``utter_disclaimer``. No patient-facing sentence is written in this module.

Settings come from the channel's block in the credentials file, whose values are
``${TELEGRAM_*}`` environment variables (bot/credentials.telegram.yml).
"""

from __future__ import annotations

import asyncio
import collections
import hmac
import html
import json
import logging
import re
import weakref
from dataclasses import dataclass, field
from typing import (
    Any,
    Awaitable,
    Callable,
    Deque,
    Dict,
    List,
    Set,
)

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

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
    reply_text,
    strip_command,
)
from bot.channels.payload import limit_request_size, parse_json_object
from bot.channels.senders import TELEGRAM_PREFIX, local_id, valid_sender

logger = logging.getLogger(__name__)

CHANNEL_NAME = "telegram"
DEFAULT_API_BASE = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
# Telegram limits (https://core.telegram.org/bots/api).
MAX_MESSAGE_LENGTH = 4096  # characters after entity parsing, counted in UTF-16 units
MAX_CALLBACK_DATA_BYTES = 64
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]

MODE_WEBHOOK = "webhook"
MODE_POLLING = "polling"

# Fixed sentences the channel sends by itself: keys of kb/messages.yml, sent with
# ``reply_text(key)`` (``check_message`` answers with the same text-only, empty and
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

# Intents the commands trigger (an internal, trusted message, never user text).
COMMAND_INTENTS = {
    "start": "/greet",
    "help": "/ask_capabilities",
    "questions": "/show_saved_questions",  # the saved questions to ask the team, one message
}
COMMAND_FORGET = "forget"

# Message fields that carry content a user sent (anything else is a service message).
_CONTENT_FIELDS = (
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


# --------------------------------------------------------------------------------------
# Text formatting: escaping, **bold**, links, splitting
# --------------------------------------------------------------------------------------

_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_LINK = re.compile(r"\[([^\[\]\n]+)\]\((https?://[^\s()<>\"]+)\)")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def to_telegram_html(text: str) -> str:
    """Renders assistant text as Telegram HTML.

    Everything is escaped first, so a stray ``<``, ``&`` or ``_`` in KB text can never
    break a message; then the widget-style ``**bold**`` and ``[label](https://...)``
    become ``<b>`` and ``<a>``.
    """
    escaped = html.escape(text, quote=False)
    escaped = _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', escaped)
    return _BOLD.sub(r"<b>\1</b>", escaped)


def rendered_length(text: str) -> int:
    """Length of ``text`` once rendered (HTML source, UTF-16 units).

    Telegram counts characters after parsing, so measuring the HTML source is a
    safe upper bound.
    """
    return utf16_len(to_telegram_html(text))


def split_message(
    text: str,
    limit: int = MAX_MESSAGE_LENGTH,
    measure: Callable[[str], int] = rendered_length,
) -> List[str]:
    """Splits ``text`` into parts whose rendered length is at most ``limit``.

    Splits on paragraph breaks first, then line breaks, then spaces; a single
    "word" longer than the limit is cut. Parts are packed greedily, in order.
    """
    text = text.strip()
    if not text:
        return []
    if measure(text) <= limit:
        return [text]
    for separator in ("\n\n", "\n", " "):
        pieces = [p for p in text.split(separator) if p.strip()]
        if len(pieces) < 2:
            continue
        parts: List[str] = []
        current = ""
        for piece in pieces:
            piece = piece.strip()
            candidate = f"{current}{separator}{piece}" if current else piece
            if measure(candidate) <= limit:
                current = candidate
                continue
            if current:
                parts.append(current)
            if measure(piece) <= limit:
                current = piece
            else:
                parts.extend(split_message(piece, limit, measure))
                current = ""
        if current:
            parts.append(current)
        return parts
    return _hard_cut(text, limit, measure)


def _hard_cut(text: str, limit: int, measure: Callable[[str], int]) -> List[str]:
    parts = []
    while text:
        low, high = 1, len(text)
        while low < high:  # longest prefix that fits
            middle = (low + high + 1) // 2
            if measure(text[:middle]) <= limit:
                low = middle
            else:
                high = middle - 1
        parts.append(text[:low])
        text = text[low:]
    return parts


def format_sources(kb_answer: Dict[str, Any], max_sources: int = 3) -> str | None:
    """Renders the ``kb_answer`` sources as one short HTML line, or None."""
    sources = [s for s in kb_answer.get("sources") or [] if isinstance(s, dict)]
    rendered = []
    for source in sources[:max_sources]:
        title = str(source.get("title") or source.get("id") or "").strip()
        if not title:
            continue
        label = html.escape(title, quote=False)
        url = str(source.get("url") or "")
        if url.startswith(("https://", "http://")):
            label = f'<a href="{html.escape(url, quote=True)}">{label}</a>'
        publisher = str(source.get("publisher") or "").strip()
        if publisher:
            label += f" — {html.escape(publisher, quote=False)}"
        rendered.append(label)
    if not rendered:
        return None
    prefix = html.escape(
        reply_text("source_label" if len(rendered) == 1 else "sources_label")
    )
    return f"<i>{prefix}: {'; '.join(rendered)}</i>"


# --------------------------------------------------------------------------------------
# User input: commands and typed slashes
# --------------------------------------------------------------------------------------


def parse_command(text: str, bot_name: str | None = None) -> str | None:
    """Returns the lower-case command name of ``/cmd`` or ``/cmd@bot args``, or None.

    A command addressed to another bot (``/start@OtherBot``) is not ours: None.
    """
    match = re.match(r"^/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{1,64}))?(?:\s|$)", text)
    if not match:
        return None
    addressee = match.group(2)
    if addressee and bot_name and addressee.lower() != bot_name.lstrip("@").lower():
        return None
    return match.group(1).lower()


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


# --------------------------------------------------------------------------------------
# Bot API client
# --------------------------------------------------------------------------------------


class TelegramAPIError(RasaException):
    """A Bot API call failed (the message never contains the token)."""

    def __init__(
        self,
        method: str,
        description: str,
        error_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.method = method
        self.description = description
        self.error_code = error_code
        self.retry_after = retry_after
        super().__init__(f"Telegram {method} failed ({error_code}): {description}")


class TelegramBotAPI:
    """Minimal asynchronous Bot API client on aiohttp, with a configurable base URL."""

    def __init__(
        self,
        token: str,
        api_base: str = DEFAULT_API_BASE,
        request_timeout: float = 30.0,
        max_retries: int = 3,
    ) -> None:
        self._token = token
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.request_timeout = request_timeout
        self.max_retries = max_retries
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # never show the token
        return f"TelegramBotAPI(api_base={self.api_base!r})"

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        """Closes the HTTP session."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def call(
        self, method: str, http_timeout: float | None = None, **params: Any
    ) -> Any:
        """Calls ``method`` with JSON ``params``; returns ``result`` or raises.

        Flood control (429) is retried after Telegram's ``retry_after``.
        """
        url = f"{self.api_base}/bot{self._token}/{method}"
        payload = {k: v for k, v in params.items() if v is not None}
        client_timeout = aiohttp.ClientTimeout(
            total=http_timeout or self.request_timeout
        )
        session = await self._get_session()
        for attempt in range(self.max_retries + 1):
            try:
                async with session.post(
                    url, json=payload, timeout=client_timeout
                ) as resp:
                    try:
                        body = await resp.json(content_type=None)
                    except (json.JSONDecodeError, aiohttp.ContentTypeError):
                        body = {"ok": False, "description": f"HTTP {resp.status}"}
                    status = resp.status
            except aiohttp.ClientError as error:
                # str(error) can contain the URL, hence the token: name the type only.
                raise TelegramAPIError(
                    method, f"connection failed: {type(error).__name__}"
                ) from None
            if isinstance(body, dict) and body.get("ok"):
                return body.get("result")
            body = body if isinstance(body, dict) else {}
            error_code = body.get("error_code", status)
            retry_after = (body.get("parameters") or {}).get("retry_after")
            if error_code == 429 and retry_after and attempt < self.max_retries:
                logger.warning(f"Telegram flood control: waiting {retry_after}s.")
                await asyncio.sleep(float(retry_after))
                continue
            raise TelegramAPIError(
                method,
                str(body.get("description", f"HTTP {status}")),
                error_code,
                retry_after,
            )
        raise TelegramAPIError(method, "too many retries", 429)


# --------------------------------------------------------------------------------------
# Output channel
# --------------------------------------------------------------------------------------


@dataclass
class _Outgoing:
    """One assistant message waiting to be sent (text is raw, not yet HTML)."""

    text: str = ""
    buttons: List[Dict[str, Any]] = field(default_factory=list)
    suffix_html: List[str] = field(default_factory=list)  # e.g. the Source line
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
        self._pending: List[tuple] = []  # (chat_id, _Outgoing)
        self.sent_texts: List[str] = []  # raw texts, to check what a turn said

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
        buttons: List[Dict[str, Any]],
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
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        """Handles ``{"kb_answer": {...}}``: its sources become a Source line.

        Other custom payloads are ignored: unlike the stock connector, a custom
        payload can never choose the recipient or call arbitrary Bot API methods.
        """
        kb_answer = json_message.get("kb_answer") if json_message else None
        if not isinstance(kb_answer, dict):
            logger.debug("Ignoring a custom payload Telegram cannot show.")
            return
        line = format_sources(kb_answer) if self.show_sources else None
        if not line:
            return
        last = self._pending[-1][1] if self._pending else None
        if (
            last is not None
            and self._pending[-1][0] == local_id(TELEGRAM_PREFIX, str(recipient_id))
            and last.text
            and not last.buttons
        ):
            last.suffix_html.append(line)
        else:
            await self._emit(recipient_id, _Outgoing(suffix_html=[line]))

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

    def _keyboard(self, chat_id: str, buttons: List[Dict[str, Any]]) -> Dict:
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
        self, chat_id: str, text_html: str, markup: Dict | None
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


# --------------------------------------------------------------------------------------
# Input channel
# --------------------------------------------------------------------------------------


def _truthy(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class TelegramSettings:
    """Validated channel settings (from the credentials block)."""

    access_token: str
    bot_name: str | None = None
    mode: str = MODE_WEBHOOK
    secret: str | None = None
    webhook_url: str | None = None
    api_base: str = DEFAULT_API_BASE
    poll_timeout: int = 25
    show_sources: bool = True
    # Split replies longer than this (Telegram's maximum; lower only for testing).
    max_message_length: int = MAX_MESSAGE_LENGTH

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any]) -> TelegramSettings:
        """Reads and checks the credentials block; fails loudly on a bad setting."""

        def get(key: str) -> str | None:
            value = credentials.get(key)
            return str(value).strip() if value not in (None, "") else None

        token = get("access_token")
        if not token:
            raise RasaException(
                "Telegram: 'access_token' is empty. Set TELEGRAM_TOKEN (from @BotFather)."
            )
        mode = (get("mode") or MODE_WEBHOOK).lower()
        if mode not in (MODE_WEBHOOK, MODE_POLLING):
            raise RasaException(
                f"Telegram: mode must be '{MODE_WEBHOOK}' or '{MODE_POLLING}', "
                f"not '{mode}' (TELEGRAM_MODE)."
            )
        secret = get("secret")
        webhook_url = get("webhook_url")
        if mode == MODE_WEBHOOK:
            if not secret or not SECRET_PATTERN.match(secret):
                raise RasaException(
                    "Telegram webhook mode needs a secret (TELEGRAM_SECRET): 1-256 "
                    "characters from A-Z, a-z, 0-9, _ and -. "
                    "Generate one with: python -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))'"
                )
            if not webhook_url:
                raise RasaException(
                    "Telegram webhook mode needs TELEGRAM_WEBHOOK_URL, the public HTTPS "
                    "URL of /webhooks/telegram/webhook (or use TELEGRAM_MODE=polling)."
                )
            if not webhook_url.startswith("https://"):
                logger.warning("Telegram only delivers webhooks to https:// URLs.")
        try:
            poll_timeout = int(get("poll_timeout") or 25)
            max_length = int(get("max_message_length") or MAX_MESSAGE_LENGTH)
        except ValueError as error:
            raise RasaException(
                "Telegram: poll_timeout and max_message_length must be numbers."
            ) from error
        return cls(
            access_token=token,
            bot_name=(get("bot_name") or "").lstrip("@") or None,
            mode=mode,
            secret=secret,
            webhook_url=webhook_url,
            api_base=get("api_base") or DEFAULT_API_BASE,
            poll_timeout=max(0, min(poll_timeout, 50)),
            show_sources=_truthy(credentials.get("show_sources"), True),
            max_message_length=max(200, min(max_length, MAX_MESSAGE_LENGTH)),
        )


class TelegramInput(InputChannel):
    """Telegram input channel: authenticated webhook or long polling."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        return cls(TelegramSettings.from_credentials(credentials))

    def __init__(self, settings: TelegramSettings) -> None:
        self.settings = settings
        self.api = TelegramBotAPI(settings.access_token, settings.api_base)
        from bot.channels.telegram_shared import shared_state

        self.shared = shared_state()  # Redis when configured: several instances
        self.buttons = OfferedButtons(shared=self.shared)
        self._chat_locks: weakref.WeakValueDictionary[str, asyncio.Lock]
        self._chat_locks = weakref.WeakValueDictionary()
        self._seen_updates: Deque[int] = collections.deque(maxlen=2048)
        self._seen_set: Set[int] = set()
        self._tasks: Set[asyncio.Task] = set()
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

        @telegram.listener("after_server_start")
        async def start(app: Any, _loop: Any) -> None:
            self._concurrency = asyncio.Semaphore(8)
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
        """Long-polls getUpdates until the server stops."""
        if self.shared is not None and not self.shared.claim_poller():
            logger.error(
                "Telegram: another instance is already polling; long polling runs on "
                "one instance only (use the webhook for several)."
            )
            return
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
                logger.error("Telegram: another instance took over polling; stopping.")
                return
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

    async def _handle_bounded(
        self,
        update: Dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        ctx: Any,
    ) -> None:
        assert self._concurrency is not None
        async with self._concurrency:
            try:
                await self.handle_update(update, on_new_message, ctx)
            except Exception:  # a bad update must not stop polling
                logger.exception("Telegram: failed to handle an update.")

    # -- updates ------------------------------------------------------------------------

    def _is_duplicate(self, update: Dict[str, Any]) -> bool:
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
        update: Dict[str, Any],
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
        message = update.get("message")
        if not isinstance(message, dict) and not isinstance(edited, dict):
            logger.debug(f"Telegram: ignoring update kind {sorted(update)}.")
            return
        message = message if isinstance(message, dict) else edited
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
                        k in message for k in _CONTENT_FIELDS
                    ):
                        return  # edits and service messages (joins, pins): stay quiet
                    await self._utter(output, chat_id, RESPONSE_GROUP)
                elif isinstance(edited, dict):
                    await self._utter(output, chat_id, RESPONSE_EDITED)
                elif any(k in message for k in _CONTENT_FIELDS):
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
        answered from kb/messages.yml and never reach Rasa. Rasa reads the cleaned text.
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
        query: Dict[str, Any],
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
        if chat_id is None or chat.get("type") != "private":
            return
        data = query.get("data")
        async with self._chat_lock(chat_id):
            output = self._output()
            try:
                payload = self.buttons.payload_of(conversation_id(chat_id), data)
                if payload is None:
                    # Unknown token (e.g. the bot restarted): read the button's title
                    # as if typed. A forged token matches no button: ignored.
                    title = _button_title(message, data)
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

    async def _render(self, ctx: Any, chat_id: str, name: str) -> Dict[str, Any]:
        """Renders the domain response ``name`` (its telegram variant, if any).

        Raises:
            RasaException: there is no agent, or its domain lacks ``name``.
        """
        agent = getattr(ctx, "agent", None)
        if agent is None or agent.domain is None:
            raise RasaException(f"Telegram: no loaded agent to render '{name}'.")
        if name not in agent.domain.responses:
            raise RasaException(f"Telegram: the domain has no response '{name}'.")
        from rasa.shared.core.trackers import DialogueStateTracker

        tracker = DialogueStateTracker(conversation_id(chat_id), agent.domain.slots)
        message = await agent.nlg.generate(name, tracker, CHANNEL_NAME)
        if not message:
            raise RasaException(f"Telegram: response '{name}' rendered nothing.")
        return dict(message)

    async def _utter(self, output: TelegramOutput, chat_id: str, key: str) -> None:
        """Sends the fixed sentence ``key`` of kb/messages.yml to ``chat_id``."""
        await output.send_response(chat_id, {"text": reply_text(key)})

    async def _ensure_disclaimer(
        self, output: TelegramOutput, ctx: Any, chat_id: str
    ) -> None:
        """Adds ``utter_disclaimer`` to this turn unless the greeting already said it."""
        message = await self._render(ctx, chat_id, RESPONSE_DISCLAIMER)
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


def _button_title(message: Dict[str, Any], data: str | None) -> str | None:
    """Title of the button with ``callback_data == data`` in ``message``, if any."""
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    for row in keyboard:
        for button in row if isinstance(row, list) else []:
            if isinstance(button, dict) and button.get("callback_data") == data:
                return str(button.get("text") or "") or None
    return None


# --------------------------------------------------------------------------------------
# Deployer helpers: ``python -m bot.channels.telegram credentials|status``
# --------------------------------------------------------------------------------------

# Settings that may be left unset; the value used when they are.
OPTIONAL_ENV_DEFAULTS = {
    "TELEGRAM_BOT_NAME": "",
    "TELEGRAM_MODE": MODE_WEBHOOK,
    "TELEGRAM_SECRET": "",
    "TELEGRAM_WEBHOOK_URL": "",
    "TELEGRAM_API_BASE": DEFAULT_API_BASE,
}
_ENV_REFERENCE = re.compile(r"^\$\{(\w+)\}$")


def merge_credentials(
    base: str, telegram: str, environ: dict[str, str] | None = None
) -> dict[str, Any]:
    """Merges the Telegram block into the base credentials, for ``--credentials``.

    Rasa reads a single credentials file and fails on any ``${VAR}`` that is unset,
    so the Telegram block lives in its own file, used only when TELEGRAM_TOKEN is
    set. References stay references (no secret is written to disk), except optional
    settings that are unset, which get their default written in.
    """
    import os

    import yaml

    environ = os.environ if environ is None else environ
    if not environ.get("TELEGRAM_TOKEN"):
        raise RasaException(
            "TELEGRAM_TOKEN is not set: there is no Telegram bot to run."
        )

    def read(path: str) -> dict[str, Any]:
        try:
            with open(path, encoding="utf-8") as file:
                return yaml.safe_load(file) or {}
        except FileNotFoundError:
            return {}

    merged = read(base)
    for channel, block in read(telegram).items():
        resolved = {}
        for key, value in (block or {}).items():
            match = _ENV_REFERENCE.match(str(value))
            name = match.group(1) if match else None
            if name in OPTIONAL_ENV_DEFAULTS and name not in environ:
                value = OPTIONAL_ENV_DEFAULTS[name]
            resolved[key] = value
        merged[channel] = resolved
    return merged


async def _status(settings: dict[str, str]) -> dict[str, Any]:
    api = TelegramBotAPI(settings["TELEGRAM_TOKEN"], settings["TELEGRAM_API_BASE"])
    try:
        me = await api.call("getMe")
        info = await api.call("getWebhookInfo")
    finally:
        await api.close()
    return {
        "bot": f"@{me.get('username')}",
        "webhook_url": info.get("url") or "(none: polling or not set)",
        "pending_updates": info.get("pending_update_count"),
        "last_error": info.get("last_error_message"),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line for deployers (used by mk/telegram.mk)."""
    import argparse
    import os

    import yaml

    parser = argparse.ArgumentParser(prog="python -m bot.channels.telegram")
    commands = parser.add_subparsers(dest="command", required=True)
    merge = commands.add_parser("credentials", help="write the merged credentials file")
    merge.add_argument("--base", default="bot/credentials.yml")
    merge.add_argument("--telegram", default="bot/credentials.telegram.yml")
    merge.add_argument("--out", required=True)
    commands.add_parser("status", help="show the bot and its webhook (getWebhookInfo)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "credentials":
            merged = merge_credentials(args.base, args.telegram)
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            with open(args.out, "w", encoding="utf-8") as file:
                file.write(
                    "# Generated by `python -m bot.channels.telegram credentials`.\n"
                )
                yaml.safe_dump(merged, file, sort_keys=False)
            logger.info(f"wrote {args.out}")
        else:
            env = {**OPTIONAL_ENV_DEFAULTS, **os.environ}
            if not env.get("TELEGRAM_TOKEN"):
                raise RasaException("TELEGRAM_TOKEN is not set.")
            for key, value in asyncio.run(_status(env)).items():
                logger.info(f"{key}: {value}")
    except RasaException as error:
        logger.error(str(error))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
