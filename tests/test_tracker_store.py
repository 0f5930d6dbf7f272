"""The tracker store raises on values the database refuses, never exits (issue 9, row 1),
and deletes one conversation on request (delete_conversation, issues 12 and 13)."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import os
import secrets
import socket
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    InMemoryTrackerStore,
    RedisTrackerStore,
    SQLTrackerStore,
    TrackerStore,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event

from bot.lock_store import lock_store_from_url
from bot.tracker_store import (
    WRAPPED_ATTRIBUTE,
    ForgetNotSupported,
    SafeSQLTrackerStore,
    SQLiteTrackerStore,
    TrackerStoreError,
    TrackerStoreUnavailable,
    delete_conversation,
    open_store,
)

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


# --------------------------------------------------------------------------------------
# delete_conversation: every channel's "forget me" (issues 12 and 13)
# --------------------------------------------------------------------------------------

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS_SERVER = "redis://127.0.0.1:6379/15"


def need(service: str, ok: bool) -> None:
    """Skip when ``service`` does not answer on 127.0.0.1; under CI=true, fail."""
    if ok:
        return
    message = f"{service} does not answer on 127.0.0.1 (these deletion tests need it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; required under CI=true")
    pytest.skip(message)


async def said(store: Any, sender: str, *texts: str) -> None:
    """Store a conversation of ``texts`` for ``sender`` through ``store``."""
    for text in texts:
        found = await store.get_or_create_tracker(sender)
        found.update(UserUttered(text))
        await store.save(found)


async def check_deletes_only_that_conversation(store: Any) -> None:
    await said(store, "tg:111", "I have a temperature", "on day 5 of capecitabine")
    await said(store, "web:222", "what is CAPTEM?")

    assert await delete_conversation(store, "tg:111") is True
    assert await store.retrieve("tg:111") is None
    assert await store.retrieve_full_tracker("tg:111") is None
    other = await store.retrieve("web:222")
    assert other is not None
    assert [e.text for e in other.events if isinstance(e, UserUttered)] == [
        "what is CAPTEM?"
    ]
    assert await delete_conversation(store, "tg:111") is False  # nothing left
    # The next message starts a fresh conversation.
    await said(store, "tg:111", "hello again")
    fresh = await store.retrieve("tg:111")
    assert [e.text for e in fresh.events if isinstance(e, UserUttered)] == [
        "hello again"
    ]


def as_the_agent_has_it(store: Any) -> FailSafeTrackerStore:
    """Rasa's agent.tracker_store: FailSafeTrackerStore(AwaitableTrackerStore(store))."""
    return FailSafeTrackerStore(AwaitableTrackerStore(store))


async def test_delete_from_the_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    store = open_store(f"sqlite:///{db}", Domain.empty())
    await check_deletes_only_that_conversation(as_the_agent_has_it(store))
    with sqlite3.connect(db) as conn:  # the rows are gone from the file itself
        texts = [
            row[0]
            for row in conn.execute(
                "SELECT data FROM events WHERE sender_id = 'tg:111'"
            )
        ]
    assert not any("temperature" in text for text in texts)


async def test_delete_from_rasas_stock_sql_store(tmp_path: Path) -> None:
    store = SQLTrackerStore(Domain.empty(), db=str(tmp_path / "stock.db"))
    await check_deletes_only_that_conversation(store)


async def test_delete_from_the_in_memory_store() -> None:
    await check_deletes_only_that_conversation(
        as_the_agent_has_it(InMemoryTrackerStore(Domain.empty()))
    )


