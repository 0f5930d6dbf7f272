"""Decide what to say: plain functions from (intent, entities, slots, KB) to an answer plan.

No rasa_sdk here, so every path is easy to unit-test. ``actions/messages.py`` turns a plan
into messages. Patient-facing words come from ``kb/`` entries or domain responses (named
here, written in ``bot/domain/*.yml``), never from here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from kb.model import Entry, KnowledgeBase

# Domain responses a plan can name (bot/domain/knowledge.yml and safety.yml).
DISCLAIMER = "utter_disclaimer"
SAFETY_LINE = "utter_symptom_safety_line"
NO_INFO = "utter_no_reviewed_info"
NO_SIDE_EFFECTS = "utter_no_reviewed_side_effects"  # {title}
NO_FACET = "utter_no_reviewed_facet"  # {title}; the general answer follows
WHICH_TOPIC = "utter_ask_which_topic"
MAX_ENTRIES = 3  # answer at most this many topics named in one message
# Words that point back at the topic under discussion ("is it a tablet?", "its brand name").
REFERENCE_WORDS = frozenset(
    [
        "it",
        "its",
        "it's",
        "that",
        "this",
        "they",
        "them",
        "those",
        "these",
        "one",
        "same",
    ]
)
SHORT_FOLLOWUP_WORDS = 4  # a message this short with no topic is taken as a follow-up
PERSONAL = "ask_personal_advice"


@dataclass(frozen=True)
class Part:
    """One message: KB text about an entry, or a domain response with its values."""

    response: str | None = None  # domain response name (utter_disclaimer)
    values: dict[str, str] = field(
        default_factory=dict
    )  # the response's {placeholders}
    entry: Entry | None = None
    facet: str | None = None
    text: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Plan:
    """What to say, in order, and which topic/facet the conversation is now about."""

    parts: list[Part]
    topic: str | None
    facet: str | None

    @property
    def kb_ids(self) -> list[str]:
        """Ids of the KB entries answered."""
        return [p.entry.id for p in self.parts if p.entry is not None]

    @property
    def feedback_target(self) -> tuple[str, str] | None:
        """(entry id, facet) that feedback under this answer is about: the topic's part."""
        answered = [p for p in self.parts if p.entry is not None and p.facet]
        for part in answered:
            if part.entry is not None and part.entry.id == self.topic:
                return part.entry.id, str(part.facet)
        return None


def refers_back(text: str) -> bool:
    """True if the message points at an earlier topic ("is it..."), or is a short follow-up."""
    words = re.findall(r"[a-z']+", (text or "").lower())
    return (
        bool(REFERENCE_WORDS.intersection(words)) or len(words) <= SHORT_FOLLOWUP_WORDS
    )


def named_entries(
    kb: KnowledgeBase, entity_ids: Sequence[str], broad_if_alone: bool = False
) -> list[str]:
    """Distinct KB entry ids named in a message, broad ones ("chemo") left out; with
    ``broad_if_alone``, the broad ones are kept when nothing more specific was named."""
    known = [e for e in dict.fromkeys(entity_ids) if e in kb.entries]
    specific = [e for e in known if not kb.entries[e].broad]
    return specific or (known if broad_if_alone else [])


def is_fixed_topic(kb: KnowledgeBase, intent: str) -> bool:
    """True for intents that always answer from one entry, e.g. "why am I not on chemo?"."""
    rule = kb.routing.get(intent, {})
    return "default_entry" in rule and rule.get("facet", "what_is") == "what_is"


def resolve_entries(
    kb: KnowledgeBase,
    intent: str,
    entity_ids: Sequence[str],
    topic: str | None,
    text: str,
) -> list[Entry]:
    """Which entries a question is about: named topics, else the topic under discussion,
    else the intent's default entry. Broad topics ("chemo") yield to the others."""
    rule = kb.routing.get(intent, {})
    default = rule.get("default_entry")
    known = [e for e in dict.fromkeys(entity_ids) if e in kb.entries]
    specific = [e for e in known if not kb.entries[e].broad]
    # A question that is always about one topic ("why am I not on chemo?") goes there.
    if default and is_fixed_topic(kb, intent):
        return [kb.entries[default]]
    if specific:
        return [kb.entries[e] for e in specific[:MAX_ENTRIES]]
    # "is it chemo?" after FOLFOX: the topic under discussion, not the broad word "chemo".
    if topic in kb.entries and refers_back(text):
        return [kb.entries[topic]]
    if default and known:
        return [kb.entries[default]]
    if known:
        return [kb.entries[e] for e in known[:MAX_ENTRIES]]
    if default:
        return [kb.entries[default]]
    return []


