"""Command line: ``python -m convtest [paths or dirs] [options]``.

Exit codes: 0 all passed, 1 a conversation failed (or coverage is short),
2 the scripts, domain or KB are malformed (nothing run), 3 the bot could not be started.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from convtest import report
from convtest.client import DEFAULT_URL, ConversationResult, new_run_id, run_all
from convtest.coverage import compute_coverage
from convtest.domain import ResponseCatalog
from convtest.script import Conversation, load_scripts
from convtest.servers import ServerStartError, started_bot

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SCRIPTS = ROOT / "tests" / "conversations"
DEFAULT_DOMAIN = ROOT / "bot" / "domain"
DEFAULT_LOG_DIR = ROOT / "var" / "convtest"

EXIT_OK, EXIT_FAILED, EXIT_BAD_SCRIPTS, EXIT_NO_SERVER = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="python -m convtest",
        description="Run scripted conversations against the assistant's REST channel.",
    )
    parser.add_argument(
        "paths", nargs="*", help=f"script files or folders (default: {DEFAULT_SCRIPTS})"
    )
    parser.add_argument(
        "--name", help="only conversations whose name (or file) contains this"
    )
    parser.add_argument(
        "--url",
        help=f"REST webhook of a running bot (e.g. {DEFAULT_URL}); "
        "without it the bot is started with scripts/serve.py and stopped afterwards",
    )
    parser.add_argument("--junit", type=Path, help="write JUnit XML to this file")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="conversations in flight at once (default 8)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for one reply (default 60)",
    )
    parser.add_argument(
        "--coverage",
        action="store_true",
        help="fail if a KB entry is not reached by any kb_entry expectation",
    )
    parser.add_argument(
        "--min-wordings",
        type=int,
        default=1,
        help="with --coverage: each entry must be reached by this many differently "
        "worded questions (the strict check is 3)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only validate the scripts (and coverage from the scripts); no bot needed",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show transcripts of passing conversations too",
    )
    parser.add_argument(
        "--domain", type=Path, default=DEFAULT_DOMAIN, help="bot domain folder"
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=300.0,
        help="seconds to wait for a started bot to answer (default 300)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="model to serve when the bot is started (default: the one `make train` "
        "built for the current inputs)",
    )
    parser.add_argument(
        "--server-logs",
        type=Path,
        default=DEFAULT_LOG_DIR,
        help=f"folder for the logs of a started bot (default {DEFAULT_LOG_DIR})",
    )
    return parser


def _load_kb() -> Any:
    """The knowledge base (``from kb import load_kb``), imported late: reading it is I/O."""
    from kb import load_kb

    return load_kb()


def _kb_ids() -> frozenset[str]:
    """Ids of every KB entry."""
    return frozenset(_load_kb().entries)


async def _run(
    conversations: Sequence[Conversation],
    catalog: ResponseCatalog,
    args: argparse.Namespace,
) -> tuple[list[ConversationResult], float]:
    """Run everything (starting the bot first if no --url); returns results and run time."""
    run_id = new_run_id()

    async def timed(url: str) -> tuple[list[ConversationResult], float]:
        started = time.perf_counter()
        results = await run_all(
            conversations, catalog, url, args.concurrency, args.timeout, run_id
        )
        return results, time.perf_counter() - started

    if args.url:
        return await timed(args.url)
    report.emit(
        f"Starting the bot with scripts/serve.py (logs: {args.server_logs}) ..."
    )
    started = time.perf_counter()
    async with started_bot(
        run_id, args.start_timeout, args.server_logs, args.model
    ) as url:
        report.emit(f"The bot answered after {time.perf_counter() - started:.0f}s.")
        args.url = url
        return await timed(url)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    paths = args.paths or [str(DEFAULT_SCRIPTS)]

    try:
        catalog = ResponseCatalog.from_domain(args.domain)
    except ValueError as exc:
        report.emit(f"Cannot read the bot domain: {exc}", sys.stderr)
        return EXIT_BAD_SCRIPTS
    try:
        kb_ids = _kb_ids()
    except (ValueError, ImportError) as exc:  # KBError is a ValueError
        report.emit(f"Cannot load the knowledge base: {exc}", sys.stderr)
        return EXIT_BAD_SCRIPTS

    conversations, errors = load_scripts(paths, catalog.names, kb_ids, args.name)
    if errors:
        report.emit(report.format_script_errors(errors), sys.stderr)
        return EXIT_BAD_SCRIPTS
    if not conversations:
        report.emit(f"No conversation matches --name {args.name!r}.", sys.stderr)
        return EXIT_BAD_SCRIPTS
    if args.coverage and args.name:
        report.emit(
            "Note: coverage with --name only counts the selected conversations."
        )

    turns = sum(s.repeat for c in conversations for s in c.steps)
    if args.check:
        report.emit(f"Scripts OK: {len(conversations)} conversations, {turns} turns.")
        if args.coverage:
            cov = compute_coverage(kb_ids, conversations, None, args.min_wordings)
            report.emit(cov.format())
            return EXIT_OK if cov.ok else EXIT_FAILED
        return EXIT_OK

    try:
        results, seconds = asyncio.run(_run(conversations, catalog, args))
    except ServerStartError as exc:
        report.emit(f"Could not start the bot: {exc}", sys.stderr)
        return EXIT_NO_SERVER

    report.emit(
        report.format_report(results, seconds, args.url or DEFAULT_URL, args.verbose)
    )
    if args.junit:
        report.write_junit(results, args.junit, seconds)
        report.emit(f"JUnit XML: {args.junit}")
    ok = all(r.passed for r in results)
    if args.coverage:
        cov = compute_coverage(kb_ids, conversations, results, args.min_wordings)
        report.emit(cov.format())
        ok = ok and cov.ok
    return EXIT_OK if ok else EXIT_FAILED
