"""Start the bot like ``make run`` does and stop it afterwards (when no ``--url`` is given).

Uses ``scripts/serve.py`` (:class:`scripts.serve.Servers`) with the model that
``make train`` built for the current inputs (``scripts/train.py``), on spare ports and with a
tracker database of its own, so a ``make run`` on 5005 is not disturbed. Server output goes
to ``var/convtest/``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LOG_DIR = ROOT / "var" / "convtest"


class ServerStartError(RuntimeError):
    """The bot could not be started or did not become ready in time."""


async def probe_webhook(url: str, sender: str, timeout: float = 60.0) -> bool:
    """True if the webhook answers a greeting with a JSON list (model and channel loaded)."""
    try:
        async with aiohttp.ClientSession() as session, session.post(
            url,
            json={"sender": sender, "message": "hello"},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            return resp.status == 200 and isinstance(
                await resp.json(content_type=None), list
            )
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError):
        return False


def _import_serve() -> tuple[ModuleType, ModuleType]:
    """scripts.serve and scripts.train, imported late (they load Rasa's server code)."""
    try:
        from scripts import serve, train
    except ImportError as exc:
        raise ServerStartError(
            f"cannot import scripts/serve.py or scripts/train.py: {exc}"
        ) from exc
    return serve, train


@asynccontextmanager
async def started_bot(
    run_id: str,
    ready_timeout: float = 300.0,
    log_dir: Path = DEFAULT_LOG_DIR,
    model: Path | None = None,
) -> AsyncIterator[str]:
    """Start action server + Rasa server; yields the REST webhook URL; stops them after.

    Raises:
        ServerStartError: no trained model for the current inputs, or the servers did not
            start / answer within ``ready_timeout`` seconds.
    """
    serve, train = _import_serve()
    model = model or train.model_path()
    if not model.exists():
        raise ServerStartError(
            f"no trained model for the current bot ({model.name}); run `make train` first "
            "or pass --url of a running bot"
        )
    log_dir.mkdir(parents=True, exist_ok=True)
    tracker_db = log_dir / f"tracker-{run_id}.db"
    config = serve.ServerConfig(
        model=model,
        rasa_port=serve.free_port(),
        actions_port=serve.free_port(),
        tracker_db=tracker_db,
        log_dir=log_dir,
    )
    servers = serve.Servers(config)
    try:
        await asyncio.to_thread(servers.start, ready_timeout)
    except RuntimeError as exc:
        raise ServerStartError(f"{exc}; see the logs in {log_dir}") from exc
    try:
        if not await probe_webhook(config.rest_url, f"convtest-probe-{run_id}"):
            raise ServerStartError(
                f"the bot does not answer at {config.rest_url}; see {log_dir}"
            )
        yield config.rest_url
    finally:
        await asyncio.to_thread(servers.stop)
        tracker_db.unlink(missing_ok=True)
