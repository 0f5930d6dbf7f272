"""No user text in the server logs at INFO or above, Rasa's own warnings included (issue 9,
row 8): a unique marker sent in many shapes never shows up in any log file."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Client, start


@pytest.fixture(scope="module")
def logged(tmp_path_factory) -> Iterator[tuple]:
    folder = tmp_path_factory.mktemp("logs")
    servers = start(folder)
    try:
        yield Client(servers), folder / "logs"
    finally:
        servers.stop()


def shapes(marker: str) -> list[dict]:
    """Bodies that carry the marker where Rasa or our code might log it."""
    sender = f"logs-{uuid.uuid4().hex[:8]}"
    return [
        {"sender": sender, "message": f"what is {marker}?"},
        {"sender": sender, "message": f"/{marker}"},
        {"sender": sender, "message": f"/ /{marker}"},
        {"sender": sender, "message": f'/ask_what_is{{"kb_term":"{marker}"}}'},
        {"sender": sender, "message": f"/restart{{{marker}"},
        {"sender": sender, "message": f"/{marker}{{not json"},
        {"sender": sender, "message": f"{marker} I have a fever of 39 and chest pain"},
        {"sender": sender, "message": f"I want to end it all {marker}"},
        {"sender": sender, "message": f"how much temozolomide should I take {marker}"},
        {"sender": sender, "message": "hello", "metadata": {"note": marker}},
        {"sender": sender, "message": marker * 2000},  # too long
        {"sender": f"{sender}-{marker}", "message": f"hi {marker}"},
        {"sender": sender, "message": f"\x00{marker}\u202e"},
    ]


def test_a_marker_never_reaches_the_logs(logged) -> None:
    client, log_dir = logged
    marker = f"zq{uuid.uuid4().hex[:10]}"
    for body in shapes(marker):
        status, _ = client.raw(json.dumps(body).encode())
        assert status < 500, body
    client.ask("logs-final", "what is CAPTEM?")  # flushes the turn before it
    logs: list[Path] = sorted(log_dir.glob("*.log"))
    assert {p.stem for p in logs} >= {"rasa", "actions"}
    for path in logs:  # the filter is live in both servers
        assert "user-text log filter installed" in path.read_text(), path
    hits = [
        f"{path.name}: {line.strip()[:200]}"
        for path in logs
        for line in path.read_text(errors="replace").splitlines()
        if marker in line
    ]
    assert hits == []
