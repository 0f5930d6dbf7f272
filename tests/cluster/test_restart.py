"""Restarting the whole cluster mid-conversation keeps the context (issue 12)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from scripts.cluster import Cluster, ClusterConfig
from tests.cluster.test_cluster import kb_ids, post


def test_restart_everything_keeps_the_context(
    model: Path, pg_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("restart")
    sender = f"rs{secrets.token_hex(4)}"

    def cluster() -> Cluster:
        config = ClusterConfig.in_folder(
            model, folder, pg_url=pg_url, redis_url=redis_url, instances=2
        )
        return Cluster(config)

    with cluster() as first:
        status, reply = post(first.config.rest_url, sender, "what is FOLFOX?")
        assert status == 200 and kb_ids(reply) == ["folfox"]
    with cluster() as second:  # new processes, new ports, same database
        status, reply = post(second.config.rest_url, sender, "how is it given?")
        assert status == 200 and kb_ids(reply) == ["folfox"], reply
