"""Start an assistant (or the cluster), measure it at each load level, stop it."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from scripts.bench.load import Level, human_pace_capacity, run_level
from scripts.paths import ROOT, child_env, python
from scripts.serve import ServerConfig, Servers

logger = logging.getLogger(__name__)

WARM_UP_S = 5.0
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS_SERVER = "redis://127.0.0.1:6379"
BENCH_REDIS_DBS = range(9, 16)  # the cluster bench uses the first empty one


def rss_mb(pids: list[int]) -> float:
    """Resident memory of the processes and their children, in MB (Linux /proc)."""
    total = 0
    seen = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            todo.extend(int(c) for c in children)
        except OSError:
            continue
    return total / 1024


PARSE_CODE = """\
import asyncio, json, logging, sys, time
from rasa.utils.log_utils import configure_structlog
configure_structlog(logging.WARNING)
from rasa.core.agent import Agent
questions, rounds = json.loads(sys.argv[2]), int(sys.argv[3])
agent = Agent.load(sys.argv[1])
async def measure():
    await agent.parse_message("warm up")
    times = []
    for _ in range(rounds):
        for q in questions:
            started = time.perf_counter()
            await agent.parse_message(q)
            times.append(time.perf_counter() - started)
    times.sort()
    print("PARSE_MS", times[len(times) // 2] * 1000)
asyncio.run(measure())
"""


def parse_time_ms(
    model: Path, questions: list[str], cwd: Path, rounds: int = 5
) -> float:
    """Median NLU-only parse time per message, measured in a separate process."""
    out = subprocess.run(
        [python(), "-c", PARSE_CODE, str(model), json.dumps(questions), str(rounds)],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(
        next(
            line.split()[1] for line in out.splitlines() if line.startswith("PARSE_MS")
        )
    )


def first_answer_seconds(url: str, started: float) -> float:
    """Seconds from ``started`` (perf_counter) to the first answered message."""
    data = json.dumps({"sender": "cold", "message": "hello"}).encode()
    with urllib.request.urlopen(  # noqa: S310 (loopback)
        urllib.request.Request(url, data=data), timeout=60
    ) as resp:
        resp.read()
    return time.perf_counter() - started


def measure_levels(
    name: str,
    url: str,
    questions: list[str],
    levels: list[int],
    secs: float,
    warm_users: int = 1,
) -> list[Level]:
    """A warm-up (not measured), then each level for ``secs`` seconds, logged."""
    # Every question twice, so one-off costs such as TensorFlow tracing new input shapes
    # do not land in the first level's figures.
    asyncio.run(run_level(url, questions * 2, warm_users, WARM_UP_S, tag="warm"))
    results = []
    for users in levels:
        level = asyncio.run(run_level(url, questions, users, secs))
        results.append(level)
        logger.info(
            "%s %3d users: %6.1f msg/s  p50 %6.0f ms  p95 %6.0f ms  p99 %6.0f ms  errors %d",
            name, users, level.rate, level.pct(50), level.pct(95), level.pct(99), level.errors,
        )  # fmt: skip
    return results


def figures(
    cold: float, parse: float, memory: float, levels: list[Level], **extra: Any
) -> dict[str, Any]:
    """One assistant's results, as stored in bench.json."""
    return {
        "cold_start_s": cold,
        "parse_ms": parse,
        "rss_mb": memory,
        **extra,
        "levels": [level.row() for level in levels],
    }


def bench_one(
    name: str,
    config: ServerConfig,
    cwd: Path,
    questions: list[str],
    levels: list[int],
    secs: float,
) -> dict[str, Any]:
    """Start one assistant, measure it, stop it."""
    started = time.perf_counter()
    servers = Servers(config)
    if cwd != ROOT:
        servers.cwd = cwd
    servers.start()
    try:
        cold = first_answer_seconds(config.rest_url, started)
        results = measure_levels(name, config.rest_url, questions, levels, secs)
        memory = rss_mb([p.pid for p in servers.procs])
    finally:
        servers.stop()
    return figures(cold, parse_time_ms(config.model, questions, cwd), memory, results)


def bench_cluster(
    model: Path,
    questions: list[str],
    levels: list[int],
    secs: float,
    folder: Path,
    human_seconds: float,
    workers: int = 1,
) -> dict[str, Any] | None:
    """``make run-cluster``'s layout on spare ports (``workers`` Sanic workers per
    instance), in a database and Redis db of its own (removed afterwards); None (with a
    warning) when a service or nginx is missing."""
    import redis

    from scripts.cluster import (
        Cluster,
        ClusterConfig,
        drop_database,
        ensure_database,
        nginx_binary,
        service_problems,
    )

    problems = service_problems(f"{PG_SERVER}/postgres", f"{REDIS_SERVER}/0")
    if nginx_binary() is None:
        problems.append("nginx is not installed (make nginx)")
    if problems:
        logger.warning("cluster bench skipped: %s", "; ".join(problems))
        return None
    db = next(
        (
            d
            for d in BENCH_REDIS_DBS
            if redis.Redis.from_url(f"{REDIS_SERVER}/{d}").dbsize() == 0
        ),
        None,
    )
    if db is None:
        logger.warning("cluster bench skipped: no empty Redis db among 9-15")
        return None
    pg_url = f"{PG_SERVER}/netchemo_bench_{secrets.token_hex(4)}"
    ensure_database(pg_url)
    config = ClusterConfig.in_folder(
        model, folder, pg_url=pg_url, redis_url=f"{REDIS_SERVER}/{db}", workers=workers
    )
    try:
        started = time.perf_counter()
        with Cluster(config) as cluster:
            cold = first_answer_seconds(config.rest_url, started)
            results = measure_levels(
                "cluster", config.rest_url, questions, levels, secs, warm_users=2
            )
            memory = rss_mb(
                [p.pid for s in cluster.instances for p in s.procs]
                + ([cluster.nginx.pid] if cluster.nginx else [])
            )
            human = (
                human_pace_capacity(
                    config.rest_url,
                    questions,
                    max(level.rate for level in results),
                    human_seconds,
                )
                if human_seconds > 0
                else None
            )
    finally:
        drop_database(pg_url)
        redis.Redis.from_url(f"{REDIS_SERVER}/{db}").flushdb()
    return figures(
        cold, float("nan"), memory, results, human_pace=human, workers=workers
    )
