"""Start the action server, the Rasa server and the widget's static server, supervised.

``python -m scripts.serve`` (``make run``, ``netchemo-serve``) runs in the foreground until
Ctrl-C, which stops everything (a second Ctrl-C cannot interrupt that). It logs each step
(each server started, then answering) and the ready message. Meanwhile a watchdog per
process (scripts/supervisor.py) restarts one that exits or stops answering its health
check, with back-off, and says so in one terminal line; the others keep serving.
Tests and benchmarks use :class:`Servers` as a context manager on spare ports.

What the children get (``Servers.env``): ``ACTION_ENDPOINT_URL``, ``TRACKER_DB``,
``ACTION_SERVER_TOKEN`` (the shared secret of bot/endpoints.yml and
scripts/actions_server.py: taken from the environment, else random per run),
``SANIC_REQUEST_MAX_SIZE`` (64 kB for the Rasa server; Sanic's default for the action
server, which receives whole conversations) and ``RASA_HOST`` (the host the Rasa server
binds to). They run with umask 077, and var/ is made private (folders 0700, files 0600).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bot import warnings_filter
from scripts.foreground import run_in_foreground, stop_on_signal
from scripts.paths import (
    PRIVATE_DIR,
    PRIVATE_FILE,
    PRIVATE_UMASK,
    ROOT,
    TOKEN_ENV,
    VAR,
    child_env,
    make_private,
    python,
)
from scripts.supervisor import (
    Child,
    Policy,
    Watchdog,
    answers,
    kill_group,
)

logger = logging.getLogger(__name__)
REQUEST_MAX_BYTES = (
    64 * 1024
)  # the Rasa server's request body limit (Sanic's is 100 MB)
LABELS = {"actions": "action server", "rasa": "Rasa server", "widget": "widget page"}
ACTIONS_REQUEST_MAX_BYTES = 100_000_000  # Sanic's default: whole conversations come in


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if nothing listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) != 0


def free_port() -> int:
    """A port nothing listens on now (for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@functools.lru_cache(maxsize=1)
def run_token() -> str:
    """A random action-server secret, one per run (every Servers of this process shares
    it, so a test may point a second Rasa server at the first one's action server)."""
    return secrets.token_urlsafe(32)


def reachable(host: str) -> str:
    """Where this machine reaches a server bound to ``host`` (loopback for "everywhere")."""
    if host in ("", "0.0.0.0", "localhost"):  # noqa: S104 (a comparison)
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


@dataclass
class ServerConfig:
    """Ports, files and model for one run of the assistant."""

    model: Path
    rasa_port: int = 5005
    actions_port: int = 5055
    host: str = "127.0.0.1"  # `make run HOST=0.0.0.0` to accept other machines
    credentials: Path = ROOT / "bot" / "credentials.yml"
    endpoints: Path = ROOT / "bot" / "endpoints.yml"
    tracker_db: Path = VAR / "tracker.db"
    log_dir: Path | None = None  # None: children write to this terminal
    extra_env: dict = field(default_factory=dict)
    # Variables removed from the servers' environment (the stock assistant of `make bench`
    # runs without this project's runtime settings, bot/runtime.py).
    drop_env: tuple[str, ...] = ()
    start_actions: bool = True
    widget_port: int | None = None  # serve widget/ and the demo forum page (make run)
    # Restart a child that exits or hangs (scripts/supervisor.py). Tests that stop the
    # action server on purpose use Servers.stop_actions() or Servers.pause_supervision().
    supervise: bool = True
    policy: Policy = field(default_factory=Policy)
    # How the Rasa server is run: ``python -m <rasa_module> run ...``. bot.cli is Rasa's
    # CLI with the known warnings filtered; the stock assistant of `make bench` uses "rasa".
    rasa_module: str = "bot.cli"

    @classmethod
    def in_folder(cls, model: Path, folder: Path, **overrides: Any) -> ServerConfig:
        """A config for tests and benchmarks: spare ports on loopback, with the tracker
        database and the logs inside ``folder``. Any field can be overridden."""
        fields: dict[str, Any] = {
            "model": model,
            "rasa_port": free_port(),
            "actions_port": free_port(),
            "host": "127.0.0.1",
            "tracker_db": folder / "tracker.db",
            "log_dir": folder / "logs",
        }
        return cls(**{**fields, **overrides})

    @property
    def rest_url(self) -> str:
        """The REST channel's webhook URL."""
        return f"http://localhost:{self.rasa_port}/webhooks/rest/webhook"

    @property
    def probe_host(self) -> str:
        """Where this machine reaches the servers (loopback when they bind everywhere)."""
        return reachable(self.host)

    def url(self, port: int, path: str = "/") -> str:
        """``http://<probe host>:<port><path>``."""
        return f"http://{self.probe_host}:{port}{path}"


class Servers:
    """The running assistant: action server, Rasa server and the widget's static server,
    each restarted by a watchdog if it exits or hangs, all stopped together.

    Test helpers: :attr:`actions_proc` (the action server's ``Popen``),
    :meth:`stop_actions` and :meth:`start_actions` (a stopped action server stays down
    until started again), :meth:`pause_supervision` / :meth:`resume_supervision` (the
    watchdogs leave every child alone meanwhile, e.g. while a test SIGSTOPs one) and
    :attr:`events` (what the watchdogs did, one line each).
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.cwd: Path = (
            ROOT  # the stock assistant in `make bench` runs from its own folder
        )
        self.children: dict[str, Child] = {}
        self.events: list[str] = []
        # The secret the Rasa server sends the action server (scripts/actions_server.py).
        self.action_token: str = (
            config.extra_env.get(TOKEN_ENV) or os.environ.get(TOKEN_ENV) or run_token()
        )
        self._logs: dict[str, IO[bytes]] = {}
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._supervising = config.supervise
        self._watchdogs: list[Watchdog] = []

    # ---- processes ------------------------------------------------------------------------
    @property
    def procs(self) -> list[subprocess.Popen]:
        """The children's processes in start order (action server first)."""
        return [c.proc for c in self.children.values() if c.proc is not None]

    @property
    def actions_proc(self) -> subprocess.Popen | None:
        """The action server's process (None if it was never started)."""
        child = self.children.get("actions")
        return child.proc if child else None

    def _log_file(self, name: str) -> IO[bytes] | None:
        if self.config.log_dir is None:
            return None
        if name not in self._logs:
            log_dir = self.config.log_dir
            log_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
            make_private(log_dir)
            path = log_dir / f"{name}.log"
            self._logs[name] = open(  # noqa: SIM115 (closed in stop)
                path, "ab", opener=lambda p, flags: os.open(p, flags, PRIVATE_FILE)
            )
        return self._logs[name]

    def _launch(self, child: Child) -> bool:
        """Start ``child``'s process; False (nothing started) once stopping began."""
        with self._lock:
            if self._stopping.is_set():
                return False
            out = self._log_file(child.name)
            child.proc = subprocess.Popen(
                child.cmd,
                cwd=self.cwd,
                env=child.env,
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                start_new_session=True,  # we stop it ourselves, also on Ctrl-C
                umask=PRIVATE_UMASK,
            )
            return True

    def _spawn(
        self, name: str, cmd: list[str], env: dict, health_url: str
    ) -> subprocess.Popen:
        child = Child(name=name, cmd=cmd, env=env, health_url=health_url)
        self.children[name] = child
        self._launch(child)
        assert child.proc is not None
        return child.proc

    def start(self, timeout: float = 240.0) -> Servers:
        """Start the servers and wait until they answer, or raise RuntimeError.

        Logs one line as each is started and one as each first answers (``make run``
        shows them; tests do not configure logging)."""
        cfg = self.config
        for port in (
            (cfg.rasa_port, cfg.actions_port) if cfg.start_actions else (cfg.rasa_port,)
        ):
            probe = cfg.probe_host if ":" not in cfg.probe_host else "127.0.0.1"
            if not port_free(port, probe):
                raise RuntimeError(
                    f"port {port} is already in use; stop what uses it first"
                )
        self._stopping.clear()
        started = time.monotonic()
        env = self.env()
        if cfg.start_actions:
            logger.info("starting the action server (port %d)", cfg.actions_port)
            self.start_actions(env)
        logger.info(
            "starting the Rasa server (port %d; loading the model takes a while)",
            cfg.rasa_port,
        )
        self._spawn(
            "rasa",
            [
                python(), "-m", cfg.rasa_module, "run",
                "--model", str(cfg.model),
                "--endpoints", str(cfg.endpoints),
                "--credentials", str(cfg.credentials),
                "--port", str(cfg.rasa_port),
                "--interface", cfg.host,
            ],
            env,
            cfg.url(cfg.rasa_port, "/webhooks/rest/"),
        )  # fmt: skip
        if cfg.widget_port:
            logger.info("starting the widget demo page (port %d)", cfg.widget_port)
            self._spawn(
                "widget",
                [python(), "-m", "widget.serve", "--port", str(cfg.widget_port),
                 "--rasa-url", f"http://localhost:{cfg.rasa_port}"],
                env,
                # widget/serve.py binds to WIDGET_HOST (default loopback), not to HOST
                f"http://{reachable(env.get('WIDGET_HOST', '127.0.0.1'))}"
                f":{cfg.widget_port}/",
            )  # fmt: skip
        waiting = dict(self.children)
        deadline = started + timeout
        while time.monotonic() < deadline:
            for child in self.children.values():
                if child.proc is not None and child.proc.poll() is not None:
                    code = child.proc.returncode
                    self.stop()
                    raise RuntimeError(
                        f"the {child.name} server exited early (code {code})"
                    )
            for name, child in list(waiting.items()):
                if answers(child.health_url, 2.0):
                    del waiting[name]
                    logger.info(
                        "  the %s answers (after %.0f s)",
                        LABELS.get(name, name),
                        time.monotonic() - started,
                    )
            if not waiting:
                if self._supervising:
                    self._start_watchdogs()
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"servers did not answer within {timeout:.0f} s")

    def env(self) -> dict:
        """Environment for the servers: action endpoint and its secret, tracker database,
        request size limit and the host the Rasa server binds to."""
        cfg = self.config
        db_dir = cfg.tracker_db.parent
        db_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        if db_dir.resolve() == VAR.resolve() or VAR.resolve() in db_dir.parents:
            make_private(VAR)  # `make run`: everything under var/ is private
        for path in db_dir.glob(f"{cfg.tracker_db.name}*"):
            make_private(path)  # the database and its -wal and -shm files
        env = child_env(
            ACTION_ENDPOINT_URL=cfg.url(cfg.actions_port, "/webhook"),
            TRACKER_DB=str(cfg.tracker_db),
            **{TOKEN_ENV: self.action_token},
            # Sanic's request size limit for the Rasa server (its default is 100 MB).
            SANIC_REQUEST_MAX_SIZE=str(REQUEST_MAX_BYTES),
            RASA_HOST=cfg.host,  # the REST channel requires a token off loopback
            **cfg.extra_env,
        )
        for name in cfg.drop_env:
            env.pop(name, None)
        return env

    # ---- the action server -------------------------------------------------------------
    def start_actions(
        self, env: dict | None = None, wait: bool = False, timeout: float = 120.0
    ) -> subprocess.Popen:
        """Start the action server (scripts/actions_server.py), or return it if it runs.

        After :meth:`stop_actions` this starts it again and puts it back under
        supervision. ``wait``: return once it answers its health check (RuntimeError
        after ``timeout`` seconds).
        """
        cfg = self.config
        child = self.children.get("actions")
        if child is None:
            env = dict(env or self.env())
            # Rasa sends the whole conversation to the action server: keep Sanic's limit.
            env["SANIC_REQUEST_MAX_SIZE"] = str(ACTIONS_REQUEST_MAX_BYTES)
            cmd = [
                python(), "-m", "scripts.actions_server", "--actions", "actions",
                "--host", cfg.host, "--port", str(cfg.actions_port),
            ]  # fmt: skip
            self._spawn("actions", cmd, env, cfg.url(cfg.actions_port, "/health"))
            child = self.children["actions"]
        elif child.proc is None or child.proc.poll() is not None:
            self._launch(child)
        child.wanted = True
        assert child.proc is not None
        if wait:
            deadline = time.monotonic() + timeout
            while not answers(child.health_url, 2.0):
                if child.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the action server did not start")
                time.sleep(0.3)
        return child.proc

    def stop_actions(self) -> None:
        """Stop only the action server; it stays down until :meth:`start_actions`."""
        child = self.children.get("actions")
        if child is not None:
            with self._lock:
                child.wanted = False
            if child.proc is not None:
                self._terminate(child.proc)

    # ---- supervision ---------------------------------------------------------------------
    def _note(self, message: str) -> None:
        """One line in the terminal (no user text) and in :attr:`events`."""
        self.events.append(message)
        logger.warning("supervisor: %s", message)

    def _relaunch(self, child: Child) -> bool:
        """A watchdog's restart: only if the child is still supervised and wanted."""
        with self._lock:
            if not (self._supervising and child.wanted):
                return False
            return self._launch(child)

    def _watched(self, child: Child) -> bool:
        """True while the watchdog of ``child`` should act on it."""
        return self._supervising and child.wanted

    def _start_watchdogs(self) -> None:
        running = {w.child.name for w in self._watchdogs if w.is_alive()}
        for child in self.children.values():
            if child.name in running:
                continue
            watchdog = Watchdog(
                child,
                self.config.policy,
                relaunch=self._relaunch,
                enabled=functools.partial(self._watched, child),
                stopping=self._stopping,
                note=self._note,
            )
            watchdog.start()
            self._watchdogs.append(watchdog)

    def unsupervise(self, name: str) -> None:
        """Leave the child ``name`` ("actions", "rasa", "widget") alone from now on;
        :meth:`start_actions` puts the action server back under supervision."""
        if name in self.children:
            self.children[name].wanted = False

    def pause_supervision(self) -> None:
        """Leave every child alone (stopped, paused or dead) until resumed."""
        with self._lock:
            self._supervising = False

    def resume_supervision(self) -> None:
        """Watch the children again (starts the watchdogs if ``supervise`` was off)."""
        self._supervising = True
        if self.children and not self._stopping.is_set():
            self._start_watchdogs()

    @contextlib.contextmanager
    def unsupervised(self) -> Iterator[Servers]:
        """``with servers.unsupervised():`` pause supervision for the block."""
        was = self._supervising
        self.pause_supervision()
        try:
            yield self
        finally:
            if was:
                self.resume_supervision()

    # ---- stopping --------------------------------------------------------------------------
    @staticmethod
    def _signal(proc: subprocess.Popen, sig: int) -> None:
        kill_group(proc, sig)

    def _terminate(self, *procs: subprocess.Popen, grace: float = 15.0) -> None:
        """SIGTERM all at once, wait up to ``grace`` seconds, then SIGKILL what is left."""
        for proc in procs:
            self._signal(proc, signal.SIGTERM)
            self._signal(proc, signal.SIGCONT)  # a SIGSTOPped child must see it too
        deadline = time.monotonic() + grace
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(proc, signal.SIGKILL)
                proc.wait()

    def stop(self) -> None:
        """Stop everything this object started; a second Ctrl-C cannot interrupt it."""
        main = threading.current_thread() is threading.main_thread()
        ignored = (signal.SIGINT, signal.SIGTERM)
        previous = [signal.signal(s, signal.SIG_IGN) for s in ignored] if main else []
        try:
            self._stopping.set()  # no watchdog starts anything from now on
            with self._lock:
                self._terminate(*reversed(self.procs))
            for watchdog in self._watchdogs:
                watchdog.join(timeout=self.config.policy.timeout + 1.0)
        finally:
            # `previous` is empty off the main thread, where signals cannot be changed
            for sig, handler in zip(ignored, previous, strict=False):
                signal.signal(sig, handler)
        for log in self._logs.values():
            log.close()
        self.children.clear()
        self._logs.clear()
        self._watchdogs.clear()

    def __enter__(self) -> Servers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_shell(servers: Servers) -> int:
    """Start the action server, then `rasa shell` in this terminal; stop both at the end."""
    cfg = servers.config
    env = servers.env()
    servers.start_actions(env)
    try:
        cmd = [
            python(), "-m", cfg.rasa_module, "shell", "--model", str(cfg.model),
            "--endpoints", str(cfg.endpoints), "--port", str(cfg.rasa_port),
            # rasa shell's server binds everywhere by default; RASA_HOST says loopback
            "--interface", cfg.host,
        ]  # fmt: skip
        return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode
    except KeyboardInterrupt:
        return 0
    finally:
        servers.stop()


