"""The deterministic safety screen: red flags, crisis, personal advice, other language.

:class:`SafetyScreen` is plain Python (no Rasa needed), built from the reviewed lexicon
in ``config/safety/`` (``bot/components/safety_lexicon.py``) and the temperature rules
(``bot/components/temperature.py``). ``bot/components/safety.py`` wraps it as the NLU
component that forces the intents.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Set, Tuple

import spacy
from spacy.tokens import Doc

from bot.components.safety_language import LanguageCheck, TermSpans
from bot.components.safety_lexicon import Lexicon, default_lexicon
from bot.components.safety_patterns import (
    Match,
    PatternCompiler,
    Rule,
    RuleSet,
    not_excluded,
)
from bot.components.safety_scope import ScopeChecker, Scopes
from bot.components.safety_text import (
    TAG_RE,
    WORD_ANY_SCRIPT_RE,
    Canonicaliser,
    normalise_text,
)
from bot.components.temperature import find_readings, judge, weather_number
from bot.settings import DEFAULT_LOW_TEMPERATURE_THRESHOLD_C

logger = logging.getLogger(__name__)

INTENT_RED_FLAG = "red_flag"
# A red flag and crisis wording in one message: its own rule sends the urgent message, then
# crisis support, with domain responses only (data/stories/rules_safety.yml).
INTENT_RED_FLAG_CRISIS = "red_flag_crisis"
INTENT_CRISIS = "crisis"
INTENT_OTHER_LANGUAGE = "other_language"
INTENT_PERSONAL_ADVICE = "ask_personal_advice"
TEMPERATURE_REASON = "temperature_reading"
LOW_TEMPERATURE_REASON = "low_temperature_reading"
TEMPERATURE_MENTION = "temperature"
# symptom words that a bare temperature reading brings with it
TEMPERATURE_WORDS: FrozenSet[str] = frozenset(
    {"temperature", "temp", "temperatures", "thermometer"}
)


@dataclass(frozen=True)
class SafetyResult:
    """What the screen found in one message.

    Attributes:
        red_flags: red-flag categories found (sorted), e.g. ``("fever",)``.
        crisis: crisis categories found (sorted).
        personal_advice: personal-advice categories found (sorted), e.g. ``("dose",)``;
            only looked for when there is no red flag and no crisis.
        other_language: True if the message looks like it is not in English.
        negated: red-flag categories suppressed by an explicit negation.
        mentioned: red-flag categories found but not escalated, because the message
            asks about the symptom as a topic (``topic_frames.yml``).
        topic_frame: the id of that frame, if any.
        normal_reading: a temperature reading in the normal range was stated.
        symptom_mention: no red flag or crisis, but the message is about a symptom
            (a frame, a negation, a normal reading or a symptom word): the answer gets
            the one-line safety reminder.
        symptom_words: the symptom words of the message (``topic_frames.yml``).
        words_ruled_out: there are symptom words, and each one is negated or in a past,
            hypothetical or someone else's clause ("no vomiting this cycle").
        weather_only: no symptom word and no symptom pattern at all, and a number in
            the body-temperature range read as the weather, storage or water ("it's
            38 degrees in Perth, tips for staying cool on capecitabine?").
    """

    red_flags: Tuple[str, ...] = ()
    crisis: Tuple[str, ...] = ()
    personal_advice: Tuple[str, ...] = ()
    other_language: bool = False
    negated: Tuple[str, ...] = ()
    mentioned: Tuple[str, ...] = ()
    topic_frame: str | None = None
    normal_reading: bool = False
    symptom_mention: bool = False
    symptom_words: Tuple[str, ...] = ()
    words_ruled_out: bool = False
    weather_only: bool = False

    @property
    def only_normal_temperature(self) -> bool:
        """A normal temperature reading and nothing else about a symptom: no red flag,
        no crisis, no negated or topic-framed symptom other than the temperature itself,
        no symptom word other than temperature words."""
        return (
            self.normal_reading
            and not self.red_flags
            and not self.crisis
            and not self.negated
            and set(self.mentioned) <= {TEMPERATURE_MENTION}
            and set(self.symptom_words) <= TEMPERATURE_WORDS
        )

    @property
    def rules_out_red_flag(self) -> bool:
        """No red flag or crisis, and positive evidence against one: a symptom that
        is negated ("no fever"), asked about as a topic (a topic frame), a normal
        temperature reading, symptom words all negated or out of the present, or a
        number read as the weather in a message with no symptom word. (A bare symptom
        word is no such evidence: the rest of the message may still say the person is
        unwell.)"""
        return (
            not self.red_flags
            and not self.crisis
            and bool(
                self.negated
                or self.mentioned
                or self.normal_reading
                or self.words_ruled_out
                or self.weather_only
            )
        )

    @property
    def intent(self) -> str | None:
        """The intent to force, or None to leave the classifier's prediction alone.

        Priority: red flag (with crisis wording: red_flag_crisis) > crisis > personal
        advice > other language.
        """
        if self.red_flags:
            return INTENT_RED_FLAG_CRISIS if self.crisis else INTENT_RED_FLAG
        if self.crisis:
            return INTENT_CRISIS
        if self.personal_advice:
            return INTENT_PERSONAL_ADVICE
        if self.other_language:
            return INTENT_OTHER_LANGUAGE
        return None


class SafetyScreen:
    """Deterministic red-flag / crisis / language screen for one message at a time.

    Build once (compiles ~330 small matchers: about half a second), then call
    :meth:`screen` (about 0.05-0.15 ms for a typical message without the language
    check; the language detector adds about 1-2 ms when it runs).
    """

    def __init__(
        self,
        temperature_threshold_c: float,
        detect_other_language: bool = True,
        detect_personal_advice: bool = True,
        low_temperature_threshold_c: float = DEFAULT_LOW_TEMPERATURE_THRESHOLD_C,
        lexicon: Lexicon | None = None,
        term_spans: TermSpans | None = None,
    ) -> None:
        """Compile the matchers.

        Args:
            temperature_threshold_c: readings at or above this (deg C) are red flags.
            detect_other_language: whether to flag non-English messages.
            detect_personal_advice: whether to flag personal dose / treatment questions.
            low_temperature_threshold_c: readings below this (deg C) are red flags.
            lexicon: the safety lexicon (default: ``config/safety/``).
            term_spans: finds KB terms for the language check (default: none removed).
        """
        self.temperature_threshold_c = float(temperature_threshold_c)
        self.low_temperature_threshold_c = float(low_temperature_threshold_c)
        if self.low_temperature_threshold_c >= self.temperature_threshold_c:
            raise ValueError("the low temperature threshold must be below the high one")
        self.detect_other_language = detect_other_language
        self.detect_personal_advice = detect_personal_advice
        self.lexicon = lexicon or default_lexicon()
        lex = self.lexicon
        self._nlp = spacy.blank("en")
        self._canonical = Canonicaliser(lex.typos, lex.typo_regexes)
        common = lex.negation_cues | lex.negation_fillers | lex.no_content_words
        compiler = PatternCompiler(self._nlp, self._canonical, lex.macros, common)
        self._red = self._categories(compiler, lex.red_flags.categories)
        self._red_rules: Dict[str, Rule] = {r.pattern_id: r for r in self._red.rules}
        self._scope = ScopeChecker(compiler, lex.scopes)
        self._exclusions = compiler.rule_set(lex.red_flags.exclusions, "exclude")
        self._crisis = self._categories(compiler, lex.crisis.categories)
        self._crisis_negatable = self._categories(compiler, lex.crisis.negatable)
        self._crisis_exclusions = compiler.rule_set(lex.crisis.exclusions, "exclude")
        self._personal = self._categories(compiler, lex.personal_advice.categories)
        self._personal_exclusions = compiler.rule_set(
            lex.personal_advice.exclusions, "exclude"
        )
        # substrings are searched in normalised text, so normalise them the same way
        # (Arabic hamza forms, accents): written either way, they match either way
        self._non_latin_red = [
            (label, re.compile("|".join(re.escape(normalise_text(s)) for s in words)))
            for label, words in lex.red_flags.substrings.items()
        ]
        crisis_words = [w for words in lex.crisis.substrings.values() for w in words]
        self._non_latin_crisis = re.compile(
            "|".join(re.escape(normalise_text(s)) for s in crisis_words)
        )
        self.language = LanguageCheck(lex.language, term_spans)

    @staticmethod
    def _categories(compiler: PatternCompiler, categories: Dict) -> RuleSet:
        patterns = [p for group in categories.values() for p in group]
        return compiler.rule_set(patterns)

    # -- tokenising -------------------------------------------------------------------
    def _doc(self, normalised: str, sentinel: bool = True) -> Doc:
        """Tokenise and set canonical norms.

        Args:
            normalised: output of :func:`normalise_text`.
            sentinel: append " ." so patterns can treat the end of the message like
                punctuation ("I can't go on" vs "I can't go on holiday").
        """
        doc = self._nlp.make_doc(normalised + " ." if sentinel else normalised)
        for token in doc:
            norm = token.norm_
            canonical = self._canonical(norm)
            if canonical != norm:
                token.norm_ = canonical
        return doc

    def _negated(
        self, doc: Doc, start: int, listed: FrozenSet[int] = frozenset()
    ) -> bool:
        """True if an explicit negation cue sits just before ``doc[start]``.

        Args:
            doc: the tokenised message.
            start: the first token of the match.
            listed: tokens of other red-flag matches, which count as fillers so that a
                list is negated as a whole ("no bleeding or bruising").
        """
        lex = self.lexicon
        i, used = start - 1, 0
        while i >= 0:
            norm = doc[i].norm_
            if i in listed and norm not in lex.negation_cues:
                # another symptom of the list: part of what is negated, and it does not
                # use up the window ("don't have a fever or chills")
                i -= 1
                continue
            used += 1
            if used > lex.negation_window:
                return False
            if norm in lex.negation_cues:
                return True
            if norm not in lex.negation_fillers:
                return False
            i -= 1
        return False

    def _negated_inside(self, doc: Doc, match: Match) -> bool:
        """True if a negation cue inside the match is not part of what the pattern
        needs: without the cue the pattern still matches ("my legs are not swollen"
        reads as "my legs are swollen", so the cue negates it; "I can not breathe"
        without "not" no longer matches, so there the cue is the symptom).
        """
        _, start, end, pid = match
        cues = [
            i
            for i in range(start + 1, end)
            if doc[i].norm_ in self.lexicon.negation_cues
        ]
        rule = self._red_rules.get(pid)
        for cue in cues:
            if rule is None:
                break
            words = " ".join(t.text for t in doc[start:end] if t.i != cue)
            if rule.matcher(self._doc(words, sentinel=False)):
                return True
        return False

    # -- the parts --------------------------------------------------------------------
    def _red_flags(
        self, doc: Doc, norms: FrozenSet[str]
    ) -> Tuple[List[Match], Set[str]]:
        """Red-flag matches that are not excluded or negated, and the negated labels."""
        negated: Set[str] = set()
        matches = self._red.run(doc, norms)
        if not matches:
            return [], negated
        excluded = self._exclusions.run(doc, norms)
        kept = not_excluded(matches, excluded)
        listed = frozenset(i for _, s, e, _ in kept for i in range(s, e))
        found: List[Match] = []
        for match in kept:
            if self._negated(doc, match[1], listed) or self._negated_inside(doc, match):
                negated.add(match[0])
            else:
                found.append(match)
        return found, negated - {m[0] for m in found}

    def _crisis_found(self, doc: Doc, norms: FrozenSet[str]) -> Set[str]:
        matches = self._crisis.run(doc, norms)
        if matches:
            matches = not_excluded(matches, self._crisis_exclusions.run(doc, norms))
        found = {m[0] for m in matches}
        for label, start, _end, _pid in self._crisis_negatable.run(doc, norms):
            if not self._negated(doc, start):
                found.add(label)
        return found

    def _personal_found(self, doc: Doc, norms: FrozenSet[str]) -> Set[str]:
        matches = self._personal.run(doc, norms)
        if matches:
            matches = not_excluded(matches, self._personal_exclusions.run(doc, norms))
        return {m[0] for m in matches}

    @staticmethod
    def has_content(text: str | None) -> bool:
        """True if ``text`` has at least one content word.

        HTML-like tags are removed first; then numbers, punctuation, template syntax and
        the words of ``config/safety/content_words.yml`` do not count. Any letter in a
        non-Latin script counts as content.
        """
        if not text:
            return False
        words = WORD_ANY_SCRIPT_RE.findall(normalise_text(TAG_RE.sub(" ", text)))
        empty = default_lexicon().no_content_words
        return any((len(w) >= 2 or not w.isascii()) and w not in empty for w in words)

    def _scoped_reading(self, doc: Doc, index: int, scopes: Scopes) -> bool:
        """A reading in a past clause, or a threshold in a hypothetical span (the
        number right after "over", "above", "than", ...)."""
        if index < 0:
            return False
        if scopes.is_past(index):
            return True
        if scopes.is_other(index) and TEMPERATURE_REASON in (
            self.lexicon.scopes.other_categories
        ):
            # someone not on treatment: their reading is not the user's red flag
            return True
        return (
            scopes.is_scoped(index)
            and index > 0
            and doc[index - 1].norm_ in self.lexicon.scopes.threshold_words
        )

    @staticmethod
    def _token_at(doc: Doc, char: int) -> int:
        """Index of the token at character offset ``char`` (-1 if unknown)."""
        if char < 0:
            return -1
        for token in doc:
            if token.idx <= char < token.idx + max(len(token.text), 1):
                return token.i
        return -1

    def temperature_readings_c(self, normalised: str, doc: Doc) -> List[float]:
        """Temperatures (deg C) stated in the text; other numbers are ignored.

        See :func:`bot.components.temperature.find_readings`.
        """
        norms = (t.norm_ for t in doc)
        return [
            r.celsius
            for r in find_readings(normalised, norms, self.lexicon.temperature)
        ]

    def is_other_language(self, text: str) -> bool:
        """True if ``text`` is not English (see ``bot/components/safety_language.py``)."""
        return self.language.is_other_language(TAG_RE.sub(" ", text))

    def explain(self, text: str) -> Set[str]:
        """Ids of every pattern that fires on ``text`` (before negation and
        exclusions), for the lexicon's example tests and diagnostics."""
        doc = self._doc(normalise_text(text))
        norms = frozenset(t.norm_ for t in doc)
        sets: List[RuleSet] = [
            self._red,
            self._exclusions,
            self._crisis,
            self._crisis_negatable,
            self._crisis_exclusions,
            self._personal,
            self._personal_exclusions,
        ]
        matches: List[Match] = [m for rules in sets for m in rules.run(doc, norms)]
        return {m[3] for m in matches} | self._scope.explain(doc, norms)

    def _now_pair(self, doc: Doc, scopes: Scopes | None) -> bool:
        """True if a two-word now phrase ("right now") occurs outside past clauses."""
        pairs = self.lexicon.frames.now_pairs
        return any(
            (doc[i].norm_, doc[i + 1].norm_) in pairs
            and not (scopes is not None and scopes.is_past(i))
            for i in range(len(doc) - 1)
        )

    def _first_person(self, doc: Doc) -> bool:
        """True if the message speaks of the user or their own relative: a
        ``first_person`` word not right after an ``other_owners`` word ("their
        husband", "a mum at the clinic" are someone else's)."""
        frames = self.lexicon.frames
        return any(
            t.norm_ in frames.first_person
            and not (t.i > 0 and doc[t.i - 1].norm_ in frames.other_owners)
            for t in doc
        )

    def _negated_opening(self, doc: Doc, index: int) -> bool:
        """True if the word right after ``doc[index]`` is a negation cue ("can't",
        "don't", "isn't" are tokenised as "can not", "do not", "is not")."""
        return (
            len(doc) > index + 1 and doc[index + 1].norm_ in self.lexicon.negation_cues
        )

    def topic_frame(
        self,
        doc: Doc,
        norms: FrozenSet[str],
        categories: int = 1,
        scopes: Scopes | None = None,
        first_index: int = 0,
    ) -> str | None:
        """The id of the first symptom-as-topic frame that applies, or None.

        Frames look at the words of the part of the message that is not past history
        (first person anywhere still counts): in "I had a fever on FOLFOX in 2021, what
        counts as a fever?" only the question.

        Args:
            doc: the tokenised message.
            norms: its canonical norms.
            categories: how many red-flag categories the patterns found.
            scopes: the message's scopes (past clauses are left out).
            first_index: the token that must be one of a frame's ``starts_with``.
        """
        frames = self.lexicon.frames
        if scopes is not None and scopes.past:
            norms = frozenset(t.norm_ for t in doc if not scopes.is_past(t.i))
        if not norms.isdisjoint(frames.now_words) or self._now_pair(doc, scopes):
            return None
        first = doc[first_index].norm_ if len(doc) > first_index else ""
        if self._negated_opening(doc, first_index):
            # "can't get off the loo", "don't feel right": a negated opening verb
            # states something, it does not ask whether a treatment causes a symptom
            first = ""
        for frame in frames.frames:
            if frame.starts_with and first not in frame.starts_with:
                continue
            # first person anywhere, past clauses included: "I had a clot in 2021, is
            # chest pain serious?" may be asked because of chest pain now
            if not frame.allow_first_person and self._first_person(doc):
                continue
            if not norms.isdisjoint(frame.none_of):
                continue
            if frame.single_symptom and categories > 1:
                continue
            if all(not norms.isdisjoint(group) for group in frame.all_of):
                return frame.id
        return None

    def screen(self, text: str | None) -> SafetyResult:
        """Screen one message.

        Args:
            text: raw user text (``None`` or empty gives an empty result).

        Returns:
            What was found; ``result.intent`` is the intent to force, if any.
        """
        if not text or not text.strip():
            return SafetyResult()
        normalised = normalise_text(text)
        doc = self._doc(normalised)

        norms = frozenset(t.norm_ for t in doc)
        matches, negated = self._red_flags(doc, norms)
        readings = find_readings(normalised, norms, self.lexicon.temperature)
        words = norms & self.lexicon.frames.symptom_words
        scopes = Scopes()
        if matches or readings or words:
            scopes = self._scope.scopes(doc, norms, self._negated)
        others = self.lexicon.scopes.other_categories
        red = {
            m[0]
            for m in matches
            if not scopes.is_scoped(m[1])
            and not (m[0] in others and scopes.is_other(m[1]))
        }
        # past history or an "if" clause: mentioned, not escalated (readings: past only)
        mentioned: Set[str] = {m[0] for m in matches} - red
        withdrawn = False
        if scopes:
            # a past reading, or a threshold in an "if" clause ("if it goes over 37.5")
            kept = [
                r
                for r in readings
                if not self._scoped_reading(doc, self._token_at(doc, r.start), scopes)
            ]
            withdrawn, readings = len(kept) < len(readings), kept
        # "temperature" and "fever" count as one symptom for single_symptom frames;
        # scoped symptoms count too ("had a fever last month, but my nose is bleeding")
        found = red | mentioned
        kinds = len(found - {TEMPERATURE_MENTION}) or len(found)
        first_index = 0
        if scopes.past and red:
            # frames judge the present part: it starts at the first unscoped match
            start = min(
                (m[1] for m in matches if not scopes.is_scoped(m[1])), default=0
            )
            first_index = max(
                (s for s, _ in self._scope.clauses(doc) if s <= start), default=0
            )
        frame = (
            self.topic_frame(doc, norms, kinds, scopes, first_index)
            if (red or negated)
            else None
        )
        if frame is not None:
            # a symptom asked about as a topic: not escalated (readings still are)
            mentioned, red = mentioned | red, set()
        elif mentioned or withdrawn:
            # a withdrawn reading is still a temperature mentioned (the safety line)
            if withdrawn:
                mentioned.add(TEMPERATURE_MENTION)
            frame = (
                "past_scope"
                if scopes.past
                else "hypothetical_scope"
                if scopes.hypothetical
                else "other_scope"
            )
        for label, regex in self._non_latin_red:
            if regex.search(normalised):
                red.add(label)
        verdict = judge(
            readings, self.low_temperature_threshold_c, self.temperature_threshold_c
        )
        if verdict.high:
            red.add(TEMPERATURE_REASON)
        if verdict.low:
            red.add(LOW_TEMPERATURE_REASON)
        normal_reading = verdict.normal and not (verdict.high or verdict.low)
        if normal_reading and TEMPERATURE_MENTION in red:
            # "my temperature is 37.2": the reading, not the word, decides. A word for
            # feeling unwell still escalates ("I feel awful, my temperature is 36.8").
            red.discard(TEMPERATURE_MENTION)
            mentioned.add(TEMPERATURE_MENTION)

        crisis = self._crisis_found(doc, norms)
        if self._non_latin_crisis.search(normalised):
            crisis.add("suicide")

        personal: Set[str] = set()
        if not red and not crisis and self.detect_personal_advice:
            personal = self._personal_found(doc, norms)
        other = False
        if not red and not crisis and not personal and self.detect_other_language:
            other = self.is_other_language(text)
        mentioned -= red
        symptom_mention = (
            not red
            and not crisis
            and bool(mentioned or negated or normal_reading or words)
        )
        return SafetyResult(
            red_flags=tuple(sorted(red)),
            crisis=tuple(sorted(crisis)),
            personal_advice=tuple(sorted(personal)),
            other_language=other,
            negated=tuple(sorted(negated - red)),
            mentioned=tuple(sorted(mentioned)),
            topic_frame=frame if mentioned else None,
            normal_reading=normal_reading,
            symptom_mention=symptom_mention,
            symptom_words=tuple(sorted(words)),
            words_ruled_out=bool(words) and self._words_ruled_out(doc, words, scopes),
            weather_only=not (words or matches or readings or crisis)
            and weather_number(normalised, norms, self.lexicon.temperature),
        )

    def _words_ruled_out(self, doc: Doc, words: FrozenSet[str], scopes: Scopes) -> bool:
        """True if every symptom word of ``doc`` is negated or in a past, hypothetical
        or someone else's clause."""
        return all(
            self._negated(doc, t.i) or scopes.is_scoped(t.i) or scopes.is_other(t.i)
            for t in doc
            if t.norm_ in words
        )
