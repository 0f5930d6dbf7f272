"""The admission gate (bot/channels/admission.py): limit, order, urgent messages, cancels."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage

from bot.channels import admission
from bot.channels.admission import AdmissionGate, limit_from_env, screen_is_urgent


class Recorder:
    """A handler that records when each message starts and holds it until released."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.inside = 0
        self.most_inside = 0
        self.release: dict[str, asyncio.Event] = {}

    async def __call__(self, message: UserMessage) -> str:
        text = message.text or ""
        self.started.append(text)
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        try:
            await self.release.setdefault(text, asyncio.Event()).wait()
        finally:
            self.inside -= 1
        self.finished.append(text)
        return text

    def let_go(self, text: str) -> None:
        self.release.setdefault(text, asyncio.Event()).set()


async def settle() -> None:
    """Let every ready task run."""
    for _ in range(5):
        await asyncio.sleep(0)


def msg(text: str) -> UserMessage:
    return UserMessage(text, sender_id="t")


async def test_at_most_limit_inside_and_first_come_first_served() -> None:
    gate = AdmissionGate(2)
    handler = Recorder()
    names = [f"m{i}" for i in range(6)]
    tasks = [asyncio.ensure_future(gate.run(msg(n), handler)) for n in names]
    await settle()
    assert handler.started == ["m0", "m1"]
    assert gate.waiting == 4 and gate.active == 2
    for name in names:
        handler.let_go(name)
        await settle()
    assert await asyncio.gather(*tasks) == names
    assert handler.started == names  # queued in arrival order
    assert handler.most_inside == 2
    assert gate.active == 0 and gate.waiting == 0


async def test_an_urgent_message_skips_the_queue() -> None:
    gate = AdmissionGate(1, is_urgent=lambda text: "fever" in text)
    handler = Recorder()
    first = asyncio.ensure_future(gate.run(msg("what is captem"), handler))
    queued = asyncio.ensure_future(gate.run(msg("what is folfox"), handler))
    await settle()
    urgent = asyncio.ensure_future(gate.run(msg("fever of 39 on chemo"), handler))
    await settle()
    assert handler.started == ["what is captem", "fever of 39 on chemo"]
    assert gate.urgent_admitted == 1
    for text in ("fever of 39 on chemo", "what is captem", "what is folfox"):
        handler.let_go(text)
    await asyncio.gather(first, queued, urgent)
    assert gate.active == 0


async def test_no_screen_runs_while_a_place_is_free() -> None:
    seen: list[str] = []
    gate = AdmissionGate(2, is_urgent=lambda text: bool(seen.append(text)))
    handler = Recorder()
    handler.let_go("hello")
    assert await gate.run(msg("hello"), handler) == "hello"
    assert seen == []


async def test_a_failing_urgency_check_admits_the_message() -> None:
    def broken(_text: str) -> bool:
        raise RuntimeError("lexicon gone")

    gate = AdmissionGate(1, is_urgent=broken)
    handler = Recorder()
    first = asyncio.ensure_future(gate.run(msg("a"), handler))
    await settle()
    second = asyncio.ensure_future(gate.run(msg("b"), handler))
    await settle()
    assert handler.started == ["a", "b"]
    handler.let_go("a")
    handler.let_go("b")
    await asyncio.gather(first, second)


async def test_a_cancelled_waiter_gives_up_its_place() -> None:
    gate = AdmissionGate(1)
    handler = Recorder()
    first = asyncio.ensure_future(gate.run(msg("a"), handler))
    await settle()
    cancelled = asyncio.ensure_future(gate.run(msg("b"), handler))
    third = asyncio.ensure_future(gate.run(msg("c"), handler))
    await settle()
    cancelled.cancel()
    await settle()
    handler.let_go("a")
    handler.let_go("c")
    await asyncio.gather(first, third)
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert handler.started == ["a", "c"]
    assert gate.active == 0 and gate.waiting == 0


