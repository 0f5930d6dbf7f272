"""Start the action server and the Rasa server (and the widget's static server if present).

``python scripts/serve.py`` runs in the foreground until Ctrl-C, which stops everything.
Tests and benchmarks use :class:`Servers` as a context manager on spare ports.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.paths import ROOT, VAR, child_env, python  # noqa: E402

logger = logging.getLogger(__name__)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if nothing listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) != 0


def free_port() -> int:
    """A port nothing listens on now (for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True if GET ``url`` answers 200."""
    try:
        with urllib.request.urlopen(
            url, timeout=timeout
        ) as resp:  # noqa: S310 (loopback)
            return resp.status == 200
    except OSError:
        return False


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
    start_actions: bool = True
    widget_port: int | None = None  # serve widget/ and the demo forum page (make run)

    @classmethod
    def in_folder(cls, model: Path, folder: Path, **overrides: Any) -> ServerConfig:
        """A config for tests and benchmarks: spare ports on loopback, with the tracker
        database and the logs inside ``folder``. Any field can be overridden."""
        fields: Dict[str, Any] = {
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


class Servers:
    """The running assistant: action server + Rasa server, stopped together."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.cwd: Path = (
            ROOT  # the stock assistant in `make bench` runs from its own folder
        )
        self.procs: List[subprocess.Popen] = []
        self._logs: List[IO[bytes]] = []

    def _spawn(self, name: str, cmd: List[str], env: dict) -> subprocess.Popen:
        out = None
        if self.config.log_dir is not None:
            self.config.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.config.log_dir / f"{name}.log", "ab")  # noqa: SIM115
            self._logs.append(out)
        proc = subprocess.Popen(
            cmd,
            cwd=self.cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,  # we stop it ourselves, also on Ctrl-C
        )
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 240.0) -> Servers:
        """Start both servers and wait until they answer, or raise RuntimeError."""
        cfg = self.config
        for port in (
            (cfg.rasa_port, cfg.actions_port) if cfg.start_actions else (cfg.rasa_port,)
        ):
            if not port_free(port):
                raise RuntimeError(
                    f"port {port} is already in use; stop what uses it first"
                )
        env = self.env()
        if cfg.start_actions:
            self.start_actions(env)
        self._spawn(
            "rasa",
            [
                python(), "-m", "rasa", "run",
                "--model", str(cfg.model),
                "--endpoints", str(cfg.endpoints),
                "--credentials", str(cfg.credentials),
                "--port", str(cfg.rasa_port),
                "--interface", cfg.host,
            ],
            env,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        checks = [f"http://127.0.0.1:{cfg.rasa_port}/"]
        if cfg.start_actions:
            checks.append(f"http://127.0.0.1:{cfg.actions_port}/health")
        if cfg.widget_port:
            self._spawn(
                "widget",
                [python(), "-m", "widget.serve", "--port", str(cfg.widget_port),
                 "--rasa-url", f"http://localhost:{cfg.rasa_port}"],
                env,
            )  # fmt: skip
            checks.append(f"http://127.0.0.1:{cfg.widget_port}/")
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(
                        f"a server exited early (code {proc.returncode})"
                    )
            if all(http_ok(url) for url in checks):
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"servers did not answer within {timeout:.0f} s")

    def env(self) -> dict:
        """Environment for both servers: action endpoint and tracker database filled in."""
        cfg = self.config
        cfg.tracker_db.parent.mkdir(parents=True, exist_ok=True)
        return child_env(
            ACTION_ENDPOINT_URL=f"http://localhost:{cfg.actions_port}/webhook",
            TRACKER_DB=str(cfg.tracker_db),
            **cfg.extra_env,
        )

    def start_actions(self, env: dict) -> subprocess.Popen:
        """Spawn the rasa_sdk action server (it is the first process, see stop_actions)."""
        port = str(self.config.actions_port)
        cmd = [python(), "-m", "rasa_sdk", "--actions", "actions", "--port", port]
        return self._spawn("actions", cmd, env)

    def stop_actions(self) -> None:
        """Stop only the action server (to test that safety rules work without it)."""
        if self.config.start_actions and self.procs:
            self._terminate(self.procs[0])

    @staticmethod
    def _signal(proc: subprocess.Popen, sig: int) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)

    def _terminate(self, *procs: subprocess.Popen, grace: float = 15.0) -> None:
        """SIGTERM all at once, wait up to ``grace`` seconds, then SIGKILL what is left."""
        for proc in procs:
            self._signal(proc, signal.SIGTERM)
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
            self._terminate(*reversed(self.procs))
        finally:
            # `previous` is empty off the main thread, where signals cannot be changed
            for sig, handler in zip(ignored, previous, strict=False):
                signal.signal(sig, handler)
        for log in self._logs:
            log.close()
        self.procs.clear()
        self._logs.clear()

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
            python(), "-m", "rasa", "shell", "--model", str(cfg.model),
            "--endpoints", str(cfg.endpoints), "--port", str(cfg.rasa_port),
        ]  # fmt: skip
        return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode
    except KeyboardInterrupt:
        return 0
    finally:
        servers.stop()


def main() -> int:
    """CLI used by ``make run``: foreground until Ctrl-C."""
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

    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    if args.shell:
        return run_shell(servers)
    try:
        servers.start()
        logger.info("\nThe assistant is ready.")
        logger.info("  REST channel: POST %s", servers.config.rest_url)
        logger.info('  e.g. curl -s -XPOST %s -d \'{"sender":"me","message":"what is CAPTEM?"}\'',
                    servers.config.rest_url)  # fmt: skip
        if servers.config.widget_port:
            logger.info(
                "  Web widget demo (patient forum): http://localhost:%d/",
                servers.config.widget_port,
            )
        logger.info("Press Ctrl-C to stop.")
        while all(p.poll() is None for p in servers.procs):
            time.sleep(0.5)
        logger.error("a server stopped unexpectedly; stopping the others")
        return 1
    except KeyboardInterrupt:
        logger.info("stopping...")
        return 0
    except RuntimeError as exc:
        logger.error("could not start: %s", exc)
        return 1
    finally:
        servers.stop()


if __name__ == "__main__":
    sys.exit(main())
