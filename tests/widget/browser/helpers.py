"""Shared steps for the browser tests (Playwright pierces the widget's open shadow root)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

REPO_ROOT = Path(__file__).resolve().parents[3]
AXE = REPO_ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"
LAUNCHER = re.compile(r"Ask about chemotherapy")


def launcher(page: Page) -> Locator:
    return page.get_by_role("button", name=LAUNCHER)


def log(page: Page) -> Locator:
    return page.get_by_role("log", name="Conversation")


def question_box(page: Page) -> Locator:
    return page.get_by_label("Your question")


def open_widget(page: Page, url: str) -> None:
    page.goto(url)
    launcher(page).click()
    expect(question_box(page)).to_be_focused()


def ask(page: Page, text: str) -> None:
    question_box(page).fill(text)
    question_box(page).press("Enter")


def wait_turn_end(page: Page) -> None:
    expect(page.locator(".nc-typing")).to_be_hidden()


def active_widget_element(page: Page) -> dict[str, Any] | None:
    """The focused element inside the widget's shadow root (class, tag, text), or None."""
    return page.evaluate(
        """() => {
          const host = document.getElementById('nec-chat-widget');
          if (document.activeElement !== host) return null;
          const el = host.shadowRoot.activeElement;
          return el ? {cls: el.className, tag: el.tagName, text: el.textContent} : null;
        }"""
    )


def session_id(page: Page) -> str:
    return page.evaluate("() => window.necChat.sessionId()")


def conversation_id(page: Page) -> str | None:
    """The Rasa sender id of the page's session: ``web:<key>`` (bot/channels/senders.py)."""
    session = session_id(page)
    return "web:" + session.split(".")[0] if session else None


def run_axe(page: Page) -> list[dict[str, Any]]:
    """Injects axe-core (pinned in widget/package.json) and returns serious/critical violations."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ['violations']});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, indent=1)
