"""The widget channel over real socket.io connections (python-socketio AsyncClient), served
by tests/widget/fake_bot.py: the real channel in front of a scripted agent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio

from bot import responses
from bot.channels.guard import reply_text
from tests.widget.conftest import FakeBot, Site
from tests.widget.fake_bot import CAPTEM_PAYLOAD

TIMEOUT = 10


class Client:
    """A socket.io client that queues every bot event it gets."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.intros: asyncio.Queue[Any] = asyncio.Queue()  # greeting and disclaimer
        self.forgotten: asyncio.Queue[
            Any
        ] = asyncio.Queue()  # answers to forget_request
        for name in ("bot_uttered", "bot_turn_end", "session_confirm"):
            self.sio.on(name, self._recorder(name))
        self.sio.on("intro", self.intros.put)
        self.sio.on("conversation_forgotten", self.forgotten.put)

    def _recorder(self, name: str) -> Any:
        async def record(data: Any = None) -> None:
            await self.events.put((name, data))

        return record

    async def connect(self, bot: FakeBot, origin: str | None = None) -> Client:
        headers = {"Origin": origin} if origin else {}
        # polling: engineio 4.15's websocket client needs aiohttp>=3.10 (rasa 3.6 pins 3.9)
        await self.sio.connect(
            bot.url, headers=headers, wait_timeout=TIMEOUT, transports=["polling"]
        )
        return self

    async def session(self, session_id: str | None = None, **extra: Any) -> str:
        await self.sio.emit("session_request", {"session_id": session_id, **extra})
        name, data = await self.next_event()
        assert name == "session_confirm"
        return data

    async def say(self, session_id: str, text: str) -> list[Any]:
        """Sends text; returns the bot messages up to the end of the bot's turn."""
        await self.sio.emit("user_uttered", {"message": text, "session_id": session_id})
        messages = []
        while True:
            name, data = await self.next_event()
            if name == "bot_turn_end":
                return messages
            messages.append(data)

    async def next_event(self) -> tuple[str, Any]:
        return await asyncio.wait_for(self.events.get(), TIMEOUT)

    async def close(self) -> None:
        # A graceful polling disconnect waits for the pending long-poll (~30 s): abort it.
        eio = self.sio.eio
        tasks = [t for t in (eio.read_loop_task, eio.write_loop_task) if t]
        await eio.disconnect(abort=True)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def conversation(session_id: str) -> str:
    """The Rasa sender id of a signed widget session id (``web:<key>``)."""
    return "web:" + session_id.split(".")[0]


@pytest.fixture
async def client(fake_bot: FakeBot, site: Site) -> Any:
    c = await Client().connect(fake_bot, origin=site.origins[0])
    yield c
    await c.close()


async def test_session_survives_a_new_socket(fake_bot: FakeBot, site: Site) -> None:
    first = await Client().connect(fake_bot, site.origins[0])
    session_id = await first.session(None)  # issued by the server
    assert await first.say(session_id, "hello") == [{"text": "You said: hello"}]
    await first.close()

    # A reload: new socket, same session id; answers still reach it (the room is entered).
    second = await Client().connect(fake_bot, site.origins[1])
    assert await second.session(session_id) == session_id
    assert await second.say(session_id, "again") == [{"text": "You said: again"}]
    await second.close()
    mine = [
        r["text"]
        for r in fake_bot.received()
        if r["sender"] == conversation(session_id)
    ]
    assert mine == ["hello", "again"]


async def test_sessions_are_isolated(fake_bot: FakeBot, site: Site) -> None:
    a = await Client().connect(fake_bot, site.origins[0])
    b = await Client().connect(fake_bot, site.origins[0])
    sa, sb = await a.session(), await b.session()
    assert sa != sb
    assert await a.say(sa, "only for a") == [{"text": "You said: only for a"}]
    await asyncio.sleep(0.3)
    assert b.events.empty()
    await b.say(sb, "b speaks")
    await a.close()
    await b.close()


async def test_a_bad_session_id_is_replaced(client: Client) -> None:
    confirmed = await client.session("../../not-a-session")
    assert confirmed != "../../not-a-session"
    assert len(confirmed) == 45 and confirmed[22] == "."


async def test_message_for_another_session_is_ignored(
    client: Client, fake_bot: FakeBot, site: Site
) -> None:
    await client.session()
    before = len(fake_bot.received())
    other = await Client().connect(fake_bot, site.origins[0])
    someone_else = await other.session()
    await other.close()
    await client.sio.emit(
        "user_uttered", {"message": "sneaky", "session_id": someone_else}
    )
    await asyncio.sleep(0.5)
    assert len(fake_bot.received()) == before
    assert client.events.empty()


async def test_answer_shapes_follow_the_design(client: Client) -> None:
    session_id = await client.session()
    messages = await client.say(session_id, "what is CAPTEM?")
    texts = [m.get("text") for m in messages]
    # text paragraphs, then the kb_answer custom payload, then the disclaimer
    assert texts[0].startswith("CAPTEM is a chemotherapy")
    custom = [m["custom"] for m in messages if "custom" in m]
    assert len(custom) == 1
    assert custom[0]["kb_answer"]["id"] == "captem"
    assert {"title", "publisher"} <= set(custom[0]["kb_answer"]["sources"][0])
    assert "custom" in messages[-2]
    assert texts[-1].startswith("This is general information, not medical advice")


