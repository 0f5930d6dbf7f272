"""Input hygiene shared by every channel: clean text, refuse what cannot be read, and stop
typed ``/intent{...}`` commands from steering the bot unless they are buttons it offered.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Set

from rasa.shared.core.events import BotUttered, UserUttered

logger = logging.getLogger(__name__)

DEFAULT_MAX_CHARS = 2000
# Zero-width, bidi-control and other invisible format characters; C0/C1 controls.
INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
WHITESPACE = re.compile(r"\s+")
COMMAND_PREFIX = "/"


def max_message_chars() -> int:
    """Maximum message length from config/safety.yml (documented there), or the default."""
    try:
        from bot.settings import load_settings

        return int(load_settings().input.max_message_chars)
    except Exception:  # settings missing or invalid: keep the documented default
        logger.warning(
            "could not read input.max_message_chars; using %d", DEFAULT_MAX_CHARS
        )
        return DEFAULT_MAX_CHARS


def clean_text(text: str) -> str:
    """Normalise Unicode, drop invisible and control characters, fold white space."""
    text = unicodedata.normalize("NFC", text)
    text = INVISIBLE.sub("", text)
    text = CONTROL.sub(" ", text)
    return WHITESPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class Checked:
    """Result of checking one incoming message: text to process, or a reply to send."""

    text: str | None = None
    reply: str | None = None  # key of a kb/messages.yml sentence to send instead


def check_message(text: str, max_chars: int) -> Checked:
    """Refuse over-long or empty messages (with a response name); clean the rest."""
    if len(text) > max_chars:
        return Checked(reply="message_too_long")
    cleaned = clean_text(text)
    if not cleaned or not any(ch.isalnum() or ord(ch) > 0x2000 for ch in cleaned):
        # only punctuation or nothing at all (emoji alone count as content: ord > 0x2000)
        return Checked(reply="empty_message")
    return Checked(text=cleaned)


async def offered_payloads(agent: Any, sender_id: str) -> Set[str]:
    """Payloads of the buttons in the bot's last turn for this conversation."""
    if agent is None or getattr(agent, "tracker_store", None) is None:
        return set()
    tracker = await agent.tracker_store.retrieve(sender_id)
    payloads: Set[str] = set()
    if tracker is None:
        return payloads
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            for button in (event.data or {}).get("buttons") or []:
                if isinstance(button, dict) and button.get("payload"):
                    payloads.add(str(button["payload"]).strip())
    return payloads


async def neutralise_commands(text: str, agent: Any, sender_id: str) -> str:
    """Typed ``/intent`` text is read as words unless it is a button the bot just offered."""
    if not text.startswith(COMMAND_PREFIX):
        return text
    if text in await offered_payloads(agent, sender_id):
        return text
    stripped = text.lstrip(COMMAND_PREFIX).strip()
    logger.info("typed command neutralised (not an offered button)")
    return stripped or "?"


def reply_text(key: str) -> str:
    """A fixed sentence from kb/messages.yml, for replies a channel sends by itself."""
    from kb import load_kb

    return load_kb().message(key)
