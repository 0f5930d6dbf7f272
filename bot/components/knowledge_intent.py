"""Rasa NLU component: a message that names a specific KB topic is a knowledge question.

"Can you tell me about CAPTEM?" looks like "what can you tell me about?" to the classifier
(``ask_capabilities``). When the predicted intent is one of ``from_intents`` and the message
names a specific (not broad) KB entry, the intent becomes ``to_intent``. The same applies to a
low-confidence message (``nlu_fallback``) whose best classifier guess is one of those intents
or ``to_intent`` itself: "what is X" is the default question about a named topic, so buttons
are kept for real doubt about what was asked. And a low-confidence message that names no KB
topic at all and whose best guess is ``out_of_scope`` is read as out of scope (a polite "not
something I can help with" beats buttons about unrelated chemo topics). A best guess under
``min_fallback_confidence`` is no reading at all ("folfox thingy"): that message keeps its
buttons. An unsure best guess in ``keep_intents`` (``followup_topic``: "captem??" looks like
"and CAPTEM?") that names a topic is kept as it is. Runs after the classifier and the fallback
classifier, before the safety override.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.term_matching import matcher_for

logger = logging.getLogger(__name__)
FALLBACK = "nlu_fallback"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class KnowledgeIntentHint(GraphComponent):
    """Turns ``ask_capabilities`` (by default) into ``ask_what_is`` when a KB topic is named.

    Config: ``from_intents`` (list), ``to_intent``, ``entity`` (default ``kb_term``),
    ``min_fallback_confidence`` (default 0: every unsure best guess counts), ``keep_intents``
    (unsure best guesses kept when a topic is named, default none), ``kb_dir`` (for
    telling broad entries like "chemo" from specific ones).
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Defaults for config.yml."""
        return {
            "from_intents": ["ask_capabilities"],
            "to_intent": "ask_what_is",
            "entity": "kb_term",
            "out_of_scope_intent": "out_of_scope",
            "min_fallback_confidence": 0.0,
            "keep_intents": [],
            "kb_dir": None,
        }

    def __init__(self, config: dict[str, Any], broad: frozenset) -> None:
        self._config = config
        self._broad = broad

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KnowledgeIntentHint:
        """Read which KB entries are broad when the model is loaded."""
        return cls(config, frozenset(matcher_for(config.get("kb_dir")).broad))

    def process(self, messages: list[Message]) -> list[Message]:
        """Switch the intent where the rule applies; leave everything else untouched."""
        readable = {*self._config["from_intents"], self._config["to_intent"]}
        for message in messages:
            intent = message.get(INTENT) or {}
            name = intent.get("name")
            any_term = any(
                e.get("entity") == self._config["entity"]
                for e in message.get(ENTITIES) or []
            )
            if name == FALLBACK:
                ranking = message.get(INTENT_RANKING_KEY) or []
                best: dict[str, Any] = next(
                    (r for r in ranking if r.get("name") != FALLBACK), {}
                )
                if (
                    best.get("name") == self._config["out_of_scope_intent"]
                    and not any_term
                ):
                    self._switch(message, best)
                    continue
                if best.get("name") in self._config["keep_intents"]:
                    if self._names_topic(message):
                        self._switch(message, best)  # "captem??" reads as "and CAPTEM?"
                    continue
                if best.get("name") not in readable:
                    continue
                if (best.get("confidence") or 0.0) < self._config[
                    "min_fallback_confidence"
                ]:
                    continue
                intent = best
            elif name not in self._config["from_intents"]:
                continue
            named = [
                e
                for e in message.get(ENTITIES) or []
                if e.get("entity") == self._config["entity"]
                and e.get("value") not in self._broad
            ]
            if not named:
                continue
            self._switch(
                message,
                {
                    "name": self._config["to_intent"],
                    "confidence": intent.get("confidence"),
                },
            )
        return messages

    def _names_topic(self, message: Message) -> bool:
        """True if the message names a specific (not broad) KB topic."""
        return any(
            e.get("entity") == self._config["entity"]
            and e.get("value") not in self._broad
            for e in message.get(ENTITIES) or []
        )

    @staticmethod
    def _switch(message: Message, target: dict[str, Any]) -> None:
        """Make ``target`` the message's intent, first in its ranking."""
        ranking = [
            r
            for r in message.get(INTENT_RANKING_KEY) or []
            if r.get("name") not in (target["name"], FALLBACK)
        ]
        logger.debug(
            "intent %s -> %s", (message.get(INTENT) or {}).get("name"), target["name"]
        )
        message.set(INTENT, dict(target), add_to_output=True)
        message.set(INTENT_RANKING_KEY, [dict(target), *ranking], add_to_output=True)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn."""
        return training_data
