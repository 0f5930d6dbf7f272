"""Faults of the cluster (issue 12), against the real PostgreSQL, Redis and nginx.

Two instances, each with its own action server, share a fresh database and Redis db. They
reach both services through :class:`TcpProxy`, so a test can make PostgreSQL or Redis
unreachable for this cluster alone. Runs from ``make test-cluster`` (about 2 minutes).
"""

from __future__ import annotations

import json
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot import responses
from scripts.cluster import Cluster, ClusterConfig
from tests.cluster.conftest import TcpProxy

ROOT = Path(__file__).resolve().parents[2]


def post(url: str, sender: str, message: str) -> tuple[int, list[dict[str, Any]]]:
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(
        url, data=body, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=90) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, []


def texts(reply: list[dict[str, Any]]) -> str:
    return " ".join(m.get("text", "") for m in reply)


def kb_ids(reply: list[dict[str, Any]]) -> list[str]:
    return [
        m["custom"]["kb_answer"]["id"]
        for m in reply
        if isinstance(m.get("custom"), dict) and "kb_answer" in m["custom"]
    ]


def first_words(text: str, n: int = 6) -> str:
    return " ".join(text.split()[:n])


@pytest.fixture(scope="module")
def sentences() -> dict[str, str]:
    return {
        "store_unavailable": responses.message("store_unavailable"),
        "urgent": responses.text("utter_urgent_red_flag"),
    }


@pytest.fixture(scope="module")
def proxies() -> Iterator[dict[str, TcpProxy]]:
    out = {"pg": TcpProxy(5432).start(), "redis": TcpProxy(6379).start()}
    yield out
    for proxy in out.values():
        proxy.stop()


@pytest.fixture(scope="module")
def cluster(
    model: Path,
    pg_url: str,
    redis_url: str,
    proxies: dict[str, TcpProxy],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    config = ClusterConfig.in_folder(
        model,
        tmp_path_factory.mktemp("cluster"),
        pg_url=pg_url.replace(":5432/", f":{proxies['pg'].port}/"),
        redis_url=redis_url.replace(":6379/", f":{proxies['redis'].port}/"),
        extra_env={"RATE_LIMIT_PER_SENDER": "off", "RATE_LIMIT_PER_IP": "off"},
    )
    with Cluster(config) as running:
        yield running


@pytest.fixture(scope="module")
def db(pg_url: str) -> Iterator[sa.engine.Engine]:
    engine = sa.create_engine(pg_url)
    yield engine
    engine.dispose()


def user_turns(db: sa.engine.Engine, conversation: str) -> list[str]:
    with db.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT data FROM events WHERE sender_id = :s AND type_name = 'user' "
                "ORDER BY id"
            ),
            {"s": conversation},
        )
        return [json.loads(r[0])["text"] for r in rows]


def instance_url(cluster: Cluster, i: int) -> str:
    return f"http://127.0.0.1:{cluster.config.rasa_ports[i]}/webhooks/rest/webhook"


def test_alternating_instances_keep_the_context(cluster: Cluster, db) -> None:
    sender = f"alt{secrets.token_hex(4)}"
    status, first = post(instance_url(cluster, 0), sender, "what is CAPTEM?")
    assert status == 200 and kb_ids(first) == ["captem"]
    status, follow = post(instance_url(cluster, 1), sender, "how is it given?")
    assert status == 200 and kb_ids(follow) == ["captem"], follow
    status, third = post(instance_url(cluster, 0), sender, "is it chemo?")
    assert status == 200 and kb_ids(third) == ["captem"], third
    assert len(user_turns(db, f"rest:{sender}")) == 3


def test_twenty_concurrent_messages_through_nginx(cluster: Cluster, db) -> None:
    sender = f"many{secrets.token_hex(4)}"
    questions = [f"what is CAPTEM? ({i})" for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(
            pool.map(lambda q: post(cluster.config.rest_url, sender, q), questions)
        )
    assert [status for status, _ in results] == [200] * 20
    assert all(reply for _, reply in results)
    stored = user_turns(db, f"rest:{sender}")
    assert sorted(stored) == sorted(questions), len(stored)


def test_database_unreachable_gets_a_kind_reply_and_recovers(
    cluster: Cluster, proxies: dict[str, TcpProxy], db, sentences
) -> None:
    sender = f"pg{secrets.token_hex(4)}"
    assert kb_ids(post(cluster.config.rest_url, sender, "what is CAPTEM?")[1])
    proxies["pg"].stop()
    try:
        status, reply = post(cluster.config.rest_url, sender, "how is it given?")
        assert status == 200
        assert first_words(sentences["store_unavailable"]) in texts(reply)
        status, urgent = post(cluster.config.rest_url, sender, "I have a fever of 39")
        assert status == 200
        assert first_words(sentences["urgent"]) in urgent[0]["text"]
    finally:
        proxies["pg"].start()
    status, back = post(cluster.config.rest_url, sender, "how is it given?")
    assert status == 200 and kb_ids(back) == ["captem"], back
    assert first_words(sentences["store_unavailable"]) not in texts(back)
    assert user_turns(db, f"rest:{sender}") == ["what is CAPTEM?", "how is it given?"]


def test_redis_unreachable_still_answers(
    cluster: Cluster, proxies: dict[str, TcpProxy], db
) -> None:
    sender = f"rd{secrets.token_hex(4)}"
    proxies["redis"].stop()
    try:
        for question in ("what is CAPTEM?", "how is it given?"):
            status, reply = post(cluster.config.rest_url, sender, question)
            assert status == 200 and kb_ids(reply) == ["captem"], reply
    finally:
        proxies["redis"].start()
    status, reply = post(cluster.config.rest_url, sender, "is it chemo?")
    assert status == 200 and kb_ids(reply) == ["captem"]
    assert len(user_turns(db, f"rest:{sender}")) == 3


def test_safety_replies_with_the_action_servers_down(
    cluster: Cluster, sentences
) -> None:
    for servers in cluster.instances:
        servers.stop_actions()
    try:
        for i in range(2):
            status, reply = post(cluster.config.rest_url, f"sa{i}{secrets.token_hex(3)}",
                                 "I have a fever of 39 and feel shivery")  # fmt: skip
            assert status == 200
            assert first_words(sentences["urgent"]) in reply[0]["text"]
    finally:
        for servers in cluster.instances:
            servers.start_actions(wait=True)


def test_killing_one_instance_loses_no_turn(cluster: Cluster, db) -> None:
    """Runs last: instance 1 stays down."""
    sender = f"kill{secrets.token_hex(4)}"
    asked = ["what is CAPTEM?", "how is it given?"]
    for question in asked:
        assert post(cluster.config.rest_url, sender, question)[0] == 200
    cluster.kill_instance(0)
    more = ["is it chemo?", "what is FOLFOX?", "how is it given?", "is it chemo?"]
    for question in more:
        status, reply = post(cluster.config.rest_url, sender, question)
        assert status == 200 and kb_ids(reply), (question, reply)
    assert user_turns(db, f"rest:{sender}") == asked + more
    status, reply = post(cluster.config.rest_url, sender, "how is it given?")
    assert kb_ids(reply) == ["folfox"]
    assert re.search(r"\S", texts(reply))
