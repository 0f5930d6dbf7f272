"""Several Rasa instances on PostgreSQL and Redis behind nginx, on one machine.

``python -m scripts.cluster --model M`` (``make run-cluster``) checks that PostgreSQL and
Redis answer (and says how to start the one that does not), creates the database if it is
missing, starts ``--instances`` assistants (each a :class:`scripts.serve.Servers`: its own
action server and Rasa server, supervised) on the PostgreSQL tracker store and the Redis
lock store, then nginx in the foreground on ``--port`` with a config generated from
``deploy/nginx.conf.template`` into ``var/cluster/nginx/``. Ctrl-C stops everything.

Tests and the benchmark use :class:`Cluster` as a context manager. Layout and sizing:
docs/deploy.md.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import shutil
import signal
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from bot import warnings_filter
from scripts.foreground import run_in_foreground
from scripts.paths import PRIVATE_DIR, PRIVATE_UMASK, ROOT, VAR
from scripts.serve import ServerConfig, Servers, free_port, port_free
from scripts.supervisor import answers, kill_group

logger = logging.getLogger(__name__)

TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/netchemo"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"
PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
REDIS_START = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
)
NGINX_INSTALL = "apt-get install -y nginx"


def pg_answers(url: str) -> bool:
    """True if PostgreSQL at ``url`` accepts a login to its ``postgres`` database."""
    import psycopg2

    try:
        psycopg2.connect(admin_dsn(url), connect_timeout=3).close()
        return True
    except psycopg2.Error:
        return False


def redis_answers(url: str) -> bool:
    """True if Redis at ``url`` answers PING."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except (redis.exceptions.RedisError, OSError):
        return False


def service_problems(pg_url: str, redis_url: str) -> list[str]:
    """One sentence per service that does not answer, with the command that starts it."""
    problems = []
    pg = urlsplit(pg_url)
    if not pg_answers(pg_url):
        problems.append(
            f"PostgreSQL does not answer on {pg.hostname}:{pg.port or 5432}; "
            f"start it with: {PG_START}"
        )
    rd = urlsplit(redis_url)
    if not redis_answers(redis_url):
        problems.append(
            f"Redis does not answer on {rd.hostname}:{rd.port or 6379}; "
            f"start it with: {REDIS_START}"
        )
    return problems


def admin_dsn(url: str) -> str:
    """The same server as ``url``, database ``postgres`` (to create or drop others)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


def database_name(url: str) -> str:
    """The database part of a PostgreSQL URL."""
    name = urlsplit(url).path.strip("/")
    allowed = set(string.ascii_lowercase + string.digits + "_")
    if not name or set(name) - allowed:
        raise ValueError("the database name must be lower-case letters, digits and _")
    return name


@contextlib.contextmanager
def admin_cursor(url: str) -> Iterator[Any]:
    """A cursor on the ``postgres`` database of ``url``'s server, autocommit (CREATE and
    DROP DATABASE cannot run in a transaction)."""
    import psycopg2

    conn = psycopg2.connect(admin_dsn(url), connect_timeout=3)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


def ensure_database(url: str) -> bool:
    """Create the database of ``url`` if it is missing; True if it was created."""
    name = database_name(url)
    with admin_cursor(url) as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone():
            return False
        cur.execute(f'CREATE DATABASE "{name}"')  # noqa: S608 (checked name)
        return True


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (tests), disconnecting its clients."""
    name = database_name(url)
    with admin_cursor(url) as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # noqa: S608


def nginx_binary() -> str | None:
    """Path of nginx, or None."""
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


def render_nginx(port: int, rasa_ports: list[int], prefix: Path) -> str:
    """The nginx config for ``rasa_ports`` behind ``port`` (deploy/nginx.conf.template)."""
    servers = "\n".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in rasa_ports
    )
    user = ""
    if os.geteuid() == 0:  # nginx's workers would otherwise run as nobody
        import grp
        import pwd

        user = (
            f"user {pwd.getpwuid(os.getuid()).pw_name} "
            f"{grp.getgrgid(os.getgid()).gr_name};"
        )
    return string.Template(TEMPLATE.read_text(encoding="utf-8")).safe_substitute(
        user_line=user,
        prefix=str(prefix),
        listen=f"127.0.0.1:{port}",
        rest_servers=servers,
        socketio_servers=servers,
    )


@dataclass
class ClusterConfig:
    """Where the cluster's parts listen and what they share."""

    model: Path
    port: int = 5005
    instances: int = 2
    rasa_ports: list[int] = field(default_factory=list)
    actions_ports: list[int] = field(default_factory=list)
    pg_url: str = DEFAULT_PG_URL
    redis_url: str = DEFAULT_REDIS_URL
    workers: int = 1
    folder: Path = VAR / "cluster"
    extra_env: dict[str, str] = field(default_factory=dict)
    supervise: bool = True

    def __post_init__(self) -> None:
        if not self.rasa_ports:
            self.rasa_ports = [self.port + 1 + i for i in range(self.instances)]
        if not self.actions_ports:
            self.actions_ports = [5056 + i for i in range(self.instances)]

    @classmethod
    def in_folder(cls, model: Path, folder: Path, **overrides: Any) -> ClusterConfig:
        """Spare ports everywhere (tests and benchmarks)."""
        n = int(overrides.get("instances", 2))
        fields: dict[str, Any] = {
            "model": model,
            "port": free_port(),
            "rasa_ports": [free_port() for _ in range(n)],
            "actions_ports": [free_port() for _ in range(n)],
            "folder": folder,
        }
        return cls(**{**fields, **overrides})

    @property
    def rest_url(self) -> str:
        """The REST webhook through nginx."""
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"


