"""The widget against the real assistant: Rasa + action server started as `make run` does
(scripts/serve.py), on spare ports, with the trained model.

The model comes from $MODEL (set by `make test-widget`), else the newest models/*.tar.gz.
Without a model these tests skip, unless WIDGET_LIVE_REQUIRED=1 (as in `make test-widget`).
Set UPDATE_DOCS_SCREENSHOT=1 to refresh docs/widget.png from this run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.widget.browser.helpers import ask, open_widget, wait_turn_end
from tests.widget.conftest import REPO_ROOT, Site, free_port, screenshot

CHANNEL = "bot.channels.socketio.WidgetSocketIOInput"
# Wordings the bot is unsure about (it offers topics as buttons); the conversation scripts
# (flows_low_confidence.yml) check "folfox or captem or etoposide" the same way.
VAGUE = [
    "folfox or captem or etoposide",
    "folfox thingy",
    "chemo tablets thing",
    "capecitabine or temozolomide",
    "tablets",
]


def find_model() -> Path | None:
    env = os.environ.get("MODEL", "").strip()
    if env:
        path = Path(env)
        return path if path.is_file() else None
    models = sorted(
        (REPO_ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime
    )
    return models[-1] if models else None


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    model = find_model()
    if model is None:
        if os.environ.get("WIDGET_LIVE_REQUIRED") == "1":
            pytest.fail("no trained model: run `make train` (or set MODEL)")
        pytest.skip(
            "no trained model (make train); set WIDGET_LIVE_REQUIRED=1 to fail instead"
        )
    from scripts.serve import ServerConfig, Servers

    tmp = tmp_path_factory.mktemp("widget-live")
    rasa_port, actions_port, site_port = free_port(), free_port(), free_port()
    site = Site(site_port, f"http://localhost:{rasa_port}")
    credentials = (
        yaml.safe_load((REPO_ROOT / "bot" / "credentials.yml").read_text()) or {}
    )
    assert (
        CHANNEL in credentials
    ), "bot/credentials.yml has no block for the widget channel"
    block = dict(credentials[CHANNEL] or {})
    block["cors_allowed_origins"] = site.origins  # the demo page on this test's port
    credentials[CHANNEL] = block
    creds_path = tmp / "credentials.yml"
    creds_path.write_text(yaml.safe_dump(credentials))
    servers = Servers(
        ServerConfig.in_folder(
            model,
            tmp,
            rasa_port=rasa_port,
            actions_port=actions_port,
            credentials=creds_path,
        )
    )
    servers.start()
    site.start()
    yield site
    site.stop()
    servers.stop()


@pytest.fixture
def live_page(browser: Any) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 1100, "height": 860})
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    ctx.close()


def test_captem_answer_with_sources_and_disclaimer(
    live_page: Page, live_site: Site
) -> None:
    page = live_page
    open_widget(page, live_site.url)
    ask(page, "what is CAPTEM?")
    sources = page.get_by_role("group", name="Sources")
    expect(sources).to_have_count(1)
    wait_turn_end(page)
    expect(page.locator(".nc-bot").filter(has_text="capecitabine")).not_to_have_count(0)
    expect(sources.locator("li")).not_to_have_count(0)
    expect(page.locator(".nc-log > *").last).to_contain_text("not medical advice")
    screenshot(page, "widget-live-captem")
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        page.mouse.move(5, 5)  # no hover styles in the picture
        page.evaluate(  # show the question at the top of the conversation
            """() => {
              const root = document.getElementById('nec-chat-widget').shadowRoot;
              const log = root.querySelector('.nc-log');
              const asked = [...root.querySelectorAll('.nc-user')].pop();
              log.scrollTop = asked.offsetTop - log.offsetTop - 8;
            }"""
        )
        page.screenshot(path=str(REPO_ROOT / "docs" / "widget.png"))


def test_quick_reply_from_the_real_bot(live_page: Page, live_site: Site) -> None:
    page = live_page
    open_widget(page, live_site.url)
    for wording in VAGUE:
        ask(page, wording)
        wait_turn_end(page)
        replies = page.get_by_role("group", name="Suggested replies")
        if replies.count() and replies.last.get_by_role("button").first.is_enabled():
            break
    else:
        pytest.fail(f"the bot offered no buttons for any of {VAGUE}")
    first = replies.last.get_by_role("button").first
    title = first.inner_text()
    first.click()
    expect(first).to_be_disabled()
    expect(page.locator(".nc-user").last).to_have_text(re.compile(re.escape(title)))
    wait_turn_end(page)
    expect(page.locator(".nc-log > *").last).to_contain_text("not medical advice")
    screenshot(page, "widget-live-quick-reply")


def test_history_after_reload_and_markup_as_text(
    live_page: Page, live_site: Site
) -> None:
    page = live_page
    open_widget(page, live_site.url)
    ask(page, "what is CAPTEM?")
    wait_turn_end(page)
    ask(page, "<img src=x onerror=alert(1)>")
    expect(page.locator(".nc-user").last).to_have_text(
        re.compile(re.escape("<img src=x"))
    )
    wait_turn_end(page)
    before = page.locator(".nc-log > *").all_text_contents()
    page.reload()
    expect(page.locator(".nc-log > *")).to_have_text(before)
    assert page.locator("#nec-chat-widget img").count() == 0
    assert page.dialogs == []
    ask(page, "how is it given?")
    wait_turn_end(page)
    expect(page.locator(".nc-log > *").last).to_contain_text("not medical advice")
