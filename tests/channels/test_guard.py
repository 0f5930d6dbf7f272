"""Input hygiene shared by the channels."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rasa.shared.core.events import BotUttered, UserUttered

from bot.channels.guard import (
    OfferedButtons,
    check_message,
    clean_text,
    max_message_chars,
    neutralise_commands,
    offered_payloads,
    reply_text,
)
from tests.channels.harness import domain_with


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
    for not_text in (None, 42, {"text": "hi"}, ["hi"]):
        assert check_message(not_text, 2000).reply == "text_only"


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
    assert await neutralise_commands(offered, "u", agent=agent) == offered
    assert await neutralise_commands("/restart", "u", agent=agent) == "restart"
    typed = '/ask_what_is{"kb_term": "tace"}'
    assert await neutralise_commands(typed, "u", agent=agent) == "ask what is tace"
    assert await neutralise_commands("///", "u", agent=agent) == "?"
    assert await neutralise_commands("what is captem", "u", agent=agent) == (
        "what is captem"
    )


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


def test_offered_buttons_latest_turn_accumulates_and_clears() -> None:
    buttons = OfferedButtons()
    buttons.offer_all("s1", [{"payload": "/a"}, {"payload": " /b "}, {"payload": ""}])
    buttons.offer("s1", "/c")
    buttons.offer("s2", "/z")
    assert buttons.latest("s1") == {"/a", "/b", "/c"}
    buttons.new_turn("s1")
    assert buttons.latest("s1") == frozenset()
    assert buttons.latest("s2") == {"/z"}


def test_a_click_maps_back_only_to_what_was_offered_there() -> None:
    buttons = OfferedButtons()
    long_payload = '/ask_side_effects{"kb_term": "' + "x" * 200 + '"}'
    data = buttons.offer("tg:1", long_payload)
    assert len(data.encode("utf-8")) <= 64  # fits Telegram's callback_data
    assert buttons.payload_of("tg:1", data) == long_payload
    assert buttons.payload_of("tg:2", data) is None  # offered to tg:1 only
    assert buttons.payload_of("tg:1", "b:forged") is None
    assert buttons.payload_of("tg:1", long_payload) is None  # raw payloads: no
    assert buttons.payload_of("tg:1", None) is None
    assert buttons.offer("tg:1", long_payload) == data  # stable
    buttons.new_turn("tg:1")
    assert buttons.payload_of("tg:1", data) == long_payload  # older keyboards work
    buttons.forget("tg:1")
    assert buttons.payload_of("tg:1", data) is None
    assert buttons.latest("tg:1") == frozenset()


def test_offered_buttons_are_bounded() -> None:
    buttons = OfferedButtons(max_conversations=2, max_per_conversation=3)
    first = buttons.offer("a", "/p0")
    for i in range(1, 4):
        buttons.offer("a", f"/p{i}")
    assert buttons.payload_of("a", first) is None  # oldest payload dropped
    last = buttons.offer("a", "/p3")
    buttons.offer("b", "/x")
    buttons.offer("c", "/y")  # "a" is the least recent conversation: dropped
    assert buttons.payload_of("a", last) is None
    assert buttons.latest("a") == frozenset()
    assert buttons.latest("c") == {"/y"}


def test_shared_buttons_are_asked_when_this_process_does_not_know() -> None:
    class Shared:
        def __init__(self) -> None:
            self.saved: dict = {}

        def save_button(self, conversation: str, token: str, payload: str) -> None:
            self.saved[(conversation, token)] = payload

        def button(self, conversation: str, token: str) -> str | None:
            return self.saved.get((conversation, token))

        def forget_buttons(self, conversation: str) -> None:
            self.saved = {k: v for k, v in self.saved.items() if k[0] != conversation}

    shared = Shared()
    data = OfferedButtons(shared=shared).offer("tg:9", "/greet")
    other_instance = OfferedButtons(shared=shared)
    assert other_instance.payload_of("tg:9", data) == "/greet"
    other_instance.forget("tg:9")
    assert OfferedButtons(shared=shared).payload_of("tg:9", data) is None


def test_reply_text_takes_the_channels_variant(tmp_path, monkeypatch) -> None:
    """A ``channel:`` variant of a channel sentence is what that channel sends."""
    domain_with(
        tmp_path,
        monkeypatch,
        {
            "utter_text_only": [
                {"text": "Text please."},
                {"channel": "telegram", "text": "Text please, Telegram."},
            ]
        },
    )
    assert reply_text("text_only", "telegram") == "Text please, Telegram."
    assert reply_text("text_only", "socketio") == "Text please."
    assert reply_text("text_only") == "Text please."
    with pytest.raises(KeyError):
        reply_text("no_such_sentence", "telegram")
