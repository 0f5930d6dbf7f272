"""Domain responses: every placeholder is filled whoever sends the response and however
the model was trained, the reviewed list of responses sent by code is true, channel
variants, the core fallback, and a new session that starts without the old topic."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.core.actions.action import ActionDefaultFallback, ActionSessionStart
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot import responses

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "bot" / "domain"
GENERATED = (
    "settings.generated.yml"  # the settings' slots: written by `make`, committed
)
SENT_BY_CODE = ROOT / "scripts" / "responses_sent_by_code.yml"
SETTINGS_NAMES = frozenset(responses.settings_values())
# A {name} left in what a person reads (Rasa leaves it there when it has no value).
UNFILLED = re.compile(r"{[A-Za-z_][A-Za-z0-9_]*}")


@pytest.fixture(scope="module")
def sent_by_code() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(SENT_BY_CODE.read_text())["responses"]


@pytest.fixture(scope="module")
def plain_domain() -> Domain:
    """The domain any training uses: bot/domain as committed."""
    return Domain.load(str(DOMAIN))


def stock_nlg(domain: Domain) -> TemplatedNaturalLanguageGenerator:
    """Rasa's own response templating, as the Rasa server runs it."""
    return TemplatedNaturalLanguageGenerator(domain.responses)


def fresh_tracker(domain: Domain) -> DialogueStateTracker:
    """A new conversation: every slot at its initial value."""
    return DialogueStateTracker.from_events("u", [], slots=domain.slots)


def test_a_fresh_clone_has_the_settings_slots(plain_domain: Domain) -> None:
    """The slots behind {helpline} and the others are in git, not only made by `make`
    (tests/test_settings.py fails when the file is stale)."""
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(DOMAIN / GENERATED)],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    assert tracked.returncode == 0, f"{GENERATED} is not committed"
    assert {slot.name for slot in plain_domain.slots} >= SETTINGS_NAMES


