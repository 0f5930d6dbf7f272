"""Rasa NLU component: when the classifier is unsure, look for the nearest sample question.

The fallback classifier marks a message ``nlu_fallback`` when the intent classifier's
confidence is low or its top two readings are close; the user then gets "did you mean"
buttons. Many of those messages are paraphrases of a training example. This component keeps
every training example in an index: sentence vectors from a small sentence encoder
(``encoder: minilm``, ``sentence_encoder.py``; only unsure messages are encoded, so the
median parse time is unchanged) or character n-gram TF-IDF with KB terms shown as their kind
(``encoder: tfidf``, "what is kbdrug"). For an unsure message it takes the most similar
example: if the similarity reaches ``min_similarity`` and that example's intent is one of the
classifier's ``top_k`` readings, the message gets that intent (answered); otherwise it stays
``nlu_fallback`` (buttons). The thresholds were chosen
by cross-validation on the training data (``scripts/tune_fallback.py``), never on a held-out
set. Runs after the fallback classifier and before the knowledge-intent hint and the safety
override, so the safety layer still has the last word.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.components.kb_tokenizer import PLACEHOLDER_PREFIX
from bot.components.term_matching import TermMatcher, matcher_for

logger = logging.getLogger(__name__)
FALLBACK = "nlu_fallback"
SAMPLES_FILE = "samples.json"
VECTORS_FILE = "vectors.npy"
ENCODERS = ("tfidf", "minilm")


@dataclass
class SampleIndex:
    """Training examples in a TF-IDF index: nearest example and its similarity."""

    vectorizer: TfidfVectorizer
    matrix: Any  # sparse, one L2-normalised row per example
    labels: list[str]

    @staticmethod
    def placeholder_text(text: str, matcher: TermMatcher) -> str:
        """``text`` lower-cased, each specific KB term replaced by ``kb<kind>``."""
        text = text or ""
        out: list[str] = []
        last = 0
        for m in matcher.find(text):
            if m.entry_id in matcher.broad:
                continue
            out += [
                text[last : m.start],
                f"{PLACEHOLDER_PREFIX}{matcher.kinds[m.entry_id]}",
            ]
            last = m.end
        out.append(text[last:])
        return " ".join("".join(out).lower().split())

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[str]) -> SampleIndex:
        """Index ``texts`` (already in placeholder form) with their intents."""
        vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True
        )
        matrix = vectorizer.fit_transform(list(texts))
        return cls(vectorizer, matrix, list(labels))

    def nearest(self, text: str) -> tuple[str, float] | None:
        """The intent of the most similar example and the cosine similarity."""
        if not self.labels or not text.strip():
            return None
        sims = (self.matrix @ self.vectorizer.transform([text]).T).toarray().ravel()
        best = int(np.argmax(sims))
        return self.labels[best], float(sims[best])


@dataclass
class DenseIndex:
    """Training examples as sentence vectors: nearest example and its cosine similarity."""

    vectors: np.ndarray  # (examples, dim), unit length
    labels: list[str]

    @staticmethod
    def encode(texts: Sequence[str]) -> np.ndarray:
        """Sentence vectors for ``texts`` (the encoder is loaded once per process)."""
        from bot.components.sentence_encoder import encoder_for

        return encoder_for().encode_many(list(texts))

    @staticmethod
    def encode_one(text: str) -> np.ndarray:
        """The sentence vector of one message (one BLAS thread: faster for one row)."""
        from bot.components.sentence_encoder import encoder_for

        return encoder_for().encode(text)

    def nearest(self, text: str) -> tuple[str, float] | None:
        """The intent of the most similar example and the cosine similarity."""
        if not self.labels or not text.strip():
            return None
        sims = self.vectors @ self.encode_one(text)
        best = int(np.argmax(sims))
        return self.labels[best], float(sims[best])


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class SampleRetrievalIntent(GraphComponent):
    """Resolves unsure messages to the intent of a close training example.

    Config: ``encoder`` (``tfidf`` or ``minilm``), ``min_similarity`` (cosine, default 0.7),
    ``top_k`` (the example's intent must be among the classifier's top k readings, default
    2), ``min_confidence`` (and have at least this classifier confidence, default 0),
    ``kb_dir``. And ``no_term_out_of_scope`` (default 0: off): a knowledge reading
    (``no_term_intents``) of a message that names no KB term at all, whose nearest
    example is ``out_of_scope`` at least this similar, becomes ``out_of_scope``.
    Nearly every knowledge question names a KB term ("what is gout" does not), so only
    those few messages are encoded.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Defaults for config.yml."""
        return {
            "encoder": "tfidf",
            "min_similarity": 0.7,
            "top_k": 2,
            "min_confidence": 0.0,
            "no_term_out_of_scope": 0.0,
            "no_term_intents": [],
            "out_of_scope_intent": "out_of_scope",
            "entity": "kb_term",
            "kb_dir": None,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        index: SampleIndex | DenseIndex | None = None,
    ) -> None:
        if config.get("encoder") not in ENCODERS:
            raise ValueError(f"retrieval encoder must be one of {ENCODERS}")
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._matcher = matcher_for(config.get("kb_dir"))
        self._index = index

    @property
    def _dense(self) -> bool:
        return self._config["encoder"] == "minilm"

    def _shown(self, text: str | None) -> str:
        """What the index compares: the text itself for the encoder, else KB kinds."""
        if self._dense:
            from bot.components.sentence_encoder import normalised

            return normalised(text)
        return SampleIndex.placeholder_text(text or "", self._matcher)

    def _build(
        self, texts: list[str], labels: list[str], vectors: np.ndarray | None = None
    ) -> SampleIndex | DenseIndex:
        if not self._dense:
            return SampleIndex.fit(texts, labels)
        if vectors is None:
            vectors = DenseIndex.encode(texts)
        return DenseIndex(vectors, labels)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SampleRetrievalIntent:
        """A new, untrained component."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Index every intent example; persisted with the model (vectors included)."""
        samples = [
            (self._shown(ex.get(TEXT)), ex.get(INTENT))
            for ex in training_data.intent_examples
        ]
        self._index = self._build([t for t, _ in samples], [i for _, i in samples])
        with self._storage.write_to(self._resource) as folder:
            (folder / SAMPLES_FILE).write_text(json.dumps(samples))
            if isinstance(self._index, DenseIndex):
                np.save(folder / VECTORS_FILE, self._index.vectors)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SampleRetrievalIntent:
        """Rebuild the index from the stored examples and vectors (no re-encoding)."""
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as folder:
                samples = json.loads((folder / SAMPLES_FILE).read_text())
                vectors = np.load(folder / VECTORS_FILE) if component._dense else None
        except (ValueError, FileNotFoundError):
            logger.warning("no stored samples: the retrieval step is off")
            return component
        texts, labels = [t for t, _ in samples], [i for _, i in samples]
        component._index = component._build(texts, labels, vectors)
        if component._dense:
            DenseIndex.encode_one("warm up")  # load the weights now, not on a message
        return component

    def process(self, messages: list[Message]) -> list[Message]:
        """Give an unsure message the intent of a close example, where one agrees; read a
        term-less knowledge question that resembles an off-topic one as off-topic."""
        index = self._index
        if index is None:
            return messages
        for message in messages:
            name = (message.get(INTENT) or {}).get("name")
            if name == FALLBACK:
                self._resolve_unsure(message, index)
            elif name in self._config["no_term_intents"]:
                self._check_off_topic(message, index)
        return messages

    def _resolve_unsure(
        self, message: Message, index: SampleIndex | DenseIndex
    ) -> None:
        ranking = [
            r
            for r in message.get(INTENT_RANKING_KEY) or []
            if r.get("name") != FALLBACK
        ]
        found = index.nearest(self._shown(message.get(TEXT)))
        if found is None or found[1] < self._config["min_similarity"]:
            return
        chosen = next(
            (r for r in ranking[: self._config["top_k"]] if r.get("name") == found[0]),
            None,
        )
        if (
            chosen is None
            or (chosen.get("confidence") or 0.0) < self._config["min_confidence"]
        ):
            return
        logger.debug("unsure message resolved to %s (%.2f)", found[0], found[1])
        self._switch(message, chosen)

    def _check_off_topic(
        self, message: Message, index: SampleIndex | DenseIndex
    ) -> None:
        threshold = self._config["no_term_out_of_scope"]
        if not threshold or any(
            e.get("entity") == self._config["entity"]
            for e in message.get(ENTITIES) or []
        ):
            return
        found = index.nearest(self._shown(message.get(TEXT)))
        target = self._config["out_of_scope_intent"]
        if found is None or found[0] != target or found[1] < threshold:
            return
        ranking = message.get(INTENT_RANKING_KEY) or []
        confidence = next(
            (r.get("confidence") for r in ranking if r.get("name") == target), None
        )
        logger.debug("term-less knowledge reading is off-topic (%.2f)", found[1])
        self._switch(message, {"name": target, "confidence": confidence or found[1]})

    @staticmethod
    def _switch(message: Message, chosen: dict[str, Any]) -> None:
        """Make ``chosen`` the intent, first in the ranking (``nlu_fallback`` dropped)."""
        ranking = [
            r
            for r in message.get(INTENT_RANKING_KEY) or []
            if r.get("name") not in (FALLBACK, chosen.get("name"))
        ]
        message.set(INTENT, dict(chosen), add_to_output=True)
        message.set(INTENT_RANKING_KEY, [dict(chosen), *ranking], add_to_output=True)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to the training data."""
        return training_data
