"""scripts/bench: the simulated users against a small REST server on loopback, and the
report's tables."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from scripts.bench import load
from scripts.bench.load import TURNS_PER_CONVERSATION, Level, run_level, run_open_loop
from scripts.bench.report import report, report_cluster, targets


class FakeBot:
    """A REST webhook that records senders and fails every ``fail_every``-th message."""

    def __init__(self, fail_every: int = 0) -> None:
        self.messages: list[dict] = []
        self.fail_every = fail_every

    async def webhook(self, request: web.Request) -> web.Response:
        self.messages.append(await request.json())
        if self.fail_every and len(self.messages) % self.fail_every == 0:
            return web.json_response({"error": "x"}, status=500)
        await asyncio.sleep(0.002)
        return web.json_response([{"text": "ok"}])


async def serve(bot: FakeBot) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", bot.webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/webhooks/rest/webhook"
    finally:
        await runner.cleanup()


async def closed_loop(bot: FakeBot, users: int, seconds: float) -> Level:
    async for url in serve(bot):
        return await run_level(url, ["q1", "q2", "q3"], users, seconds)
    raise AssertionError("unreachable")


def test_closed_loop_counts_answers_errors_and_conversations() -> None:
    bot = FakeBot(fail_every=5)
    level = asyncio.run(closed_loop(bot, users=3, seconds=0.5))
    assert level.messages + level.errors == len(bot.messages) > 10
    assert level.errors == len(bot.messages) // 5
    assert len(level.latencies_ms) == level.messages and level.rate > 0
    # a user starts a new conversation every TURNS_PER_CONVERSATION messages
    per_user = [m for m in bot.messages if m["sender"].split("-")[-2] == "0"]
    senders = [m["sender"] for m in per_user]
    assert len(set(senders[:TURNS_PER_CONVERSATION])) == 1
    if len(senders) > TURNS_PER_CONVERSATION:
        assert senders[TURNS_PER_CONVERSATION] != senders[0]
    # users start at different questions
    firsts = {m["message"] for m in bot.messages[:3]}
    assert len(firsts) == 3


def test_open_loop_sends_at_the_pace_it_is_given(monkeypatch) -> None:
    monkeypatch.setattr(load, "HUMAN_PACE_S", (0.05, 0.1))
    bot = FakeBot()

    async def go() -> Level:
        async for url in serve(bot):
            return await run_open_loop(url, ["q"], users=4, seconds=0.6)
        raise AssertionError("unreachable")

    level = asyncio.run(go())
    assert level.errors == 0 and level.messages == len(bot.messages)
    # 4 users, one message per 0.05-0.1 s each, for 0.6 s: between 8 and 60 messages
    assert 8 <= level.messages <= 60


def test_percentiles() -> None:
    level = Level(
        users=1,
        messages=100,
        seconds=10.0,
        latencies_ms=[float(i) for i in range(1, 101)],
    )
    assert (level.pct(50), level.pct(95), level.pct(99), level.rate) == (
        51.0,
        96.0,
        100.0,
        10.0,
    )
    assert math.isnan(Level(users=1).pct(50))


def figures(rate: float, p50: float, human: dict | None = None) -> dict:
    row = {
        "users": 1,
        "msg_per_s": rate,
        "p50_ms": p50,
        "p95_ms": p50 * 2,
        "p99_ms": p50 * 3,
    }
    out = {"cold_start_s": 10.0, "parse_ms": 5.0, "rss_mb": 500.0, "levels": [row]}
    if human:
        out["human_pace"] = human
    return out


def test_report_tables_and_targets() -> None:
    ours, stock = figures(20.0, 40.0), figures(10.0, 50.0)
    text = report(ours, stock, "test machine")
    assert "| 1 | 20.0 | 10.0 | 2.00 | 40 | 50 | 80 | 100 | 120 | 150 |" in text
    assert "| cold start to first answer (s) | 10.0 | 10.0 | 1.00 |" in text
    assert targets(ours, stock, 1) == [
        "target single-user p50 <= stock: 40 vs 50 ms: met",
        "target embedded msg/s at 1 users >= 1.5x stock: 2.00x: met",
    ]
    assert "NOT met" in targets(stock, ours, 1)[0]
    # 1.4x stock is over stock but under the 1.5x target
    assert targets(figures(14.0, 40.0), stock, 1)[1].endswith("1.40x: NOT met")
    # the cluster: 2x stock's msg/s with p95 at most half of stock's
    fast, slow_p95 = figures(25.0, 20.0), figures(25.0, 40.0)
    assert targets(ours, stock, 1, fast)[2].endswith("2.50x, p95 0.40x: met")
    assert targets(ours, stock, 1, slow_p95)[2].endswith("2.50x, p95 0.80x: NOT met")


def test_cluster_report_says_whether_the_limit_was_found() -> None:
    row = {"users": 300, "msg_per_s": 20.0, "p50_ms": 50.0, "p95_ms": 90.0, "errors": 0}
    human = {"users_at_p95_1s": 300, "limit_found": False, "levels": [row]}
    text = report_cluster(
        figures(20.0, 40.0), figures(30.0, 30.0, human), figures(10.0, 50.0)
    )
    assert "| 1 | 20.0 | 30.0 | 10.0 | 3.00 | 40 / 80 | 30 / 60 | 50 / 100 |" in text
    assert "served at p95 <= 1 s: **at least 300**" in text


@pytest.mark.parametrize("zero", ["msg_per_s", "p50_ms"])
def test_a_zero_in_stock_gives_nan_not_a_crash(zero: str) -> None:
    stock = figures(10.0, 50.0)
    stock["levels"][0][zero] = 0.0
    assert "|" in report(figures(20.0, 40.0), stock, "m")


def test_the_stock_assistant_runs_without_our_runtime_settings(
    tmp_path, monkeypatch
) -> None:
    """bot/runtime.py's variables reach our servers but not the stock assistant's."""
    from bot import runtime
    from scripts.bench.stock import stock_config
    from scripts.serve import ServerConfig, Servers

    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    monkeypatch.setattr(runtime, "SET_HERE", {"TF_ENABLE_ONEDNN_OPTS"})
    stock = Servers(stock_config(tmp_path / "m.tar.gz", tmp_path / "stock"))
    ours = Servers(ServerConfig.in_folder(tmp_path / "m.tar.gz", tmp_path / "ours"))
    assert "TF_ENABLE_ONEDNN_OPTS" not in stock.env()
    assert ours.env()["TF_ENABLE_ONEDNN_OPTS"] == "0"
    monkeypatch.setattr(
        runtime, "SET_HERE", set()
    )  # set by the user: passed on to both
    stock = Servers(stock_config(tmp_path / "m.tar.gz", tmp_path / "stock"))
    assert stock.env()["TF_ENABLE_ONEDNN_OPTS"] == "0"
