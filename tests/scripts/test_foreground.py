"""scripts/foreground.py: the command-line tail of make run and make run-cluster."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from scripts.foreground import run_in_foreground


@pytest.fixture(autouse=True)
def handlers() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_sigterm_stops_everything_and_exits_0(caplog) -> None:
    calls: list[str] = []
    alive_calls = iter(range(100))

    def alive() -> str | None:
        if next(alive_calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return None

    code = run_in_foreground(
        lambda: calls.append("start"), lambda: calls.append("stop"),
        lambda: calls.append("ready"), alive, poll_s=0.01,
    )  # fmt: skip
    assert code == 0 and calls == ["start", "ready", "stop"]
    # a second signal while stopping is ignored
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN


def test_a_start_failure_is_one_line_and_exit_1(caplog) -> None:
    stopped: list[bool] = []

    def start() -> None:
        raise RuntimeError("port 5005 is already in use")

    code = run_in_foreground(start, lambda: stopped.append(True), lambda: None)
    assert code == 1 and stopped == [True]
    assert "could not start: port 5005 is already in use" in caplog.text


def test_a_dead_part_ends_the_run_with_its_reason(caplog) -> None:
    code = run_in_foreground(
        lambda: None, lambda: None, lambda: None, lambda: "nginx exited"
    )
    assert code == 1 and "nginx exited; stopping" in caplog.text