async def test_delete_also_clears_the_failsafe_fallback(tmp_path: Path) -> None:
    """Turns kept in memory while the database was away are deleted too."""
    sql = SQLiteTrackerStore(Domain.empty(), db=str(tmp_path / "tracker.db"))
    wrapped = FailSafeTrackerStore(sql)
    await said(wrapped.fallback_tracker_store, "tg:5", "kept in memory")
    await said(sql, "tg:5", "kept in the file")
    assert await delete_conversation(wrapped, "tg:5") is True
    assert await wrapped.fallback_tracker_store.retrieve("tg:5") is None
    assert await sql.retrieve("tg:5") is None


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A database of this test's own on the machine's PostgreSQL, dropped after."""
    from scripts.cluster import drop_database, ensure_database, pg_answers

    need("PostgreSQL (user postgres, port 5432)", pg_answers(f"{PG_SERVER}/postgres"))
    url = f"{PG_SERVER}/netchemo_test_forget_{secrets.token_hex(4)}"
    ensure_database(url)
    try:
        yield url
    finally:
        drop_database(url)


async def test_delete_from_postgresql(pg_url: str) -> None:
    store = open_store(pg_url, Domain.empty())
    try:
        await check_deletes_only_that_conversation(as_the_agent_has_it(store))
        with store.engine.connect() as conn:  # the rows are gone from the database
            texts = conn.execute(
                sa.text("SELECT data FROM events WHERE sender_id = 'tg:111'")
            ).scalars()
            assert not any("temperature" in text for text in texts)
    finally:
        store.engine.dispose()


async def test_unreachable_postgresql_raises_and_keeps_serving() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = open_store(f"postgresql://postgres@127.0.0.1:{port}/none", Domain.empty())
    with pytest.raises(TrackerStoreUnavailable):
        await delete_conversation(as_the_agent_has_it(store), "tg:1")


@pytest.fixture
def redis_client() -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(REDIS_SERVER, socket_timeout=2)
    try:
        client.ping()
    except (redis.exceptions.RedisError, OSError):
        need("Redis (port 6379)", False)
    yield client
    client.close()


async def test_delete_from_a_redis_tracker_store(redis_client: Any) -> None:
    prefix = f"forgettest{secrets.token_hex(4)}"
    store = RedisTrackerStore(
        Domain.empty(), host="127.0.0.1", port=6379, db=15, key_prefix=prefix
    )
    try:
        await check_deletes_only_that_conversation(as_the_agent_has_it(store))
    finally:
        for key in redis_client.scan_iter(f"{prefix}:*"):
            redis_client.delete(key)


async def lock_holds_back_deletion(lock_store: Any, sender: str) -> None:
    """While a turn holds the conversation's lock, deletion waits for it to finish."""
    store = InMemoryTrackerStore(Domain.empty())
    await said(store, sender, "first message")
    turn_done = asyncio.Event()

    async def turn() -> None:  # a message being handled, saved at its end
        async with lock_store.lock(sender):
            await asyncio.sleep(0.3)
            await said(store, sender, "second message")
            turn_done.set()

    handling = asyncio.create_task(turn())
    await asyncio.sleep(0.05)  # the turn has the lock now
    assert await delete_conversation(store, sender, lock_store) is True
    assert turn_done.is_set()  # deletion waited for the turn ...
    assert await store.retrieve(sender) is None  # ... so its save is gone too
    await handling


async def test_delete_waits_for_the_in_memory_lock() -> None:
    await lock_holds_back_deletion(InMemoryLockStore(), "tg:7")


async def test_delete_waits_for_the_redis_lock(redis_client: Any) -> None:
    sender = f"tg:forgettest{secrets.token_hex(4)}"
    lock_store = lock_store_from_url(REDIS_SERVER)
    try:
        await lock_holds_back_deletion(lock_store, sender)
    finally:
        redis_client.delete(lock_store.key_prefix + sender)


async def test_an_unsupported_store_deletes_nothing() -> None:
    class OddStore(TrackerStore):
        async def save(self, tracker: Any) -> None:
            pass

        async def retrieve(self, sender_id: str) -> None:
            return None

    wrapped = FailSafeTrackerStore(OddStore(Domain.empty()))
    await said(wrapped.fallback_tracker_store, "tg:1", "kept")
    with pytest.raises(ForgetNotSupported):
        await delete_conversation(wrapped, "tg:1")
    assert await wrapped.fallback_tracker_store.retrieve("tg:1") is not None
    with pytest.raises(ForgetNotSupported):
        await delete_conversation(None, "tg:1")


def test_rasas_wrappers_still_keep_their_store_where_we_read_it() -> None:
    """bot/tracker_store.py reads Rasa's wrappers' private store attribute: if this
    fails, Rasa changed its wrappers and _stores_behind needs another way in."""
    inner = InMemoryTrackerStore(Domain.empty())
    for wrapper in (AwaitableTrackerStore(inner), FailSafeTrackerStore(inner)):
        assert getattr(wrapper, WRAPPED_ATTRIBUTE) is inner


# sha256 (16 hex digits) of the rasa 3.6.21 code that SafeSQLTrackerStore's save relies on:
# save appends what _additional_events returns, retrieve loads the latest session.
SAVE_SOURCES = {
    "save": "57165e46eab3de08",
    "_additional_events": "d22f99eb863acb07",
    "retrieve": "0d99846daced97d3",
    "_retrieve": "c8adbf6f4b61ddd1",
    "_event_query": "cd44f7901b860bfd",
}


def test_rasas_save_is_the_code_that_was_checked() -> None:
    for name, expected in SAVE_SOURCES.items():
        source = inspect.getsource(getattr(SQLTrackerStore, name))
        digest = hashlib.sha256(source.encode()).hexdigest()[:16]
        assert digest == expected, f"SQLTrackerStore.{name} changed: review the store"