async def test_cancelled_just_after_being_handed_a_place_passes_it_on() -> None:
    gate = AdmissionGate(1)
    handler = Recorder()
    gate._active = 1  # a message inside, finishing below in the same step as the cancel
    second = asyncio.ensure_future(gate.run(msg("b"), handler))
    third = asyncio.ensure_future(gate.run(msg("c"), handler))
    await settle()
    gate._release()  # the place goes to "b" ...
    second.cancel()  # ... which is cancelled before it could run
    handler.let_go("c")
    await third
    assert handler.started == ["c"]
    assert gate.active == 0 and gate.waiting == 0


async def test_an_error_in_the_handler_frees_the_place() -> None:
    gate = AdmissionGate(1)

    async def fails(_message: UserMessage) -> Any:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        await gate.run(msg("a"), fails)
    assert gate.active == 0


async def test_limit_zero_is_no_gate() -> None:
    gate = AdmissionGate(0)
    handler = Recorder()
    tasks = [asyncio.ensure_future(gate.run(msg(f"m{i}"), handler)) for i in range(5)]
    await settle()
    assert handler.inside == 5
    for i in range(5):
        handler.let_go(f"m{i}")
    await asyncio.gather(*tasks)


def test_limit_from_env() -> None:
    assert limit_from_env({}) == admission.DEFAULT_LIMIT
    assert limit_from_env({"MAX_CONCURRENT_MESSAGES": " 3 "}) == 3
    assert limit_from_env({"MAX_CONCURRENT_MESSAGES": "0"}) == 0
    for bad in ("-1", "two", "1.5"):
        with pytest.raises(ValueError, match="MAX_CONCURRENT_MESSAGES"):
            limit_from_env({"MAX_CONCURRENT_MESSAGES": bad})


def test_the_screen_check_escalates_what_the_pipeline_escalates() -> None:
    is_urgent = screen_is_urgent()
    assert is_urgent("I'm on capecitabine and my temperature is 38.9 tonight")
    assert is_urgent("I want to end my life")
    assert not is_urgent("what is CAPTEM?")
    assert not is_urgent("is a high temperature a common side effect of temozolomide?")


async def test_waiting_outside_gives_the_place_to_the_next_and_comes_back_first() -> None:
    gate = AdmissionGate(1)
    order: list[str] = []
    action_reply = asyncio.Event()
    handler = Recorder()

    async def knowledge(message: UserMessage) -> None:
        order.append("a starts")
        async with admission.outside(after_s=0.01):  # as patch 1 waits for actions
            await action_reply.wait()
        order.append(f"a back, started: {handler.started}")

    slow = asyncio.ensure_future(gate.run(msg("a"), knowledge))
    await asyncio.sleep(0.05)
    inside = asyncio.ensure_future(gate.run(msg("b"), handler))  # a's place, at once
    await settle()
    assert handler.started == ["b"] and order == ["a starts"]
    queued = asyncio.ensure_future(gate.run(msg("c"), handler))
    await settle()
    action_reply.set()  # "a" wants its place back: ahead of "c"
    await settle()
    assert gate.waiting == 2 and order == ["a starts"]
    handler.let_go("b")
    await asyncio.gather(inside, slow)
    assert order == ["a starts", "a back, started: ['b']"]  # before "c"
    handler.let_go("c")
    await queued
    assert gate.active == 0 and gate.waiting == 0


async def test_a_quick_call_outside_keeps_the_place() -> None:
    gate = AdmissionGate(1)
    handler = Recorder()
    action_reply = asyncio.Event()

    async def knowledge(_message: UserMessage) -> None:
        async with admission.outside(after_s=10):  # answered long before 10 s
            await action_reply.wait()

    first = asyncio.ensure_future(gate.run(msg("a"), knowledge))
    await settle()
    queued = asyncio.ensure_future(gate.run(msg("b"), handler))
    await asyncio.sleep(0.05)
    assert handler.started == [] and gate.waiting == 1  # "b" did not get a's place
    action_reply.set()
    handler.let_go("b")
    await asyncio.gather(first, queued)
    assert handler.started == ["b"]


async def test_outside_a_gated_message_is_a_no_op() -> None:
    async with admission.outside():
        pass
