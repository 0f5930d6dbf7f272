"""Telegram on several instances: buttons, seen updates and the poller in Redis."""

from __future__ import annotations

import redis

from bot.channels.guard import OfferedButtons
from bot.channels.telegram.shared import SharedState, shared_redis
from tests.cluster.conftest import TcpProxy


def two(redis_url: str) -> tuple[SharedState, SharedState]:
    return SharedState(redis.Redis.from_url(redis_url)), SharedState(
        redis.Redis.from_url(redis_url)
    )


def test_not_configured_means_memory_only() -> None:
    assert shared_redis({}) is None
    assert shared_redis({"LOCK_STORE_URL": "memory://"}) is None


def test_a_button_offered_by_one_instance_works_on_the_other(redis_url: str) -> None:
    a, b = two(redis_url)
    data = OfferedButtons(shared=a).offer("tg:42", "/ask_what_is{}")
    other = OfferedButtons(shared=b)
    assert other.payload_of("tg:42", data) == "/ask_what_is{}"
    assert other.payload_of("tg:43", data) is None  # another chat: not offered there
    other.forget("tg:42")
    assert OfferedButtons(shared=a).payload_of("tg:42", data) is None


def test_an_update_is_taken_once(redis_url: str) -> None:
    a, b = two(redis_url)
    assert a.seen(1001) is False
    assert b.seen(1001) is True


def test_only_one_instance_polls(redis_url: str) -> None:
    a, b = two(redis_url)
    assert a.claim_poller()
    assert not b.claim_poller()
    assert a.claim_poller()  # renewing its own claim
    a.release_poller()
    assert b.claim_poller()
    b.release_poller()


def test_redis_away_falls_back_to_memory(redis_url: str) -> None:
    proxy = TcpProxy(6379).start()
    state = SharedState(
        redis.Redis.from_url(redis_url.replace(":6379/", f":{proxy.port}/"))
    )
    proxy.stop()
    buttons = OfferedButtons(shared=state)
    data = buttons.offer("tg:7", "/greet")
    assert buttons.payload_of("tg:7", data) == "/greet"
    assert state.seen(5) is None
