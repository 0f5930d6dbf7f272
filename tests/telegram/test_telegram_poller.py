"""Long polling on several instances, against the machine's real Redis (own db, flushed).

Only the instance holding ``tg:poller`` polls. It gives the claim up when it stops, and a
waiting or restarted instance takes over: at once after a clean stop, and once the claim
expires after a crash (review of issue 13, item 3).
"""

from __future__ import annotations

from typing import Any

import pytest
import redis

from bot.channels.telegram import channel as telegram_channel
from bot.channels.telegram.shared import POLLER_KEY
from tests.telegram.conftest import ChannelServer, credentials, wait_until
from tests.telegram.fake_telegram import FakeTelegram


@pytest.fixture
def red(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TELEGRAM_REDIS_URL", redis_url)
    monkeypatch.setattr(telegram_channel, "POLLER_RETRY_S", 0.1)
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def polling(fake: FakeTelegram) -> ChannelServer:
    return ChannelServer(credentials(fake, mode="polling", secret=""))


def holder(red: Any) -> str | None:
    raw = red.get(POLLER_KEY)
    return raw.decode() if raw is not None else None


async def test_a_stopped_poller_releases_its_claim_for_the_next_instance(
    red: Any, fake_telegram: FakeTelegram
) -> None:
    first = polling(fake_telegram)
    await first.start()
    assert first.channel.shared is not None
    assert await wait_until(lambda: holder(red) == first.channel.shared.instance)
    await first.stop()
    assert holder(red) is None

    restarted = polling(fake_telegram)  # a new process: a new instance id
    await restarted.start()
    try:
        assert restarted.channel.shared is not None
        assert await wait_until(
            lambda: holder(red) == restarted.channel.shared.instance
        )
        fake_telegram.reset()
        assert await wait_until(lambda: fake_telegram.calls_to("getUpdates"))
    finally:
        await restarted.stop()


async def test_a_waiting_instance_takes_over_when_a_dead_pollers_claim_expires(
    red: Any, fake_telegram: FakeTelegram
) -> None:
    red.set(POLLER_KEY, "killed-instance", ex=1)  # a poller that died without release
    waiting = polling(fake_telegram)
    await waiting.start()
    try:
        assert waiting.channel.shared is not None
        assert holder(red) == "killed-instance"
        assert fake_telegram.calls_to("getUpdates") == []  # it does not poll yet
        assert await wait_until(
            lambda: holder(red) == waiting.channel.shared.instance, timeout=10
        )
        assert await wait_until(lambda: fake_telegram.calls_to("getUpdates"))
    finally:
        await waiting.stop()
    assert holder(red) is None


async def test_the_instance_that_polls_keeps_its_claim_from_others(
    red: Any, fake_telegram: FakeTelegram
) -> None:
    first, second = polling(fake_telegram), polling(fake_telegram)
    await first.start()
    await second.start()
    try:
        assert first.channel.shared is not None
        assert await wait_until(lambda: holder(red) == first.channel.shared.instance)
        await second.stop()  # the waiting one stops: the poller's claim stays
        assert holder(red) == first.channel.shared.instance
    finally:
        await first.stop()
