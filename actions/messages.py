"""Turn plans into messages: domain response lookup and dispatch. Shared by all actions."""

from __future__ import annotations

import logging

from rasa_sdk.executor import CollectingDispatcher

from actions.planning import Plan, kb_payload
from kb.model import KnowledgeBase

logger = logging.getLogger(__name__)


def dispatch_plan(
    dispatcher: CollectingDispatcher, kb: KnowledgeBase, plan: Plan
) -> None:
    """Send each part of ``plan`` in order: KB text with its source payload, a fixed KB
    message, or a domain response."""
    for part in plan.parts:
        if part.response:
            dispatcher.utter_message(response=part.response, **part.values)
        elif part.message:
            dispatcher.utter_message(text=kb.message(part.message, **part.values))
        else:
            dispatcher.utter_message(text=part.text, json_message=kb_payload(kb, part))