class Cluster:
    """The running cluster: ``instances`` (one :class:`Servers` each) and nginx."""

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.instances: list[Servers] = []
        self.nginx: subprocess.Popen | None = None
        self._nginx_log: IO[bytes] | None = None

    def instance_env(self) -> dict[str, str]:
        """What every instance shares: stores, secrets, proxy settings."""
        cfg = self.config
        return {
            "TRACKER_STORE_URL": cfg.pg_url,
            "LOCK_STORE_URL": cfg.redis_url,
            "RATE_LIMIT_STORAGE_URL": cfg.redis_url,
            "SANIC_WORKERS": str(cfg.workers),
            # Every instance must sign widget sessions alike (bot/channels/sessions.py).
            "WIDGET_SESSION_SECRET": os.environ.get("WIDGET_SESSION_SECRET")
            or secrets.token_urlsafe(32),
            "SANIC_PROXIES_COUNT": "1",  # the client address is nginx's X-Forwarded-For
            **cfg.extra_env,
        }

    def start(self, timeout: float = 300.0) -> Cluster:
        """Check the services, create the database, start everything; RuntimeError."""
        cfg = self.config
        problems = service_problems(cfg.pg_url, cfg.redis_url)
        if problems:
            raise RuntimeError("; ".join(problems))
        if ensure_database(cfg.pg_url):
            logger.info("created database %s", database_name(cfg.pg_url))
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError(
                f"nginx is not installed; install it with: {NGINX_INSTALL}"
            )
        if not port_free(cfg.port):
            raise RuntimeError(f"port {cfg.port} is already in use")
        cfg.folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        env = self.instance_env()
        try:
            for i, (rasa, actions) in enumerate(
                zip(cfg.rasa_ports, cfg.actions_ports, strict=False)
            ):
                folder = cfg.folder / f"instance{i + 1}"
                servers = Servers(
                    ServerConfig(
                        model=cfg.model,
                        rasa_port=rasa,
                        actions_port=actions,
                        tracker_db=folder / "unused-tracker.db",
                        log_dir=folder / "logs",
                        extra_env=env,
                        supervise=cfg.supervise,
                    )
                )
                self.instances.append(servers)
                servers.start(timeout=timeout)
            self.start_nginx(binary)
        except BaseException:
            self.stop()
            raise
        return self

    def start_nginx(self, binary: str) -> None:
        """nginx as a foreground child with the generated config."""
        cfg = self.config
        prefix = (cfg.folder / "nginx").resolve()
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(
            render_nginx(cfg.port, cfg.rasa_ports, prefix), encoding="utf-8"
        )
        check = subprocess.run(
            [binary, "-t", "-q", "-p", str(prefix), "-c", str(conf)],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused its config: {check.stderr.strip()}")
        self._nginx_log = open(prefix / "stdout.log", "ab")  # noqa: SIM115
        self.nginx = subprocess.Popen(
            [binary, "-p", str(prefix), "-c", str(conf)],
            stdout=self._nginx_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while not answers(f"http://127.0.0.1:{cfg.port}/", 2.0):
            if self.nginx.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("nginx did not start (var/cluster/nginx/error.log)")
            time.sleep(0.2)

    def kill_instance(self, index: int) -> None:
        """SIGKILL instance ``index``'s Rasa server and leave it down (fault tests)."""
        servers = self.instances[index]
        servers.unsupervise("rasa")
        child = servers.children["rasa"]
        if child.proc is not None:
            kill_group(child.proc, signal.SIGKILL)
            child.proc.wait()

    def stop(self) -> None:
        """Stop nginx and every instance (each stops its own children)."""
        if self.nginx is not None:
            kill_group(self.nginx, signal.SIGQUIT)
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                kill_group(self.nginx, signal.SIGKILL)
                self.nginx.wait()
            self.nginx = None
        if self._nginx_log is not None:
            self._nginx_log.close()
            self._nginx_log = None
        for servers in reversed(self.instances):
            servers.stop()
        self.instances.clear()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    """CLI used by ``make run-cluster``: foreground until Ctrl-C."""
    warnings_filter.install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 5005)))
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("SANIC_WORKERS", 1))
    )
    parser.add_argument(
        "--pg-url", default=os.environ.get("TRACKER_STORE_URL", DEFAULT_PG_URL)
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("LOCK_STORE_URL", DEFAULT_REDIS_URL)
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.umask(PRIVATE_UMASK)
    cluster = Cluster(
        ClusterConfig(
            model=args.model,
            port=args.port,
            instances=args.instances,
            workers=args.workers,
            pg_url=args.pg_url,
            redis_url=args.redis_url,
        )
    )

    def ready() -> None:
        cfg = cluster.config
        logger.info("\nThe cluster is ready: %d instances behind nginx.", cfg.instances)
        logger.info("  REST channel: POST %s", cfg.rest_url)
        logger.info("  instances on ports %s", ", ".join(map(str, cfg.rasa_ports)))
        logger.info("Press Ctrl-C to stop everything.")

    def alive() -> str | None:
        running = cluster.nginx is not None and cluster.nginx.poll() is None
        return None if running else "nginx exited"

    return run_in_foreground(cluster.start, cluster.stop, ready, alive)


if __name__ == "__main__":
    sys.exit(main())
