"""500 generated hostile requests against the real servers (as `make run` starts them):
zero 5xx, no crash, and the assistant still answers normally afterwards."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import Client
from tests.fuzz.test_fuzz_rest import ALLOWED, dumps, hostile_text, json_values, senders

LIVE_EXAMPLES = int(os.environ.get("FUZZ_LIVE_EXAMPLES", "500"))
LIVE = settings(
    max_examples=LIVE_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
bodies = st.one_of(
    st.binary(max_size=500),
    json_values.map(dumps),
    st.fixed_dictionaries(
        {"sender": senders, "message": hostile_text},
        optional={"metadata": json_values},
    ).map(dumps),
    st.builds(
        lambda text: dumps({"sender": f"fz-{uuid.uuid4().hex[:12]}", "message": text}),
        hostile_text,
    ),
)
seen = {"count": 0}


@LIVE
@given(body=bodies)
def test_hostile_requests_against_the_real_servers(client: Client, body: bytes) -> None:
    status, reply = client.raw(body)
    assert status in ALLOWED, (status, reply)
    assert "Traceback" not in json.dumps(reply)
    seen["count"] += 1


def test_the_servers_still_answer_and_kept_running(client: Client) -> None:
    assert seen["count"] >= min(LIVE_EXAMPLES, 500)
    for proc in client.servers.procs:
        assert proc.poll() is None, "a server process stopped"
    out: Any = client.ask(f"after-fuzz-{uuid.uuid4().hex[:8]}", "what is CAPTEM?")
    assert [m["custom"]["kb_answer"]["id"] for m in out if "custom" in m] == ["captem"]
