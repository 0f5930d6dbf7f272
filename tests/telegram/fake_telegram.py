"""A fake Telegram Bot API server on loopback, for tests.

It answers the Bot API methods the channel uses, records every call, and is
strict where Telegram is strict, so that tests catch what would break for real:

* ``parse_mode=HTML`` text must only use Telegram's tags and entities, with tags
  balanced ("can't parse entities" otherwise);
* message text must be at most 4,096 characters after parsing (UTF-16 units);
* ``callback_data`` must be 1-64 bytes (``BUTTON_DATA_INVALID`` otherwise);
* an unknown token gets 401.

``getUpdates`` long-polls a queue that tests fill with ``enqueue_update``.
Runs in a thread with its own event loop, so tests and a separately started
Rasa server can both reach it. Also usable from the command line::

    python -m tests.telegram.fake_telegram --port 8081 --token 123:TEST
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

TEST_TOKEN = "123456:TEST-token_for-the-fake"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "NET chemo info (test)",
    "username": "net_chemo_test_bot",
}
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "span",
    "tg-spoiler",
    "blockquote",
    "tg-emoji",
}
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")


class EntityParseError(ValueError):
    pass


class _TelegramHTML(HTMLParser):
    """Parses text the way Telegram's HTML mode does (strictly), keeping plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in ALLOWED_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}"')
        if tag == "a" and not dict(attrs).get("href"):
            raise EntityParseError("a tag without href")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise EntityParseError(f'Unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            raise EntityParseError(f"Unsupported entity &{name};")
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(html.unescape(f"&#{name};"))


def parse_telegram_html(text: str) -> str:
    """Returns the visible text of Telegram HTML, or raises EntityParseError."""
    # Telegram rejects a bare "&" or "<" that starts no entity / tag.
    for match in re.finditer(r"&", text):
        if not _ENTITY.match(text, match.start()):
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {match.start()}"
            )
    for match in re.finditer(r"<", text):
        if not re.match(r"</?[a-z-]+(\s[^<>]*)?>", text[match.start() :]):
            raise EntityParseError(f"Unexpected < at offset {match.start()}")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise EntityParseError(f'Unclosed start tag "{parser.stack[-1]}"')
    return "".join(parser.text)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram:
    """The fake server. ``calls`` lists ``{"method", "params", "time"}`` dicts."""

    def __init__(self, token: str = TEST_TOKEN, host: str = "127.0.0.1", port: int = 0):
        self.token = token
        self.host = host
        self.port = port
        self.calls: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] = {}
        self._updates: list[dict[str, Any]] = []
        self._message_ids = itertools.count(1000)
        self._update_ids = itertools.count(1)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._new_update: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self.fail_next: dict[str, dict[str, Any]] = {}  # method -> error body
        self._closing = False
        self.errors: list[
            dict[str, Any]
        ] = []  # calls the fake refused, as Telegram would

    # -- lifecycle -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeTelegram:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("fake Telegram did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._new_update = asyncio.Event()
        self._loop.run_until_complete(self._startup())
        self._started.set()
        self._loop.run_forever()

    async def _startup(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore

    async def _shutdown(self) -> None:
        self._closing = True
        if self._new_update is not None:
            self._new_update.set()  # release long polls
        await asyncio.sleep(0.1)
        if self._runner is not None:
            await self._runner.cleanup()

    # -- test helpers ----------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.errors.clear()

    def calls_to(self, method: str, chat_id: Any = None) -> list[dict[str, Any]]:
        with self._lock:
            calls = list(self.calls)
        return [
            c["params"]
            for c in calls
            if c["method"] == method
            and (chat_id is None or str(c["params"].get("chat_id")) == str(chat_id))
        ]

    def sent_texts(self, chat_id: Any = None) -> list[str]:
        """Visible text of every sendMessage (HTML parsed), in order."""
        texts = []
        for params in self.calls_to("sendMessage", chat_id):
            text = params.get("text", "")
            if params.get("parse_mode") == "HTML":
                text = parse_telegram_html(text)
            texts.append(text)
        return texts

    def wait_for(
        self,
        predicate: Callable[[FakeTelegram], bool],
        timeout: float = 30.0,
        settle: float = 0.0,
    ) -> bool:
        """Waits until ``predicate(self)`` holds (then ``settle`` more seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                if settle:
                    time.sleep(settle)
                return True
            time.sleep(0.05)
        return False

    def enqueue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queues an update for getUpdates (assigns update_id if missing)."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        with self._lock:
            self._updates.append(update)
        if self._loop is not None and self._new_update is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)
        return update

    # -- the API ---------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(dict(await request.post()))
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        with self._lock:
            self.calls.append({"method": method, "params": params, "time": time.time()})
        if method in self.fail_next:
            body = self.fail_next.pop(method)
            return web.json_response(body, status=body.get("error_code", 400))
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        try:
            result = await handler(params)
        except EntityParseError as error:
            return self._refuse(method, params, f"can't parse entities: {error}")
        except _BadRequest as error:
            return self._refuse(method, params, str(error))
        return web.json_response({"ok": True, "result": result})

    def _refuse(self, method: str, params: dict[str, Any], error: str) -> web.Response:
        with self._lock:
            self.errors.append({"method": method, "params": params, "error": error})
        return self._error(400, f"Bad Request: {error}")

    @staticmethod
    def _error(code: int, description: str) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": code, "description": description}, status=code
        )

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = dict(params)
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {}
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        return {"url": self.webhook.get("url", ""), "pending_update_count": 0}

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook.get("url"):
            raise _BadRequest("Conflict: can't use getUpdates while webhook is active")
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = list(self._updates)
            if ready or self._closing or time.monotonic() >= deadline:
                return ready
            assert self._new_update is not None
            self._new_update.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(
                    self._new_update.wait(), max(0.01, deadline - time.monotonic())
                )

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        text = str(params.get("text") or "")
        visible = (
            parse_telegram_html(text) if params.get("parse_mode") == "HTML" else text
        )
        if not visible.strip():
            raise _BadRequest("message text is empty")
        if utf16_len(visible) > 4096:
            raise _BadRequest("message is too long")
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data", "")
                if not 1 <= len(data.encode("utf-8")) <= 64:
                    raise _BadRequest("BUTTON_DATA_INVALID")
        return self._message(params, text=visible, reply_markup=markup)

    async def _api_sendPhoto(self, params: dict[str, Any]) -> Any:
        return self._message(params, photo=[{"file_id": "x"}])

    async def _api_sendChatAction(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        if not params.get("callback_query_id"):
            raise _BadRequest("query is too old and response timeout expired")
        return True

    def _message(self, params: dict[str, Any], **fields: Any) -> dict[str, Any]:
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "from": BOT_USER,
            "chat": {"id": int(params.get("chat_id", 0)), "type": "private"},
        }
        message.update({k: v for k, v in fields.items() if v is not None})
        return message


class _BadRequest(Exception):
    pass


# -- Update builders (real-shaped JSON) ------------------------------------------------

_ids = itertools.count(50_000)


def user(user_id: int = 424242) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Pat", "language_code": "en"}


def private_chat(chat_id: int = 424242) -> dict[str, Any]:
    return {"id": chat_id, "first_name": "Pat", "type": "private"}


def message_update(
    text: str | None = None,
    chat_id: int = 424242,
    chat: dict[str, Any] | None = None,
    update_id: int | None = None,
    **content: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "from": user(chat_id),
        "chat": chat or private_chat(chat_id),
        "date": int(time.time()),
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [
                {"offset": 0, "length": len(command), "type": "bot_command"}
            ]
    message.update(content)
    return {"update_id": update_id or next(_ids), "message": message}


def edited_message_update(text: str, chat_id: int = 424242) -> dict[str, Any]:
    update = message_update(text, chat_id)
    message = update.pop("message")
    message["edit_date"] = message["date"] + 5
    update["edited_message"] = message
    return update


def sticker_update(chat_id: int = 424242) -> dict[str, Any]:
    return message_update(
        None,
        chat_id,
        sticker={
            "file_id": "CAACAgIAAxkBAAE",
            "file_unique_id": "AgADkQADr8ZRGg",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "\U0001F44D",
        },
    )


def callback_update(
    data: str,
    chat_id: int = 424242,
    keyboard: list[list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "from": BOT_USER,
        "chat": private_chat(chat_id),
        "date": int(time.time()),
        "text": "Try one of these:",
    }
    if keyboard is not None:
        message["reply_markup"] = {"inline_keyboard": keyboard}
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": str(next(_ids)),
            "from": user(chat_id),
            "message": message,
            "chat_instance": "-1234567890",
            "data": data,
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=TEST_TOKEN)
    args = parser.parse_args(argv)
    fake = FakeTelegram(args.token, args.host, args.port).start()
    print(f"Fake Telegram Bot API on {fake.base_url} (token {args.token})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
