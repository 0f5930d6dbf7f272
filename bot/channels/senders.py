"""Sender ids: what a channel accepts from a client, and how it names the conversation.

Accepted sender ids (REST ``sender``, Telegram chat ids, widget session keys) are 1 to
128 characters from ``A-Z a-z 0-9 _ . : @ -``: valid UTF-8 by construction (no lone
surrogates), no white space, no control characters, no NUL. Anything else is refused by
the channel (REST: HTTP 400) and never reaches the tracker store.

Conversations belong to one channel: each channel prefixes the client's id before Rasa
sees it (``rest:``, ``web:``, ``tg:``), so a REST client that sends ``sender: "tg:42"``
talks to ``rest:tg:42``, never to Telegram chat 42, and cannot continue a widget session.
Channels still show a client its own id (REST's ``recipient_id``).
"""

from __future__ import annotations

import re
from typing import Any

MAX_SENDER_CHARS = 128
SENDER_CHARSET = "A-Z a-z 0-9 _ . : @ -"
SENDER_PATTERN = re.compile(rf"[A-Za-z0-9_.:@-]{{1,{MAX_SENDER_CHARS}}}")

REST_PREFIX = "rest:"
WIDGET_PREFIX = "web:"
TELEGRAM_PREFIX = "tg:"


def valid_sender(value: Any) -> str | None:
    """``value`` if it is an acceptable sender id (see module docstring), else None."""
    if isinstance(value, str) and SENDER_PATTERN.fullmatch(value):
        return value
    return None


def namespaced(prefix: str, sender: str) -> str:
    """The conversation id Rasa sees for ``sender`` on the channel with ``prefix``.

    Raises:
        ValueError: ``sender`` is not a valid sender id (callers validate first).
    """
    if valid_sender(sender) is None:
        raise ValueError("invalid sender id")
    return prefix + sender


def local_id(prefix: str, conversation_id: str) -> str:
    """The client's own id inside ``conversation_id`` (the reverse of ``namespaced``)."""
    if conversation_id.startswith(prefix):
        return conversation_id[len(prefix) :]
    return conversation_id
