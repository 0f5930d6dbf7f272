"""The widget's feedback buttons and the saved question list's Copy and Print (issue 10),
in headless Chromium against the fake bot (tests/widget/fake_bot.py)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.widget.browser.helpers import (
    ask,
    conversation_id,
    describe,
    open_widget,
    run_axe,
    wait_turn_end,
)
from tests.widget.conftest import FakeBot, Site, screenshot
from tests.widget.fake_bot import FEEDBACK_UP, SAVED_LIST


def test_thumbs_sit_in_the_disclaimer_and_say_words(
    browser: Any, site: Site, fake_bot: FakeBot
) -> None:
    ctx = browser.new_context(bypass_csp=True)  # to inject axe-core
    ctx.set_default_timeout(15_000)
    try:
        check_thumbs(ctx.new_page(), site, fake_bot)
    finally:
        ctx.close()


def check_thumbs(page: Page, site: Site, fake_bot: FakeBot) -> None:
    open_widget(page, site.url)
    ask(page, "rate me")
    wait_turn_end(page)
    group = page.get_by_role("group", name="Was this answer helpful?")
    expect(group).to_have_count(1)
    # inside the disclaimer bubble, which stays the last item of the conversation
    last = page.locator(".nc-log > *").last
    expect(last).to_contain_text("not medical advice")
    expect(last.get_by_role("group", name="Was this answer helpful?")).to_have_count(1)
    helpful = group.get_by_role("button", name="Helpful", exact=True)
    expect(helpful).to_have_attribute("aria-pressed", "false")
    expect(group.get_by_role("button", name="Not helpful")).to_be_visible()
    expect(
        group.get_by_role("button", name="Questions to ask your team")
    ).to_be_visible()
    violations = run_axe(page)
    assert violations == [], describe(violations)
    screenshot(page, "widget-feedback-buttons")

    helpful.click()
    expect(helpful).to_have_attribute("aria-pressed", "true")
    expect(helpful).to_be_disabled()
    wait_turn_end(page)
    sent = [r for r in fake_bot.received() if r["sender"] == conversation_id(page)]
    assert sent[-1]["text"] == FEEDBACK_UP


def test_question_list_has_copy_and_print(page: Page, site: Site) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_widget(page, site.url)
    page.evaluate(  # count print() calls instead of opening a dialog
        "() => { window.__prints = []; window.print = () => window.__prints.push("
        "document.documentElement.className + '|' + "
        "(document.getElementById('nec-chat-print') || {}).textContent); }"
    )
    ask(page, "show my list")
    wait_turn_end(page)
    tools = page.get_by_role("group", name="Your question list")
    expect(tools).to_have_count(1)
    tools.get_by_role("button", name="Copy").click()
    expect(page.locator('.nc-visually-hidden[role="status"]')).to_have_text("Copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == SAVED_LIST
    tools.get_by_role("button", name="Print").click()
    prints = page.evaluate("() => window.__prints")
    assert len(prints) == 1
    classes, printed = prints[0].split("|", 1)
    assert "nec-chat-printing" in classes
    assert "Would CAPTEM suit me?" in printed and "How often?" in printed
    # afterwards the page is back to normal
    expect(page.locator("#nec-chat-print")).to_have_count(0)
    assert not re.search(
        "nec-chat-printing", page.evaluate("() => document.documentElement.className")
    )
    expect(page.locator(".nc-log > *").last).to_contain_text("not medical advice")
