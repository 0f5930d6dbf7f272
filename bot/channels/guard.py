"""What every channel (REST, socket.io, Telegram) does with what a user sends, in one place.

* **Input checks** (:func:`check_message`): anything but text gets the ``text_only``
  sentence, over-long messages ``message_too_long``, empty or punctuation-only ones
  ``empty_message`` (sentences of bot/domain/channels.yml, read with :func:`reply_text`); the rest
  is cleaned (Unicode normalised, invisible and control characters dropped, white space
  folded).
* **Typed commands** (:func:`strip_command`, :func:`neutralise_commands`): a message whose
  first visible character is a slash or a slash look-alike (``/``, full-width ``／``,
  division slash ``∕``, fraction slash ``⁄``, big solidus ``⧸``, ... after NFKC), however
  many spaces, tabs, new lines or invisible characters stand before or between the
  slashes, is a typed command. All its leading slashes go, and Rasa's intent syntax
  (``ask_what_is{"kb_term": "captem"}``, ``greet@0.9``) becomes plain words, so the NLU
  pipeline and its safety layer read the whole message (``/ /ask_what_is{...} I have a
  fever`` reaches NLU as ``ask what is captem I have a fever``). Only the exact payload
  of a button the bot offered in its latest turn passes unchanged.
* **Offered buttons** (:class:`OfferedButtons`): per conversation, the payloads of the
  bot's latest turn (the only commands a user may send back) and a short token for each
  payload offered recently (Telegram's ``callback_data``), so that a click maps back to a
  payload the bot really offered. The tracker is the fallback after a restart or on
  another instance (:func:`offered_payloads`).
* **Forget me** (:func:`forget_conversation`): the conversation is deleted through
  :func:`bot.tracker_store.delete_conversation`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException

from bot import responses
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
    reply: str | None = (
        None  # key of a bot/domain/channels.yml sentence to send instead
    )


TEXT_ONLY = "text_only"
TOO_LONG = "message_too_long"
EMPTY = "empty_message"


def check_message(text: Any, max_chars: int) -> Checked:
    """Refuse what is not text, over-long or empty (with a sentence key); clean the rest."""
    if not isinstance(text, str):
        return Checked(reply=TEXT_ONLY)
    if len(text) > max_chars:
        return Checked(reply=TOO_LONG)
    cleaned = clean_text(text)
    if not cleaned or not any(ch.isalnum() or ord(ch) > 0x2000 for ch in cleaned):
        # only punctuation or nothing at all (emoji alone count as content: ord > 0x2000)
        return Checked(reply=EMPTY)
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


# --------------------------------------------------------------------------------------
# Offered buttons
# --------------------------------------------------------------------------------------


class SharedButtons(Protocol):
    """Where several instances keep button tokens (bot/channels/telegram/shared.py)."""

    def save_button(self, conversation: str, token: str, payload: str) -> None:
        ...

    def button(self, conversation: str, token: str) -> str | None:
        ...

    def forget_buttons(self, conversation: str) -> None:
        ...


class OfferedButtons:
    """The buttons the bot offered, per conversation (bounded, least recent dropped).

    * :meth:`latest`: the payloads of the bot's latest turn. A channel calls
      :meth:`new_turn` when a user message starts a turn and :meth:`offer` for each
      button the bot sends; :func:`neutralise_commands` lets only these pass as commands.
    * :meth:`offer` also returns a short token (``b:`` + 12 characters, within
      Telegram's 64-byte ``callback_data``) that :meth:`payload_of` maps back to the
      payload, for the last ``max_per_conversation`` payloads offered in that
      conversation: a click on an older message's button still works, a forged or
      another conversation's token does not. With ``shared`` (Redis), tokens work on
      every instance.
    """

    CLICK_PREFIX = "b:"

    def __init__(
        self,
        max_conversations: int = 10_000,
        max_per_conversation: int = 64,
        shared: SharedButtons | None = None,
    ) -> None:
        self.max_conversations = max_conversations
        self.max_per_conversation = max_per_conversation
        self.shared = shared
        self._latest: OrderedDict[str, frozenset[str]] = OrderedDict()
        self._tokens: OrderedDict[str, OrderedDict[str, str]] = OrderedDict()

    @staticmethod
    def token(payload: str) -> str:
        """The 12-character token of ``payload`` (stable, so offering twice is fine)."""
        digest = hashlib.sha256(payload.encode("utf-8")).digest()
        return base64.urlsafe_b64encode(digest[:9]).decode("ascii")

    def _bounded(self, table: OrderedDict, key: str, default: Any) -> Any:
        value = table.pop(key, default)
        table[key] = value
        while len(table) > self.max_conversations:
            table.popitem(last=False)
        return value

    def offer(self, conversation: str, payload: str) -> str:
        """Records ``payload`` as offered now; returns its ``b:<token>`` click data."""
        payload = payload.strip()
        latest = self._bounded(self._latest, conversation, frozenset())
        self._latest[conversation] = latest | {payload}
        tokens = self._bounded(self._tokens, conversation, OrderedDict())
        token = self.token(payload)
        tokens.pop(token, None)
        tokens[token] = payload
        while len(tokens) > self.max_per_conversation:
            tokens.popitem(last=False)
        if self.shared is not None:
            self.shared.save_button(conversation, token, payload)
        return self.CLICK_PREFIX + token

    def offer_all(self, conversation: str, buttons: Iterable[Any]) -> None:
        """Records the payloads of Rasa button dicts (``{"title", "payload"}``)."""
        for button in buttons:
            if isinstance(button, dict) and str(button.get("payload") or "").strip():
                self.offer(conversation, str(button["payload"]))

    def latest(self, conversation: str) -> frozenset[str]:
        """The payloads offered in the bot's latest turn of ``conversation``."""
        return self._latest.get(conversation, frozenset())

    def new_turn(self, conversation: str) -> None:
        """A user message starts a turn: earlier buttons no longer pass when typed."""
        self._latest.pop(conversation, None)

    def payload_of(self, conversation: str, data: str | None) -> str | None:
        """The payload behind click data from :meth:`offer`, if offered here."""
        if not data or not data.startswith(self.CLICK_PREFIX):
            return None
        token = data[len(self.CLICK_PREFIX) :]
        tokens = self._tokens.get(conversation)
        found = tokens.get(token) if tokens is not None else None
        if found is None and self.shared is not None:  # offered by another instance
            found = self.shared.button(conversation, token)
        return found

    def forget(self, conversation: str) -> None:
        """Drops everything kept for ``conversation`` (its conversation was deleted)."""
        self._latest.pop(conversation, None)
        self._tokens.pop(conversation, None)
        if self.shared is not None:
            self.shared.forget_buttons(conversation)


async def offered_payloads(agent: Any, conversation: str) -> set[str]:
    """Payloads of the buttons in the bot's last turn, as the tracker store has them."""
    if agent is None or getattr(agent, "tracker_store", None) is None:
        return set()
    tracker = await agent.tracker_store.retrieve(conversation)
    payloads: set[str] = set()
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
    conversation: str,
    buttons: OfferedButtons | None = None,
    agent: Any = None,
) -> str:
    """Typed ``/intent`` text is read as words unless it is a button the bot just offered.

    Args:
        text: the cleaned message (``check_message``).
        conversation: the conversation, as Rasa knows it (namespaced).
        buttons: what this channel offered (its latest turn passes).
        agent: the Rasa agent, whose tracker knows the buttons of the last turn when
            this process does not (a restart, another instance). Telegram passes neither
            ``buttons`` nor ``agent``: its buttons come back as click data, so every
            typed command there is read as words.
    """
    if not is_command(text):
        return text
    if text.startswith(COMMAND_PREFIX) and (
        (buttons is not None and text in buttons.latest(conversation))
        or text in await offered_payloads(agent, conversation)
    ):
        return text
    logger.info("typed command neutralised (not an offered button)")
    return strip_command(text) or "?"


