"""Test helpers shared by tests/channels and tests/telegram.

* :class:`InProcessServer`: a Sanic app served in the test's own
  event loop (``create_server``), so a test module can start as many servers as it needs;
* :func:`domain_with`: the real domain plus a few responses of the test's own, read by
  ``bot.responses`` (``$NETCHEMO_DOMAIN_DIR``), e.g. a ``channel:`` variant.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from sanic import Sanic

from scripts.serve import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]

# Importing sanic installs uvloop's event loop policy, whose get_event_loop() raises
# in the main thread and breaks pytest-asyncio; Rasa's own run.py resets it too.
asyncio.set_event_loop_policy(None)
# Several Sanic apps in one process (one per test): what sanic-testing sets.
Sanic.test_mode = True


class InProcessServer:
    """Serves ``self.app`` on ``self.port`` (127.0.0.1) in the running event loop."""

    def __init__(self, name: str) -> None:
        self.port = free_port()
        self.app = Sanic(f"{name}_{self.port}", configure_logging=False)
        self.app.config.USE_UVLOOP = False  # keep pytest-asyncio's loop policy
        self._server: Any = None

    async def start(self) -> Any:
        self._server = await self.app.create_server(
            host="127.0.0.1", port=self.port, return_asyncio_server=True
        )
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()
        return self

    async def stop(self) -> None:
        await self._server.before_stop()
        self._server.close()
        await self._server.wait_closed()
        await self._server.after_stop()


def domain_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, responses: dict[str, Any]
) -> Path:
    """A copy of bot/domain whose ``responses`` replace the real ones of those names,
    made the domain that ``bot.responses`` reads for the rest of the test."""
    folder = tmp_path / "domain"
    shutil.copytree(REPO_ROOT / "bot" / "domain", folder)
    # read last (files are read in name order), so these responses win
    text = yaml.safe_dump({"version": "3.1", "responses": responses}, sort_keys=False)
    (folder / "zz_test.yml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("NETCHEMO_DOMAIN_DIR", str(folder))
    return folder
