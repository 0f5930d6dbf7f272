"""The widget in headless Chromium, on the demo forum page, against the fake bot
(tests/widget/fake_bot.py: the real socket.io channel in front of a scripted agent)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.widget.browser.helpers import (
    active_widget_element,
    ask,
    conversation_id,
    describe,
    launcher,
    log,
    open_widget,
    question_box,
    run_axe,
    session_id,
    wait_turn_end,
)
from tests.widget.conftest import FakeBot, Site, screenshot, start_pair
from tests.widget.fake_bot import CAPTEM_PAYLOAD

XSS = "<img src=x onerror=alert(1)>"


def test_answer_shows_sources_under_it_and_the_disclaimer(
    page: Page, site: Site
) -> None:
    open_widget(page, site.url)
    disclaimer = page.locator(".nc-disclaimer")
    expect(disclaimer).to_be_visible()
    expect(disclaimer).to_contain_text("not medical advice")

    ask(page, "what is CAPTEM?")
    expect(page.locator(".nc-user").last).to_have_text(re.compile("what is CAPTEM"))
    wait_turn_end(page)
    bots = page.locator(".nc-bot")
    expect(bots.filter(has_text="CAPTEM is a chemotherapy combination")).to_have_count(
        1
    )
    expect(page.locator(".nc-bot strong", has_text="capecitabine")).to_have_count(1)
    expect(page.locator(".nc-bot li")).to_have_text(
        ["capecitabine as tablets", "temozolomide as capsules"]
    )

    sources = page.get_by_role("group", name="Sources")
    expect(sources).to_have_count(1)
    link = sources.get_by_role(
        "link", name=re.compile("Chemotherapy for neuroendocrine")
    )
    expect(link).to_have_attribute(
        "href", re.compile(r"^https://www\.cancerresearchuk\.org/")
    )
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(sources).to_contain_text(
        "Ronny Allan, patient advocate blog"
    )  # no URL: text only

    # order: answer, sources, disclaimer last
    items = page.locator(".nc-log > *")
    texts = items.all_inner_texts()
    answer_at = next(i for i, t in enumerate(texts) if "CAPTEM is a chemotherapy" in t)
    sources_at = next(i for i, t in enumerate(texts) if t.startswith("Sources"))
    assert answer_at < sources_at < len(texts) - 1
    expect(items.last).to_contain_text(
        "This is general information, not medical advice"
    )
    screenshot(page, "widget-answer")


def test_typing_indicator_shows_while_the_bot_works(page: Page, site: Site) -> None:
    open_widget(page, site.url)
    ask(page, "slow question")
    expect(page.locator(".nc-typing")).to_be_visible()
    expect(page.locator(".nc-bot").last).to_have_text(
        re.compile("You said: slow question")
    )
    expect(page.locator(".nc-typing")).to_be_hidden()


def test_quick_reply_is_clickable_then_disabled(
    page: Page, site: Site, fake_bot: FakeBot
) -> None:
    open_widget(page, site.url)
    ask(page, "chemo tablets thing")
    replies = page.get_by_role("group", name="Suggested replies")
    expect(replies.get_by_role("button")).to_have_count(2)
    screenshot(page, "widget-quick-replies")

    replies.get_by_role("button", name="CAPTEM").click()
    expect(page.locator(".nc-user").last).to_have_text(re.compile("CAPTEM"))
    for button in replies.get_by_role("button").all():
        expect(button).to_be_disabled()
    expect(replies.get_by_role("button", name="CAPTEM")).to_have_attribute(
        "aria-pressed", "true"
    )
    wait_turn_end(page)
    expect(page.get_by_role("group", name="Sources")).to_have_count(1)
    sent = [r for r in fake_bot.received() if r["sender"] == conversation_id(page)]
    assert sent[-1]["text"] == CAPTEM_PAYLOAD


def test_history_survives_reload_and_other_forum_pages(
    page: Page, site: Site, fake_bot: FakeBot
) -> None:
    open_widget(page, site.url)
    ask(page, "what is CAPTEM?")
    wait_turn_end(page)
    before = page.locator(".nc-log > *").all_text_contents()
    sid = session_id(page)
    conversation = conversation_id(page)

    page.reload()
    expect(page.get_by_role("dialog")).to_be_visible()  # it stays open
    expect(page.locator(".nc-log > *")).to_have_text(before)
    assert session_id(page) == sid

    page.get_by_role("link", name="Thread: starting CAPTEM").click()
    expect(page).to_have_url(re.compile(r"/thread\.html$"))
    expect(log(page)).to_contain_text("CAPTEM is a chemotherapy combination")
    ask(page, "still there?")
    expect(page.locator(".nc-bot").last).to_have_text(
        re.compile("You said: still there")
    )
    mine = [r["text"] for r in fake_bot.received() if r["sender"] == conversation]
    assert mine == ["what is CAPTEM?", "still there?"]
    screenshot(page, "widget-restored-on-thread-page")


def test_start_over_clears_history_and_starts_a_new_session(
    page: Page, site: Site, fake_bot: FakeBot
) -> None:
    open_widget(page, site.url)
    ask(page, "first conversation")
    wait_turn_end(page)
    old = session_id(page)
    page.get_by_role("button", name="Start over").click()
    expect(page.locator(".nc-user")).to_have_count(0)
    expect(page.locator(".nc-bot")).to_have_count(1)  # the greeting
    assert session_id(page) != old
    expect(question_box(page)).to_be_focused()
    ask(page, "second conversation")
    expect(page.locator(".nc-bot").last).to_have_text(re.compile("You said: second"))
    assert fake_bot.received()[-1] == {
        "sender": conversation_id(page),
        "text": "second conversation",
    }
    page.reload()
    expect(page.locator(".nc-user")).to_have_count(1)


def test_markup_from_user_or_bot_is_shown_as_text(page: Page, site: Site) -> None:
    open_widget(page, site.url)
    ask(page, XSS)
    expect(page.locator(".nc-bot").last).to_have_text(
        re.compile(re.escape(f"You said: {XSS}"))
    )
    expect(page.locator(".nc-user").last).to_contain_text(XSS)
    page.wait_for_timeout(300)
    assert page.locator("#nec-chat-widget img").count() == 0
    assert page.watch.dialogs == []
    assert page.evaluate("() => window.__xss === undefined")

    ask(page, "see [click](javascript:alert(1)) or http://example.org/a_(b). **bold**")
    wait_turn_end(page)
    last = page.locator(".nc-bot").last
    links = last.get_by_role("link")
    expect(links).to_have_count(1)
    expect(links.first).to_have_attribute("href", "http://example.org/a_(b)")
    expect(links.first).to_have_attribute("rel", "noopener noreferrer")
    expect(last).to_contain_text("[click](javascript:alert(1))")
    expect(last.locator("strong")).to_have_text("bold")
    assert page.watch.dialogs == []
    screenshot(page, "widget-markup-as-text")


def test_keyboard_alone(page: Page, site: Site, fake_bot: FakeBot) -> None:
    page.goto(site.url)
    for _ in range(30):
        page.keyboard.press("Tab")
        focused = active_widget_element(page)
        if focused and "nc-launcher" in focused["cls"]:
            break
    else:
        pytest.fail("Tab never reached the chat launcher")
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(question_box(page)).to_be_focused()

    page.keyboard.type("chemo tablets thing")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Capecitabine")).to_be_enabled()
    page.keyboard.press(
        "Shift+Tab"
    )  # from the question box back to the last quick reply
    assert active_widget_element(page)["text"] == "Capecitabine"
    page.keyboard.press("Enter")
    expect(page.locator(".nc-user").last).to_have_text(re.compile("Capecitabine"))
    expect(question_box(page)).to_be_focused()
    expect(page.locator(".nc-bot").last).to_contain_text("not medical advice")

    # Shift+Enter makes a new line, Enter sends
    page.keyboard.type("line one")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("line two")
    assert question_box(page).input_value() == "line one\nline two"
    page.keyboard.press("Enter")
    expect(page.locator(".nc-user").last.locator("br")).to_have_count(1)

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(launcher(page)).to_be_focused()
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")


def test_reconnects_after_a_dropped_connection_and_says_so(
    browser: Any, tmp_path: Path
) -> None:
    bot, site = start_pair(tmp_path)
    ctx = browser.new_context(viewport={"width": 1024, "height": 768})
    ctx.set_default_timeout(20_000)
    try:
        page = ctx.new_page()
        open_widget(page, site.url)
        ask(page, "before the drop")
        expect(page.locator(".nc-bot").last).to_have_text(re.compile("before the drop"))

        bot.stop()
        expect(page.locator(".nc-note").last).to_have_text(
            re.compile("Connection lost")
        )
        bot.start()
        expect(page.locator(".nc-note").last).to_have_text(
            re.compile("Connection restored"), timeout=20_000
        )
        ask(page, "after the drop")
        expect(page.locator(".nc-bot").last).to_have_text(
            re.compile("You said: after the drop")
        )
        screenshot(page, "widget-reconnected")
    finally:
        ctx.close()
        bot.stop()
        site.stop()


@pytest.mark.parametrize(
    "viewport, name",
    [
        ({"width": 1024, "height": 768}, "desktop"),
        ({"width": 360, "height": 720}, "360px"),
    ],
)
def test_no_serious_accessibility_violations(
    browser: Any, site: Site, viewport: dict[str, int], name: str
) -> None:
    ctx = browser.new_context(viewport=viewport, bypass_csp=True)  # to inject axe-core
    try:
        page = ctx.new_page()
        page.goto(site.url)
        closed = run_axe(page)
        assert closed == [], describe(closed)
        launcher(page).click()
        ask(page, "what is CAPTEM?")
        wait_turn_end(page)
        ask(page, "chemo tablets thing")
        expect(page.get_by_role("button", name="Capecitabine")).to_be_visible()
        wait_turn_end(page)
        page.wait_for_timeout(300)  # let transitions settle before colour checks
        violations = run_axe(page)
        assert violations == [], describe(violations)
        screenshot(page, f"widget-axe-{name}")
    finally:
        ctx.close()


@pytest.mark.parametrize(
    "viewport, scale, name",
    [
        ({"width": 360, "height": 640}, 1, "360px"),
        # 200% browser zoom of a 1280x720 window = a 640x360 CSS-pixel viewport at 2x
        ({"width": 640, "height": 360}, 2, "zoom-200"),
    ],
)
def test_fits_small_screens_and_200_percent_zoom(
    browser: Any, site: Site, viewport: dict[str, int], scale: int, name: str
) -> None:
    ctx = browser.new_context(viewport=viewport, device_scale_factor=scale)
    try:
        page = ctx.new_page()
        open_widget(page, site.url)
        ask(page, "what is CAPTEM?")
        wait_turn_end(page)
        width, height = viewport["width"], viewport["height"]
        for locator in (
            page.get_by_role("button", name="Close chat"),
            page.get_by_role("button", name="Start over"),
            page.get_by_role("button", name="Delete my conversation"),
            question_box(page),
            page.get_by_role("button", name="Send"),
            page.locator(".nc-disclaimer"),
        ):
            box = locator.bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, locator
            assert box["y"] >= 0 and box["y"] + box["height"] <= height + 0.5, locator
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        screenshot(page, f"widget-{name}")
        page.keyboard.press("Escape")
        expect(launcher(page)).to_be_visible()
        expect(launcher(page)).to_be_focused()
    finally:
        ctx.close()


def test_page_has_no_script_errors(page: Page, site: Site) -> None:
    open_widget(page, site.url)
    ask(page, "hello")
    wait_turn_end(page)
    assert page.watch.errors == []


def test_broken_stored_history_starts_afresh(page: Page, site: Site) -> None:
    open_widget(page, site.url)
    # The widget saves its state when the greeting and the session arrive: wait for
    # both, or that save could overwrite the broken value written below.
    expect(page.locator(".nc-bot")).to_have_count(1)
    page.wait_for_function("() => window.necChat.sessionId() !== null")
    key = page.evaluate(
        "() => Object.keys(sessionStorage).find(k => k.startsWith('nec-chat:'))"
    )
    broken = json.dumps(
        {
            "v": 1,
            "sessionId": "0123456789abcdef0123",
            "open": True,
            "items": [{"t": "sources"}],
        }
    )
    page.evaluate("([k, v]) => sessionStorage.setItem(k, v)", [key, broken])
    page.reload()
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")  # starts closed
    launcher(page).click()
    expect(page.locator(".nc-bot")).to_have_count(1)  # just the greeting
    ask(page, "hello again")
    expect(page.locator(".nc-bot").last).to_have_text(
        re.compile("You said: hello again")
    )
    assert page.watch.errors == []
