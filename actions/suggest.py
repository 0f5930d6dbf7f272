"""``action_offer_topics``: when NLU is unsure, offer the likeliest readings as buttons."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answer import entity_ids, symptom_mentioned
from actions.feedback import button_title
from actions.messages import dispatch_plan
from actions.planning import (
    SAFETY_LINE,
    TOPIC_TITLE,
    plan_answer,
    plan_suggestions,
    with_safety_line,
)
from kb import load_kb

OFFER = "utter_offer_topics"  # bot/domain/knowledge.yml
REPHRASE = "utter_ask_rephrase"


class ActionOfferTopics(Action):
    """Runs on ``nlu_fallback`` (NLU confidence below the threshold in config.yml).

    Reads: the latest message's intent ranking and ``kb_term`` entities, slot ``topic``.
    Sends ``utter_offer_topics`` with two or three buttons (titles from the domain's
    ``utter_button_titles``), or ``utter_ask_rephrase`` if nothing is likely enough. If the
    only candidate is one concept (a single reviewed answer), it answers that directly and
    sets ``topic`` and ``facet``. A message marked ``safety.symptom_mention`` (a symptom
    as a topic, negated or past) gets the one-line safety reminder on every path: before
    the buttons or the request to rephrase, or before the answer's disclaimer.
    """

    def name(self) -> str:
        """Action name used in the domain and rules."""
        return "action_offer_topics"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Build the buttons from the intent ranking and dispatch them."""
        kb = load_kb()
        suggestions = plan_suggestions(
            kb,
            tracker.latest_message.get("intent_ranking") or [],
            entity_ids(tracker),
            tracker.get_slot("topic"),
        )
        reminder = symptom_mentioned(tracker)
        if not suggestions:
            if reminder:
                dispatcher.utter_message(response=SAFETY_LINE)
            dispatcher.utter_message(response=REPHRASE)
            return []
        entry_id = suggestions[0].entry_id
        if len(suggestions) == 1 and suggestions[0].label == TOPIC_TITLE and entry_id:
            # One concept with one reviewed answer: a single button would only add a click.
            plan = plan_answer(kb, "ask_what_is", [entry_id], text=entry_id)
            if reminder:
                plan = with_safety_line(plan)
            dispatch_plan(dispatcher, kb, plan)
            return [SlotSet("topic", plan.topic), SlotSet("facet", plan.facet)]
        buttons = [
            {"title": button_title(domain, s.label, **s.values), "payload": s.payload}
            for s in suggestions
        ]
        if reminder:
            dispatcher.utter_message(response=SAFETY_LINE)
        dispatcher.utter_message(response=OFFER, buttons=buttons)
        return []
