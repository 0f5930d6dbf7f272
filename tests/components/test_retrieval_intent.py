"""The retrieval step answers an unsure message only when a close sample question agrees."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.retrieval_intent import SampleIndex, SampleRetrievalIntent
from bot.components.term_matching import matcher_for

SAMPLES = [
    ("what is captem", "ask_what_is"),
    ("is lanreotide chemo", "ask_is_chemo"),
    ("how is folfox given", "ask_how_given"),
    ("what's the weather like tomorrow", "out_of_scope"),
]


def unsure(text: str, ranking: List[str]) -> Message:
    """A message the fallback classifier marked unsure, with the classifier's ranking."""
    msg = Message.build(text=text)
    msg.set("intent", {"name": "nlu_fallback", "confidence": 0.5})
    msg.set(
        "intent_ranking",
        [{"name": "nlu_fallback", "confidence": 0.5}]
        + [{"name": n, "confidence": 0.45 - i / 10} for i, n in enumerate(ranking)],
    )
    return msg


@pytest.fixture(params=["tfidf", "minilm"])
def trained(tmp_path: Path, request) -> SampleRetrievalIntent:
    """Trained, persisted and loaded again, as a model is, with either index."""
    storage = LocalModelStorage(tmp_path)
    resource = Resource("retrieval")
    config = {
        **SampleRetrievalIntent.get_default_config(),
        "encoder": request.param,
        "min_similarity": 0.7 if request.param == "tfidf" else 0.5,
    }
    component = SampleRetrievalIntent.create(config, storage, resource, None)
    examples = [Message.build(text=t, intent=i) for t, i in SAMPLES]
    component.train(TrainingData(training_examples=examples))
    return SampleRetrievalIntent.load(config, storage, resource, None)


def test_kb_terms_become_their_kind() -> None:
    shown = SampleIndex.placeholder_text(
        "What is CAPTEM and is Lanreotide chemo?", matcher_for()
    )
    assert shown == "what is kbregimen and is kbnonchemo chemo?"


def test_close_paraphrase_resolves_to_the_agreeing_intent(trained) -> None:
    (msg,) = trained.process(
        [unsure("what exactly is captem?", ["ask_what_is", "ask_brand_name"])]
    )
    assert msg.get("intent")["name"] == "ask_what_is"
    assert msg.get("intent_ranking")[0]["name"] == "ask_what_is"
    assert "nlu_fallback" not in [r["name"] for r in msg.get("intent_ranking")]


def test_neighbour_outside_the_classifiers_top_readings_keeps_the_buttons(
    trained,
) -> None:
    (msg,) = trained.process(
        [unsure("what exactly is captem?", ["ask_brand_name", "ask_is_chemo"])]
    )
    assert msg.get("intent")["name"] == "nlu_fallback"


def test_nothing_close_keeps_the_buttons(trained) -> None:
    (msg,) = trained.process([unsure("zebra quantum", ["ask_what_is", "ask_is_chemo"])])
    assert msg.get("intent")["name"] == "nlu_fallback"


def test_confident_messages_are_left_alone(trained) -> None:
    msg = Message.build(text="what is captem")
    msg.set("intent", {"name": "ask_is_chemo", "confidence": 0.9})
    (out,) = trained.process([msg])
    assert out.get("intent")["name"] == "ask_is_chemo"


def test_unknown_encoder_is_refused(tmp_path: Path) -> None:
    config = {**SampleRetrievalIntent.get_default_config(), "encoder": "bert-large"}
    with pytest.raises(ValueError, match="encoder"):
        SampleRetrievalIntent.create(
            config, LocalModelStorage(tmp_path), Resource("r"), None
        )


def test_a_reading_below_the_confidence_floor_keeps_the_buttons(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("retrieval")
    config = {**SampleRetrievalIntent.get_default_config(), "min_confidence": 0.5}
    component = SampleRetrievalIntent.create(config, storage, resource, None)
    component.train(
        TrainingData(
            training_examples=[Message.build(text=t, intent=i) for t, i in SAMPLES]
        )
    )
    (msg,) = component.process(
        [unsure("what is captem", ["ask_what_is", "ask_is_chemo"])]
    )
    assert msg.get("intent")["name"] == "nlu_fallback"  # ask_what_is only had 0.45


@pytest.fixture
def off_topic_rule(tmp_path: Path) -> SampleRetrievalIntent:
    """The dense index with the term-less off-topic rule on for two knowledge intents."""
    storage = LocalModelStorage(tmp_path)
    resource = Resource("retrieval")
    config = {
        **SampleRetrievalIntent.get_default_config(),
        "encoder": "minilm",
        "min_similarity": 0.5,
        "no_term_out_of_scope": 0.5,
        "no_term_intents": ["ask_what_is", "ask_how_given"],
    }
    component = SampleRetrievalIntent.create(config, storage, resource, None)
    component.train(
        TrainingData(
            training_examples=[Message.build(text=t, intent=i) for t, i in SAMPLES]
        )
    )
    return SampleRetrievalIntent.load(config, storage, resource, None)


def confident(text: str, intent: str, entities: List[dict] | None = None) -> Message:
    msg = Message.build(text=text)
    msg.set("intent", {"name": intent, "confidence": 0.8})
    msg.set(
        "intent_ranking",
        [
            {"name": intent, "confidence": 0.8},
            {"name": "out_of_scope", "confidence": 0.15},
        ],
    )
    msg.set("entities", entities or [])
    return msg


def test_term_less_knowledge_reading_like_an_off_topic_example_is_off_topic(
    off_topic_rule,
) -> None:
    (msg,) = off_topic_rule.process(
        [confident("what will the weather be like tomorrow", "ask_what_is")]
    )
    assert msg.get("intent") == {"name": "out_of_scope", "confidence": 0.15}
    assert [r["name"] for r in msg.get("intent_ranking")] == [
        "out_of_scope",
        "ask_what_is",
    ]


def test_a_named_kb_term_keeps_the_knowledge_reading(off_topic_rule) -> None:
    term = {"entity": "kb_term", "value": "captem", "start": 0, "end": 6}
    (msg,) = off_topic_rule.process(
        [confident("what will the weather be like tomorrow", "ask_what_is", [term])]
    )
    assert msg.get("intent")["name"] == "ask_what_is"


def test_a_nearest_knowledge_example_keeps_the_reading(off_topic_rule) -> None:
    (msg,) = off_topic_rule.process([confident("how is it given", "ask_how_given")])
    assert msg.get("intent")["name"] == "ask_how_given"


def test_intents_outside_the_rule_and_the_default_config_are_left_alone(
    off_topic_rule, trained
) -> None:
    weather = "what will the weather be like tomorrow"
    (msg,) = off_topic_rule.process([confident(weather, "ask_side_effects")])
    assert msg.get("intent")["name"] == "ask_side_effects"
    (msg,) = trained.process([confident(weather, "ask_what_is")])
    assert msg.get("intent")["name"] == "ask_what_is"  # off unless configured
