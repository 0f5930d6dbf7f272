"""Watchdogs for the assistant's processes: restart a child that exits or hangs.

One thread per child (:class:`Watchdog`). Every ``interval`` seconds it asks the child's
health URL (``timeout`` seconds). A child that exited, or failed ``failures`` checks in a
row without using any CPU meanwhile (SIGSTOP, a deadlock, a closed socket), is restarted:
a hung one is SIGKILLed first. A child that keeps using CPU while not answering is busy, not
hung (an overloaded Rasa server): it gets ``busy_failures`` checks before it is killed, so
the watchdog does not turn overload into an outage. Restarts back off exponentially
(``backoff_first`` doubling up to ``backoff_max`` seconds) and the back-off starts again
once the child has been healthy for ``stable`` seconds. Each event is one log line, with
process names and numbers only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)
BUSY_CPU_SHARE = 0.1  # a child using more CPU than this while silent is busy, not hung


@dataclass
class Policy:
    """When a child counts as hung, and how fast it is restarted."""

    interval: float = 2.0
    timeout: float = 2.0
    failures: int = 3
    busy_failures: int = 30
    backoff_first: float = 1.0
    backoff_max: float = 30.0
    stable: float = 60.0
    start_timeout: float = 240.0


@dataclass
class Child:
    """One supervised process: how to start it and where to ask whether it is well."""

    name: str
    cmd: list[str]
    env: dict
    health_url: str
    proc: subprocess.Popen | None = None
    wanted: bool = True  # False: stopped on purpose, left down
    restarts: int = 0


def answers(url: str, timeout: float) -> bool:
    """True if ``url`` gives any HTTP answer below 500 within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310
            return resp.status < 500
    except urllib.error.HTTPError as err:
        return err.code < 500
    except (OSError, ValueError):
        return False


def proc_stat(pid: int) -> tuple[str, float] | None:
    """The state letter and CPU seconds of ``pid`` from /proc, or None (not Linux, gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return fields[0], (int(fields[11]) + int(fields[12])) / ticks


def kill_group(proc: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the child's process group (each child leads its own session)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)


class Watchdog(threading.Thread):
    """Keeps one child running; see the module docstring for the rules."""

    def __init__(
        self,
        child: Child,
        policy: Policy,
        relaunch: Callable[[Child], bool],
        enabled: Callable[[], bool],
        stopping: threading.Event,
        note: Callable[[str], None],
    ) -> None:
        super().__init__(name=f"watchdog-{child.name}", daemon=True)
        self.child = child
        self.policy = policy
        self.relaunch = relaunch  # starts child.proc anew; False if shutting down
        self.enabled = enabled  # supervision on and the child wanted
        self.stopping = stopping
        self.note = note
        self.backoff = policy.backoff_first
        self.healthy_since = time.monotonic()

    def run(self) -> None:
        """Check, and restart when needed, until ``stopping`` is set."""
        failures, cpu_at_first, since = 0, 0.0, 0.0
        while not self.stopping.wait(self.policy.interval):
            proc = self.child.proc
            if not self.enabled() or proc is None:
                failures = 0
                continue
            code = proc.poll()
            if code is not None:
                if self.enabled():  # not stopped on purpose meanwhile
                    self._restart(f"exited (code {code})")
                failures = 0
                continue
            if answers(self.child.health_url, self.policy.timeout):
                failures = 0
                if time.monotonic() - self.healthy_since >= self.policy.stable:
                    self.backoff = self.policy.backoff_first
                continue
            stat = proc_stat(proc.pid)
            now = time.monotonic()
            if failures == 0:
                cpu_at_first, since = (stat[1] if stat else 0.0), now
            failures += 1
            busy = (
                stat is not None
                and stat[0] not in "Tt"  # stopped (SIGSTOP) is hung, never busy
                and stat[1] - cpu_at_first > BUSY_CPU_SHARE * max(now - since, 1e-9)
            )
            limit = self.policy.busy_failures if busy else self.policy.failures
            if failures >= limit and self.enabled() and proc is self.child.proc:
                kill_group(proc, signal.SIGKILL)
                proc.wait()
                how = "busy, " if busy else ""
                self._restart(f"did not answer {failures} health checks in a row "
                              f"({how}{self.policy.timeout:.0f} s each); killed it")  # fmt: skip
                failures = 0

    def _restart(self, what: str) -> None:
        """Wait the back-off, start the child again and wait until it answers."""
        child, policy = self.child, self.policy
        self.note(f"{child.name} {what}; restarting it in {self.backoff:.0f} s")
        if self.stopping.wait(self.backoff):
            return
        self.backoff = min(self.backoff * 2, policy.backoff_max)
        if not self.enabled() or not self.relaunch(child):
            return
        child.restarts += 1
        deadline = time.monotonic() + policy.start_timeout
        while not self.stopping.wait(0.5):
            proc = child.proc
            if proc is None or proc.poll() is not None:
                return  # the next check sees the exit and backs off further
            if answers(child.health_url, policy.timeout):
                self.healthy_since = time.monotonic()
                self.note(f"{child.name} is answering again (restart {child.restarts})")
                return
            if time.monotonic() > deadline:
                kill_group(proc, signal.SIGKILL)
                proc.wait()
                self.note(
                    f"{child.name} did not answer within {policy.start_timeout:.0f} s "
                    "of starting; killed it"
                )
                return