def count_queries(store: SQLTrackerStore) -> list[str]:
    """Record the SQL statements that count rows, as Rasa's save does before appending."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if "count(" in sql.lower():
            seen.append(sql)

    event.listen(store.engine, "before_cursor_execute", record)
    return seen


def stored_texts(db: Path, sender: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'"
            " ORDER BY id",
            (sender,),
        )
        return [json.loads(data)["text"] for (data,) in rows]


async def test_saving_a_loaded_tracker_appends_only_its_new_events(
    tmp_path: Path,
) -> None:
    db = tmp_path / "tracker.db"
    store = SQLiteTrackerStore(Domain.empty(), db=str(db))
    counted = count_queries(store)
    await said(store, "web:1", "what is CAPTEM?", "and FOLFOX?", "thanks")
    # The first save of a new conversation counts as Rasa does; every later one does not.
    assert len(counted) == 1
    assert stored_texts(db, "web:1") == ["what is CAPTEM?", "and FOLFOX?", "thanks"]
    again = await store.retrieve("web:1")
    assert again is not None
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == [
        "what is CAPTEM?",
        "and FOLFOX?",
        "thanks",
    ]


async def test_a_new_session_and_a_copy_are_stored_once(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    store = SQLiteTrackerStore(Domain.empty(), db=str(db))
    await said(store, "web:2", "first")
    loaded = await store.retrieve("web:2")
    assert loaded is not None
    # A copy carries no mark: Rasa's count decides, and nothing is stored twice.
    copy = DialogueStateTracker.from_events("web:2", list(loaded.events))
    copy.update(UserUttered("from a copy"))
    await store.save(copy)
    loaded = await store.retrieve("web:2")
    assert loaded is not None
    loaded.update(SessionStarted())
    loaded.update(UserUttered("second session"))
    await store.save(loaded)
    assert stored_texts(db, "web:2") == ["first", "from a copy", "second session"]
    latest = await store.retrieve("web:2")
    assert latest is not None
    assert [e.text for e in latest.events if isinstance(e, UserUttered)] == [
        "second session"
    ]


async def test_a_conversation_deleted_during_a_turn_is_not_stored_again(
    tmp_path: Path,
) -> None:
    db = tmp_path / "tracker.db"
    store = SQLiteTrackerStore(Domain.empty(), db=str(db))
    await said(store, "tg:3", "I have a temperature")
    in_turn = await store.retrieve("tg:3")
    assert in_turn is not None
    assert await delete_conversation(store, "tg:3") is True
    in_turn.update(UserUttered("what is CAPTEM?"))
    await store.save(in_turn)
    assert stored_texts(db, "tg:3") == ["what is CAPTEM?"]


async def three_sessions(store: Any, sender: str) -> None:
    """A conversation over three sessions, saved turn by turn through ``store``."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet

    for number in range(3):
        tracker = await store.get_or_create_tracker(sender)
        if number:
            tracker.update(SessionStarted())
        tracker.update(
            UserUttered(f"turn {number}", {"name": "greet", "confidence": 1})
        )
        tracker.update(ActionExecuted("utter_greet"))
        tracker.update(BotUttered(f"reply {number}", {"buttons": None}))
        tracker.update(SlotSet("topic", f"t{number}"))
        await store.save(tracker)


async def check_reads_and_writes_as_rasa(ours: Any, rasas: Any) -> None:
    """What one store wrote, the other reads identically, both ways round."""
    await three_sessions(ours, "web:ours")
    await three_sessions(rasas, "web:rasa")
    for sender in ("web:ours", "web:rasa", "web:nobody"):
        for method in ("retrieve", "retrieve_full_tracker"):
            mine = await getattr(ours, method)(sender)
            stock = await getattr(rasas, method)(sender)
            if stock is None:
                assert mine is None
                continue
            assert [e.as_dict() for e in mine.events] == [
                e.as_dict() for e in stock.events
            ]
    columns = "type_name, timestamp, intent_name, action_name, data"
    with rasas.engine.connect() as conn:
        rows = {
            sender: [
                tuple(row)[:-1] + (json.loads(row[-1])["event"],)
                for row in conn.execute(
                    sa.text(f"SELECT {columns} FROM events WHERE sender_id = :s"),
                    {"s": sender},
                )
            ]
            for sender in ("web:ours", "web:rasa")
        }
    shape = [(row[0], row[2], row[3], row[4]) for row in rows["web:rasa"]]
    assert [(row[0], row[2], row[3], row[4]) for row in rows["web:ours"]] == shape
    assert len(shape) == 15 and ("user", "greet", None, "user") in shape


async def test_the_sqlite_store_reads_and_writes_as_rasas(tmp_path: Path) -> None:
    db = str(tmp_path / "tracker.db")
    ours = SQLiteTrackerStore(Domain.empty(), db=db)
    await check_reads_and_writes_as_rasa(ours, SQLTrackerStore(Domain.empty(), db=db))


async def test_the_postgresql_store_reads_and_writes_as_rasas(pg_url: str) -> None:
    ours = open_store(pg_url, Domain.empty())
    url = sa.engine.make_url(pg_url)
    rasas = SQLTrackerStore(
        Domain.empty(),
        dialect="postgresql",
        host=url.host,
        port=url.port,
        db=url.database,
        username=url.username,
    )
    try:
        await check_reads_and_writes_as_rasa(ours, rasas)
    finally:
        ours.engine.dispose()
        rasas.engine.dispose()
