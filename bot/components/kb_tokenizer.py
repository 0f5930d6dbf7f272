"""Rasa tokenizer that shows the classifier *what kind* of KB term a message names, not which.

"what is bevacizumab" and "what is CAPTEM" become "what is kbdrug" and "what is kbregimen" for
the featurizers, so the intent classifier learns how questions are asked rather than which drug
names happened to appear in the training examples. A brand name is "kbbrand" ("is Avastin
bevacizumab?" -> "is kbbrand kbdrug"): asking what a brand is asks for its generic name. Broad
terms ("chemo") stay words: they matter for the intent ("why am I not on chemo?"). Entities are
extracted separately (``kb_terms.py``) from the original text, so nothing is lost.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.term_matching import TermMatcher, matcher_for

logger = logging.getLogger(__name__)
PLACEHOLDER_PREFIX = "kb"
# A brand name becomes "kbbrand" whatever its entry's kind: "what is Afinitor?" asks which
# medicine a brand is, "what is everolimus?" what a medicine is (the classifier sees only
# placeholders, so without this the two read the same).
BRAND = "brand"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False
)
class KBTermTokenizer(WhitespaceTokenizer):
    """Whitespace tokenizer that merges each specific KB term into one placeholder token.

    Config: as ``WhitespaceTokenizer``, plus ``kb_dir`` (default ``$NETCHEMO_KB_DIR`` or kb/).
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """WhitespaceTokenizer's defaults plus the KB directory."""
        return {**WhitespaceTokenizer.get_default_config(), "kb_dir": None}

    def __init__(self, config: Dict[str, Any], matcher: TermMatcher) -> None:
        super().__init__(config)
        self._matcher = matcher

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KBTermTokenizer:
        """Build (or reuse) the KB matcher when the model is trained or loaded."""
        return cls(config, matcher_for(config.get("kb_dir")))

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        """Whitespace tokens, with each specific KB term replaced by ``kb<kind>``."""
        tokens = super().tokenize(message, attribute)
        if attribute != TEXT:
            return tokens
        matcher = self._matcher
        spans = [
            (
                m.start,
                m.end,
                BRAND if matcher.is_brand(m) else matcher.kinds[m.entry_id],
            )
            for m in matcher.find(message.get(TEXT) or "")
            if m.entry_id not in matcher.broad
        ]
        if not spans:
            return tokens
        merged: List[Token] = []
        used = set()
        for token in tokens:
            span = next(
                (s for s in spans if token.start < s[1] and s[0] < token.end), None
            )
            if span is None:
                merged.append(token)
            elif span not in used:
                used.add(span)
                start, end, kind = span
                merged.append(Token(f"{PLACEHOLDER_PREFIX}{kind}", start, end))
        return self._apply_token_pattern(merged)
