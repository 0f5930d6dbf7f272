"""The stores chosen by environment, against the real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.lock_store import AtomicRedisLockStore, lock_store_from_url, redis_options
from bot.tracker_store import (
    STORE_UNAVAILABLE,
    EnvTrackerStore,
    PostgreSQLTrackerStore,
    SQLiteTrackerStore,
    TrackerStoreUnavailable,
    tracker_store_url,
)
from tests.cluster.conftest import TcpProxy


def conversation(sender: str, *texts: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, [])
    for text in texts:
        tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}))
    return tracker


def test_url_from_environment() -> None:
    assert tracker_store_url({}) == "sqlite:///var/tracker.db"
    assert tracker_store_url({"TRACKER_DB": "/x/t.db"}) == "sqlite:////x/t.db"
    url = "postgresql://u@h:5432/d"
    assert tracker_store_url({"TRACKER_STORE_URL": url, "TRACKER_DB": "a"}) == url


def test_default_is_the_sqlite_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    store = EnvTrackerStore(Domain.empty(), db=str(tmp_path / "t.db"))
    assert isinstance(store, SQLiteTrackerStore)
    assert (tmp_path / "t.db").exists()


async def test_postgresql_round_trip(pg_url: str, monkeypatch) -> None:
    monkeypatch.setenv("TRACKER_STORE_URL", pg_url)
    store = EnvTrackerStore(Domain.empty(), db="ignored.db")
    assert isinstance(store, PostgreSQLTrackerStore)
    await store.save(conversation("rest:pg", "hello", "again"))
    back = await store.retrieve("rest:pg")
    assert [e.text for e in back.events if isinstance(e, UserUttered)] == [
        "hello",
        "again",
    ]


async def test_unreachable_database_is_flagged_and_recovers(pg_url: str) -> None:
    proxy = TcpProxy(5432).start()
    url = pg_url.replace(":5432/", f":{proxy.port}/")
    store = PostgreSQLTrackerStore(Domain.empty(), url)
    await store.save(conversation("rest:away", "one"))
    proxy.stop()
    STORE_UNAVAILABLE.set(False)
    with pytest.raises(TrackerStoreUnavailable):
        await store.retrieve("rest:away")
    assert STORE_UNAVAILABLE.get()
    assert await FailSafeTrackerStore(store).retrieve("rest:away") is None
    proxy.start()  # back: the pool's pre-ping replaces the dead connections
    back = await store.retrieve("rest:away")
    assert back is not None and back.latest_message.text == "one"
    proxy.stop()


def test_lock_store_from_url(redis_url: str) -> None:
    assert isinstance(lock_store_from_url(""), InMemoryLockStore)
    store = lock_store_from_url(redis_url)
    assert isinstance(store, AtomicRedisLockStore)
    assert redis_options("redis://:pw@h:1/3")["db"] == 3
    with pytest.raises(ValueError):
        redis_options("http://h")


def test_tickets_are_unique_across_instances(redis_url: str) -> None:
    """Two instances (two stores) issuing tickets at once never get the same one."""
    stores = [lock_store_from_url(redis_url) for _ in range(2)]
    got: list = []

    def issue(store: AtomicRedisLockStore) -> None:
        for _ in range(50):
            got.append(store.issue_ticket("rest:race", 60))

    threads = [threading.Thread(target=issue, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(100))
    stores[0].red.delete(stores[0].key_prefix + "rest:race")


async def test_lock_serialises_one_conversation(redis_url: str) -> None:
    stores = [lock_store_from_url(redis_url) for _ in range(2)]
    inside, most = 0, 0

    async def work(store: AtomicRedisLockStore) -> None:
        nonlocal inside, most
        async with store.lock("rest:serial"):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(work(stores[i % 2]) for i in range(20)))
    assert most == 1


async def test_unreachable_redis_lets_the_message_through(redis_url: str) -> None:
    proxy = TcpProxy(6379).start()
    store = lock_store_from_url(redis_url.replace(":6379/", f":{proxy.port}/"))
    proxy.stop()
    async with store.lock("rest:noredis") as held:
        assert held is None  # handled without the lock, no exception
    proxy.start()
    async with store.lock("rest:noredis") as held:
        assert held is not None
    proxy.stop()
