"""Unit tests: deleting one conversation from the tracker stores /forget supports."""

from pathlib import Path

import pytest
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    InMemoryTrackerStore,
    SQLTrackerStore,
    TrackerStore,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered

from bot.channels.telegram import ForgetNotSupported, delete_conversation

pytestmark = pytest.mark.asyncio


async def _save(store: TrackerStore, sender_id: str, text: str) -> None:
    tracker = await store.get_or_create_tracker(sender_id)
    tracker.update(UserUttered(text))
    await store.save(tracker)


async def _check_deletes_only_that_sender(store: TrackerStore) -> None:
    await _save(store, "111", "I have a temperature")
    await _save(store, "111", "on day 5 of capecitabine")
    await _save(store, "222", "what is CAPTEM?")

    assert delete_conversation(store, "111") is True
    assert await store.retrieve("111") is None
    assert await store.retrieve_full_tracker("111") is None
    other = await store.retrieve("222")
    assert other is not None
    assert [e.text for e in other.events if isinstance(e, UserUttered)] == [
        "what is CAPTEM?"
    ]
    assert delete_conversation(store, "111") is False  # nothing left to delete


async def test_in_memory_store() -> None:
    await _check_deletes_only_that_sender(InMemoryTrackerStore(Domain.empty()))


async def test_sql_store(tmp_path: Path) -> None:
    store = SQLTrackerStore(Domain.empty(), db=str(tmp_path / "trackers.db"))
    await _check_deletes_only_that_sender(store)
    with store.session_scope() as session:
        rows = session.query(store.SQLEvent).filter_by(sender_id="111").count()
    assert rows == 0


async def test_sql_store_behind_rasas_wrappers(tmp_path: Path) -> None:
    # agent.tracker_store is FailSafeTrackerStore(<store>), sometimes with an
    # AwaitableTrackerStore in between.
    sql = SQLTrackerStore(Domain.empty(), db=str(tmp_path / "trackers.db"))
    wrapped = FailSafeTrackerStore(AwaitableTrackerStore(sql))
    await _check_deletes_only_that_sender(wrapped)


async def test_unsupported_store_is_reported() -> None:
    class OddStore(TrackerStore):
        async def save(self, tracker):  # type: ignore[no-untyped-def]
            pass

        async def retrieve(self, sender_id):  # type: ignore[no-untyped-def]
            return None

    with pytest.raises(ForgetNotSupported):
        delete_conversation(FailSafeTrackerStore(OddStore(Domain.empty())), "1")
