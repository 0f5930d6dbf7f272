"""make purge DAYS=N on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import open_store
from scripts.purge import DAY_S, purge


def conversation(sender: str, when: float) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, [])
    tracker.update(
        UserUttered("hi", {"name": "greet", "confidence": 1.0}, timestamp=when)
    )
    return tracker


async def check(url: str) -> None:
    store = open_store(url, Domain.empty())
    now = time.time()
    await store.save(conversation("rest:old", now - 40 * DAY_S))
    await store.save(conversation("rest:new", now - 1 * DAY_S))
    assert purge(url, 30, now=now) == 1
    assert await store.retrieve("rest:old") is None
    assert (await store.retrieve("rest:new")).latest_message.text == "hi"
    assert purge(url, 30, now=now) == 0
    store.engine.dispose()


async def test_purge_sqlite(tmp_path: Path) -> None:
    await check(f"sqlite:///{tmp_path / 'tracker.db'}")


async def test_purge_postgresql(pg_url: str) -> None:
    await check(pg_url)


def test_purge_refuses_negative_days(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        purge(f"sqlite:///{tmp_path / 'x.db'}", -1)
