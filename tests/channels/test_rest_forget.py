"""REST "forget me": ``POST /webhooks/rest/forget`` deletes the sender's conversation
from the real tracker store (SQLite here; bot.tracker_store.delete_conversation)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered

from bot import responses
from bot.tracker_store import SQLiteTrackerStore

TOKEN = "a-rest-token-of-some-length"


async def said(store: Any, sender: str, text: str) -> None:
    tracker = await store.get_or_create_tracker(sender)
    tracker.update(UserUttered(text))
    await store.save(tracker)


async def test_forget_deletes_only_that_senders_conversation(
    rest_server: Callable[..., Any], tmp_path: Path
) -> None:
    server = await rest_server()
    store = FailSafeTrackerStore(
        SQLiteTrackerStore(Domain.empty(), db=str(tmp_path / "tracker.db"))
    )
    server.app.ctx.agent = SimpleNamespace(
        tracker_store=store, lock_store=InMemoryLockStore()
    )
    await said(store, "rest:alice", "I have a temperature")
    await said(store, "rest:bob", "what is CAPTEM?")

    status, body, _ = await server.post({"sender": "alice"}, route="forget")
    assert status == 200
    assert body == [
        {
            "recipient_id": "alice",
            "text": responses.message("forgotten"),
            "custom": {"forgotten": True},
        }
    ]
    assert await store.retrieve("rest:alice") is None
    assert await store.retrieve("rest:bob") is not None
    # Another channel's conversation of the same id is never touched.
    await said(store, "tg:alice", "kept")
    await server.post({"sender": "alice"}, route="forget")
    assert await store.retrieve("tg:alice") is not None


async def test_forget_that_fails_says_so_without_a_5xx(
    rest_server: Callable[..., Any],
) -> None:
    class OddStore(TrackerStore):
        async def save(self, tracker: Any) -> None:
            pass

        async def retrieve(self, sender_id: str) -> None:
            return None

    server = await rest_server()
    server.app.ctx.agent = SimpleNamespace(
        tracker_store=FailSafeTrackerStore(OddStore(Domain.empty())),
        lock_store=InMemoryLockStore(),
    )
    status, body, _ = await server.post({"sender": "alice"}, route="forget")
    assert status == 200
    assert body[0]["text"] == responses.message("forget_failed")
    assert body[0]["custom"] == {"forgotten": False}


async def test_forget_has_the_same_checks_as_messages(
    rest_server: Callable[..., Any],
) -> None:
    server = await rest_server(token=TOKEN)
    status, _, _ = await server.post({"sender": "alice"}, route="forget")
    assert status == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, body, _ = await server.post({"sender": "a b"}, auth, route="forget")
    assert status == 400 and "sender" in body["reason"]
    status, body, _ = await server.post({"sender": "alice"}, auth, route="forget")
    assert status == 200 and body[0]["custom"] == {"forgotten": False}  # no store


async def test_a_button_the_bot_offered_passes_once_as_a_command(
    rest_server: Callable[..., Any],
) -> None:
    """REST remembers the buttons of its latest reply (bot.channels.guard)."""
    payload = '/ask_what_is{"kb_term":"captem"}'
    server = await rest_server()
    await server.post({"sender": "alice", "message": payload})
    assert server.seen[-1].text == "ask what is captem"  # nothing offered yet
    server.offer = [{"title": "CAPTEM", "payload": payload}]
    await server.post({"sender": "alice", "message": "chemo tablets thing"})
    server.offer = []
    await server.post({"sender": "bob", "message": payload})
    assert server.seen[-1].text == "ask what is captem"  # offered to alice only
    await server.post({"sender": "alice", "message": payload})
    assert server.seen[-1].text == payload  # the click on the button
    await server.post({"sender": "alice", "message": payload})
    assert server.seen[-1].text == "ask what is captem"  # that turn offered nothing
