"""Profile the Rasa server's work per message: cProfile over in-process ``Agent.handle_text``
with the real action server, on the benchmark's questions (a new conversation every 8).

    python -m scripts.profile_turns --model models/<hash>.tar.gz [--messages 300]
        [--without-patches] [--out results/profile]

Prints CPU ms per message and the top functions by own time and by cumulative time, and
writes ``profile.txt`` and ``profile.pstats``. ``--without-patches`` puts Rasa's own code
back (bot/rasa_patches.py) to measure what the patches are worth. The answers are computed
for real every time (no caching by message text). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import os
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

from bot import warnings_filter
from scripts.paths import ROOT
from scripts.serve import ServerConfig, Servers

logger = logging.getLogger(__name__)
TURNS_PER_CONVERSATION = 8


def questions() -> list[str]:
    """The benchmark's realistic questions."""
    data = yaml.safe_load((ROOT / "scripts" / "bench_questions.yml").read_text())
    return list(data["questions"])


async def run(model: Path, count: int, without_patches: bool) -> pstats.Stats:
    """Load the agent in this process, warm it up, then profile ``count`` messages."""
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints

    import bot.rasa_patches as patches

    patches.apply()
    if without_patches:
        patches.revert()
    agent = await load_agent(
        model_path=str(model),
        endpoints=AvailableEndpoints.read_endpoints(
            str(ROOT / "bot" / "endpoints.yml")
        ),
    )
    qs = questions()
    await agent.handle_text("hello", sender_id=f"warm-{uuid.uuid4().hex}")
    run_id = uuid.uuid4().hex[:8]

    async def turns(tag: str) -> float:
        """CPU seconds for ``count`` messages in conversations of 8."""
        started = time.process_time()
        for i in range(count):
            sender = f"profile-{run_id}-{tag}-{i // TURNS_PER_CONVERSATION}"
            await agent.handle_text(qs[i % len(qs)], sender_id=sender)
        return time.process_time() - started

    plain = await turns("plain")
    logger.info(
        "%.1f ms CPU per message (no profiler), %d messages",
        plain * 1000 / count,
        count,
    )
    profiler = cProfile.Profile()
    profiler.enable()
    await turns("profiled")
    profiler.disable()
    return pstats.Stats(profiler)


def report(stats: pstats.Stats, count: int, top: int = 15) -> str:
    """The top functions by own time and by cumulative time, as text."""
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    total = getattr(stats, "total_tt", 0.0)
    out.write(
        f"messages: {count}; profiled time per message: {total * 1000 / count:.1f} ms\n"
    )
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top * 2)
    return out.getvalue()


def main() -> int:
    """CLI: start the action server, profile the Rasa side in this process."""
    warnings_filter.install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--without-patches", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "profile")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from rasa.utils.log_utils import configure_structlog

    # As `rasa run` does at its default level: without it structlog renders every DEBUG
    # event (the parsed text, the tracker's slots) to stdout, work the server never does.
    configure_structlog(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        config = ServerConfig.in_folder(args.model, Path(tmp))
        servers = Servers(config)
        env = servers.env()
        os.environ.update(env)  # this process is the Rasa server: same settings
        try:
            servers.start_actions(env, wait=True)
            stats = asyncio.run(run(args.model, args.messages, args.without_patches))
        finally:
            servers.stop()
    text = report(stats, args.messages)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "-without-patches" if args.without_patches else ""
    (args.out / f"profile{suffix}.txt").write_text(text)
    stats.dump_stats(str(args.out / f"profile{suffix}.pstats"))
    sys.stdout.write(text[:6000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
