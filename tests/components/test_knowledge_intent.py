"""A named KB topic turns 'can you tell me about X' (capabilities) into 'what is X'."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.knowledge_intent import KnowledgeIntentHint


@pytest.fixture(scope="module")
def component() -> KnowledgeIntentHint:
    config = KnowledgeIntentHint.get_default_config()
    return KnowledgeIntentHint.create(config, MagicMock(), MagicMock(), MagicMock())


def message(intent: str, entities, ranking=None) -> Message:
    """A parsed message with this intent, KB entities and (by default) a two-entry ranking."""
    msg = Message.build(text="x")
    msg.set("intent", {"name": intent, "confidence": 0.5})
    names = ranking or [intent, "ask_what_is"]
    msg.set(
        "intent_ranking",
        [{"name": n, "confidence": 0.5 - i / 10} for i, n in enumerate(names)],
    )
    msg.set("entities", [{"entity": "kb_term", "value": v} for v in entities])
    return msg


def test_capabilities_with_a_named_topic_becomes_what_is(component) -> None:
    (msg,) = component.process([message("ask_capabilities", ["captem"])])
    assert msg.get("intent")["name"] == "ask_what_is"
    assert [r["name"] for r in msg.get("intent_ranking")] == [
        "ask_what_is",
        "ask_capabilities",
    ]


@pytest.mark.parametrize(
    "intent, entities",
    [
        ("ask_capabilities", []),
        (
            "ask_capabilities",
            ["chemotherapy"],
        ),  # broad: "what can you tell me about chemo"
        ("thank", ["captem"]),
        ("red_flag", ["captem"]),
    ],
)
def test_left_alone(component, intent, entities) -> None:
    (msg,) = component.process([message(intent, entities)])
    assert msg.get("intent")["name"] == intent


def test_low_confidence_best_guess_what_is_with_a_named_topic(component) -> None:
    ranking = ["nlu_fallback", "ask_what_is", "ask_does_chemo_work"]
    (msg,) = component.process(
        [message("nlu_fallback", ["captem_prrt_trial"], ranking)]
    )
    assert msg.get("intent")["name"] == "ask_what_is"


def test_low_confidence_about_a_facet_keeps_the_buttons(component) -> None:
    ranking = ["nlu_fallback", "ask_how_given", "ask_what_is"]
    (msg,) = component.process([message("nlu_fallback", ["captem"], ranking)])
    assert msg.get("intent")["name"] == "nlu_fallback"


def test_unsure_out_of_scope_without_a_topic_is_out_of_scope(component) -> None:
    ranking = ["nlu_fallback", "out_of_scope", "ask_what_is"]
    (msg,) = component.process([message("nlu_fallback", [], ranking)])
    assert msg.get("intent")["name"] == "out_of_scope"
    assert [r["name"] for r in msg.get("intent_ranking")] == [
        "out_of_scope",
        "ask_what_is",
    ]
    (msg,) = component.process([message("nlu_fallback", ["captem"], ranking)])
    assert (
        msg.get("intent")["name"] == "nlu_fallback"
    )  # a KB topic is named: offer buttons


def test_unsure_best_guess_below_the_floor_keeps_the_buttons() -> None:
    config = {
        **KnowledgeIntentHint.get_default_config(),
        "min_fallback_confidence": 0.4,
    }
    hint = KnowledgeIntentHint.create(config, MagicMock(), MagicMock(), MagicMock())
    msg = message("nlu_fallback", ["folfox"])
    msg.set(
        "intent_ranking",
        [
            {"name": "nlu_fallback", "confidence": 0.4},
            {"name": "ask_what_is", "confidence": 0.11},
        ],
    )
    (out,) = hint.process([msg])
    assert out.get("intent")["name"] == "nlu_fallback"
    msg.set(
        "intent_ranking",
        [
            {"name": "nlu_fallback", "confidence": 0.4},
            {"name": "ask_what_is", "confidence": 0.45},
        ],
    )
    (out,) = hint.process([msg])
    assert out.get("intent")["name"] == "ask_what_is"


def test_unsure_follow_up_naming_a_topic_is_kept() -> None:
    config = {
        **KnowledgeIntentHint.get_default_config(),
        "keep_intents": ["followup_topic"],
    }
    hint = KnowledgeIntentHint.create(config, MagicMock(), MagicMock(), MagicMock())
    ranking = ["nlu_fallback", "followup_topic", "ask_what_is"]
    (msg,) = hint.process([message("nlu_fallback", ["captem"], ranking)])
    assert msg.get("intent")["name"] == "followup_topic"
    (msg,) = hint.process([message("nlu_fallback", ["chemotherapy"], ranking)])
    assert msg.get("intent")["name"] == "nlu_fallback"  # only a broad topic: buttons
