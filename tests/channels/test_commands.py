"""Issue 9 row 2: one typed-command rule for every channel (``guard.strip_command``).

Each bypass below reached Rasa as a ``/intent`` before (``lstrip("/")`` left the second
slash); now they reach NLU as plain words, and offered buttons still pass unchanged.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rasa.shared.core.events import BotUttered, UserUttered

from bot.channels.guard import (
    OfferedButtons,
    check_message,
    is_command,
    neutralise_commands,
    strip_command,
)

FEVER = '/ /ask_what_is{"kb_term":"captem"} I have a fever of 39 and chest pain'
BYPASSES = [
    "/ /restart",
    "/\n/restart",
    "/\t/restart",
    "/\t\n /restart",
    "/\u200b/restart",
    "/\u200b\u200c\u200d\u2060/restart",
    "\u200b/restart",
    "\ufeff / /restart",
    "\uff0frestart",
    "\uff0f \uff0frestart",
    "\u2215restart",
    "\u2044 /restart",
    "\u29f8/restart",
    "/\u3164/restart",
    "//restart",
    "/ / / /restart",
    '/{"x": "/restart"}',
    "/restart@0.99",
]


class FakeStore:
    def __init__(self, events):
        self.events = events

    async def retrieve(self, sender_id):
        return SimpleNamespace(events=self.events)


def as_rasa_sees_it(raw: str) -> str:
    """What a channel passes on: the cleaned text, then the command rule."""
    checked = check_message(raw, 2000)
    assert checked.text is not None
    return checked.text


@pytest.mark.parametrize("raw", BYPASSES)
async def test_typed_commands_reach_nlu_as_words(raw: str) -> None:
    text = await neutralise_commands(as_rasa_sees_it(raw), "rest:u")
    assert text == "restart"


@pytest.mark.parametrize("raw", BYPASSES + [FEVER])
def test_no_slash_survives_the_rule(raw: str) -> None:
    out = strip_command(raw)
    assert not is_command(out)
    assert not out.lstrip().startswith("/")


async def test_fever_after_a_typed_intent_is_plain_words() -> None:
    text = await neutralise_commands(as_rasa_sees_it(FEVER), "rest:u")
    assert text == "ask what is captem I have a fever of 39 and chest pain"


def test_other_intent_syntax_becomes_words() -> None:
    assert strip_command("/greet@0.9 hello") == "greet hello"
    assert strip_command('/ask_is_chemo{"kb_term": ["prrt", "tace"]}') == (
        "ask is chemo prrt tace"
    )
    assert strip_command("/ask_what_is{not json} fever") == "ask what is not json fever"
    assert strip_command("/" + "[" * 1500) == ""  # too deep for JSON: brackets dropped


@pytest.mark.parametrize(
    "text", ["what is captem", "is 5/10 pain bad", "a/b", "1/2 tablet", "🙂"]
)
def test_ordinary_messages_are_untouched(text: str) -> None:
    assert not is_command(text)
    assert strip_command(text) == text


async def test_offered_button_payload_passes_unchanged() -> None:
    payload = '/ask_what_is{"kb_term":"captem"}'
    events = [
        UserUttered("chemo tablets thing"),
        BotUttered("Did you mean?", data={"buttons": [{"payload": payload}]}),
    ]
    agent = SimpleNamespace(tracker_store=FakeStore(events))
    assert await neutralise_commands(payload, "web:s", agent=agent) == payload
    buttons = OfferedButtons()
    buttons.offer("web:s", payload)
    assert await neutralise_commands(payload, "web:s", buttons) == payload
    # a look-alike of the offered payload is typed text, not the button
    look_alike = "/ " + payload
    assert await neutralise_commands(look_alike, "web:s", buttons, agent) == (
        "ask what is captem"
    )
    # offered to another conversation, or in an earlier turn: words
    assert await neutralise_commands(payload, "web:t", buttons) == "ask what is captem"
    buttons.new_turn("web:s")
    assert await neutralise_commands(payload, "web:s", buttons) == "ask what is captem"


@pytest.mark.parametrize("raw", BYPASSES)
async def test_without_buttons_every_command_is_words(raw: str) -> None:
    """Telegram's case: its buttons come back as click data, never as typed text."""
    assert await neutralise_commands(as_rasa_sees_it(raw), "tg:1") == "restart"
