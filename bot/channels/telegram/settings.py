"""The Telegram channel's settings, read and checked from its credentials block
(bot/credentials.telegram.yml, values from ``TELEGRAM_*`` environment variables)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from rasa.shared.exceptions import RasaException

from bot.channels.telegram.api import DEFAULT_API_BASE
from bot.channels.telegram.formatting import MAX_MESSAGE_LENGTH

logger = logging.getLogger(__name__)

MODE_WEBHOOK = "webhook"
MODE_POLLING = "polling"
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


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
    def from_credentials(cls, credentials: dict[str, Any]) -> TelegramSettings:
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
