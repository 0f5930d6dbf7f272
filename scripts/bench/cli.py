"""``python -m scripts.bench`` / ``netchemo-bench`` (``make bench``): see :mod:`scripts.bench`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sys
from pathlib import Path

import yaml

from bot import warnings_filter
from scripts.bench.measure import bench_cluster, bench_one
from scripts.bench.report import report, report_cluster, targets
from scripts.bench.stock import STOCK_DIR, stock_config, stock_model
from scripts.paths import ROOT
from scripts.serve import ServerConfig

QUESTIONS = ROOT / "scripts" / "bench_questions.yml"
# The same assistant with Rasa's in-memory tracker store (as the stock one uses), to show
# what the durable SQLite default costs (--also-memory). Not the project's configuration.
MEMORY_ENDPOINTS = (
    "action_endpoint:\n  url: ${ACTION_ENDPOINT_URL}\n"
    "  headers:\n    X-Action-Token: ${ACTION_SERVER_TOKEN}\n"
)


def parser() -> argparse.ArgumentParser:
    """The command line (``--help``)."""
    from scripts import bench

    parser = argparse.ArgumentParser(
        prog="netchemo-bench",
        description=bench.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench")
    parser.add_argument("--levels", default="1,20,100", help="simultaneous users")
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
        "--cluster-workers",
        type=int,
        default=int(os.environ.get("SANIC_WORKERS", 1)),
        help="Sanic workers per cluster instance (default: SANIC_WORKERS or 1)",
    )
    parser.add_argument(
        "--also-memory",
        action="store_true",
        help="also measure this assistant with the in-memory tracker store",
    )
    return parser


def machine() -> str:
    """This machine in one line: cores, memory, platform, Python."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.node()}: {os.cpu_count()} cores, {memory:.0f} GiB, "
        f"{platform.platform()}, Python {platform.python_version()}"
    )


def main(argv: list[str] | None = None) -> int:
    """Measure ours, the cluster and stock; write bench.md and bench*.json under --out."""
    warnings_filter.install()
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    questions = yaml.safe_load(QUESTIONS.read_text())["questions"]
    levels = [int(x) for x in args.levels.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = args.out / "run"
    shutil.rmtree(tmp, ignore_errors=True)  # a fresh tracker database for every run

    def ours_config(name: str) -> ServerConfig:
        return ServerConfig.in_folder(args.model, tmp / name)

    stock_path = stock_model()
    ours = bench_one(
        "ours ", ours_config("ours"), ROOT, questions, levels, args.seconds
    )
    if args.also_memory:
        memory_config = ours_config("ours-memory")
        memory_config.endpoints = tmp / "endpoints-memory.yml"
        memory_config.endpoints.write_text(MEMORY_ENDPOINTS)
        memory = bench_one("ours, in-memory store", memory_config, ROOT, questions, levels,
                           args.seconds)  # fmt: skip
        (args.out / "bench-memory.json").write_text(json.dumps(memory, indent=2))
    cluster = (
        bench_cluster(args.model, questions, levels, args.seconds, tmp / "cluster",
                      args.human_seconds, workers=args.cluster_workers)  # fmt: skip
        if args.cluster
        else None
    )
    stock = bench_one("stock", stock_config(stock_path, tmp / "stock"), STOCK_DIR,
                      questions, levels, args.seconds)  # fmt: skip
    host = machine()
    text = report(ours, stock, host)
    if cluster is not None:
        text += report_cluster(ours, cluster, stock)
        (args.out / "bench-cluster.json").write_text(json.dumps(cluster, indent=2))
    (args.out / "bench.md").write_text(text)
    (args.out / "bench.json").write_text(
        json.dumps({"machine": host, "ours": ours, "stock": stock}, indent=2)
    )
    sys.stdout.write(
        "\n" + text + "\n" + "\n".join(targets(ours, stock, levels[-1], cluster)) + "\n"
    )
    return 0
