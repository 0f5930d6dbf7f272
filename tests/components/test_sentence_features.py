"""The sentence-vector featurizer gives DIET one 384-float sentence feature per message."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.sentence_encoder import encoder_for
from bot.components.sentence_features import SentenceEmbeddingFeaturizer


def featurizer(**config) -> SentenceEmbeddingFeaturizer:
    return SentenceEmbeddingFeaturizer(
        {**SentenceEmbeddingFeaturizer.get_default_config(), **config}, "sentence"
    )


def sentence_vector(message: Message) -> np.ndarray:
    _, sentence = message.get_dense_features(TEXT)
    assert sentence is not None
    return sentence.features


def test_training_and_parsing_give_the_same_sentence_feature() -> None:
    component = featurizer(layers=2)
    example = Message.build(text="is  lanreotide chemo", intent="ask_is_chemo")
    component.process_training_data(TrainingData(training_examples=[example]))
    (message,) = component.process([Message.build(text="is lanreotide chemo")])
    trained, parsed = sentence_vector(example), sentence_vector(message)
    assert trained.shape == parsed.shape == (1, 384)
    assert np.abs(trained - parsed).max() < 1e-5  # whitespace runs do not matter
    expected = encoder_for().encode("is lanreotide chemo", layers=2)
    assert np.abs(parsed[0] - expected).max() < 1e-5
    assert message.get_dense_features(TEXT)[0] is None  # no sequence features


def test_examples_without_text_are_skipped() -> None:
    intent_only = Message(data={"intent": "greet"})
    featurizer().process_training_data(TrainingData(training_examples=[intent_only]))
    assert intent_only.features == []


@pytest.mark.parametrize("layers", [-1, 7])
def test_layers_outside_zero_to_six_are_refused(layers) -> None:
    with pytest.raises(ValueError, match="layers"):
        SentenceEmbeddingFeaturizer.validate_config({"layers": layers})