# --------------------------------------------------------------------------------------
# Fixed replies, domain responses outside a turn, and "forget me"
# --------------------------------------------------------------------------------------


def reply_text(key: str, channel: str | None = None, **values: Any) -> str:
    """A fixed sentence a channel sends by itself: the domain response ``utter_<key>``
    (bot/domain/channels.yml and others), with the ``channel:`` variant for ``channel``
    (the output channel's ``name()``, as Rasa's NLG picks it) if the domain has one.

    Raises:
        KeyError: if the domain has no such response, or a placeholder has no value.
    """
    return responses.message(key, channel, **values)


async def render_response(
    agent: Any, name: str, conversation: str, channel: str
) -> dict[str, Any]:
    """The domain response ``name`` as ``channel`` shows it, outside a turn.

    Rendered by the agent's NLG (so ``channel:`` variants and slot defaults such as the
    helpline apply) for a new, empty conversation: what Telegram's ``/start`` adds and
    what the widget shows as its greeting and disclaimer.

    Raises:
        RasaException: there is no loaded agent, its domain lacks ``name``, or the
            response renders no text.
    """
    domain = getattr(agent, "domain", None)
    if domain is None or getattr(agent, "nlg", None) is None:
        raise RasaException(f"no loaded agent to render '{name}'")
    if name not in domain.responses:
        raise RasaException(f"the domain has no response '{name}'")
    tracker = DialogueStateTracker(conversation, domain.slots)
    message = await agent.nlg.generate(name, tracker, channel)
    if not message or not str(message.get("text") or "").strip():
        raise RasaException(f"response '{name}' rendered no text")
    return dict(message)


# Fixed sentences (bot/domain/channels.yml) that answer a "forget me" request.
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
