"""Clause scopes for the safety screen: a symptom told as PAST history or asked about
in an IF clause is not a symptom happening now (issue 11).

The wording lives in ``config/safety/scopes.yml``; this module only applies it. A message
is cut into clauses at the ``clause_breaks`` tokens (punctuation, "but", ...), except
inside a pair of quote marks (a quotation read out is one clause).

* Past: a clause with a past ``anchor`` ("years ago", "in 2021", "back in March", "as a
  child", "my previous treatment"), or a ``recent_anchor`` ("last week", "a fortnight
  ago") in a message that says it resolved ("it stopped", "all cleared up"), is past
  history (a clause opening with a ``back_anchor``, "..., that was ages ago", makes the
  clause before it history too), unless the message has a ``veto``
  ("again", "still", "now", "since", "came back", "the same") that no ``neutral``
  pattern covers ("fine now", "can I still have"). Red-flag matches and temperature
  readings in a past clause are not escalated.
* Hypothetical: an ``if`` / ``in case`` / ``suppose`` cue opens a span that runs to an
  ``end`` ("what", "who", "is that", "should") or a clause break. The span counts only
  when a question goes with it (an end pattern, a "?" after it, or a question word before
  the cue) and it holds no ``veto`` ("now", "still", "like") and no ``soft_veto``
  ("am", "is", "have") unless a ``general`` marker says it is not about now: a time
  ahead ("at the weekend", "ever") or a general subject ("your temperature").
  Red-flag matches inside it are not escalated; temperature readings still are, except
  a threshold ("if it goes over 37.5": the number after one of ``threshold_words``).

* Someone else: a clause that opens with another person as its subject ("my son has a
  temp of 38.4", "my husband's temperature is 38.2"; "he has a cold" after such a clause)
  and holds no first-person word, in a message that says that person is not the one on
  treatment (``not_patient``: "nobody here is on chemo", "she's not on any treatment",
  "I'm the patient", "can he still visit me?") or, for a young child, gives an everyday
  cause in the same clause ("teething", "after football"; ``child_causes``, only when
  no ``cause_veto`` such as a treatment word occurs). No ``veto`` may occur anywhere
  ("he's on chemo", "his platelets", "ambulance", "me too"). A clause opening with
  someone outside the household (``outsiders``: "my colleague has flu") needs no such
  statement, and when the user says they are not (yet) on treatment
  (``self_not_patient``: "I'm not on chemo, just lanreotide", "no treatment yet", "I
  finished chemo six years ago") their own clauses are withdrawn too. Only the red-flag
  ``categories`` listed (infection-type signs: temperature, fever, a nosebleed ...) are
  withdrawn there; chest pain, breathing, a seizure ... still escalate.

Crisis wording is never scoped: "I tried to overdose last year" is still a crisis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, FrozenSet, List, Sequence, Set, Tuple

from spacy.tokens import Doc

from bot.components.safety_lexicon import ScopeSpec
from bot.components.safety_patterns import Match, PatternCompiler, not_excluded

Span = Tuple[int, int]
SENTENCE_ENDS = frozenset({".", "!", "?"})
# quote marks as their own tokens (apostrophes in "it's", "parents'" are not counted
# unless they pair up around a quotation)
QUOTE_MARKS = frozenset({"'", '"', "`", "\u2018", "\u2019", "\u201c", "\u201d"})
# (doc, token index) -> True if an explicit negation cue sits just before the token
Negated = Callable[[Doc, int], bool]


@dataclass(frozen=True)
class Scopes:
    """Token spans of one message that are past history or hypothetical."""

    past: Tuple[Span, ...] = ()
    hypothetical: Tuple[Span, ...] = ()
    other: Tuple[Span, ...] = ()

    @staticmethod
    def _inside(index: int, spans: Sequence[Span]) -> bool:
        return any(start <= index < end for start, end in spans)

    def is_past(self, index: int) -> bool:
        """True if token ``index`` lies in a past clause."""
        return self._inside(index, self.past)

    def is_scoped(self, index: int) -> bool:
        """True if token ``index`` lies in a past clause or a hypothetical span."""
        return self._inside(index, self.past) or self._inside(index, self.hypothetical)

    def is_other(self, index: int) -> bool:
        """True if token ``index`` lies in a clause about someone not on treatment."""
        return self._inside(index, self.other)

    def __bool__(self) -> bool:
        return bool(self.past or self.hypothetical or self.other)


class ScopeChecker:
    """Finds the past and hypothetical spans of a message (see the module docstring)."""

    def __init__(self, compiler: PatternCompiler, spec: ScopeSpec) -> None:
        """Compile the scope patterns of ``scopes.yml``."""
        self.spec = spec
        self._breaks = spec.clause_breaks
        self._question_words = spec.question_words
        self._anchors = compiler.rule_set(spec.past_anchors, "past_anchor")
        self._recent = compiler.rule_set(spec.past_recent_anchors, "recent_anchor")
        self._resolutions = compiler.rule_set(spec.past_resolutions, "resolution")
        self._past_vetoes = compiler.rule_set(spec.past_vetoes, "past_veto")
        self._neutral = compiler.rule_set(spec.past_neutral, "past_neutral")
        self._cues = compiler.rule_set(spec.hypothetical_cues, "if_cue")
        self._ends = compiler.rule_set(spec.hypothetical_ends, "if_end")
        self._if_vetoes = compiler.rule_set(spec.hypothetical_vetoes, "if_veto")
        self._soft = compiler.rule_set(spec.hypothetical_soft_vetoes, "if_soft")
        self._general = compiler.rule_set(spec.hypothetical_general, "if_general")
        self._exceptions = compiler.rule_set(spec.hypothetical_exceptions, "if_except")
        self._subjects = compiler.rule_set(spec.other_subjects, "other_subject")
        self._children = compiler.rule_set(spec.other_children, "other_child")
        self._not_patient = compiler.rule_set(spec.other_not_patient, "not_patient")
        self._self_not_patient = compiler.rule_set(
            spec.other_self_not_patient, "self_not_patient"
        )
        self._outsiders = compiler.rule_set(spec.other_outsiders, "outsider")
        self._back = compiler.rule_set(spec.past_back_anchors, "back_anchor")
        self._causes = compiler.rule_set(spec.other_child_causes, "child_cause")
        self._other_vetoes = compiler.rule_set(spec.other_vetoes, "other_veto")
        self._cause_vetoes = compiler.rule_set(spec.other_cause_vetoes, "cause_veto")
        self._sets = (
            self._anchors,
            self._recent,
            self._resolutions,
            self._past_vetoes,
            self._neutral,
            self._cues,
            self._ends,
            self._if_vetoes,
            self._soft,
            self._general,
            self._exceptions,
            self._subjects,
            self._children,
            self._not_patient,
            self._self_not_patient,
            self._outsiders,
            self._back,
            self._causes,
            self._other_vetoes,
            self._cause_vetoes,
        )

    def explain(self, doc: Doc, norms: FrozenSet[str]) -> Set[str]:
        """Ids of every scope pattern that fires (for the lexicon's example tests)."""
        return {m[3] for rules in self._sets for m in rules.run(doc, norms)}

    @staticmethod
    def _quoted(doc: Doc) -> Set[int]:
        """Tokens between a pair of quote marks ("the letter says 'no fever, no
        bleeding'"): a quotation is one clause, whatever punctuation it holds. A quote
        mark without a partner (a possessive "parents' house") quotes nothing."""
        marks = [t.i for t in doc if t.norm_ in QUOTE_MARKS]
        inside: Set[int] = set()
        for open_, close in zip(marks[0::2], marks[1::2], strict=False):
            inside.update(range(open_ + 1, close))
        return inside

    def clauses(self, doc: Doc) -> List[Span]:
        """Token spans between clause breaks (breaks excluded; a break inside a
        quotation does not cut it)."""
        spans: List[Span] = []
        start = 0
        quoted = self._quoted(doc)
        for token in doc:
            if token.norm_ in self._breaks and token.i not in quoted:
                if token.i > start:
                    spans.append((start, token.i))
                start = token.i + 1
        if start < len(doc):
            spans.append((start, len(doc)))
        return spans

    def scopes(
        self, doc: Doc, norms: FrozenSet[str], negated: Negated | None = None
    ) -> Scopes:
        """The past clauses and hypothetical spans of ``doc``.

        Args:
            doc: the tokenised message.
            norms: its canonical norms.
            negated: tells whether a neutral pattern is negated ("not fine now").
        """
        return Scopes(
            tuple(self._past(doc, norms, negated)),
            tuple(self._hypothetical(doc, norms)),
            tuple(self._other(doc, norms)),
        )

    # -- someone else ----------------------------------------------------------------------
    def _opening(self, doc: Doc, start: int, end: int) -> int:
        """The first token of a clause after openers ("and", "so", "well")."""
        i = start
        while i < end and doc[i].norm_ in self.spec.other_openers:
            i += 1
        return i

    def _other(self, doc: Doc, norms: FrozenSet[str]) -> List[Span]:
        spec = self.spec
        if not spec.other_categories or self._other_vetoes.run(doc, norms):
            return []
        not_patient = self._not_patient.run(doc, norms)
        # the user says they are not (yet) on treatment: their own clauses too
        itself = bool(self._self_not_patient.run(doc, norms))
        subjects = self._subjects.run(doc, norms)
        outsiders = {m[1] for m in self._outsiders.run(doc, norms)}
        if not subjects and not outsiders and not itself:
            return []
        children = {m[1] for m in self._children.run(doc, norms)}
        causes = self._causes.run(doc, norms)
        if causes and self._cause_vetoes.run(doc, norms):
            causes = []
        if not not_patient and not causes and not outsiders and not itself:
            return []
        spans: List[Span] = []
        previous = False  # the clause before was about someone else
        for start, end in self.clauses(doc):
            first = self._opening(doc, start, end)
            mine = any(
                doc[i].norm_ in spec.other_first_person for i in range(start, end)
            )
            pronoun = first < end and doc[first].norm_ in spec.other_pronouns
            refers = pronoun or any(
                doc[i].norm_ in spec.other_references for i in range(start, end)
            )
            if any(m[1] == first for m in subjects) or first in outsiders:
                # a child named in the clause ("my sister's kid") with an everyday cause
                caused = any(start <= c < end for c in children) and any(
                    start <= m[1] < end for m in causes
                )
                previous = not mine and (
                    bool(not_patient) or caused or first in outsiders
                )
                withdrawn = previous
            elif previous and refers and not mine:
                # "he has a cold", "37.9 on his forehead": the same person as before
                withdrawn = True
            else:
                # the user's own clause, or one without a subject ("he" alone is not
                # known not to be on treatment)
                previous = False
                withdrawn = itself and not pronoun
            if withdrawn:
                spans.append((start, end))
        return spans

    # -- past ----------------------------------------------------------------------------
    def _past(
        self, doc: Doc, norms: FrozenSet[str], negated: Negated | None
    ) -> List[Span]:
        anchors = self._anchors.run(doc, norms)
        back = self._back.run(doc, norms)
        recent = self._recent.run(doc, norms)
        if recent:
            # "last week", "a fortnight ago": past only if it is said to be over
            resolved = self._resolutions.run(doc, norms)
            if negated is not None:
                resolved = [m for m in resolved if not negated(doc, m[1])]
            if resolved:
                anchors += recent
        if not anchors and not back:
            return []
        vetoes = self._past_vetoes.run(doc, norms)
        if vetoes:
            neutral = self._neutral.run(doc, norms)
            if negated is not None:
                neutral = [m for m in neutral if not negated(doc, m[1])]
            if not_excluded(vetoes, neutral):
                return []
        clauses = self.clauses(doc)
        past = [(s, e) for s, e in clauses if any(s <= m[1] < e for m in anchors)]
        # "..., that was years ago": the clause before a back anchor is history too
        for i, (s, e) in enumerate(clauses):
            if any(m[1] == self._opening(doc, s, e) for m in back):
                past += [c for c in clauses[max(i - 1, 0) : i + 1] if c not in past]
        return sorted(past)

    # -- hypothetical --------------------------------------------------------------------
    def _hypothetical(self, doc: Doc, norms: FrozenSet[str]) -> List[Span]:
        cues = self._cues.run(doc, norms)
        if not cues:
            return []
        ends = self._ends.run(doc, norms)
        # "what if I feel shivery after ...": an exception covers the veto it overlaps
        vetoes = not_excluded(
            self._if_vetoes.run(doc, norms), self._exceptions.run(doc, norms)
        )
        soft = self._soft.run(doc, norms)
        general = self._general.run(doc, norms) if soft else []
        spans: List[Span] = []
        for _, cue_start, cue_end, _ in sorted(cues, key=lambda m: m[1]):
            span = self._if_span(doc, cue_start, cue_end, ends)
            if span is None:
                continue

            def inside(matches: List[Match], span: Span = span) -> bool:
                # in the span, or ending on the cue ("as if")
                return any(v[1] < span[1] and v[2] > span[0] for v in matches)

            if inside(vetoes) or (inside(soft) and not inside(general)):
                continue
            spans.append(span)
        return spans

    def _if_span(
        self, doc: Doc, start: int, cue_end: int, ends: List[Match]
    ) -> Span | None:
        """The span a cue opens, if a question goes with it; else None."""
        stop, ended = len(doc), False
        # a lead-in ("just in case, what counts as ..."): the span is the next clause,
        # a question of its own (no end pattern closes it)
        lead_in = False
        while cue_end < len(doc) and doc[cue_end].norm_ in self._breaks - SENTENCE_ENDS:
            cue_end, lead_in = cue_end + 1, True
        for token in doc[cue_end:]:
            if token.norm_ in self._breaks:
                stop = token.i
                break
            if not lead_in and any(m[1] == token.i for m in ends):
                stop, ended = token.i, True
                break
        if stop <= cue_end:
            return None
        if (
            ended
            or (lead_in and doc[cue_end].norm_ in self._question_words)
            or self._question_after(doc, stop)
            or self._question_before(doc, start)
        ):
            return (start, stop)
        return None

    def _question_after(self, doc: Doc, stop: int) -> bool:
        """A "?" in the same sentence after ``stop``, or the next clause opens with a
        question word ("..., is that a clot?")."""
        rest = [t.norm_ for t in doc[stop:]]
        for i, norm in enumerate(rest):
            if norm in (".", "!"):
                return False
            if norm == "?":
                return True
            if i == 1 and norm in self._question_words:
                return True
        return False

    def _question_before(self, doc: Doc, start: int) -> bool:
        """A question word opens the sentence or the clause the cue is in ("what do I
        do if ...", "off to a wedding in June, what should I pack in case ...")."""
        for stops in (SENTENCE_ENDS, self._breaks):
            i = start - 1
            while i >= 0 and doc[i].norm_ not in stops:
                i -= 1
            if i + 1 < start and doc[i + 1].norm_ in self._question_words:
                return True
        return False