# Kinds whose entries are expected to hold every facet: a missing one is said out loud.
FACETED_KINDS = frozenset({"drug", "regimen", "non_chemo"})


def _kb_part(entry: Entry, facet: str) -> list[Part]:
    """The parts answering ``facet`` of ``entry``, falling back honestly when the KB is silent."""
    found = entry.facet(facet)
    if found is not None:
        text = found.text
        if facet == "what_is" and entry.detail:
            text = f"{text}\n\n{entry.detail}"
        return [Part(entry=entry, facet=facet, text=text, source=found.source)]
    if facet == "side_effects":
        return [Part(response=NO_SIDE_EFFECTS, values={"title": entry.title})]
    general = entry.facet("what_is")
    if general is None:  # every entry has an answer (validated on load)
        raise ValueError(f"KB entry {entry.id} has no answer")
    answer = Part(
        entry=entry, facet="what_is", text=general.text, source=general.source
    )
    if entry.kind not in FACETED_KINDS:
        return [
            answer
        ]  # a concept's general answer is the reviewed answer to the question
    return [Part(response=NO_FACET, values={"title": entry.title}), answer]


def plan_answer(
    kb: KnowledgeBase,
    intent: str,
    entity_ids: Sequence[str],
    topic: str | None = None,
    facet: str | None = None,
    text: str = "",
) -> Plan:
    """Plan the reply to one user message. Every substantive plan ends with the disclaimer,
    except for personal advice, whose rule sends the closing responses. (Red flags and crisis
    never reach the action server: their rules use domain responses only.)"""
    if intent == PERSONAL:
        # General information only; the rule adds utter_personal_boundary and the disclaimer.
        named = named_entries(kb, entity_ids, broad_if_alone=True)
        parts = [
            p for e in named[:MAX_ENTRIES] for p in _kb_part(kb.entries[e], "what_is")
        ]
        return Plan(parts, named[-1] if named else topic, "what_is")

    rule = kb.routing.get(intent, {"facet": "what_is"})
    wanted = rule["facet"]
    if intent == "followup_topic":
        wanted = facet or "what_is"
    entries = resolve_entries(kb, intent, entity_ids, topic, text)
    if not entries:
        if intent == "followup_topic" or (topic is None and not text.strip()):
            return Plan([Part(response=WHICH_TOPIC)], topic, wanted)
        return Plan([Part(response=NO_INFO), Part(response=DISCLAIMER)], topic, wanted)
    parts = [p for entry in entries for p in _kb_part(entry, wanted)]
    if is_fixed_topic(kb, intent):
        # "Will I need chemo for my pancreatic NET?": the general answer, then what the KB says
        # about where chemo is used for the topic named.
        for entry_id in named_entries(kb, entity_ids)[: MAX_ENTRIES - 1]:
            used_for = kb.entries[entry_id].facets.get("used_for")
            if used_for is not None:
                parts.append(
                    Part(entry=kb.entries[entry_id], facet="used_for",
                         text=used_for.text, source=used_for.source)
                )  # fmt: skip
    return Plan(parts + [Part(response=DISCLAIMER)], entries[-1].id, wanted)


def with_safety_line(plan: Plan) -> Plan:
    """``plan`` with the one-line safety reminder (``utter_symptom_safety_line``) added:
    for a message about a symptom as a topic, negated or in the past, which the safety
    component marked ``safety.symptom_mention`` instead of escalating. The line goes
    just before the disclaimer (the disclaimer stays last), or at the end of a plan
    without one (personal advice: the rule sends the boundary and disclaimer after)."""
    line = Part(response=SAFETY_LINE)
    parts = list(plan.parts)
    if parts and parts[-1].response == DISCLAIMER:
        parts.insert(len(parts) - 1, line)
    else:
        parts.append(line)
    return Plan(parts, plan.topic, plan.facet)