def main() -> int:
    """CLI used by ``make run``: foreground until Ctrl-C."""
    warnings_filter.install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("RASA_PORT", 5005))
    )
    parser.add_argument(
        "--actions-port", type=int, default=int(os.environ.get("ACTIONS_PORT", 5055))
    )
    parser.add_argument(
        "--credentials", type=Path, default=ROOT / "bot" / "credentials.yml"
    )
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument(
        "--shell", action="store_true", help="talk in this terminal instead"
    )
    parser.add_argument(
        "--widget-port",
        type=int,
        default=int(os.environ.get("WIDGET_PORT", 8080)),
        help="port of the demo forum page with the chat widget (0: do not serve it)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    servers = Servers(
        ServerConfig(
            model=args.model,
            rasa_port=args.port,
            actions_port=args.actions_port,
            credentials=args.credentials,
            host=args.host,
            widget_port=None if args.shell else (args.widget_port or None),
        )
    )
    os.umask(PRIVATE_UMASK)  # var/ and the logs: readable by this user only
    if args.shell:
        signal.signal(signal.SIGTERM, stop_on_signal)
        return run_shell(servers)
    return run_in_foreground(servers.start, servers.stop, lambda: ready(servers))


def ready(servers: Servers) -> None:
    """The ready message of ``make run``."""
    cfg = servers.config
    logger.info("\nThe assistant is ready.")
    logger.info("  REST channel: POST %s", cfg.rest_url)
    logger.info(
        '  e.g. curl -s -XPOST %s -d \'{"sender":"me","message":"what is CAPTEM?"}\'',
        cfg.rest_url,
    )
    if cfg.widget_port:
        logger.info(
            "  Web widget demo (patient forum): http://localhost:%d/", cfg.widget_port
        )
    logger.info("A server that stops or hangs is restarted. Press Ctrl-C to stop.")


if __name__ == "__main__":
    sys.exit(main())
