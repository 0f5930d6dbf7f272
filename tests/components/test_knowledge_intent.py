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


def message(intent: str, entities) -> Message:
    msg = Message.build(text="x")
    msg.set("intent", {"name": intent, "confidence": 0.7})
    msg.set(
        "intent_ranking",
        [
            {"name": intent, "confidence": 0.7},
            {"name": "ask_what_is", "confidence": 0.2},
        ],
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
    msg = Message.build(text="x")
    msg.set("intent", {"name": "nlu_fallback", "confidence": 0.5})
    msg.set("intent_ranking", [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "ask_what_is", "confidence": 0.45},
        {"name": "ask_does_chemo_work", "confidence": 0.4},
    ])  # fmt: skip
    msg.set("entities", [{"entity": "kb_term", "value": "captem_prrt_trial"}])
    component.process([msg])
    assert msg.get("intent")["name"] == "ask_what_is"


def test_low_confidence_about_a_facet_keeps_the_buttons(component) -> None:
    msg = Message.build(text="x")
    msg.set("intent", {"name": "nlu_fallback", "confidence": 0.5})
    msg.set("intent_ranking", [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "ask_how_given", "confidence": 0.45},
        {"name": "ask_what_is", "confidence": 0.44},
    ])  # fmt: skip
    msg.set("entities", [{"entity": "kb_term", "value": "captem"}])
    component.process([msg])
    assert msg.get("intent")["name"] == "nlu_fallback"


def test_unsure_out_of_scope_without_a_topic_is_out_of_scope(component) -> None:
    msg = Message.build(text="x")
    msg.set("intent", {"name": "nlu_fallback", "confidence": 0.5})
    msg.set("intent_ranking", [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "out_of_scope", "confidence": 0.49},
        {"name": "ask_what_is", "confidence": 0.2},
    ])  # fmt: skip
    msg.set("entities", [])
    component.process([msg])
    assert msg.get("intent")["name"] == "out_of_scope"
    assert [r["name"] for r in msg.get("intent_ranking")] == [
        "out_of_scope",
        "ask_what_is",
    ]
    msg.set("intent", {"name": "nlu_fallback", "confidence": 0.5})
    msg.set("intent_ranking", [{"name": "nlu_fallback"}, {"name": "out_of_scope"}])
    msg.set("entities", [{"entity": "kb_term", "value": "captem"}])
    component.process([msg])
    assert (
        msg.get("intent")["name"] == "nlu_fallback"
    )  # a KB topic is named: offer buttons
