"""Turn plans into messages: KB text with its payload, or domain responses by name."""

from __future__ import annotations

import logging
from typing import Any

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
    """Send each part of ``plan`` in order: KB text with its ``kb_answer`` payload, or a
    domain response by name with its values (the Rasa server fills in the text, choosing
    the channel's variant). With the ``domain``, the disclaimer closing a knowledge answer
    carries the feedback and "questions to ask your team" buttons (it stays last)."""
    target = plan.feedback_target
    buttons = answer_buttons(domain, *target) if domain is not None and target else []
    for part in plan.parts:
        if part.response == DISCLAIMER and buttons:
            dispatcher.utter_message(response=part.response, buttons=buttons)
        elif part.response:
            values: dict[str, Any] = dict(part.values)  # the response's {placeholders}
            dispatcher.utter_message(response=part.response, **values)
        else:
            dispatcher.utter_message(text=part.text, json_message=kb_payload(kb, part))
