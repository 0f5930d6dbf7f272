"""Run started servers in the foreground until Ctrl-C: the command-line tail shared by
``scripts/serve.py`` (``make run``) and ``scripts/cluster.py`` (``make run-cluster``)."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


def stop_on_signal(_signum: int, _frame: object) -> None:
    """The first Ctrl-C (or SIGTERM) stops everything; later ones cannot interrupt that."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt


def run_in_foreground(
    start: Callable[[], object],
    stop: Callable[[], None],
    ready: Callable[[], None],
    alive: Callable[[], str | None] = lambda: None,
    poll_s: float = 0.5,
) -> int:
    """``start()``, then ``ready()`` (the ready message), then wait until Ctrl-C or SIGTERM
    (exit code 0) or until ``alive()`` names a reason to give up (logged, exit code 1);
    ``stop()`` in every case. A RuntimeError from ``start()`` is logged in one line (1)."""
    signal.signal(signal.SIGINT, stop_on_signal)
    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        start()
        ready()
        while (reason := alive()) is None:
            time.sleep(poll_s)
        logger.error("%s; stopping", reason)
        return 1
    except KeyboardInterrupt:
        logger.info("stopping...")
        return 0
    except RuntimeError as exc:
        logger.error("could not start: %s", exc)
        return 1
    finally:
        stop()
