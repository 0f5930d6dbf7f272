"""Deterministic safety layer: force ``red_flag`` / ``crisis`` / ``ask_personal_advice`` /
``other_language`` intents.

``SafetyIntentOverride`` runs LAST in the NLU pipeline (after the trained classifier and
``FallbackClassifier``). It never lets a statistical model decide whether a message about
a fever, bleeding, suicide or a dose gets the safe answer:

1. Red flags -> intent ``red_flag`` (confidence 1.0): symptom wording, temperatures at or
   above the high threshold or below the low one in ``config/safety.yml`` (C or F; see
   ``bot/components/temperature.py``), feeling unwell whatever the temperature,
   misspellings, carers' wording and red-flag words in other languages.
2. Crisis wording -> ``crisis``, unless a physical red flag is also present: then
   ``red_flag_crisis`` (the urgent message, then the crisis lines).
3. Personal treatment decisions (doses, missed doses, stopping or delaying, other
   medicines, "is it right for me", prognosis, own results) -> ``ask_personal_advice``.
4. Otherwise, messages not in English -> ``other_language``.
5. The reverse checks: if the classifier itself chose ``red_flag`` or ``crisis`` but the
   screen found nothing and the message has no content words at all (``{{7*7}}``,
   ``500 or 1000``), the prediction becomes ``nlu_fallback``. If the classifier chose
   ``red_flag`` below ``classifier_overrules_screen_at`` while the screen found evidence
   against a red flag (a negated symptom, a symptom asked about as a topic or told as
   the past, a normal reading, symptom words all negated or out of the present), the
   classifier's next intent answers (never a small-talk one), with the safety reminder.

The wording lives in the reviewed lexicon ``config/safety/*.yml`` (loaded by
``bot/components/safety_lexicon.py``); the engine is split by concern:
``safety_text`` (normalising), ``safety_patterns`` (the pattern language),
``safety_language`` (the English-only check), ``safety_screen`` (the screen itself).

Forced predictions are marked with ``message["safety"]`` (an output property, so it shows
in the parse result and tracker): ``{"forced_by", "intent", "reasons", "also_crisis",
"overridden_intent"}``. ``reasons`` are category labels, never user text.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.components.safety_screen import (  # noqa: F401  (re-exported)
    INTENT_CRISIS,
    INTENT_OTHER_LANGUAGE,
    INTENT_PERSONAL_ADVICE,
    INTENT_RED_FLAG,
    INTENT_RED_FLAG_CRISIS,
    LOW_TEMPERATURE_REASON,
    TEMPERATURE_MENTION,
    TEMPERATURE_REASON,
    SafetyResult,
    SafetyScreen,
)
from bot.components.safety_text import normalise_text  # noqa: F401  (re-exported)
from bot.settings import load_settings

logger = logging.getLogger(__name__)

SAFETY_INTENTS: FrozenSet[str] = frozenset(
    {INTENT_RED_FLAG, INTENT_RED_FLAG_CRISIS, INTENT_CRISIS}
)
NO_CONTENT_REASON = "no_content"
NORMAL_READING_REASON = "normal_temperature_reading"
RULED_OUT_REASON = "screen_ruled_out_red_flag"
SAFETY_KEY = "safety"
SYMPTOM_MENTION_KEY = "symptom_mention"


@lru_cache(maxsize=1)
def _kb_words() -> FrozenSet[str]:
    """Single-word KB names, brands, abbreviations and misspellings, lower case."""
    from kb import load_kb

    words = set()
    for entry in load_kb().entries.values():
        for term in (
            entry.names + entry.brands + entry.abbreviations + entry.misspellings
        ):
            if len(term.split()) == 1:
                words.add(term.lower())
    return frozenset(words)


_TERM_WORD_RE = re.compile(r"[^\W\d_][\w'-]*")
# KB words this long or longer also match with one letter missing or extra
_FUZZY_MIN_LENGTH = 7


def _deletions(word: str) -> List[str]:
    return [word[:i] + word[i + 1 :] for i in range(len(word))]


@lru_cache(maxsize=1)
def _kb_near_words() -> FrozenSet[str]:
    """Long KB words with one letter deleted ("capcitabine" from "capecitabine")."""
    return frozenset(
        variant
        for word in _kb_words()
        if len(word) >= _FUZZY_MIN_LENGTH
        for variant in _deletions(word)
    )


def _is_kb_word(word: str) -> bool:
    """An exact KB word, or a long one with one letter missing, extra or wrong."""
    if word in _kb_words():
        return True
    # accents are evidence of a language ("témozolomide"): no fuzzy match for them
    if len(word) < _FUZZY_MIN_LENGTH - 1 or not word.isascii():
        return False
    near = _kb_near_words()
    return word in near or any(v in near or v in _kb_words() for v in _deletions(word))


def kb_term_spans(text: str) -> List[Tuple[int, int]]:
    """Character spans of single-word knowledge-base terms in ``text`` ("capecitabine",
    "Xeloda", "FOLFOX", misspelled by one letter: "capcitabine"), removed before
    language detection: a drug name is no evidence of a language. Set look-ups, about
    100 times cheaper than the fuzzy term matcher."""
    return [
        m.span() for m in _TERM_WORD_RE.finditer(text) if _is_kb_word(m.group().lower())
    ]


def build_screen(
    settings_path: Path | None = None,
    detect_other_language: bool = True,
    detect_personal_advice: bool = True,
) -> SafetyScreen:
    """The screen as the NLU pipeline builds it: thresholds from the settings file,
    the lexicon from ``config/safety/``, KB terms removed before language detection."""
    settings = load_settings(settings_path)
    return SafetyScreen(
        settings.red_flags.temperature_threshold_c,
        detect_other_language=detect_other_language,
        detect_personal_advice=detect_personal_advice,
        low_temperature_threshold_c=settings.red_flags.low_temperature_threshold_c,
        term_spans=kb_term_spans,
    )


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class SafetyIntentOverride(GraphComponent, IntentClassifier):
    """Forces ``red_flag`` / ``crisis`` / ``ask_personal_advice`` / ``other_language``
    regardless of the classifier, and withdraws a classifier's ``red_flag`` / ``crisis``
    on a message with no content words (it becomes ``nlu_fallback``).

    Put it LAST in the pipeline (after ``FallbackClassifier``). Config:
    ``settings_path`` (default: ``$NETCHEMO_SETTINGS`` or ``config/safety.yml``; read
    when the model is loaded, so a changed threshold needs a restart, not a retrain),
    ``detect_other_language`` and ``detect_personal_advice`` (both default ``True``),
    ``classifier_overrules_screen_at`` (default 0.9: the classifier's own ``red_flag``
    stands against the screen's evidence of no red flag only at this confidence or
    above) and ``small_talk_intents`` (never put in place of a withdrawn red flag).
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Defaults for the component's config in config.yml."""
        return {
            "settings_path": None,
            "detect_other_language": True,
            "detect_personal_advice": True,
            "classifier_overrules_screen_at": 0.9,
            "small_talk_intents": [],
        }

    def __init__(self, config: Dict[str, Any], screen: SafetyScreen) -> None:
        """Wrap a compiled :class:`SafetyScreen`."""
        self.component_config = config
        self._screen = screen
        self._overrules_at = float(
            config.get(
                "classifier_overrules_screen_at",
                self.get_default_config()["classifier_overrules_screen_at"],
            )
        )
        self._not_next: FrozenSet[str] = (
            SAFETY_INTENTS
            | {INTENT_OTHER_LANGUAGE}
            | frozenset(config.get("small_talk_intents") or ())
        )

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyIntentOverride:
        """Read the settings and compile the matchers when the model is loaded."""
        path = config.get("settings_path")
        screen = build_screen(
            Path(path) if path else None,
            detect_other_language=bool(config.get("detect_other_language", True)),
            detect_personal_advice=bool(config.get("detect_personal_advice", True)),
        )
        if screen.detect_other_language:
            screen.language.warm_up()
        logger.debug(
            "SafetyIntentOverride ready (below %.1f C or from %.1f C, lexicon %s)",
            screen.low_temperature_threshold_c,
            screen.temperature_threshold_c,
            screen.lexicon.directory,
        )
        return cls(config, screen)

    @property
    def screen(self) -> SafetyScreen:
        """The underlying screen (for tests and diagnostics)."""
        return self._screen

    def process(self, messages: List[Message]) -> List[Message]:
        """Override the predicted intent where a safety rule applies.

        Args:
            messages: messages with the classifier's ``intent`` / ``intent_ranking``.

        Returns:
            The same messages, changed in place where a rule fired.
        """
        for message in messages:
            text = message.get(TEXT)
            result = self._screen.screen(text)
            intent_name = result.intent
            if intent_name is not None:
                self._force_intent(
                    message,
                    intent_name,
                    self._reasons(result),
                    also_crisis=intent_name == INTENT_RED_FLAG_CRISIS,
                    symptom_mention=result.symptom_mention,
                )
                continue
            previous = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if previous in SAFETY_INTENTS and not self._screen.has_content(text):
                # The classifier alone chose red_flag / crisis for a message with
                # nothing to read a symptom or a crisis from ("{{7*7}}", "500 or
                # 1000", a bare HTML tag): withdraw it, so the bot asks to rephrase.
                self._force_intent(
                    message,
                    DEFAULT_NLU_FALLBACK_INTENT_NAME,
                    [NO_CONTENT_REASON],
                    drop=SAFETY_INTENTS,
                )
            elif previous in SAFETY_INTENTS and (
                why := self._withdrawal(message, previous, result)
            ):
                # The screen's evidence wins over the classifier alone: the next
                # non-safety intent answers, with the one-line safety reminder.
                self._force_intent(
                    message,
                    self._next_intent(message),
                    [why],
                    drop=SAFETY_INTENTS,
                    symptom_mention=True,
                )
            elif result.symptom_mention:
                message.set(
                    SAFETY_KEY,
                    {
                        SYMPTOM_MENTION_KEY: True,
                        "reasons": list(result.mentioned or result.negated),
                        "topic_frame": result.topic_frame,
                    },
                    add_to_output=True,
                )
        return messages

    def _withdrawal(
        self, message: Message, previous: str | None, result: SafetyResult
    ) -> str | None:
        """Why the classifier's own safety intent gives way to the screen, or None.

        A normal reading and nothing else ("my temperature is 36.8", "temp 37.1"): the
        reading decides, as it does for the screen. An unsure ``red_flag`` (below
        ``classifier_overrules_screen_at``) where the screen read the symptom as
        negated ("no fever, just asking"), as a topic ("is a high temperature common
        with ...") or as past: the screen's evidence decides.
        """
        if result.only_normal_temperature:
            return NORMAL_READING_REASON
        if (
            previous == INTENT_RED_FLAG
            and result.rules_out_red_flag
            and self._confidence(message) < self._overrules_at
        ):
            return RULED_OUT_REASON
        return None

    @staticmethod
    def _confidence(message: Message) -> float:
        """The classifier's confidence in its chosen intent (0 if there is none)."""
        intent = message.get(INTENT) or {}
        return float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)

    def _next_intent(self, message: Message) -> str:
        """The classifier's best intent in place of a withdrawn red flag: not a safety
        intent, not ``other_language`` and not small talk (a message about a symptom
        never gets "goodbye"); ``nlu_fallback`` if there is none."""
        for entry in message.get(INTENT_RANKING_KEY) or []:
            name = entry.get(INTENT_NAME_KEY)
            if name and name not in self._not_next:
                return str(name)
        return DEFAULT_NLU_FALLBACK_INTENT_NAME

    @staticmethod
    def _reasons(result: SafetyResult) -> List[str]:
        """Category labels for the intent the screen chose."""
        name = result.intent
        if name == INTENT_OTHER_LANGUAGE:
            return ["other_language"]
        if name == INTENT_CRISIS:
            return list(result.crisis)
        if name == INTENT_PERSONAL_ADVICE:
            return list(result.personal_advice)
        if name == INTENT_RED_FLAG_CRISIS:
            return list(result.red_flags) + list(result.crisis)
        return list(result.red_flags)

    def _force_intent(
        self,
        message: Message,
        name: str,
        reasons: List[str],
        drop: FrozenSet[str] = frozenset(),
        also_crisis: bool = False,
        symptom_mention: bool = False,
    ) -> None:
        """Set ``name`` as the intent (confidence 1.0, first in the ranking) and mark it.

        Args:
            message: the message to change in place.
            name: the intent to force.
            reasons: category labels for ``message["safety"]`` (never user text).
            drop: further intents to remove from the ranking.
            also_crisis: a red flag was forced but crisis wording was found too.
            symptom_mention: the answer should carry the one-line safety reminder.
        """
        previous = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        forced = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
        # Keep the classifier's own ranking after the forced intent; drop the
        # FallbackClassifier's entry (its low-confidence verdict no longer applies) and
        # any older entry for the forced intent.
        removed = drop | {name, DEFAULT_NLU_FALLBACK_INTENT_NAME}
        ranking = [
            entry
            for entry in message.get(INTENT_RANKING_KEY) or []
            if entry.get(INTENT_NAME_KEY) not in removed
        ]
        message.set(INTENT, forced, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [dict(forced)] + ranking, add_to_output=True)
        message.set(
            SAFETY_KEY,
            {
                "forced_by": type(self).__name__,
                "intent": name,
                "reasons": reasons,
                "also_crisis": also_crisis,
                "overridden_intent": previous,
                SYMPTOM_MENTION_KEY: symptom_mention,
            },
            add_to_output=True,
        )
        # Category labels only, and at DEBUG: even the symptom categories ("chest,
        # fever") are health information about the person. Never the user's text.
        logger.debug(
            "Safety override: %s -> %s (%s)", previous, name, ", ".join(reasons)
        )