async def test_connection_from_another_site_is_refused(fake_bot: FakeBot) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        await Client().connect(fake_bot, origin="https://evil.example")


async def test_too_long_message_gets_a_kind_reply_and_is_not_passed_on(
    client: Client, fake_bot: FakeBot
) -> None:
    session_id = await client.session()
    before = len(fake_bot.received())
    messages = await client.say(session_id, "x" * 2001)
    assert messages == [{"text": reply_text("message_too_long", "socketio")}]
    assert len(fake_bot.received()) == before


@pytest.mark.parametrize("text", ["", "   ", "\u200b"])
async def test_empty_message_gets_a_kind_reply(
    client: Client, fake_bot: FakeBot, text: str
) -> None:
    session_id = await client.session()
    before = len(fake_bot.received())
    assert await client.say(session_id, text) == [
        {"text": reply_text("empty_message", "socketio")}
    ]
    assert len(fake_bot.received()) == before


async def test_typed_command_cannot_force_an_intent(
    client: Client, fake_bot: FakeBot
) -> None:
    session_id = await client.session()
    await client.say(session_id, "/restart")
    assert fake_bot.received()[-1] == {
        "sender": conversation(session_id),
        "text": "restart",
    }


async def test_offered_button_payload_passes_only_in_the_next_turn(
    client: Client, fake_bot: FakeBot
) -> None:
    session_id = await client.session()
    offer = await client.say(session_id, "chemo tablets thing")
    payloads = [q["payload"] for q in offer[-1]["quick_replies"]]
    assert CAPTEM_PAYLOAD in payloads

    await client.say(session_id, CAPTEM_PAYLOAD)  # a click on the button
    assert fake_bot.received()[-1]["text"] == CAPTEM_PAYLOAD

    await client.say(session_id, CAPTEM_PAYLOAD)  # no longer offered: read as words
    assert fake_bot.received()[-1]["text"] == "ask what is captem"


async def test_reconnect_gets_the_restored_notice(client: Client) -> None:
    session_id = await client.session()
    await client.session(session_id, reconnected=True)
    name, data = await client.next_event()
    assert (name, data) == (
        "bot_uttered",
        {"text": reply_text("reconnected", "socketio"), "notice": True},
    )


def domain_texts(name: str) -> list[str]:
    """The texts of the domain response ``name`` for the widget, read from the YAML."""
    texts = [
        str(variation["text"]).strip()
        for variation in responses.responses().get(name) or []
        if variation.get("channel") in (None, "socketio")
    ]
    assert texts, f"no {name} in bot/domain"
    return texts


async def test_intro_is_the_domain_greeting_and_disclaimer(client: Client) -> None:
    await client.session()
    intro = await asyncio.wait_for(client.intros.get(), TIMEOUT)
    assert set(intro) == {"greeting", "disclaimer"}
    assert intro["greeting"].strip() in domain_texts("utter_greet")
    assert intro["disclaimer"].strip() in domain_texts("utter_disclaimer")


async def test_forget_deletes_the_stored_conversation_and_starts_afresh(
    client: Client, fake_bot: FakeBot
) -> None:
    old = await client.session()
    await client.say(old, "I have a temperature")
    await client.say(old, "on day 5 of capecitabine")
    stored = fake_bot.stored_texts(conversation(old))
    assert stored == ["I have a temperature", "on day 5 of capecitabine"]

    await client.sio.emit("forget_request", {"session_id": old})
    answer = await asyncio.wait_for(client.forgotten.get(), TIMEOUT)
    assert answer == {"forgotten": True, "text": reply_text("forgotten", "socketio")}
    name, new = await client.next_event()  # a new session for this socket
    assert name == "session_confirm" and new != old
    assert fake_bot.stored_texts(conversation(old)) == []

    assert await client.say(new, "hello") == [{"text": "You said: hello"}]
    assert fake_bot.stored_texts(conversation(new)) == ["hello"]
    assert fake_bot.stored_texts(conversation(old)) == []
    await client.sio.emit("user_uttered", {"message": "old one", "session_id": old})
    await asyncio.sleep(0.3)
    assert fake_bot.stored_texts(conversation(old)) == []  # the old session is left


async def test_forget_for_another_session_is_ignored(
    client: Client, fake_bot: FakeBot, site: Site
) -> None:
    other = await Client().connect(fake_bot, site.origins[0])
    someone_else = await other.session()
    await other.say(someone_else, "my own question")
    await client.session()
    await client.sio.emit("forget_request", {"session_id": someone_else})
    await asyncio.sleep(0.5)
    assert client.forgotten.empty()
    assert fake_bot.stored_texts(conversation(someone_else)) == ["my own question"]
    await other.close()
