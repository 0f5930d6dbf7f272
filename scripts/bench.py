"""Benchmark: closed-loop load over REST against this assistant and the stock `rasa init` one.

For each assistant: cold start to the first answer, NLU-only parse time, then N concurrent
simulated users (1, 20, 100 by default), each sending the next question as soon as the last is
answered and starting a new conversation every 8 questions, like a real chat, for a fixed time
per level. Prints messages/s and p50/p95/p99 latency per level, resident memory of the servers,
and the ratios ours/stock. Loopback only, bounded in time.

By default (``make bench``; ``--no-cluster`` to skip, skipped with a warning when
PostgreSQL, Redis or nginx is missing) it also measures
this assistant as ``make run-cluster`` runs it (2 instances on PostgreSQL and Redis behind
nginx, in a database and Redis db of the bench's own, removed afterwards), and an open-loop
level at a human pace: each simulated user sends a message every 10 to 20 s, and the bench
reports the most simultaneous users served at p95 <= 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.paths import ROOT, child_env, python  # noqa: E402
from scripts.serve import ServerConfig, Servers  # noqa: E402

HUMAN_PACE_S = (10.0, 20.0)  # open loop: seconds between one user's messages
P95_TARGET_MS = 1000.0

logger = logging.getLogger(__name__)
STOCK_DIR = ROOT / ".cache" / "bench" / "stock"
TURNS_PER_CONVERSATION = 8  # a simulated user starts a new conversation after this many
RUN_ID = uuid.uuid4().hex[:8]  # fresh conversations in every run


@dataclass
class Level:
    """Results of one concurrency level."""

    users: int
    messages: int
    seconds: float
    latencies_ms: List[float] = field(default_factory=list)
    errors: int = 0

    @property
    def rate(self) -> float:
        """Messages answered per second."""
        return self.messages / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """Latency percentile in ms."""
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q / 100 * len(data)))]


def rss_mb(pids: List[int]) -> float:
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


async def run_level(
    url: str, questions: List[str], users: int, seconds: float, tag: str = "bench"
) -> Level:
    """Closed loop: each user sends the next question when the previous one is answered."""
    import aiohttp

    level = Level(users=users, messages=0, seconds=seconds)
    deadline = time.perf_counter() + seconds
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=0)  # the users bound concurrency themselves

    async def user(index: int, session: aiohttp.ClientSession) -> None:
        turn = index
        sent = 0
        while time.perf_counter() < deadline:
            conversation = sent // TURNS_PER_CONVERSATION
            body = {
                "sender": f"{tag}-{RUN_ID}-{users}-{index}-{conversation}",
                "message": questions[turn % len(questions)],
            }
            sent += 1
            started = time.perf_counter()
            try:
                async with session.post(url, json=body) as resp:
                    await resp.read()
                    ok = resp.status == 200
            except (aiohttp.ClientError, asyncio.TimeoutError):
                ok = False
            if ok:
                level.latencies_ms.append((time.perf_counter() - started) * 1000)
                level.messages += 1
            else:
                level.errors += 1
            turn += 1

    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(user(i, session) for i in range(users)))
    level.seconds = time.perf_counter() - started
    return level


async def run_open_loop(
    url: str, questions: List[str], users: int, seconds: float, tag: str = "human"
) -> Level:
    """Open loop: each user sends a message every 10-20 s whatever the server does.

    Users start at random moments of the first pace interval, so the load is spread
    as real people spread it; only messages sent in the first ``seconds`` count.
    """
    import aiohttp

    level = Level(users=users, messages=0, seconds=seconds)
    rng = random.Random(users)  # noqa: S311 (load timing, not security)
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=0)
    started = time.perf_counter()
    deadline = started + seconds

    async def user(index: int, session: aiohttp.ClientSession) -> None:
        await asyncio.sleep(rng.uniform(0, HUMAN_PACE_S[1]))
        sent = 0
        pending = []
        while time.perf_counter() < deadline:
            body = {
                "sender": f"{tag}-{RUN_ID}-{users}-{index}-{sent // TURNS_PER_CONVERSATION}",
                "message": questions[(index + sent) % len(questions)],
            }
            sent += 1
            pending.append(asyncio.ensure_future(one(session, body)))
            await asyncio.sleep(rng.uniform(*HUMAN_PACE_S))
        await asyncio.gather(*pending)

    async def one(session: aiohttp.ClientSession, body: Dict[str, str]) -> None:
        sent_at = time.perf_counter()
        try:
            async with session.post(url, json=body) as resp:
                await resp.read()
                ok = resp.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            ok = False
        if ok:
            level.latencies_ms.append((time.perf_counter() - sent_at) * 1000)
            level.messages += 1
        else:
            level.errors += 1

    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(user(i, session) for i in range(users)))
    return level


def human_pace_capacity(
    url: str, questions: List[str], closed_rate: float, seconds: float
) -> Dict[str, object]:
    """Most users at a human pace with p95 <= 1 s, searched around the closed-loop rate.

    A user sends one message per 15 s on average, so ``closed_rate * 15`` users would
    keep the server exactly busy; levels at fractions of that find where p95 passes 1 s.
    """
    mean_pace = sum(HUMAN_PACE_S) / 2
    full = max(10, int(closed_rate * mean_pace))
    tried = []
    best = 0
    exceeded = False
    for fraction in (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0):
        users = max(1, int(full * fraction))
        level = asyncio.run(run_open_loop(url, questions, users, seconds))
        row = {
            "users": users,
            "msg_per_s": level.messages / seconds,
            "p50_ms": level.pct(50),
            "p95_ms": level.pct(95),
            "errors": level.errors,
        }
        tried.append(row)
        logger.info(
            "human pace %5d users: %5.1f msg/s  p50 %5.0f ms  p95 %6.0f ms  errors %d",
            users, row["msg_per_s"], row["p50_ms"], row["p95_ms"], level.errors,
        )  # fmt: skip
        if level.pct(95) <= P95_TARGET_MS and not level.errors:
            best = users
        else:
            exceeded = True
            break
    return {"users_at_p95_1s": best, "limit_found": exceeded, "levels": tried}


def parse_time_ms(
    model: Path, questions: List[str], cwd: Path, rounds: int = 5
) -> float:
    """Median NLU-only parse time per message, measured in a separate process."""
    code = (
        "import asyncio,sys,time,json,logging\n"
        "from rasa.utils.log_utils import configure_structlog\n"
        "configure_structlog(logging.WARNING)\n"
        "from rasa.core.agent import Agent\n"
        "qs=json.loads(sys.argv[2]); a=Agent.load(sys.argv[1])\n"
        "async def m():\n"
        "  await a.parse_message('warm up'); t=[]\n"
        f"  for _ in range({rounds}):\n"
        "    for q in qs:\n"
        "      s=time.perf_counter(); await a.parse_message(q); t.append(time.perf_counter()-s)\n"
        "  t.sort(); print('PARSE_MS', t[len(t)//2]*1000)\n"
        "asyncio.run(m())\n"
    )
    out = subprocess.run(
        [python(), "-c", code, str(model), json.dumps(questions)],
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


def stock_model() -> Path:
    """Create (once) the stock assistant with `rasa init --no-prompt` and return its model."""
    models = STOCK_DIR / "models"
    found = sorted(models.glob("*.tar.gz")) if models.exists() else []
    if found:
        return found[-1]
    if STOCK_DIR.exists():
        shutil.rmtree(STOCK_DIR)
    STOCK_DIR.mkdir(parents=True)
    logger.info(
        "creating the stock assistant (rasa init --no-prompt; trains once, cached)"
    )
    with open(STOCK_DIR.parent / "stock-init.log", "wb") as log:
        subprocess.run(
            [
                python(),
                "-m",
                "rasa",
                "init",
                "--no-prompt",
                "--init-dir",
                str(STOCK_DIR),
            ],
            cwd=STOCK_DIR,
            env=child_env(PYTHONPATH=""),
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return sorted(models.glob("*.tar.gz"))[-1]


def first_answer_seconds(servers: Servers, started: float) -> float:
    """Seconds from spawning the servers to the first answered message."""
    import urllib.request

    body = json.dumps({"sender": "cold", "message": "hello"}).encode()
    request = urllib.request.Request(servers.config.rest_url, data=body)
    with urllib.request.urlopen(request, timeout=60) as resp:  # noqa: S310 (loopback)
        resp.read()
    return time.perf_counter() - started


def bench_one(
    name: str,
    config: ServerConfig,
    cwd: Path,
    questions: List[str],
    levels: List[int],
    secs: float,
) -> Dict[str, object]:
    """Start one assistant, measure it, stop it."""
    started = time.perf_counter()
    servers = Servers(config)
    if cwd != ROOT:
        servers.cwd = cwd
    servers.start()
    try:
        cold = first_answer_seconds(servers, started)
        # Warm-up (not measured): every question twice, so one-off costs such as TensorFlow
        # tracing new input shapes do not land in the first level's figures.
        asyncio.run(
            run_level(config.rest_url, questions * 2, 1, seconds=5.0, tag="warm")
        )
        results = []
        for users in levels:
            level = asyncio.run(run_level(config.rest_url, questions, users, secs))
            results.append(level)
            logger.info(
                "%s %3d users: %6.1f msg/s  p50 %6.0f ms  p95 %6.0f ms  p99 %6.0f ms  errors %d",
                name, users, level.rate, level.pct(50), level.pct(95), level.pct(99), level.errors,
            )  # fmt: skip
        memory = rss_mb([p.pid for p in servers.procs])
    finally:
        servers.stop()
    parse = parse_time_ms(config.model, questions, cwd)
    return {
        "cold_start_s": cold,
        "parse_ms": parse,
        "rss_mb": memory,
        "levels": [
            {
                "users": lv.users,
                "msg_per_s": lv.rate,
                "p50_ms": lv.pct(50),
                "p95_ms": lv.pct(95),
                "p99_ms": lv.pct(99),
                "messages": lv.messages,
                "errors": lv.errors,
            }
            for lv in results
        ],
    }


def bench_cluster(
    model: Path,
    questions: List[str],
    levels: List[int],
    secs: float,
    folder: Path,
    human_seconds: float,
) -> Dict[str, object] | None:
    """``make run-cluster``'s layout on spare ports, in a database and Redis db of its
    own (removed afterwards); None (with a warning) when a service or nginx is missing."""
    import redis

    from scripts.cluster import (
        Cluster,
        ClusterConfig,
        drop_database,
        ensure_database,
        nginx_binary,
        service_problems,
    )

    server_pg, server_redis = (
        "postgresql://postgres@127.0.0.1:5432",
        "redis://127.0.0.1:6379",
    )
    problems = service_problems(f"{server_pg}/postgres", f"{server_redis}/0")
    if nginx_binary() is None:
        problems.append("nginx is not installed (make nginx)")
    if problems:
        logger.warning("cluster bench skipped: %s", "; ".join(problems))
        return None
    db = next(
        (
            d
            for d in range(9, 16)
            if redis.Redis.from_url(f"{server_redis}/{d}").dbsize() == 0
        ),
        None,
    )
    if db is None:
        logger.warning("cluster bench skipped: no empty Redis db among 9-15")
        return None
    pg_url = f"{server_pg}/netchemo_bench_{secrets.token_hex(4)}"
    ensure_database(pg_url)
    config = ClusterConfig.in_folder(
        model, folder, pg_url=pg_url, redis_url=f"{server_redis}/{db}"
    )
    try:
        started = time.perf_counter()
        with Cluster(config) as cluster:
            import urllib.request

            body = json.dumps({"sender": "cold", "message": "hello"}).encode()
            with urllib.request.urlopen(  # noqa: S310 (loopback)
                urllib.request.Request(config.rest_url, data=body), timeout=60
            ) as resp:
                resp.read()
            cold = time.perf_counter() - started
            asyncio.run(run_level(config.rest_url, questions * 2, 2, 5.0, tag="warm"))
            results = []
            for users in levels:
                level = asyncio.run(run_level(config.rest_url, questions, users, secs))
                results.append(level)
                logger.info(
                    "cluster %3d users: %6.1f msg/s  p50 %6.0f ms  p95 %6.0f ms  "
                    "p99 %6.0f ms  errors %d",
                    users, level.rate, level.pct(50), level.pct(95), level.pct(99), level.errors,
                )  # fmt: skip
            memory = rss_mb(
                [p.pid for s in cluster.instances for p in s.procs]
                + ([cluster.nginx.pid] if cluster.nginx else [])
            )
            human = (
                human_pace_capacity(
                    config.rest_url,
                    questions,
                    max(lv.rate for lv in results),
                    human_seconds,
                )
                if human_seconds > 0
                else None
            )
    finally:
        drop_database(pg_url)
        redis.Redis.from_url(f"{server_redis}/{db}").flushdb()
    return {
        "cold_start_s": cold,
        "parse_ms": float("nan"),
        "rss_mb": memory,
        "human_pace": human,
        "levels": [
            {
                "users": lv.users,
                "msg_per_s": lv.rate,
                "p50_ms": lv.pct(50),
                "p95_ms": lv.pct(95),
                "p99_ms": lv.pct(99),
                "messages": lv.messages,
                "errors": lv.errors,
            }
            for lv in results
        ],
    }


def report_cluster(ours: Dict, cluster: Dict, stock: Dict) -> str:
    """Markdown: ours embedded, ours cluster and stock side by side, and the human pace."""
    lines = [
        "",
        "| users | msg/s ours (embedded) | msg/s ours (cluster) | msg/s stock | "
        "cluster / stock | p50 / p95 ms embedded | p50 / p95 ms cluster | p50 / p95 ms stock |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for a, c, b in zip(ours["levels"], cluster["levels"], stock["levels"], strict=True):
        ratio = c["msg_per_s"] / b["msg_per_s"] if b["msg_per_s"] else float("nan")
        lines.append(
            f"| {a['users']} | {a['msg_per_s']:.1f} | {c['msg_per_s']:.1f} | "
            f"{b['msg_per_s']:.1f} | {ratio:.2f} | {a['p50_ms']:.0f} / {a['p95_ms']:.0f} | "
            f"{c['p50_ms']:.0f} / {c['p95_ms']:.0f} | {b['p50_ms']:.0f} / {b['p95_ms']:.0f} |"
        )
    lines.append(
        f"\nCluster: cold start {cluster['cold_start_s']:.1f} s, resident memory "
        f"{cluster['rss_mb']:.0f} MB (2 instances, their action servers and nginx)."
    )
    human = cluster.get("human_pace")
    if human:
        lines += [
            "",
            "Open loop at a human pace (each user sends a message every 10-20 s), cluster:",
            "",
            "| users | msg/s | p50 ms | p95 ms | errors |",
            "| --- | --- | --- | --- | --- |",
        ]
        for row in human["levels"]:
            lines.append(
                f"| {row['users']} | {row['msg_per_s']:.1f} | {row['p50_ms']:.0f} | "
                f"{row['p95_ms']:.0f} | {row['errors']} |"
            )
        lines.append(
            "\nSimultaneous users served at p95 <= 1 s: "
            f"**{'' if human['limit_found'] else 'at least '}{human['users_at_p95_1s']}**."
        )
    return "\n".join(lines) + "\n"


def report(ours: Dict, stock: Dict, machine: str) -> str:
    """Markdown table with the ratios ours/stock."""
    lines = [
        f"Machine: {machine}",
        "",
        "| users | ours msg/s | stock msg/s | ratio | ours p50 ms | stock p50 ms | ours p95 | "
        "stock p95 | ours p99 | stock p99 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for a, b in zip(ours["levels"], stock["levels"], strict=True):
        ratio = a["msg_per_s"] / b["msg_per_s"] if b["msg_per_s"] else float("nan")
        lines.append(
            f"| {a['users']} | {a['msg_per_s']:.1f} | {b['msg_per_s']:.1f} | {ratio:.2f} | "
            f"{a['p50_ms']:.0f} | {b['p50_ms']:.0f} | {a['p95_ms']:.0f} | {b['p95_ms']:.0f} | "
            f"{a['p99_ms']:.0f} | {b['p99_ms']:.0f} |"
        )
    lines += [
        "",
        "| | ours | stock | ratio |",
        "| --- | --- | --- | --- |",
    ]
    for key, label in (
        ("cold_start_s", "cold start to first answer (s)"),
        ("parse_ms", "NLU-only parse (ms/message, median)"),
        ("rss_mb", "resident memory of the servers (MB)"),
    ):
        ratio = ours[key] / stock[key] if stock[key] else float("nan")
        lines.append(f"| {label} | {ours[key]:.1f} | {stock[key]:.1f} | {ratio:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    """CLI used by `make bench`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench")
    parser.add_argument("--levels", default="1,20,100")
    parser.add_argument("--seconds", type=float, default=20.0, help="per level")
    parser.add_argument(
        "--cluster",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also 2 instances on PostgreSQL + Redis behind nginx, and the human pace "
        "(skipped with a warning when a service or nginx is missing)",
    )
    parser.add_argument(
        "--human-seconds",
        type=float,
        default=45.0,
        help="seconds per open-loop level at a human pace (cluster; 0: skip)",
    )
    parser.add_argument(
        "--also-memory",
        action="store_true",
        help="also measure this assistant with the in-memory tracker store",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    questions = yaml.safe_load((ROOT / "scripts" / "bench_questions.yml").read_text())[
        "questions"
    ]
    levels = [int(x) for x in args.levels.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = args.out / "run"
    shutil.rmtree(tmp, ignore_errors=True)  # a fresh tracker database for every run
    machine = (
        f"{platform.node()}: {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"{platform.platform()}, Python {platform.python_version()}"
    )

    def config(model: Path, actions: bool, name: str) -> ServerConfig:
        bot_dir = (ROOT / "bot") if actions else STOCK_DIR
        return ServerConfig.in_folder(
            model,
            tmp / name,
            start_actions=actions,
            credentials=bot_dir / "credentials.yml",
            endpoints=bot_dir / "endpoints.yml",
        )

    stock_path = stock_model()
    ours = bench_one(
        "ours ", config(args.model, True, "ours"), ROOT, questions, levels, args.seconds
    )
    if args.also_memory:
        # The same assistant with Rasa's in-memory tracker store (as the stock one uses), to
        # show what the durable SQLite default costs. Not the project's configuration.
        memory_endpoints = tmp / "endpoints-memory.yml"
        memory_endpoints.write_text(
            "action_endpoint:\n  url: ${ACTION_ENDPOINT_URL}\n"
            "  headers:\n    X-Action-Token: ${ACTION_SERVER_TOKEN}\n"
        )
        memory_config = config(args.model, True, "ours-memory")
        memory_config.endpoints = memory_endpoints
        memory = bench_one("ours, in-memory store", memory_config, ROOT, questions, levels,
                           args.seconds)  # fmt: skip
        (args.out / "bench-memory.json").write_text(json.dumps(memory, indent=2))
    cluster = (
        bench_cluster(args.model, questions, levels, args.seconds, tmp / "cluster",
                      args.human_seconds)  # fmt: skip
        if args.cluster
        else None
    )
    stock = bench_one("stock", config(stock_path, False, "stock"), STOCK_DIR, questions, levels,
                      args.seconds)  # fmt: skip
    text = report(ours, stock, machine)
    if cluster is not None:
        text += report_cluster(ours, cluster, stock)
        (args.out / "bench-cluster.json").write_text(json.dumps(cluster, indent=2))
    (args.out / "bench.md").write_text(text)
    (args.out / "bench.json").write_text(json.dumps({"machine": machine, "ours": ours,
                                                     "stock": stock}, indent=2))  # fmt: skip
    print("\n" + text)
    single = ours["levels"][0]["p50_ms"] <= stock["levels"][0]["p50_ms"]
    busiest = ours["levels"][-1]["msg_per_s"] >= stock["levels"][-1]["msg_per_s"]
    print(f"target single-user p50 <= stock: {'met' if single else 'NOT met'}")
    print(
        f"target msg/s at {levels[-1]} users >= stock: {'met' if busiest else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
