"""``action_record_feedback``: store a thumbs up/down on a knowledge answer.

The buttons are attached to the disclaimer under each knowledge answer
(:func:`answer_buttons`, called by ``actions/messages.py``). Their payload names the KB entry
and facet; only that, the vote, the channel and the time are stored
(``actions/feedback_store.py``), never the message text or who sent it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions import feedback_store
from bot.responses import fill
from kb import load_kb
from kb.model import FACETS, KnowledgeBase

logger = logging.getLogger(__name__)

TITLES_RESPONSE = "utter_button_titles"  # bot/domain/knowledge.yml
KNOWN_FACETS = frozenset(("what_is",) + FACETS)
CHANNEL_RE = re.compile(r"^[a-z0-9_.-]{1,40}$")


def button_title(domain: Mapping[str, Any], key: str, **values: object) -> str:
    """The button title ``key`` of ``utter_button_titles``, with ``{placeholders}`` filled.

    Raises:
        KeyError: if the domain has no such title (a broken domain should fail loudly).
    """
    variations = (domain.get("responses") or {}).get(TITLES_RESPONSE) or [{}]
    titles = variations[0].get("custom") or {}
    return fill(str(titles[key]), values)


def intent_payload(intent: str, **entities: str) -> str:
    """A button payload ``/intent{"key": "value"}`` (JSON, so Rasa reads the entities)."""
    return f"/{intent}{json.dumps(entities, separators=(',', ':'))}"


def answer_buttons(
    domain: Mapping[str, Any], kb_id: str, facet: str
) -> list[dict[str, str]]:
    """Helpful, not helpful, and questions to ask your team, for one answered entry."""
    return [
        {
            "title": button_title(domain, "helpful"),
            "payload": intent_payload("feedback", kb_id=kb_id, facet=facet, vote="up"),
        },
        {
            "title": button_title(domain, "not_helpful"),
            "payload": intent_payload(
                "feedback", kb_id=kb_id, facet=facet, vote="down"
            ),
        },
        {
            "title": button_title(domain, "team_questions"),
            "payload": intent_payload("ask_team_questions", kb_id=kb_id),
        },
    ]


def entity_values(tracker: Tracker) -> dict[str, Any]:
    """The latest message's entities by name (the first value of each)."""
    values: dict[str, Any] = {}
    for entity in tracker.latest_message.get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity"):
            values.setdefault(str(entity["entity"]), entity.get("value"))
    return values


def channel_name(tracker: Tracker) -> str:
    """The channel the latest message came in on, as a short safe label."""
    channel = tracker.get_latest_input_channel()
    if isinstance(channel, str) and CHANNEL_RE.match(channel):
        return channel
    return "unknown"


def parse_vote(
    kb: KnowledgeBase, values: Mapping[str, Any], channel: str
) -> feedback_store.Vote | str:
    """The vote a payload carries, or why it is refused (a short reason, no user text)."""
    kb_id, facet, vote = values.get("kb_id"), values.get("facet"), values.get("vote")
    if not all(isinstance(v, str) for v in (kb_id, facet, vote)):
        return "missing or non-text field"
    if kb_id not in kb.entries:
        return "unknown entry"
    if facet not in KNOWN_FACETS:
        return "unknown facet"
    if vote not in feedback_store.VOTES:
        return "unknown vote"
    return feedback_store.Vote(kb_id=kb_id, facet=facet, vote=vote, channel=channel)


class ActionRecordFeedback(Action):
    """Runs on ``feedback`` (a thumbs button under a knowledge answer, or typed).

    Reads the entities ``kb_id``, ``facet`` and ``vote`` of the button's payload and the
    latest input channel. Stores a valid vote; a forged or typed one is not stored (logged
    at DEBUG). Sends nothing: the rule thanks the person (``utter_feedback_thanks``).
    Sets no slots, so the topic under discussion is unchanged.
    """

    def name(self) -> str:
        """Action name used in the domain and rules."""
        return "action_record_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validate the vote and store it."""
        parsed = parse_vote(load_kb(), entity_values(tracker), channel_name(tracker))
        if isinstance(parsed, str):
            logger.debug("feedback not stored: %s", parsed)
            return []
        try:
            await asyncio.to_thread(feedback_store.record, parsed)
        except (SQLAlchemyError, OSError) as error:
            # The person is thanked anyway; the reviewers lose one vote, nothing else.
            logger.warning(
                "feedback not stored: database error %s", type(error).__name__
            )
            return []
        logger.debug(
            "feedback stored: %s %s %s", parsed.kb_id, parsed.facet, parsed.vote
        )
        return []
