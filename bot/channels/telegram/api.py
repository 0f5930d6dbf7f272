"""A small Bot API client on aiohttp (``TelegramBotAPI``).

aiogram 2.15, the Telegram library Rasa 3.6 pins, cannot send ``secret_token`` with
``setWebhook``, and aiogram 3 conflicts with Rasa's pydantic: this client is the few
calls the channel needs, with a configurable base URL (the tests' fake Bot API) and
flood-control retries. No error message ever contains the token.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.telegram.org"


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
