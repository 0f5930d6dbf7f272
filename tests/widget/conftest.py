"""Fixtures for the widget and its socket.io channel.

* ``fake_bot``: ``tests/widget/fake_bot.py`` in a subprocess, i.e. the real
  ``bot.channels.socketio.WidgetSocketIOInput`` with a scripted agent (no model needed).
* ``site``: the widget's static server (``widget/serve.py``) in a thread, pointing the demo
  forum page at the fake bot.
* ``browser`` / ``page``: Debian's headless Chromium driven by Playwright (the browser is
  never downloaded: ``executable_path`` is /usr/bin/chromium, see mk/widget.mk).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scripts.serve import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "results" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def wait_http(
    url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@dataclass
class FakeBot:
    """The fake bot subprocess (see fake_bot.py); can be stopped and started again."""

    port: int
    origins: list[str]
    log: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)
    env: dict[str, str] = field(default_factory=dict)  # e.g. rate limits, secrets

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def tracker_db(self) -> Path:
        """The fake agent's tracker store (SQLite, as `make run` has it)."""
        return self.log.parent / f"tracker_{self.port}.db"

    def stored_texts(self, conversation: str) -> list[str]:
        """What the tracker store holds of ``conversation``: its user messages."""
        with sqlite3.connect(self.tracker_db) as conn:
            rows = conn.execute(
                "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'",
                (conversation,),
            ).fetchall()
        return [json.loads(row[0]).get("text") for row in rows]

    def start(self) -> FakeBot:
        env = dict(os.environ, **self.env)  # bot/ is importable: pip install -e .
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    str(REPO_ROOT / "tests" / "widget" / "fake_bot.py"),
                    "--port",
                    str(self.port),
                    "--origins",
                    ",".join(self.origins),
                    "--tracker-db",
                    str(self.tracker_db),
                ],
                cwd=REPO_ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_http(f"http://127.0.0.1:{self.port}/fake/received", proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def received(self) -> list[dict[str, Any]]:
        """What reached the scripted agent, after the channel's input hygiene."""
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.port}/fake/received"
        ) as resp:
            return json.loads(resp.read())


@dataclass
class Site:
    """The static server (demo forum + widget files) in a thread."""

    port: int
    rasa_url: str
    server: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}/"

    @property
    def origins(self) -> list[str]:
        return [f"http://localhost:{self.port}", f"http://127.0.0.1:{self.port}"]

    def start(self) -> Site:
        from widget.serve import make_server

        self.server = make_server("127.0.0.1", self.port, self.rasa_url)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def start_pair(tmp: Path) -> tuple[FakeBot, Site]:
    bot_port, site_port = free_port(), free_port()
    site = Site(site_port, f"http://localhost:{bot_port}").start()
    bot = FakeBot(bot_port, site.origins, tmp / f"fake_bot_{bot_port}.log").start()
    return bot, site


@pytest.fixture(scope="session")
def bot_and_site(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FakeBot, Site]]:
    bot, site = start_pair(tmp_path_factory.mktemp("widget"))
    yield bot, site
    bot.stop()
    site.stop()


@pytest.fixture(scope="session")
def fake_bot(bot_and_site: tuple[FakeBot, Site]) -> FakeBot:
    return bot_and_site[0]


@pytest.fixture(scope="session")
def site(bot_and_site: tuple[FakeBot, Site]) -> Site:
    return bot_and_site[1]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope: the sync Playwright API owns an event loop while it runs, which would
    # break async tests collected after it (mk/widget.mk also runs browser tests apart).
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        pytest.skip(
            f"{CHROMIUM} not installed (make widget-setup installs Debian's chromium)"
        )
    if not (
        REPO_ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"
    ).is_file():
        pytest.skip("widget/node_modules missing (make widget-deps runs npm ci)")
    sync_api.expect.set_options(timeout=15_000)  # a busy 2-core CI machine is slow
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageWatch:
    """Console errors, page errors and dialogs seen by a page (an XSS would open a dialog)."""

    def __init__(self, page: Any) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: self.errors.append(msg.text) if msg.type == "error" else None,
        )

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1024, "height": 768})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    pg = context.new_page()
    pg.watch = PageWatch(pg)
    yield pg


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