def templates(variant: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, template) for every string Rasa or an action fills in one variant."""
    if isinstance(variant.get("text"), str):
        yield "text", variant["text"]
    for n, button in enumerate(variant.get("buttons") or []):
        for key in ("title", "payload"):
            yield f"buttons[{n}].{key}", str(button.get(key, ""))
    for key, value in (variant.get("custom") or {}).items():
        if isinstance(value, str):
            yield f"custom.{key}", value


def test_every_placeholder_has_a_value_whoever_sends_the_response(
    plain_domain: Domain, sent_by_code
) -> None:
    """A slot of the domain (the settings' values are slots), or a value the sender
    passes (listed, for responses sent by code). Rule-sent responses get slots only."""
    slots = {slot.name for slot in plain_domain.slots}
    problems: list[str] = []
    for name, variants in responses.read_responses(str(DOMAIN)).items():
        passed = set(sent_by_code.get(name, {}).get("values") or [])
        for index, variant in enumerate(variants):
            for where, template in templates(variant):
                for placeholder in responses.placeholders(template):
                    if placeholder not in slots | passed:
                        problems.append(f"{name}[{index}].{where}: {{{placeholder}}}")
    assert not problems, problems


def test_listed_values_are_placeholders_of_their_response(sent_by_code) -> None:
    domain_responses = responses.read_responses(str(DOMAIN))
    for name, entry in sent_by_code.items():
        used = {
            p
            for variant in domain_responses[name]
            for _where, template in templates(variant)
            for p in responses.placeholders(template)
        }
        assert set(entry.get("values") or []) <= used, name


def test_every_response_renders_complete(plain_domain: Domain, sent_by_code) -> None:
    """Rasa's own templating on a new conversation, for every channel variant, with the
    values the sender passes."""
    nlg = stock_nlg(plain_domain)
    tracker = fresh_tracker(plain_domain)
    tracker.update(SlotSet("topic", "captem"))  # buttons of utter_feedback_thanks
    for name, variants in plain_domain.responses.items():
        values = {v: "X" for v in sent_by_code.get(name, {}).get("values") or []}
        channels = {v.get("channel") for v in variants} | {"rest"}
        for channel in channels:
            message = nlg.generate_from_slots(
                name, tracker.current_slot_values(), channel, **values
            )
            assert message is not None, name
            shown = [message.get("text") or ""] + [
                str(b.get("title")) for b in message.get("buttons") or []
            ]
            if name != "utter_button_titles":  # read by actions, which fill its values
                shown += [str(v) for v in (message.get("custom") or {}).values()]
            for text in shown:
                assert not UNFILLED.search(text), (name, channel, text)


async def test_the_urgent_message_is_complete_on_a_new_conversation(
    plain_domain: Domain, tmp_path: Path
) -> None:
    message = await stock_nlg(plain_domain).generate(
        "utter_urgent_red_flag", fresh_tracker(plain_domain), "rest"
    )
    settings = responses.settings_values()
    assert settings["helpline"] in message["text"]
    assert f"{settings['temperature_high_c']} °C" in message["text"]
    assert not UNFILLED.search(message["text"])
    # Without the settings' slots Rasa sends the placeholder as written: the check can fail.
    shutil.copytree(DOMAIN, tmp_path / "d", ignore=shutil.ignore_patterns(GENERATED))
    bare = Domain.load(str(tmp_path / "d"))
    unfilled = await stock_nlg(bare).generate(
        "utter_urgent_red_flag", fresh_tracker(bare), "rest"
    )
    assert UNFILLED.search(unfilled["text"])


def python_files(path: Path) -> list[Path]:
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def test_every_listed_response_is_named_by_the_code_that_sends_it(
    sent_by_code,
) -> None:
    """The reviewed list of responses sent by code is true: each sender names it (the
    response name, or for channel sentences the key: reply_text("text_only", ...))."""
    actions = {a.lower() for a in Domain.load(str(DOMAIN)).action_names_or_texts}
    config = (ROOT / "config.yml").read_text()
    for name, entry in sent_by_code.items():
        key = name.removeprefix("utter_")
        for sender in entry["sent_by"]:
            if sender.startswith("rasa:"):
                action = sender.removeprefix("rasa:")
                assert action in actions and action in config, (name, sender)
                continue
            files = python_files(ROOT / sender)
            assert files, f"{name}: {sender} does not exist"
            quoted = (f'"{name}"', f"'{name}'", f'"{key}"', f"'{key}'")
            assert any(
                any(q in path.read_text() for q in quoted) for path in files
            ), f"{name}: not named in {sender}"


def test_sentences_for_channels_read_from_the_domain() -> None:
    assert responses.message("text_only") == responses.text("utter_text_only")
    too_many = responses.message("too_many_messages")
    assert responses.settings_values()["helpline"] in too_many
    assert not UNFILLED.search(too_many)
    with pytest.raises(KeyError):
        responses.message("no_such_sentence")


def test_channel_variants() -> None:
    telegram = responses.text("utter_question_saved", "telegram", count="2")
    default = responses.text("utter_question_saved", "rest", count="2")
    assert "/questions" in telegram and "/questions" not in default
    assert responses.text("utter_question_saved", count="2") == default
    assert "/forget" in responses.text("utter_greet", "telegram")
    assert "/forget" not in responses.text("utter_greet", "socketio")


def test_fill_follows_rasa_and_refuses_a_missing_value() -> None:
    assert responses.fill('/x{{"id":"{topic}"}}', {"topic": "captem"}) == (
        '/x{"id":"captem"}'
    )
    assert responses.placeholders('/x{{"id":"{topic}"}} {a} {b}') == ("topic", "a", "b")
    with pytest.raises(KeyError, match="helpline"):
        responses.fill("call {helpline}", {})


def test_settings_values_match_the_generated_slots() -> None:
    """bot/domain/settings.generated.yml (scripts/gen_settings_domain.py) and the
    generator's values say the same, so slots and settings never disagree."""
    from bot.settings import load_settings
    from scripts.gen_settings_domain import render_domain

    generated = yaml.safe_load(render_domain(load_settings()))["slots"]
    assert {k: v["initial_value"] for k, v in generated.items()} == (
        responses.settings_values()
    )


async def test_core_fallback_says_what_happened_and_how_to_ask(
    plain_domain: Domain,
) -> None:
    events = await ActionDefaultFallback().run(
        CollectingOutputChannel(),
        stock_nlg(plain_domain),
        fresh_tracker(plain_domain),
        plain_domain,
    )
    uttered = [e for e in events if isinstance(e, BotUttered)]
    assert len(uttered) == 1 and isinstance(events[-1], UserUtteranceReverted)
    text = uttered[0].text
    assert "outside what I can help with" in text and "What is CAPTEM?" in text
    assert responses.settings_values()["helpline"] in text
    assert "specialist team" in text
    assert uttered[0].data["buttons"]


def slot_values(events: list[Any]) -> set[tuple[str, Any]]:
    return {(e.key, e.value) for e in events if isinstance(e, SlotSet)}


async def test_a_new_session_starts_without_the_old_topic(
    plain_domain: Domain,
) -> None:
    """Rasa's own action_session_start, with the project's session_config."""
    tracker = DialogueStateTracker.from_events(
        "u",
        [
            ActionExecuted("action_listen"),
            SlotSet("topic", "captem"),
            SlotSet("facet", "how_given"),
            SlotSet("saved_questions", ["captem:0"]),
        ],
        slots=plain_domain.slots,
    )
    nlg = stock_nlg(plain_domain)
    events = await ActionSessionStart().run(
        CollectingOutputChannel(), nlg, tracker, plain_domain
    )
    assert isinstance(events[0], SessionStarted)
    assert not {k for k, _v in slot_values(events)} & {"topic", "facet"}
    for event in events:
        tracker.update(event)
    assert tracker.get_slot("topic") is None and tracker.get_slot("facet") is None
    # The same action with carry-over on would have kept the topic: the test can fail.
    carried = Domain.from_dict(
        {
            **plain_domain.as_dict(),
            "session_config": {
                "session_expiration_time": 120,
                "carry_over_slots_to_new_session": True,
            },
        }
    )
    kept = await ActionSessionStart().run(
        CollectingOutputChannel(), nlg, tracker_with_topic(carried), carried
    )
    assert ("topic", "captem") in slot_values(kept)


def tracker_with_topic(domain: Domain) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "u",
        [ActionExecuted("action_listen"), SlotSet("topic", "captem")],
        slots=domain.slots,
    )


def test_the_design_contract_lists_the_responses_that_exist() -> None:
    """docs/DESIGN.md names every response, and only responses that exist."""
    design = (ROOT / "docs" / "DESIGN.md").read_text()
    listed = set(re.findall(r"`(utter_[a-z_]+)`", design))
    existing = set(responses.read_responses(str(DOMAIN)))
    assert listed - existing == set(), "named in DESIGN.md, not in the domain"
    assert existing - listed == set(), "in the domain, missing from DESIGN.md"
