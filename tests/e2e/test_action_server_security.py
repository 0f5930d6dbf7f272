"""The action server answers only the Rasa server (issue 9, row 4): loopback only, a shared
secret on every route but /health, and malformed bodies get a 400 that echoes nothing.
Against the real action server process (scripts/actions_server.py), started as serve.py does."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.paths import ROOT, child_env, python
from scripts.serve import ServerConfig, Servers, free_port

MARKER = "zqsecret-echo-4711"


@pytest.fixture(scope="module")
def actions(tmp_path_factory) -> Iterator[Servers]:
    folder = tmp_path_factory.mktemp("actions")
    servers = Servers(ServerConfig.in_folder(Path("unused"), folder, supervise=False))
    servers.start_actions(wait=True)
    try:
        yield servers
    finally:
        servers.stop()


def call(
    servers: Servers,
    path: str,
    body: bytes | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    url = servers.config.url(servers.config.actions_port, path)
    request = urllib.request.Request(url, data=body, headers=dict(headers or {}))
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("X-Action-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@functools.lru_cache(maxsize=1)
def domain() -> dict[str, Any]:
    """The real domain, as the Rasa server sends it with every call."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "bot" / "domain")).as_dict()


def action_call(text: str) -> dict[str, Any]:
    """A well-formed call of action_answer_question, as Rasa would send it."""
    return {
        "next_action": "action_answer_question",
        "sender_id": "forged",
        "version": "3.6.21",
        "domain": domain(),
        "tracker": {
            "sender_id": "forged",
            "slots": {},
            "latest_message": {
                "text": text,
                "intent": {"name": "ask_what_is", "confidence": 1.0},
                "entities": [{"entity": "kb_term", "value": "captem"}],
            },
            "events": [],
            "paused": False,
            "latest_action_name": "action_listen",
        },
    }


def listening_addresses(port: int) -> set:
    """Local addresses of the sockets listening on ``port`` (from /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_binds_to_loopback_only(actions: Servers) -> None:
    # 0100007F is 127.0.0.1; rasa_sdk's own runner listens on 00000000 (0.0.0.0).
    assert listening_addresses(actions.config.actions_port) == {"0100007F"}


def test_health_is_open(actions: Servers) -> None:
    assert call(actions, "/health") == (200, '{"status":"ok"}')


@pytest.mark.parametrize("token", [None, "", "wrong", MARKER])
def test_every_other_route_needs_the_token(actions: Servers, token: Any) -> None:
    body = json.dumps(action_call(f"what is CAPTEM {MARKER}")).encode()
    for path, data in (("/actions", None), ("/webhook", body)):
        status, reply = call(actions, path, data, token=token)
        assert status == 401, (path, status, reply)
        assert json.loads(reply) == {"error": "unauthorized"}
        assert MARKER not in reply


def test_with_the_token_it_works(actions: Servers) -> None:
    token = actions.action_token
    status, reply = call(actions, "/actions", token=token)
    assert status == 200 and "action_answer_question" in reply
    status, reply = call(
        actions, "/webhook", json.dumps(action_call("what is CAPTEM")).encode(), token
    )
    assert status == 200 and json.loads(reply)["responses"]


def test_long_conversations_fit(actions: Servers) -> None:
    """Rasa sends the whole conversation: the 64 kB limit is the Rasa server's only."""
    call_body = action_call("what is CAPTEM")
    call_body["tracker"]["events"] = [{"event": "user", "text": "x" * 1000}] * 300
    body = json.dumps(call_body).encode()
    assert len(body) > 250_000
    status, _ = call(actions, "/webhook", body, actions.action_token)
    assert status == 200


@pytest.mark.parametrize(
    "body,headers",
    [
        (f"{{not json {MARKER}".encode(), {}),
        (json.dumps([MARKER]).encode(), {}),
        (json.dumps({"next_action": 5, "x": MARKER}).encode(), {}),
        (json.dumps({"next_action": "action_answer_question", "tracker": MARKER}).encode(), {}),
        (json.dumps({"next_action": "action_answer_question",
                     "tracker": {"sender_id": MARKER, "events": MARKER}}).encode(), {}),
        (b"[" * 100_000 + MARKER.encode(), {}),
        (b"\xff\xfe" + MARKER.encode(), {}),
        (MARKER.encode(), {"Content-Encoding": "deflate"}),
        (zlib.compress(b'{"next_action": "' + MARKER.encode()), {"Content-Encoding": "deflate"}),
    ],
)  # fmt: skip
def test_malformed_bodies_get_400_that_echoes_nothing(
    actions: Servers, body: bytes, headers: dict[str, str]
) -> None:
    status, reply = call(actions, "/webhook", body, actions.action_token, headers)
    assert status == 400, reply
    assert json.loads(reply) == {"error": "bad_request"}


def test_unknown_routes_echo_nothing(actions: Servers) -> None:
    status, reply = call(actions, f"/{MARKER}", token=actions.action_token)
    assert status == 404 and MARKER not in reply
    status, reply = call(actions, "/webhook", token=actions.action_token)  # GET
    assert status == 405 and "webhook" not in reply


def test_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    env = child_env()
    env.pop("ACTION_SERVER_TOKEN", None)
    port = str(free_port())
    cmd = [
        python(),
        "-m",
        "scripts.actions_server",
        "--host",
        "127.0.0.1",
        "--port",
        port,
    ]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert done.returncode == 2
    assert b"ACTION_SERVER_TOKEN is not set" in done.stdout + done.stderr
