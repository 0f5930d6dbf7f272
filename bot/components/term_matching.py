"""Find knowledge-base terms in text with spaCy: exact phrases, spacing variants, misspellings.

Plain code with no Rasa dependency, so it is easy to test and reuse (the NLU component in
``kb_terms.py`` wraps it). Everything is built from ``kb/``: no names are hard-coded here.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Tuple

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher

from kb import load_kb
from kb.model import KnowledgeBase, normalise_term

MAX_NGRAM = 5  # longest term, in tokens, tried by the spacing-tolerant lookup
MAX_FUZZY_NGRAM = 3  # longest run of words compared with misspelling tolerance
MIN_FUZZY_LEN = 5  # shorter words must match exactly ("TACE", "NEC", "5-FU")
# Markup characters that should separate words ("<b>CAPTEM</b>"); replaced one-for-one by
# spaces so entity offsets still point into the original text.
SEPARATORS = re.compile(r"[<>{}\[\]|\\^`~*_=]")


@dataclass(frozen=True)
class TermMatch:
    """One KB term found in a text."""

    entry_id: str
    start: int  # character offsets into the text
    end: int
    text: str
    how: str  # "exact", "spacing" or "fuzzy"

    @property
    def confidence(self) -> float:
        """1.0 for exact or spacing matches, lower for misspellings."""
        return 1.0 if self.how != "fuzzy" else 0.85


def damerau_levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance with transpositions; returns ``limit + 1`` as soon as it is exceeded."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: List[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        row_min = cur[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
            row_min = min(row_min, cur[j])
        if row_min > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def fuzzy_limit(length: int) -> int:
    """How many edits a word of this length may have and still count as a misspelling."""
    if length < MIN_FUZZY_LEN:
        return 0
    return 1 if length < 9 else 2


class TermMatcher:
    """Recognises every name, brand, abbreviation and misspelling of every KB entry."""

    def __init__(self, kb: KnowledgeBase, nlp: Language | None = None) -> None:
        self.nlp = nlp or spacy.blank("en")
        self.index: Dict[str, str] = kb.term_index()
        self.broad = {e.id for e in kb.entries.values() if e.broad}
        self.kinds: Dict[str, str] = {
            e.id: e.kind.replace("_", "") for e in kb.entries.values()
        }
        # Brand names, and the misspellings nearer a brand than the entry's other names
        # ("affinitor"), normalised: "is Xeloda capecitabine?" names a brand and a drug.
        self.brand_keys = brand_keys(kb)
        self.phrases = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        for entry in kb.entries.values():
            patterns = [self.nlp.make_doc(term) for term, _ in entry.terms()]
            self.phrases.add(entry.id, patterns)
        # Keys for misspelling search, by (first letter, length): misspellings nearly always
        # keep the first letter, so this prunes almost every comparison.
        self._fuzzy_keys: Dict[Tuple[str, int], List[str]] = {}
        for key in self.index:
            if len(key) >= MIN_FUZZY_LEN and key.isalpha():
                self._fuzzy_keys.setdefault((key[0], len(key)), []).append(key)
        self._stop_words = self.nlp.Defaults.stop_words
        # The last few texts only (see find): not a memory of repeated messages.
        self._find_cached = functools.lru_cache(maxsize=4)(self._find)

    def _closest(self, word: str) -> str | None:
        """The KB key within a few edits of ``word`` (fewest edits wins), if any."""
        limit = fuzzy_limit(len(word))
        if not limit:
            return None
        best: Tuple[int, str | None] = (limit + 1, None)
        for length in range(len(word) - limit, len(word) + limit + 1):
            for key in self._fuzzy_keys.get((word[0], length), ()):
                dist = damerau_levenshtein(word, key, limit)
                if dist < best[0]:
                    best = (dist, key)
        return best[1]

    def _fuzzy_candidates(self, doc, start: int) -> Iterable[Tuple[int, int, str, str]]:
        """Misspelled terms of one to three words starting at token ``start``."""
        for end in range(start + 1, min(len(doc), start + MAX_FUZZY_NGRAM) + 1):
            last = doc[end - 1]
            if not last.is_alpha:
                return
            if last.lower_ in self._stop_words:
                continue
            key = normalise_term(doc[start:end].text)
            if key in self.index:
                continue  # exact: found by the spacing lookup
            found = self._closest(key)
            if found is not None:
                yield (start, end, self.index[found], "fuzzy")

    def find(self, text: str) -> List[TermMatch]:
        """All non-overlapping KB terms in ``text``, longest first, in reading order.

        Cached: the tokenizer and the entity extractor both ask about the same message.
        """
        return list(self._find_cached(text))

    def _find(self, text: str) -> Tuple[TermMatch, ...]:
        doc = self.nlp.make_doc(SEPARATORS.sub(" ", text))
        candidates: List[Tuple[int, int, str, str]] = []  # token start, end, id, how
        for match_id, start, end in self.phrases(doc):
            candidates.append((start, end, self.nlp.vocab.strings[match_id], "exact"))
        n = len(doc)
        for start in range(n):
            token = doc[start]
            if token.is_punct or token.is_space:
                continue
            for end in range(min(n, start + MAX_NGRAM), start, -1):
                if doc[end - 1].is_punct:
                    continue  # never let a span swallow trailing punctuation
                key = normalise_term(doc[start:end].text)
                if key and key in self.index:
                    candidates.append((start, end, self.index[key], "spacing"))
                    break
            if token.is_alpha and token.lower_ not in self._stop_words:
                candidates.extend(self._fuzzy_candidates(doc, start))
        return tuple(self._resolve(doc, candidates))

    @staticmethod
    def _resolve(
        doc, candidates: Iterable[Tuple[int, int, str, str]]
    ) -> List[TermMatch]:
        rank = {"exact": 0, "spacing": 1, "fuzzy": 2}
        ordered = sorted(candidates, key=lambda c: (-(c[1] - c[0]), rank[c[3]], c[0]))
        taken: List[Tuple[int, int]] = []
        chosen: List[Tuple[int, int, str, str]] = []
        for start, end, entry_id, how in ordered:
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            chosen.append((start, end, entry_id, how))
        matches = []
        for start, end, entry_id, how in sorted(chosen):
            span = doc[start:end]
            matches.append(
                TermMatch(entry_id, span.start_char, span.end_char, span.text, how)
            )
        return matches

    def is_brand(self, match: TermMatch) -> bool:
        """Whether ``match`` is a brand name (or a misspelling of one), not a generic name."""
        key = normalise_term(match.text)
        if match.how == "fuzzy" and key not in self.index:
            key = self._closest(key) or key
        return key in self.brand_keys

    def entry_ids(self, text: str) -> List[str]:
        """Distinct entry ids found in ``text``, in reading order."""
        seen: List[str] = []
        for match in self.find(text):
            if match.entry_id not in seen:
                seen.append(match.entry_id)
        return seen


def brand_keys(kb: KnowledgeBase) -> frozenset[str]:
    """Normalised brand names of the entries that answer brand questions, plus each of their
    misspellings whose nearest spelling is a brand ("temodol", not "temozolamide")."""
    keys = set()
    for entry in kb.entries.values():
        if not entry.brands or "brand_names" not in entry.facets:
            continue  # no brand answer to give ("Netspot" is asked about as a scan)
        brands = {normalise_term(b) for b in entry.brands}
        keys |= brands
        spellings = brands | {
            normalise_term(t) for t in entry.names + entry.abbreviations
        }
        for wrong in entry.misspellings:
            key = normalise_term(wrong)
            nearest = min(
                sorted(spellings),
                key=lambda s: damerau_levenshtein(key, s, len(key) + len(s)),
            )
            if nearest in brands:
                keys.add(key)
    return frozenset(keys)


@functools.lru_cache(maxsize=4)
def _matcher_for_dir(kb_dir: str | None) -> TermMatcher:
    return TermMatcher(load_kb(kb_dir))


def matcher_for(kb_dir: str | None = None) -> TermMatcher:
    """One shared matcher per KB directory per process (building one takes a moment)."""
    return _matcher_for_dir(kb_dir)
