"""Issue 9 on the widget's socket.io channel, over real sockets (tests/widget/fake_bot.py):
server-issued signed sessions (row 5), typed commands (row 2), metadata (row 6), rate
limits (row 10). Empty origin lists (row 9) are refused in test_widget_channel_unit.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from bot.channels.guard import reply_text
from tests.widget.conftest import FakeBot, Site, free_port
from tests.widget.test_widget_channel_socket import Client, conversation


def start_bot(
    tmp: Any, site: Site, **env: str
) -> FakeBot:  # a fake bot of its own, with these environment variables
    port = free_port()
    return FakeBot(port, site.origins, tmp / f"fake_bot_{port}.log", env=env).start()


@pytest.fixture(scope="module")
def limited_bot(tmp_path_factory: Any, site: Site) -> Iterator[FakeBot]:
    bot = start_bot(
        tmp_path_factory.mktemp("limited"),
        site,
        RATE_LIMIT_PER_SENDER="3/minute",
        RATE_LIMIT_PER_IP="5/minute",
        RATE_LIMIT_EXEMPT_IPS="",
        RATE_LIMIT_STORAGE_URL="memory://",
    )
    yield bot
    bot.stop()


@pytest.fixture
async def client(fake_bot: FakeBot, site: Site) -> Any:
    c = await Client().connect(fake_bot, origin=site.origins[0])
    yield c
    await c.close()


async def test_forged_session_ids_get_a_fresh_session_and_hear_nothing(
    fake_bot: FakeBot, site: Site
) -> None:
    victim = await Client().connect(fake_bot, site.origins[0])
    session = await victim.session()
    key, signature = session.split(".")
    other_sig = ("A" if signature[0] != "A" else "B") + signature[1:]
    forgeries = [
        f"{key}.{other_sig}",  # right key, wrong signature
        key,  # unsigned
        f"web:{key}",  # the conversation id, as the tracker store knows it
        "0123456789abcdef0123456789abcdef",  # the old client-chosen shape
        "x" * 45,
    ]
    attackers = []
    for forged in forgeries:
        attacker = await Client().connect(fake_bot, site.origins[0])
        confirmed = await attacker.session(forged)
        assert confirmed != forged and confirmed != session
        assert conversation(confirmed) != conversation(session)
        attackers.append(attacker)
    assert await victim.say(session, "private question") == [
        {"text": "You said: private question"}
    ]
    await asyncio.sleep(0.3)
    for attacker in attackers:
        assert attacker.events.empty()  # never joined the victim's room
        await attacker.close()
    await victim.close()


async def test_server_issued_id_is_required_to_send(
    client: Client, fake_bot: FakeBot
) -> None:
    session = await client.session()
    before = len(fake_bot.received())
    key = session.split(".")[0]
    for claimed in (key, f"web:{key}", session + "x"):
        await client.sio.emit("user_uttered", {"message": "hi", "session_id": claimed})
    await asyncio.sleep(0.5)
    assert len(fake_bot.received()) == before


async def test_conversation_id_is_namespaced(client: Client, fake_bot: FakeBot) -> None:
    session = await client.session()
    await client.say(session, "hello")
    sender = fake_bot.received()[-1]["sender"]
    assert sender == "web:" + session.split(".")[0]
    assert session.split(".")[1] not in sender  # the signature is never stored


async def test_sessions_survive_a_restart_only_with_a_secret(
    tmp_path: Any, site: Site
) -> None:
    bot = start_bot(tmp_path, site, WIDGET_SESSION_SECRET="k" * 40)
    try:
        first = await Client().connect(bot, site.origins[0])
        session = await first.session()
        await first.close()
        bot.stop()
        bot.start()
        second = await Client().connect(bot, site.origins[0])
        assert await second.session(session) == session
        assert await second.say(session, "still me") == [{"text": "You said: still me"}]
        await second.close()
    finally:
        bot.stop()


@pytest.mark.parametrize(
    "typed",
    [
        "/ /restart",
        "/\n/restart",
        "/\t/restart",
        "/\u200b/restart",
        "\uff0f\uff0frestart",
        "\u2044restart",
    ],
)
async def test_typed_command_bypasses_are_words(
    client: Client, fake_bot: FakeBot, typed: str
) -> None:
    session = await client.session()
    await client.say(session, typed)
    assert fake_bot.received()[-1]["text"] == "restart"


async def test_fever_after_a_typed_intent_reaches_nlu_as_words(
    client: Client, fake_bot: FakeBot
) -> None:
    session = await client.session()
    typed = '/ /ask_what_is{"kb_term":"captem"} I have a fever of 39 and chest pain'
    await client.say(session, typed)
    assert fake_bot.received()[-1]["text"] == (
        "ask what is captem I have a fever of 39 and chest pain"
    )


async def test_big_or_nested_metadata_is_dropped(
    client: Client, fake_bot: FakeBot
) -> None:
    session = await client.session()
    for metadata in (
        {"junk": "x" * 5000},
        {"a": {"b": 1}},
        {f"k{i}": i for i in range(20)},
    ):
        await client.sio.emit(
            "user_uttered",
            {"message": "hello", "session_id": session, "metadata": metadata},
        )
        while (await client.next_event())[0] != "bot_turn_end":
            pass
        assert "metadata" not in fake_bot.received()[-1]
    await client.sio.emit(
        "user_uttered",
        {"message": "hello", "session_id": session, "metadata": {"page": "/t/1"}},
    )
    while (await client.next_event())[0] != "bot_turn_end":
        pass
    assert fake_bot.received()[-1]["metadata"] == {"page": "/t/1"}


async def test_rate_limit_per_session_sends_a_kind_message(
    limited_bot: FakeBot, site: Site
) -> None:
    c = await Client().connect(limited_bot, site.origins[0])
    try:
        session = await c.session()
        for i in range(3):
            assert await c.say(session, f"q{i}") == [{"text": f"You said: q{i}"}]
        assert await c.say(session, "q3") == [
            {"text": reply_text("too_many_messages", "socketio")}
        ]
        mine = [
            r["text"]
            for r in limited_bot.received()
            if r["sender"] == conversation(session)
        ]
        assert mine == ["q0", "q1", "q2"]  # q3 was not processed
    finally:
        await c.close()


async def test_rate_limit_per_ip_covers_new_sessions(
    limited_bot: FakeBot, site: Site
) -> None:
    # The module's per-IP budget (5) is partly spent by the test above (4 messages).
    c = await Client().connect(limited_bot, site.origins[0])
    try:
        replies = []
        for _ in range(3):
            session = await c.session(None)
            replies.append(await c.say(session, "hello"))
        assert {"text": reply_text("too_many_messages", "socketio")} in [
            r[0] for r in replies
        ]
    finally:
        await c.close()
