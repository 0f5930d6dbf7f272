"""The widget's "Delete my conversation" control, and its greeting and disclaimer from the
server, in headless Chromium against the fake bot (the real socket.io channel, the real
domain, and a real SQLite tracker store)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

from playwright.sync_api import Page, expect

from bot.channels.guard import reply_text
from tests.widget.browser.helpers import (
    ask,
    conversation_id,
    open_widget,
    session_id,
    wait_turn_end,
)
from tests.widget.conftest import FakeBot, Site, screenshot
from tests.widget.test_widget_channel_socket import domain_texts
from widget.serve import WIDGET_DIR

LABELS = json.loads((WIDGET_DIR / "src" / "i18n" / "en.json").read_text())


def eventually(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def shown_text(page: Page, selector: str) -> str:
    """The visible text of the first ``selector`` element, white space folded."""
    text = " ".join(page.locator(selector).first.locator("p, li").all_inner_texts())
    return re.sub(r"\s+", " ", text).strip()


def folded(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("**", "")).strip()


def test_greeting_and_disclaimer_are_the_domain_texts(page: Page, site: Site) -> None:
    open_widget(page, site.url)
    expect(page.locator(".nc-bot")).to_have_count(1)
    assert shown_text(page, ".nc-bot") in [
        folded(t) for t in domain_texts("utter_greet")
    ]
    disclaimer = page.locator(".nc-disclaimer")
    expect(disclaimer).to_be_visible()
    assert folded(disclaimer.inner_text()) in [
        folded(t) for t in domain_texts("utter_disclaimer")
    ]
    page.reload()  # kept for this tab: shown again before the server answers
    expect(page.locator(".nc-bot")).to_have_count(1)
    assert shown_text(page, ".nc-bot") in [
        folded(t) for t in domain_texts("utter_greet")
    ]


def test_delete_control_deletes_the_stored_conversation(
    page: Page, site: Site, fake_bot: FakeBot
) -> None:
    open_widget(page, site.url)
    ask(page, "I have a temperature")
    wait_turn_end(page)
    old = conversation_id(page)
    old_session = session_id(page)
    assert old is not None
    assert eventually(lambda: fake_bot.stored_texts(old) == ["I have a temperature"])

    page.get_by_role("button", name=LABELS["deleteConversation"]).click()
    confirm = page.get_by_role("group", name=LABELS["deleteQuestion"])
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("button", name=LABELS["deleteCancel"])).to_be_focused()
    assert fake_bot.stored_texts(old) == ["I have a temperature"]  # not yet
    screenshot(page, "widget-delete-confirm")

    confirm.get_by_role("button", name=LABELS["deleteConfirm"]).click()
    expect(page.locator(".nc-note").last).to_have_text(reply_text("forgotten"))
    expect(page.locator(".nc-user")).to_have_count(0)
    expect(page.locator(".nc-bot")).to_have_count(1)  # the greeting again
    expect(confirm).to_be_hidden()
    screenshot(page, "widget-deleted")
    assert eventually(lambda: fake_bot.stored_texts(old) == [])
    assert eventually(lambda: session_id(page) not in (None, old_session))

    # The next message starts a fresh conversation; the old one stays deleted.
    ask(page, "hello again")
    expect(page.locator(".nc-bot").last).to_have_text(re.compile("You said: hello"))
    new = conversation_id(page)
    assert new != old
    assert eventually(lambda: fake_bot.stored_texts(new) == ["hello again"])
    assert fake_bot.stored_texts(old) == []
    page.reload()
    expect(page.locator(".nc-user")).to_have_text([re.compile("hello again")])
    assert page.watch.errors == []


def test_keeping_the_conversation_deletes_nothing(
    page: Page, site: Site, fake_bot: FakeBot
) -> None:
    open_widget(page, site.url)
    ask(page, "what is CAPTEM?")
    wait_turn_end(page)
    conversation = conversation_id(page)
    delete = page.get_by_role("button", name=LABELS["deleteConversation"])
    delete.click()
    page.get_by_role("button", name=LABELS["deleteCancel"]).click()
    expect(page.get_by_role("group", name=LABELS["deleteQuestion"])).to_be_hidden()
    expect(delete).to_be_focused()

    delete.click()
    page.keyboard.press("Escape")  # closes the question first, not the chat
    expect(page.get_by_role("group", name=LABELS["deleteQuestion"])).to_be_hidden()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.wait_for_timeout(500)
    assert fake_bot.stored_texts(conversation) == ["what is CAPTEM?"]
    expect(page.locator(".nc-user")).to_have_count(1)
