"""Text normalisation for the safety screen: one spelling per word before matching.

Text is lower-cased, accents are stripped ("fièvre" -> "fievre", "gorączka" ->
"goraczka"), curly apostrophes straightened and markup split before tokenising; then
each token's NORM is mapped through the typo table (``config/safety/typos.yml``) so
patterns are written once, in canonical spelling. spaCy's own norms already turn
"n't"/"nt" into "not" and "ca" into "can" ("can't", "cant", "cannot" -> "can not").
"""

from __future__ import annotations

import re
import unicodedata
from typing import Dict, Sequence

from bot.components.safety_lexicon import TypoRegex

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
# Markup and template delimiters separate words: "<i>fever</i>" must read as "fever",
# "captem?</b>" as "captem ?" and "temp=38.5" as "temp 38.5". spaCy would otherwise keep
# "fever</i" as one token and no pattern could see the word.
_SEPARATORS = str.maketrans({c: " " for c in "<>/\\{}[]|="})
# "38½" is 38.5 (NFKD would make it "381⁄2"); a lone "½" is the word "half".
_HALF_AFTER_DIGIT_RE = re.compile(r"(\d)\s*\u00bd")
# Quotes around a word or a few ("feels 'wrong' he says", 'a "bit" hot') are dropped, so
# the quoted words read as plain words; apostrophes inside words ("dad's") stay.
_QUOTED_RE = re.compile(
    r"(?<![\w'])['\"\u201c\u201d]([^\W\d_][\w-]*(?:\s+[\w-]+){0,3})"
    r"['\"\u201c\u201d](?![\w'])"
)
# Whole HTML-like tags ("<img src=x onerror=...>"), removed when deciding whether a
# message has any content words at all.
TAG_RE = re.compile(r"<\s*/?\s*[a-z!][^<>]*>", re.IGNORECASE)
WORD_ANY_SCRIPT_RE = re.compile(r"[^\W\d_]+")


def normalise_text(text: str) -> str:
    """Lower-case, strip accents, straighten apostrophes, split markup (keeps scripts).

    ``< > / \\ { } [ ] | =`` become spaces, so HTML or template syntax around a word
    never hides it from the matchers.

    Args:
        text: raw user text.

    Returns:
        The normalised text (same script; Latin accents removed).
    """
    # "º" (ordinal indicator, often typed for degrees) would decompose to "o".
    text = (
        text.replace("\u00ba", "\u00b0").translate(_APOSTROPHES).translate(_SEPARATORS)
    )
    text = _HALF_AFTER_DIGIT_RE.sub(r"\1.5", text).replace("\u00bd", " half ")
    text = _QUOTED_RE.sub(r"\1", text)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped).lower()


class Canonicaliser:
    """Maps a token norm to its canonical spelling (typos, some foreign words)."""

    def __init__(self, typos: Dict[str, str], regexes: Sequence[TypoRegex]) -> None:
        """Build from the typo table and the misspelling regexes of typos.yml."""
        self._typos = dict(typos)
        self._regexes = tuple(regexes)

    def __call__(self, norm: str) -> str:
        """The canonical spelling of ``norm`` (``norm`` itself if none is known)."""
        mapped = self._typos.get(norm)
        if mapped:
            return mapped
        for rule in self._regexes:
            # diarrhoea is misspelled in more ways than any list can hold: diarhoea,
            # diarrea, diahrea, ... (length >= 6 keeps out "dire").
            if (
                rule.min_length <= len(norm) <= rule.max_length
                and norm[:1] == rule.canonical[:1]
                and rule.regex.match(norm)
            ):
                return rule.canonical
        return norm
