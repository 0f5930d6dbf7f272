"""Issue 9, REST channel: sender ids (row 1), namespacing and the bearer token (row 5),
body and metadata limits (row 6), nested JSON (row 7) and rate limits (row 10).

The real channel runs in a real Sanic server (tests/channels/conftest.py) with a stub
message handler that records what would have reached Rasa.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from bot.channels.guard import reply_text
from bot.channels.payload import MAX_BODY_BYTES, MAX_BODY_ENV, limit_request_size
from bot.channels.ratelimit import RateLimiter, parse_limits
from bot.channels.rest import (
    RestConfigError,
    SafeRestInput,
    is_loopback,
    rest_token,
)
from tests.channels.conftest import RestServer

TOKEN = "t0ken-for-tests-0123456789"


@pytest.fixture
async def rest(rest_server: Any) -> RestServer:
    return await rest_server()


# ---- row 1: sender ids ------------------------------------------------------------------

BAD_SENDERS = {
    "lone-surrogate": b'{"sender": "\\ud800x", "message": "hello"}',  # took it down
    "nul": b'{"sender": "a\\u0000b", "message": "hello"}',
    "control": b'{"sender": "a\\u0007b", "message": "hello"}',
    "newline": b'{"sender": "a\\nb", "message": "hello"}',
    "space": b'{"sender": "two words", "message": "hello"}',
    "non-ascii": b'{"sender": "caf\\u00e9", "message": "hello"}',
    "path": b'{"sender": "../../etc", "message": "hello"}',
    "empty": b'{"sender": "", "message": "hello"}',
    "129-chars": json.dumps({"sender": "x" * 129, "message": "hello"}).encode(),
    "number": b'{"sender": 42, "message": "hello"}',
}


@pytest.mark.parametrize("body", BAD_SENDERS.values(), ids=BAD_SENDERS.keys())
async def test_bad_sender_is_a_clear_400_and_never_reaches_rasa(
    rest: RestServer, body: bytes
) -> None:
    status, data, _ = await rest.post(body)
    assert status == 400
    assert data["error"] == "bad_request" and "'sender'" in data["reason"]
    assert "A-Z a-z 0-9 _ . : @ -" in data["reason"] and "128" in data["reason"]
    assert rest.seen == []


@pytest.mark.parametrize(
    "sender", ["e2e-1a2b3c4d", "user@example.org", "a:b.c_d-e", "x" * 128, "7"]
)
async def test_good_senders_pass(rest: RestServer, sender: str) -> None:
    status, data, _ = await rest.post({"sender": sender, "message": "hello"})
    assert status == 200 and data == [{"recipient_id": sender, "text": "ok"}]


# ---- row 5: one channel, one client -----------------------------------------------------


async def test_rest_conversations_are_namespaced(rest: RestServer) -> None:
    for sender in ("u1", "tg:42", "web:abc"):
        status, data, _ = await rest.post({"sender": sender, "message": "hello"})
        assert status == 200 and data[0]["recipient_id"] == sender
    assert [m.sender_id for m in rest.seen] == ["rest:u1", "rest:tg:42", "rest:web:abc"]


@pytest.mark.parametrize(
    "host", [None, "", "127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"]
)
def test_rest_stays_open_on_loopback(host: str | None) -> None:
    env = {} if host is None else {"RASA_HOST": host}
    assert is_loopback(host)
    assert rest_token(env) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "bot.example.org"])
def test_rest_off_loopback_needs_a_token(host: str) -> None:
    with pytest.raises(RestConfigError, match="REST_TOKEN"):
        rest_token({"RASA_HOST": host})
    assert rest_token({"RASA_HOST": host, "REST_TOKEN": TOKEN}) == TOKEN


def test_short_token_is_refused() -> None:
    with pytest.raises(RestConfigError, match="at least"):
        rest_token({"REST_TOKEN": "short"})


def test_channel_refuses_to_start_off_loopback_without_token(monkeypatch: Any) -> None:
    monkeypatch.setenv("RASA_HOST", "0.0.0.0")
    monkeypatch.delenv("REST_TOKEN", raising=False)
    with pytest.raises(RestConfigError, match="bearer token"):
        SafeRestInput.from_credentials({})
    monkeypatch.setenv("REST_TOKEN", TOKEN)
    assert SafeRestInput.from_credentials({}).token == TOKEN


async def test_token_is_required_when_set(rest_server: Any) -> None:
    rest = await rest_server(token=TOKEN)
    body = {"sender": "u", "message": "hello"}
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
    ):
        status, data, response_headers = await rest.post(body, headers)
        assert status == 401 and data["error"] == "unauthorized"
        assert response_headers["WWW-Authenticate"] == "Bearer"
    assert rest.seen == []
    status, _, _ = await rest.post(body, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and len(rest.seen) == 1


# ---- row 6: body size and metadata -----------------------------------------------------


async def test_request_size_is_limited_at_start_up(
    rest_server: Any, monkeypatch: Any
) -> None:
    monkeypatch.delenv(MAX_BODY_ENV, raising=False)
    rest = await rest_server()
    assert rest.app.config.REQUEST_MAX_SIZE == MAX_BODY_BYTES
    status, _, _ = await rest.post({"sender": "u", "message": "x" * (70 * 1024)})
    assert status in (413, -1)  # Sanic answers 413 (or hangs up) past 64 kB
    assert rest.seen == []


def test_request_size_set_by_the_deployer_is_kept(monkeypatch: Any) -> None:
    monkeypatch.delenv(MAX_BODY_ENV, raising=False)
    app = SimpleNamespace(config=SimpleNamespace(REQUEST_MAX_SIZE=1000))
    limit_request_size(app)
    assert app.config.REQUEST_MAX_SIZE == 1000  # already below 64 kB
    app.config.REQUEST_MAX_SIZE = 100_000_000
    monkeypatch.setenv(MAX_BODY_ENV, "100000000")
    limit_request_size(app)
    assert app.config.REQUEST_MAX_SIZE == 100_000_000


async def test_one_megabyte_of_metadata_is_refused_never_stored(
    rest: RestServer,
) -> None:
    body = {"sender": "u", "message": "hello", "metadata": {"junk": "x" * 1_000_000}}
    status, _, _ = await rest.post(body)
    assert status in (400, 413, -1)
    assert rest.seen == []
    assert (await rest.post({"sender": "u", "message": "hello"}))[0] == 200


BAD_METADATA = {
    "over-2kB": {"junk": "x" * 3000},
    "17-keys": {f"k{i}": i for i in range(17)},
    "nested-object": {"nested": {"a": 1}},
    "list-value": {"list": [1, 2]},
    "long-key": {"k" * 65: 1},
    "array": [1],
    "string": "a string",
    "surrogate": {"a": "\ud800"},
}


@pytest.mark.parametrize("metadata", BAD_METADATA.values(), ids=BAD_METADATA.keys())
async def test_metadata_must_be_small_and_flat(rest: RestServer, metadata: Any) -> None:
    body = json.dumps({"sender": "u", "message": "hi", "metadata": metadata})
    status, data, _ = await rest.post(body.encode("utf-8", "surrogatepass"))
    assert status == 400 and "'metadata'" in data["reason"]
    assert rest.seen == []


async def test_small_metadata_passes(rest: RestServer) -> None:
    metadata: dict[str, Any] = {"page": "/forum/1", "n": 3, "ok": True, "none": None}
    status, _, _ = await rest.post(
        {"sender": "u", "message": "hi", "metadata": metadata}
    )
    assert status == 200 and rest.seen[0].metadata == metadata


# ---- row 7: nested JSON ----------------------------------------------------------------

NESTED = {
    "open-arrays": b"[" * 50_000,
    "closed-arrays": b"[" * 20_000 + b"]" * 20_000,
    "nested-extra-key": (
        b'{"sender": "u", "message": "hi", "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    ),
    "nested-objects": b'{"sender": "u", "message": "hi", "x": ' + b'{"a":' * 10_000,
    "depth-40-metadata": (
        b'{"sender": "u", "message": "hi", "metadata": ' + b"[" * 40 + b"]" * 40 + b"}"
    ),
}


@pytest.mark.parametrize("body", NESTED.values(), ids=NESTED.keys())
async def test_deeply_nested_json_is_a_400_not_a_500(
    rest: RestServer, body: bytes
) -> None:
    status, data, _ = await rest.post(body)
    assert status == 400 and data["error"] == "bad_request"
    assert rest.seen == []
    assert (await rest.post({"sender": "u", "message": "still there?"}))[0] == 200


# ---- row 10: rate limits ---------------------------------------------------------------


async def test_rate_limit_per_sender_gives_a_kind_429_and_keeps_the_conversation(
    rest_server: Any,
) -> None:
    limiter = RateLimiter(
        "rest-test-sender",
        parse_limits("t", "3/minute"),
        parse_limits("t", "99/minute"),
    )
    rest = await rest_server(limiter=limiter)
    for i in range(3):
        assert (await rest.post({"sender": "flood", "message": f"q{i}"}))[0] == 200
    status, data, headers = await rest.post({"sender": "flood", "message": "q3"})
    assert status == 429
    assert data == [{"recipient_id": "flood", "text": reply_text("too_many_messages")}]
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert [m.text for m in rest.seen] == ["q0", "q1", "q2"]  # q3 was not processed
    # someone else is not affected
    assert (await rest.post({"sender": "calm", "message": "hello"}))[0] == 200
    limiter.reset()  # the window has passed: the same conversation carries on
    assert (await rest.post({"sender": "flood", "message": "q4"}))[0] == 200
    assert rest.seen[-1].sender_id == "rest:flood"


async def test_rate_limit_per_ip_covers_rotating_senders(rest_server: Any) -> None:
    limiter = RateLimiter(
        "rest-test-ip", parse_limits("t", "99/minute"), parse_limits("t", "4/minute")
    )
    rest = await rest_server(limiter=limiter)
    statuses = [
        (await rest.post({"sender": f"s{i}", "message": "hi"}))[0] for i in range(6)
    ]
    assert statuses == [200] * 4 + [429] * 2
    assert len(rest.seen) == 4


async def test_loopback_is_exempt_from_the_ip_limit_by_default(
    rest_server: Any, monkeypatch: Any
) -> None:
    for name in ("RATE_LIMIT_EXEMPT_IPS", "RATE_LIMIT_STORAGE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RATE_LIMIT_PER_IP", "2/minute")
    rest = await rest_server(limiter=RateLimiter.from_env("rest-exempt"))
    statuses = [
        (await rest.post({"sender": f"s{i}", "message": "hi"}))[0] for i in range(4)
    ]
    assert statuses == [200] * 4
