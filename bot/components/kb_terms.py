"""Rasa NLU component: tag knowledge-base terms in each message as ``kb_term`` entities."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.term_matching import TermMatcher, matcher_for

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class KBTermExtractor(GraphComponent, EntityExtractorMixin):
    """Finds every KB name, brand, abbreviation and misspelling with a blank spaCy pipeline.

    Config: ``kb_dir`` (default: ``$NETCHEMO_KB_DIR`` or the repo's ``kb/``) and
    ``entity`` (default ``kb_term``). The entity value is the KB entry id.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Defaults for the component's config in config.yml."""
        return {"kb_dir": None, "entity": "kb_term"}

    def __init__(self, config: Dict[str, Any], matcher: TermMatcher) -> None:
        self._config = config
        self._matcher = matcher

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KBTermExtractor:
        """Build (or reuse) the matcher from the KB when the model is loaded."""
        return cls(config, matcher_for(config.get("kb_dir")))

    def entities_for(self, text: str | None) -> List[Dict[str, Any]]:
        """Rasa entity dicts for the KB terms in ``text``."""
        if not text:
            return []
        return [
            {
                "entity": self._config["entity"],
                "value": m.entry_id,
                "start": m.start,
                "end": m.end,
                "confidence_entity": m.confidence,
                "extractor": self.__class__.__name__,
                "match": m.how,
            }
            for m in self._matcher.find(text)
        ]

    def process(self, messages: List[Message]) -> List[Message]:
        """Add ``kb_term`` entities to each message."""
        for message in messages:
            found = self.entities_for(message.get(TEXT))
            if found:
                message.set(
                    ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True
                )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn: the terms come from the KB."""
        return training_data
