"""The pattern mini-language of the safety lexicon, compiled to spaCy ``Matcher`` rules.

Patterns (``config/safety/*.yml``) are matched on canonical token NORMs:

* ``a|b|c``  one token, any of the alternatives; ``being+sick`` a two-token alternative
* ``x?``     the group is optional;  ``_`` any one token, optional
* ``#``      a number-like token;    ``@NAME`` a macro from ``macros.yml``

Alternatives are tokenised like user text ("can't" -> "can not"), so write them
naturally. Each pattern line becomes one small Matcher with a cheap *gate* (for each
required group, the words of which one must occur), and rules are indexed by their most
selective gate word, so a message only visits the rules one of its words can trigger.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    Sequence,
    Tuple,
)

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc

from bot.components.safety_lexicon import LexiconError, Pattern
from bot.components.safety_text import normalise_text

# What "#" matches: a number-like token, or a reading with its unit stuck to it
# ("100.4f", "38c", "38.5°c"), which the tokenizer keeps as one token.
NUMBER_TOKENS: Tuple[List[Dict[str, Any]], ...] = (
    [{"LIKE_NUM": True}],
    [{"NORM": {"REGEX": r"^\d{2,3}(?:[.,]\d{1,2})?°?[cf]$"}}],
)

# (label, start token, end token, pattern id)
Match = Tuple[str, int, int, str]


@dataclass(frozen=True)
class Rule:
    """One pattern line: a spaCy Matcher plus its gate.

    The matcher only runs if every set in ``gate`` shares a word with the message, so
    the ~290 rules cost a few set checks for an ordinary question.
    """

    label: str
    pattern_id: str
    matcher: Matcher
    gate: Tuple[FrozenSet[str], ...]


class RuleSet:
    """Rules indexed by their most selective gate word."""

    def __init__(self, rules: List[Rule], common_words: FrozenSet[str]) -> None:
        """Index ``rules``; a gate word in ``common_words`` is a poor trigger."""
        self.rules = rules
        self._always: List[int] = []
        self._index: Dict[str, List[int]] = {}
        for i, rule in enumerate(rules):
            if not rule.gate:
                self._always.append(i)
                continue
            trigger = min(
                rule.gate,
                key=lambda g: (sum(w in common_words for w in g), len(g)),
            )
            for word in trigger:
                self._index.setdefault(word, []).append(i)

    def __len__(self) -> int:
        return len(self.rules)

    def candidates(self, norms: Iterable[str]) -> List[Rule]:
        """Rules (in definition order) that a message with these norms may match."""
        hits = set(self._always)
        for norm in norms:
            found = self._index.get(norm)
            if found:
                hits.update(found)
        return [self.rules[i] for i in sorted(hits)]

    def gated(self, norms: FrozenSet[str]) -> List[Rule]:
        """Rules whose gate passes for a message with these norms: the only ones whose
        matcher runs (the work :meth:`run` does beyond a few set look-ups)."""
        return [
            rule
            for rule in self.candidates(norms)
            if not any(group.isdisjoint(norms) for group in rule.gate)
        ]

    def run(self, doc: Doc, norms: FrozenSet[str]) -> List[Match]:
        """Matches of all rules whose gate passes for this message."""
        found: List[Match] = []
        for rule in self.gated(norms):
            found += [
                (rule.label, s, e, rule.pattern_id) for _, s, e in rule.matcher(doc)
            ]
        return found


class PatternCompiler:
    """Compiles pattern lines against one tokenizer, canonicaliser and macro table."""

    def __init__(
        self,
        nlp: Language,
        canonical: Callable[[str], str],
        macros: Mapping[str, str],
        common_words: FrozenSet[str],
    ) -> None:
        """Keep what compiling needs."""
        self._nlp = nlp
        self._canonical = canonical
        self._macros = dict(macros)
        self._common = common_words

    def _norms(self, text: str) -> List[str]:
        doc = self._nlp.make_doc(normalise_text(text))
        return [self._canonical(t.norm_) for t in doc]

    def _alternatives(self, group: str) -> List[List[str]]:
        """Each alternative of a group as its list of canonical token norms."""
        result = []
        for alternative in group.split("|"):
            norms = self._norms(alternative.replace("+", " "))
            if not norms:
                raise ValueError(f"empty alternative in group {group!r}")
            result.append(norms)
        return result

    def compile(
        self, pattern: str
    ) -> Tuple[List[List[Dict[str, Any]]], List[FrozenSet[str]]]:
        """One pattern line -> spaCy token patterns and its gate.

        An alternative may tokenise to several tokens ("can't" -> "can not", German
        "im" -> "i m"): such alternatives become separate token sequences.
        """
        options: List[List[List[Dict[str, Any]]]] = []
        gate: List[FrozenSet[str]] = []
        for group in pattern.split():
            optional = group.endswith("?") and len(group) > 1
            group = group[:-1] if optional else group
            group = "|".join(
                self._macros[alt[1:]] if alt.startswith("@") else alt
                for alt in group.split("|")
            )
            if group == "_":
                options.append([[{"OP": "?"}]])
                continue
            if group == "#":
                options.append(list(NUMBER_TOKENS))
                continue
            words = [alt for alt in group.split("|") if alt != "#"]
            number = len(words) < len(group.split("|"))
            alternatives = self._alternatives("|".join(words))
            if not optional and not number:
                gate.append(frozenset(a[0] for a in alternatives))
            singles = sorted({a[0] for a in alternatives if len(a) == 1})
            multis = [a for a in alternatives if len(a) > 1]
            variants: List[List[Dict[str, Any]]] = []
            if number:
                if optional:
                    raise ValueError("an optional group cannot contain a number (#)")
                variants += NUMBER_TOKENS
            if singles:
                spec: Dict[str, Any] = {"NORM": {"IN": singles}}
                if optional and not multis:
                    spec["OP"] = "?"
                variants.append([spec])
            variants += [[{"NORM": n} for n in multi] for multi in multis]
            if optional and multis:
                variants.append([])
            options.append(variants)
        token_patterns = [
            [spec for part in combo for spec in part]
            for combo in itertools.product(*options)
        ]
        return token_patterns, sorted(gate, key=len)

    def rule(self, pattern: Pattern, label: str | None = None) -> Rule:
        """Compile one lexicon pattern; errors name its file, id and field."""
        try:
            token_patterns, gate = self.compile(pattern.pattern)
            matcher = Matcher(self._nlp.vocab)
            matcher.add(label or pattern.category, token_patterns)
        except (ValueError, KeyError) as exc:
            raise LexiconError(pattern.source, str(exc), pattern.id, "pattern") from exc
        return Rule(label or pattern.category, pattern.id, matcher, tuple(gate))

    def rule_set(
        self, patterns: Sequence[Pattern], label: str | None = None
    ) -> RuleSet:
        """A :class:`RuleSet` of ``patterns`` in order (``label`` overrides categories)."""
        return RuleSet([self.rule(p, label) for p in patterns], self._common)


def not_excluded(matches: List[Match], excluded: List[Match]) -> List[Match]:
    """Matches that overlap none of the ``excluded`` spans."""
    if not excluded:
        return matches
    return [
        m for m in matches if not any(x[1] < m[2] and m[1] < x[2] for x in excluded)
    ]
