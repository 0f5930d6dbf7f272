"""Input hygiene shared by every channel: clean text, refuse what cannot be read, and stop
typed ``/intent{...}`` commands from steering the bot unless they are buttons it offered.

The typed-command rule (one function, :func:`strip_command`, used by REST, socket.io and
Telegram): a message whose first visible character is a slash or a slash look-alike
(``/``, full-width ``／``, division slash ``∕``, fraction slash ``⁄``, big solidus ``⧸``,
... after NFKC), however many spaces, tabs, new lines or invisible characters stand before
or between the slashes, is a typed command. All its leading slashes go, and Rasa's intent
syntax (``ask_what_is{"kb_term": "captem"}``, ``greet@0.9``) becomes plain words, so the
NLU pipeline and its safety layer read the whole message (``/ /ask_what_is{...} I have a
fever`` reaches NLU as ``ask what is captem I have a fever``). Only the exact payload of a
button the bot offered in its last turn passes unchanged.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Set

from rasa.shared.core.events import BotUttered, UserUttered

from bot.tracker_store import delete_conversation

logger = logging.getLogger(__name__)

DEFAULT_MAX_CHARS = 2000
# Zero-width, bidi-control and other invisible format characters; C0/C1 controls.
INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
WHITESPACE = re.compile(r"\s+")
COMMAND_PREFIX = "/"
# Characters read as a slash at the start of a message (after NFKC, which already maps
# the full-width solidus U+FF0F to "/"): solidus, division slash, fraction slash, big
# solidus, box-drawing diagonal, mathematical rising diagonal, Philippine single
# punctuation, and the combining solidus overlays.
SLASHES = frozenset("/\u2215\u2044\u29f8\u2571\u27cb\u1735\u0337\u0338")
# Blank-looking letters that Unicode does not class as white space or format characters.
_BLANK_LETTERS = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")
# Rasa's intent syntax at the start of a command: name, optional @confidence, optional
# {entities} (https://rasa.com/docs/rasa/3.x/domain#triggering-intents).
_INTENT_NAME = re.compile(r"[^\s{@\[/]+")
_CONFIDENCE = re.compile(r"@[0-9.]+")
_DECODER = json.JSONDecoder()


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


# --------------------------------------------------------------------------------------
# Typed commands
# --------------------------------------------------------------------------------------


def _is_blank(char: str) -> bool:
    """White space, a format/control character, a combining mark or a blank letter."""
    if char.isspace() or char in _BLANK_LETTERS:
        return True
    return unicodedata.category(char) in {"Cf", "Cc", "Mn", "Me", "Zs", "Zl", "Zp"}


def _is_slash(char: str) -> bool:
    return char in SLASHES


def is_command(text: str) -> bool:
    """True if the first visible character of ``text`` is a slash or a look-alike."""
    for char in unicodedata.normalize("NFKC", text):
        if _is_blank(char):
            continue
        return _is_slash(char)
    return False


def _strip_leading(text: str) -> str:
    """Drops every leading slash, blank and invisible character."""
    index = 0
    while index < len(text) and (_is_blank(text[index]) or _is_slash(text[index])):
        index += 1
    return text[index:]


def _scalars(value: Any) -> Iterable[str]:
    """The scalar values inside decoded JSON, as words (keys are dropped)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from _scalars(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def _intent_as_words(text: str) -> str:
    """``ask_what_is{"kb_term": "captem"} rest`` -> ``ask what is captem rest``."""
    match = _INTENT_NAME.match(text)
    name = match.group(0) if match else ""
    rest = text[len(name) :]
    confidence = _CONFIDENCE.match(rest) if name else None
    if confidence:
        rest = rest[confidence.end() :]
    words = [name.replace("_", " ")]
    if rest[:1] in ("{", "["):
        try:
            value, end = _DECODER.raw_decode(rest)
        except (ValueError, RecursionError):
            value, end = None, 0
        if end:
            words.extend(_scalars(value))
            rest = rest[end:]
        else:  # not valid JSON: keep its words, lose its brackets and quotes
            rest = re.sub(r"[{}\[\]\"]", " ", rest)
    elif not confidence:  # no intent syntax after the name: keep the text as typed
        return WHITESPACE.sub(" ", words[0] + rest).strip()
    words.append(rest)
    return WHITESPACE.sub(" ", " ".join(words)).strip()


def strip_command(text: str) -> str:
    """A typed command read as words: no leading slashes, no intent syntax.

    The result never starts with a slash or a look-alike (intent syntax can hide another
    command, e.g. ``/{"x": "/restart"}``, so the rule repeats until nothing is left to
    strip). Text that is not a command comes back unchanged.
    """
    for _ in range(len(text) + 1):  # each round removes at least one character
        if not is_command(text):
            return text
        text = _strip_leading(unicodedata.normalize("NFKC", text))
        text = _intent_as_words(text)
    return ""


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


async def neutralise_commands(
    text: str,
    agent: Any,
    sender_id: str,
    offered: Iterable[str] = (),
) -> str:
    """Typed ``/intent`` text is read as words unless it is a button the bot just offered.

    Args:
        text: the cleaned message (``check_message``).
        agent: the Rasa agent, whose tracker store knows the buttons of the last turn.
        sender_id: the conversation, as Rasa knows it (namespaced).
        offered: payloads the channel itself remembers offering in the last turn.
    """
    if not is_command(text):
        return text
    if text.startswith(COMMAND_PREFIX) and (
        text in set(offered) or text in await offered_payloads(agent, sender_id)
    ):
        return text
    logger.info("typed command neutralised (not an offered button)")
    return strip_command(text) or "?"


def reply_text(key: str) -> str:
    """A fixed sentence from kb/messages.yml, for replies a channel sends by itself."""
    from kb import load_kb

    return load_kb().message(key)


# Fixed sentences (kb/messages.yml) that answer a "forget me" request.
FORGOTTEN = "forgotten"
FORGET_FAILED = "forget_failed"


async def forget_conversation(agent: Any, sender_id: str) -> bool:
    """Deletes the conversation ``sender_id`` (every channel's "forget me").

    Goes through :func:`bot.tracker_store.delete_conversation` with the agent's tracker
    and lock stores. Never raises: False (and the reason in the log) when there is no
    agent or the store could not delete; the channel then sends ``forget_failed``.
    """
    if agent is None or getattr(agent, "tracker_store", None) is None:
        logger.error("forget: no agent with a tracker store")
        return False
    try:
        deleted = await delete_conversation(
            agent.tracker_store, sender_id, getattr(agent, "lock_store", None)
        )
    except Exception:  # the user is told it failed; details in the log
        logger.exception("forget: the conversation could not be deleted")
        return False
    logger.info("conversation deleted on request (anything stored: %s)", deleted)
    return True
