"""Safety replies never wait for the action server; knowledge questions get a kind reply in
bounded time while it is down or hung, and the conversation carries on once it is back.

Against the real processes: the action server is stopped (SIGTERM) or hung (SIGSTOP).
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.serve import Servers
from tests.e2e.conftest import Client, start

SAFETY_DEADLINE_S = 2.0
KNOWLEDGE_DEADLINE_S = 10.0
RED_FLAG = "I've had a temperature of 38.6 since this morning and I'm on capecitabine"
CRISIS = "everyone would be better off without me"
RED_FLAG_AND_CRISIS = "temp is 38.9 and shivering and I just want to end it all"
KNOWLEDGE = "what is CAPTEM?"


def sender() -> str:
    return f"down-{uuid.uuid4().hex[:8]}"


def as_regex(template: str) -> str:
    """A response text with {slot} placeholders as a regex (slots come from settings)."""
    return ".+".join(re.escape(part) for part in re.split(r"{\w+}", template.strip()))


def timed(client: Client, user: str, text: str) -> tuple[list[dict[str, Any]], float]:
    started = time.monotonic()
    out = client.ask(user, text)
    return out, time.monotonic() - started


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages if "text" in m]


def action_server(servers: Servers) -> Any:
    """The action server's process, with the watchdog told to leave it alone."""
    unsupervise = getattr(servers, "unsupervise", None)
    if unsupervise is not None:
        unsupervise("actions")
    return servers.procs[0]


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[Servers]:
    running = start(tmp_path_factory.mktemp("down"))
    try:
        yield running
    finally:
        running.stop()


def check_safety_replies(client: Client, responses: dict[str, str]) -> None:
    urgent = as_regex(responses["utter_urgent_red_flag"])
    crisis = as_regex(responses["utter_crisis"])
    disclaimer = responses["utter_disclaimer"].strip()

    out, took = timed(client, sender(), RED_FLAG)
    assert took < SAFETY_DEADLINE_S, f"urgent reply took {took:.1f} s"
    assert re.fullmatch(urgent, out[0]["text"]) and out[-1]["text"] == disclaimer

    out, took = timed(client, sender(), CRISIS)
    assert took < SAFETY_DEADLINE_S, f"crisis reply took {took:.1f} s"
    assert re.fullmatch(crisis, out[0]["text"])

    out, took = timed(client, sender(), RED_FLAG_AND_CRISIS)
    assert took < SAFETY_DEADLINE_S, f"urgent + crisis reply took {took:.1f} s"
    said = texts(out)
    assert re.fullmatch(urgent, said[0]) and re.fullmatch(crisis, said[1])
    assert said[-1] == disclaimer


def check_knowledge_gets_the_unavailable_reply(
    client: Client, user: str, responses: dict[str, str]
) -> None:
    out, took = timed(client, user, KNOWLEDGE)
    assert took < KNOWLEDGE_DEADLINE_S, f"knowledge reply took {took:.1f} s"
    assert re.fullmatch(as_regex(responses["utter_action_unavailable"]), out[0]["text"])
    assert not any("custom" in m for m in out)


def check_back_to_normal(client: Client, user: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        out = client.ask(user, KNOWLEDGE)
        if any("custom" in m for m in out) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert [m["custom"]["kb_answer"]["id"] for m in out if "custom" in m] == ["captem"]
    follow_up = client.ask(user, "is it taken as tablets?")  # the topic was kept
    answer = [m["custom"]["kb_answer"] for m in follow_up if "custom" in m]
    assert answer and answer[0]["id"] == "captem" and answer[0]["facet"] == "how_given"


def test_hung_action_server(servers: Servers, responses) -> None:
    client = Client(servers)
    proc = action_server(servers)
    user = sender()
    client.ask(user, "hello")
    os.killpg(proc.pid, signal.SIGSTOP)
    try:
        check_safety_replies(client, responses)
        check_knowledge_gets_the_unavailable_reply(client, user, responses)
    finally:
        os.killpg(proc.pid, signal.SIGCONT)
    check_back_to_normal(client, user)


def test_stopped_action_server(tmp_path: Path, responses) -> None:
    running = start(tmp_path)
    try:
        client = Client(running)
        user = sender()
        action_server(running)
        running.stop_actions()
        check_safety_replies(client, responses)
        check_knowledge_gets_the_unavailable_reply(client, user, responses)
        running.start_actions(running.env())
        check_back_to_normal(client, user)
    finally:
        running.stop()


def test_root_route_shows_no_version(servers: Servers) -> None:
    import urllib.request

    import rasa

    url = f"http://127.0.0.1:{servers.config.rasa_port}/"
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 (loopback)
        body = resp.read().decode()
    assert resp.status == 200
    assert rasa.__version__ not in body and "Rasa" not in body