def kb_payload(kb: KnowledgeBase, part: Part) -> dict[str, object]:
    """The ``custom`` payload that lets channels show which entry and sources an answer used.

    ``sources`` lists every source of the entry, the one this text rests on first.

    Raises:
        ValueError: if ``part`` is not KB text about an entry.
    """
    if part.entry is None:
        raise ValueError("only KB text about an entry has a kb_answer payload")
    ids = [part.source] + [s for s in part.entry.sources if s != part.source]
    sources = [kb.sources[s] for s in ids if s in kb.sources]
    return {
        "kb_answer": {
            "id": part.entry.id,
            "title": part.entry.title,
            "kind": part.entry.kind,
            "facet": part.facet,
            "reviewed": part.entry.reviewed,
            "sources": [
                {"id": s.id, "title": s.title, "publisher": s.publisher, "url": s.url}
                for s in sources
            ],
        }
    }


# Suggestion buttons for low-confidence messages: intent -> the facet offered. A button's
# title is the key of the same name in the domain's utter_button_titles ({title} filled).
SUGGESTIBLE = {
    "ask_what_is": "what_is",
    "ask_how_given": "how_given",
    "ask_is_chemo": "is_chemo",
    "ask_which_chemo": "used_for",
    "ask_side_effects": "side_effects",
    "ask_brand_name": "brand_names",
}
TOPIC_BUTTONS = {
    "ask_why_not_chemo": "why_not_chemo",
    "ask_which_chemo": "which_chemo",
    "ask_does_chemo_work": "does_chemo_work",
}
TOPIC_TITLE = "topic"  # a concept offered under its own title
MAX_SUGGESTIONS = 3
MIN_SUGGESTION_CONFIDENCE = 0.1  # readings less likely than this are never offered
DEFAULT_SUGGESTIONS = ("ask_what_is", "ask_how_given", "ask_is_chemo")


@dataclass(frozen=True)
class Suggestion:
    """A button: its title's key in ``utter_button_titles``, the title's values, and its
    payload."""

    label: str
    values: dict[str, str]
    payload: str
    entry_id: str | None = None


def plan_suggestions(
    kb: KnowledgeBase,
    ranking: Sequence[dict[str, object]],
    entity_ids: Sequence[str],
    topic: str | None,
) -> list[Suggestion]:
    """Two or three likely readings of an unclear message, most likely first."""
    named = named_entries(kb, entity_ids, broad_if_alone=True)
    subject = named[0] if named else (topic if topic in kb.entries else None)
    out: list[Suggestion] = []
    for item in ranking:
        intent = str(item.get("name", ""))
        confidence = item.get("confidence", 1.0)
        if not isinstance(confidence, (int, float)) or (
            float(confidence) < MIN_SUGGESTION_CONFIDENCE
        ):
            continue
        if subject and intent in SUGGESTIBLE:
            entry = kb.entries[subject]
            if entry.kind not in FACETED_KINDS:
                # A concept has one reviewed answer: offer it under its own title.
                payload = f'/ask_what_is{{"kb_term": "{subject}"}}'
                out.append(
                    Suggestion(TOPIC_TITLE, {"title": entry.title}, payload, subject)
                )
                continue
            facet = SUGGESTIBLE[intent]
            payload = f'/{intent}{{"kb_term": "{subject}"}}'
            out.append(Suggestion(facet, {"title": entry.title}, payload, subject))
        elif intent in TOPIC_BUTTONS:
            out.append(Suggestion(TOPIC_BUTTONS[intent], {}, f"/{intent}"))
        if len({s.payload for s in out}) >= MAX_SUGGESTIONS:
            break
    if subject and kb.entries[subject].kind in FACETED_KINDS:
        # Top up with the commonest questions, so the general reading is always on offer.
        entry = kb.entries[subject]
        for intent in DEFAULT_SUGGESTIONS:
            if len({x.payload for x in out}) >= MAX_SUGGESTIONS:
                break
            payload = f'/{intent}{{"kb_term": "{subject}"}}'
            label = SUGGESTIBLE[intent]
            out.append(Suggestion(label, {"title": entry.title}, payload, subject))
    elif subject and not out:
        entry = kb.entries[subject]
        payload = f'/ask_what_is{{"kb_term": "{subject}"}}'
        out.append(Suggestion(TOPIC_TITLE, {"title": entry.title}, payload, subject))
    unique: dict[str, Suggestion] = {}
    for s in out:
        unique.setdefault(s.payload, s)
    return list(unique.values())[:MAX_SUGGESTIONS]
