"""The KB tokenizer: specific terms become kind placeholders (brands "kbbrand"); broad terms stay
words."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.kb_tokenizer import KBTermTokenizer


@pytest.fixture(scope="module")
def tokenizer() -> KBTermTokenizer:
    config = KBTermTokenizer.get_default_config()
    return KBTermTokenizer.create(config, MagicMock(), MagicMock(), MagicMock())


def words(tokenizer: KBTermTokenizer, text: str, attribute: str = "text"):
    return [t.text for t in tokenizer.tokenize(Message.build(text=text), attribute)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("what is bevacizumab?", ["what", "is", "kbdrug"]),
        ("what is avastin?", ["what", "is", "kbbrand"]),
        ("what is CAPTEM", ["what", "is", "kbregimen"]),
        ("is lanreotide chemo", ["is", "kbnonchemo", "chemo"]),
        ("why am I not on chemo", ["why", "am", "I", "not", "on", "chemo"]),
        (
            "can chemo and PRRT be given together",
            ["can", "kbconcept", "be", "given", "together"],
        ),
        ("hello there", ["hello", "there"]),
        ("is Xeloda capecitabine?", ["is", "kbbrand", "kbdrug"]),
        ("is afinitor chemo", ["is", "kbbrand", "chemo"]),
        ("folfox or captem", ["kbregimen", "or", "kbregimen"]),
    ],
)
def test_placeholders(tokenizer, text, expected) -> None:
    assert words(tokenizer, text) == expected


def test_placeholder_token_keeps_the_terms_offsets(tokenizer) -> None:
    (_, _, token) = tokenizer.tokenize(Message.build(text="what is 5-FU"), "text")
    assert (token.text, token.start, token.end) == ("kbdrug", 8, 12)
