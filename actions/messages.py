"""Turn plans into messages: domain response lookup and dispatch. Shared by all actions."""

from __future__ import annotations

import logging

from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.feedback import answer_buttons
from actions.planning import DISCLAIMER, Plan, kb_payload
from kb.model import KnowledgeBase

logger = logging.getLogger(__name__)


def dispatch_plan(
    dispatcher: CollectingDispatcher,
    kb: KnowledgeBase,
    plan: Plan,
    domain: DomainDict | None = None,
) -> None:
    """Send each part of ``plan`` in order: KB text with its source payload, a fixed KB
    message, or a domain response. With the ``domain``, the disclaimer closing a knowledge
    answer carries the feedback and "questions to ask your team" buttons (it stays last)."""
    target = plan.feedback_target
    buttons = answer_buttons(domain, *target) if domain is not None and target else []
    for part in plan.parts:
        if part.response == DISCLAIMER and buttons:
            dispatcher.utter_message(response=part.response, buttons=buttons)
        elif part.response:
            dispatcher.utter_message(response=part.response, **part.values)
        elif part.message:
            dispatcher.utter_message(text=kb.message(part.message, **part.values))
        else:
            dispatcher.utter_message(text=part.text, json_message=kb_payload(kb, part))
