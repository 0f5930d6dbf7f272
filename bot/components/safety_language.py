"""The "English only" check: is a message written in another language?

Two signals, configured in ``config/safety/language.yml``:

1. Script: most letters in a non-Latin script (CJK characters weigh as a word each).
2. The lingua language detector (``lingua-language-detector``, models inside the wheel,
   restricted to English and a few other languages): after knowledge-base terms, all-
   capital abbreviations and numbers are removed, English confidence below a margin.

Red-flag and crisis words in other languages are caught by the pattern screen before
this check runs, so a foreign-language emergency still escalates.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from typing import Callable, Iterable, Tuple

from bot.components.safety_lexicon import LanguageSettings

logger = logging.getLogger(__name__)

_LETTER_RE = re.compile(r"[^\W\d_]")
_NON_LATIN_LETTER_RE = re.compile(
    r"[^\W\d_a-zA-Z\u00c0-\u024f\u1e00-\u1eff\u2c60-\u2c7f\ua720-\ua7ff]"
)
_DENSE_SCRIPT_RE = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

# (start, end) character spans of knowledge-base terms in a text
TermSpans = Callable[[str], Iterable[Tuple[int, int]]]


# sentence ends, for messages written in two languages
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n+")


def non_latin_share(text: str) -> float:
    """Share of the letters of ``text`` in a non-Latin script (0 without letters)."""
    letters = len(_LETTER_RE.findall(text))
    if letters == 0:
        return 0.0
    dense = len(_DENSE_SCRIPT_RE.findall(text))
    non_latin = len(_NON_LATIN_LETTER_RE.findall(text)) + 2 * dense
    return non_latin / (letters + 2 * dense)


@lru_cache(maxsize=2)
def _detector(languages: Tuple[str, ...]):  # type: ignore[no-untyped-def]
    """The lingua detector for these languages, built once per process (~30 MB each)."""
    from lingua import Language, LanguageDetectorBuilder

    chosen = [getattr(Language, name) for name in languages]
    logger.debug("building the language detector for %s", ", ".join(languages))
    return (
        LanguageDetectorBuilder.from_languages(*chosen)
        .with_preloaded_language_models()
        .build()
    )


class LanguageCheck:
    """Decides whether a message is not English (see the module docstring)."""

    def __init__(
        self, settings: LanguageSettings, term_spans: TermSpans | None = None
    ) -> None:
        """Configure; the detector itself is built on first use or by :meth:`warm_up`.

        Args:
            settings: from ``config/safety/language.yml``.
            term_spans: finds knowledge-base terms (drug names), which are removed
                before detection: "capecitabine" is no evidence of a language.
        """
        self.settings = settings
        self._term_spans = term_spans
        unknown = [
            name
            for name in settings.languages
            if not name.isupper() or not name.isalpha()
        ]
        if unknown:
            raise ValueError(f"unknown language names {unknown}")

    def warm_up(self) -> None:
        """Build the detector now (at model load), not on the first message."""
        _detector(self.settings.languages)

    def cleaned(self, text: str) -> str:
        """``text`` without KB terms, all-capital abbreviations, numbers, symbols and the
        foreign words English uses (``english_words``: "adios")."""
        if self._term_spans is not None:
            for start, end in sorted(self._term_spans(text), reverse=True):
                text = text[:start] + " " + text[end:]
        words = _WORD_RE.findall(unicodedata.normalize("NFC", text))
        english = self.settings.english_words
        return " ".join(
            w
            for w in words
            if len(w) >= 2 and not w.isupper() and w.lower() not in english
        )

    def english_confidence(self, text: str) -> float | None:
        """The detector's confidence (0-1) that ``text`` is English, or None if the
        text has no words left to judge after cleaning."""
        from lingua import Language

        cleaned = self.cleaned(text)
        if not cleaned:
            return None
        detector = _detector(self.settings.languages)
        return detector.compute_language_confidence(cleaned, Language.ENGLISH)

    def is_other_language(self, text: str) -> bool:
        """True if ``text`` is mostly non-Latin script or clearly not English.

        Args:
            text: raw user text (markup already removed).
        """
        if not text or not _LETTER_RE.search(text):
            return False
        if non_latin_share(text) > self.settings.non_latin_share:
            return True
        confidence = self.english_confidence(text)
        if confidence is None or confidence >= self.settings.max_english_confidence:
            return False
        return not self._has_english_sentence(text)

    def _has_english_sentence(self, text: str) -> bool:
        """True if one sentence of a message of several is plainly English
        (``english_sentence_words`` words or more, at ``english_sentence_confidence``)."""
        settings = self.settings
        if settings.english_sentence_words <= 0:
            return False
        sentences = [s for s in _SENTENCE_RE.split(text) if s.strip()]
        if len(sentences) < 2:
            return False
        for sentence in sentences:
            if len(self.cleaned(sentence).split()) < settings.english_sentence_words:
                continue
            confidence = self.english_confidence(sentence)
            if (
                confidence is not None
                and confidence >= settings.english_sentence_confidence
            ):
                return True
        return False
