"""Input hygiene shared by the channels."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rasa.shared.core.events import BotUttered, UserUttered

from bot.channels.guard import (
    check_message,
    clean_text,
    max_message_chars,
    neutralise_commands,
    offered_payloads,
    reply_text,
)


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("  what   is\tCAPTEM?  ", "what is CAPTEM?"),
        ("what\u200b is\u200d CAP\ufeffTEM", "what is CAPTEM"),
        ("\u202ewhat is captem\u202c", "what is captem"),
        ("a\x00b\x07c", "a b c"),
        ("line one\nline two", "line one line two"),
    ],
)
def test_clean_text(raw: str, cleaned: str) -> None:
    assert clean_text(raw) == cleaned


def test_check_message() -> None:
    assert check_message("x" * 2001, 2000).reply == "message_too_long"
    assert check_message("", 2000).reply == "empty_message"
    assert check_message(" \u200b\t ", 2000).reply == "empty_message"
    assert check_message("?!...", 2000).reply == "empty_message"
    assert check_message("🙂", 2000).text == "🙂"
    assert check_message(" what is captem ", 2000).text == "what is captem"


def test_max_message_chars_comes_from_settings() -> None:
    assert 100 <= max_message_chars() <= 20000


def test_reply_texts_come_from_the_kb() -> None:
    for key in ("empty_message", "message_too_long", "text_only"):
        assert reply_text(key)


class FakeStore:
    def __init__(self, events):
        self.events = events

    async def retrieve(self, sender_id):
        return SimpleNamespace(events=self.events) if self.events is not None else None


def agent_with(events):
    return SimpleNamespace(tracker_store=FakeStore(events))


async def test_only_offered_buttons_pass_as_commands() -> None:
    offered = '/ask_what_is{"kb_term": "captem"}'
    events = [
        UserUttered("what can you do"),
        BotUttered(
            "try these", data={"buttons": [{"title": "CAPTEM", "payload": offered}]}
        ),
    ]
    agent = agent_with(events)
    assert await offered_payloads(agent, "u") == {offered}
    assert await neutralise_commands(offered, agent, "u") == offered
    assert await neutralise_commands("/restart", agent, "u") == "restart"
    assert await neutralise_commands('/ask_what_is{"kb_term": "tace"}', agent, "u") == (
        "ask what is tace"
    )
    assert await neutralise_commands("///", agent, "u") == "?"
    assert await neutralise_commands("what is captem", agent, "u") == "what is captem"


async def test_buttons_from_an_earlier_turn_do_not_count() -> None:
    old = "/ask_why_not_chemo"
    events = [
        BotUttered("try", data={"buttons": [{"title": "x", "payload": old}]}),
        UserUttered("something else"),
        BotUttered("answer", data={}),
    ]
    assert await offered_payloads(agent_with(events), "u") == set()
    assert await offered_payloads(agent_with(None), "u") == set()
    assert await offered_payloads(None, "u") == set()
