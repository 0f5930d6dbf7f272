"""``action_answer_question``: answer a knowledge question from the KB."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.messages import dispatch_plan
from actions.planning import plan_answer, with_safety_line
from kb import load_kb

logger = logging.getLogger(__name__)
ENTITY = "kb_term"


def entity_ids(tracker: Tracker) -> list[str]:
    """KB entry ids recognised in the latest user message, in order."""
    entities = tracker.latest_message.get("entities") or []
    return [
        str(e["value"])
        for e in entities
        if e.get("entity") == ENTITY and e.get("value")
    ]


def symptom_mentioned(tracker: Tracker) -> bool:
    """True if the safety component marked the latest message ``safety.symptom_mention``
    (a symptom as a topic, negated or in the past): the reply carries the safety line."""
    return bool((tracker.latest_message.get("safety") or {}).get("symptom_mention"))


class ActionAnswerQuestion(Action):
    """Answers knowledge questions and personal-advice questions (general info + boundary),
    always ending with the disclaimer.

    Runs after every knowledge intent (rules in ``data/stories/rules_knowledge.yml``).
    Reads: the latest intent and ``kb_term`` entities, slots ``topic`` and ``facet``, and
    ``safety.symptom_mention`` (adds the one-line safety reminder before the disclaimer).
    Sets: ``topic`` (last entry answered) and ``facet`` (what was asked about it).
    """

    def name(self) -> str:
        """Action name used in the domain and rules."""
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Plan the answer from the KB and dispatch it."""
        kb = load_kb()
        intent: dict[str, Any] = tracker.latest_message.get("intent") or {}
        plan = plan_answer(
            kb,
            intent=str(intent.get("name") or ""),
            entity_ids=entity_ids(tracker),
            topic=tracker.get_slot("topic"),
            facet=tracker.get_slot("facet"),
            text=tracker.latest_message.get("text") or "",
        )
        if symptom_mentioned(tracker):
            plan = with_safety_line(plan)
        logger.debug(
            "answer plan: intent=%s entries=%s", intent.get("name"), plan.kb_ids
        )
        dispatch_plan(dispatcher, kb, plan, domain)
        # Only changed slots: every event makes later turns of the conversation a little slower.
        return [
            SlotSet(name, value)
            for name, value in (("topic", plan.topic), ("facet", plan.facet))
            if tracker.get_slot(name) != value
        ]
