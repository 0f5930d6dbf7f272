"""The tracker store raises on values the database refuses, never exits (issue 9, row 1)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event

from bot.tracker_store import SafeSQLTrackerStore, SQLiteTrackerStore, TrackerStoreError

SURROGATE = "\ud800x"
NUL = "a\x00b"


def tracker(sender: str) -> DialogueStateTracker:
    out = DialogueStateTracker(sender, [])
    out.update(UserUttered("hello", {"name": "greet", "confidence": 1.0}))
    return out


@pytest.fixture
def store(tmp_path: Path) -> SQLiteTrackerStore:
    return SQLiteTrackerStore(domain=Domain.empty(), db=str(tmp_path / "tracker.db"))


def refuse_nul_like_psycopg2(store: SQLTrackerStore) -> None:
    """psycopg2 raises ValueError for a NUL in a string parameter; SQLite stores it."""

    def check(_conn: Any, _cursor: Any, _sql: str, params: Any, *_: Any) -> None:
        values = params.values() if isinstance(params, dict) else params or ()
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")

    event.listen(store.engine, "before_cursor_execute", check)


async def test_stock_store_exits_on_a_lone_surrogate(tmp_path: Path) -> None:
    """What the fix is for: Rasa's own store calls sys.exit (if this fails, Rasa changed)."""
    stock = SQLTrackerStore(Domain.empty(), db=str(tmp_path / "stock.db"))
    with pytest.raises(SystemExit):
        await stock.retrieve(SURROGATE)


@pytest.mark.parametrize("sender", [SURROGATE, NUL])
async def test_bad_sender_raises_not_exits(
    store: SQLiteTrackerStore, sender: str
) -> None:
    refuse_nul_like_psycopg2(store)
    with pytest.raises(TrackerStoreError) as err:
        await store.retrieve(sender)
    assert sender not in str(err.value)
    with pytest.raises(TrackerStoreError):
        await store.save(tracker(sender))


@pytest.mark.parametrize("sender", [SURROGATE, NUL])
async def test_failsafe_wrapper_keeps_serving(
    store: SQLiteTrackerStore, sender: str
) -> None:
    """As in the Rasa server: the bad message alone falls back, the next one is stored."""
    refuse_nul_like_psycopg2(store)
    wrapped = FailSafeTrackerStore(store)
    assert await wrapped.retrieve(sender) is None
    await wrapped.save(tracker(sender))  # kept in memory for this one conversation
    await wrapped.save(tracker("someone-else"))
    again = await store.retrieve("someone-else")
    assert again is not None and again.latest_message.text == "hello"


async def test_nul_is_stored_on_sqlite(store: SQLiteTrackerStore) -> None:
    await store.save(tracker(NUL))
    assert (await store.retrieve(NUL)).sender_id == NUL


def test_generic_store_takes_a_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'url.db'}"
    store = SafeSQLTrackerStore(Domain.empty(), host=url)
    assert str(store.engine.url) == url


def test_database_files_are_private(store: SQLiteTrackerStore, tmp_path: Path) -> None:
    for path in tmp_path.glob("tracker.db*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
