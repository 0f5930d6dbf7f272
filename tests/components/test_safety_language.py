"""The English-only check (lingua, config/safety/language.yml): no English message of
the training data or of the conversation scripts is ever forced to other_language.
"""

from __future__ import annotations

import sys
from typing import List

import pytest

from bot.components.safety import build_screen
from bot.components.safety_lexicon import REPO_ROOT
from bot.components.safety_screen import SafetyScreen

sys.path.insert(0, str(REPO_ROOT / "scripts"))
from eval_safety import conversation_messages, nlu_messages  # noqa: E402

# Training intents whose examples are not all English.
NOT_ENGLISH_INTENTS = {"other_language", "red_flag", "red_flag_crisis", "crisis"}
# Conversation files or conversations in other languages on purpose.
FOREIGN_SCRIPTS = {"safety_red_flags", "safety_crisis", "safety_bad_input"}


def english_training() -> List[str]:
    """English examples of every intent except those with foreign examples."""
    paths = sorted((REPO_ROOT / "data" / "nlu").glob("*.yml"))
    return [t for i, t in nlu_messages(paths) if i not in NOT_ENGLISH_INTENTS]


def english_conversations() -> List[str]:
    """User turns of the English conversation scripts."""
    paths = sorted((REPO_ROOT / "tests" / "conversations").glob("*.yml"))
    return [t for s, t in conversation_messages(paths) if s not in FOREIGN_SCRIPTS]


@pytest.fixture(scope="module")
def screen() -> SafetyScreen:
    return build_screen()


def test_no_english_training_message_is_other_language(screen: SafetyScreen) -> None:
    texts = english_training()
    assert len(texts) > 1500
    wrong = [t for t in texts if screen.screen(t).intent == "other_language"]
    assert wrong == []


def test_no_english_conversation_turn_is_other_language(screen: SafetyScreen) -> None:
    texts = english_conversations()
    assert len(texts) > 100
    wrong = [t for t in texts if screen.screen(t).intent == "other_language"]
    assert wrong == []


@pytest.mark.parametrize(
    "text, other",
    [
        ("¿Qué es la quimioterapia?", True),
        ("Qu'est-ce que la chimiothérapie ?", True),
        ("Tengo fiebre de 39", False),  # red flag first, in any language
        ("what is CAPTEM?", False),
    ],
)
def test_language_and_red_flags(screen: SafetyScreen, text: str, other: bool) -> None:
    result = screen.screen(text)
    assert result.other_language is other
    if text.startswith("Tengo"):
        assert result.red_flags


def test_detector_is_fast(screen: SafetyScreen) -> None:
    import time

    texts = english_training()[:300]
    screen.language.warm_up()
    start = time.perf_counter()
    for text in texts:
        screen.language.is_other_language(text)
    per_call_ms = (time.perf_counter() - start) / len(texts) * 1000
    assert per_call_ms < 3.0
