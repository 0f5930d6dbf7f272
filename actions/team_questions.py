""""Questions to ask your team": offer an entry's reviewed questions and keep a list.

The questions are each KB entry's ``questions_for_team`` (kb/entries/, reviewed like the
answers): questions a person could ask their specialist, never answers or advice. The
person's list is the slot ``saved_questions``: question ids ``"<entry id>:<index>"``.
Texts are domain responses (bot/domain/feedback.yml); this module holds none.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.feedback import button_title, entity_values, intent_payload
from actions.planning import WHICH_TOPIC
from kb import load_kb
from kb.model import Entry, KnowledgeBase

logger = logging.getLogger(__name__)

SLOT = "saved_questions"
MAX_SAVED = 30  # a list longer than this is no longer a list to take to one appointment
SHOW_PAYLOAD = "/show_saved_questions"
CLEAR_PAYLOAD = "/clear_saved_questions"


@dataclass(frozen=True)
class Question:
    """One reviewed question of one entry."""

    id: str
    entry: Entry
    text: str


def question_id(entry_id: str, index: int) -> str:
    """The id of question ``index`` (from 0) of an entry: ``"captem:0"``."""
    return f"{entry_id}:{index}"


def find_question(kb: KnowledgeBase, qid: object) -> Question | None:
    """The question with id ``qid``, or None if the id is malformed or unknown."""
    if not isinstance(qid, str) or qid.count(":") != 1:
        return None
    entry_id, index = qid.split(":")
    entry = kb.entries.get(entry_id)
    if entry is None or not index.isdigit() or str(int(index)) != index:
        return None
    if int(index) >= len(entry.questions_for_team):
        return None
    return Question(qid, entry, entry.questions_for_team[int(index)])


def entry_questions(entry: Entry) -> list[Question]:
    """Every reviewed question of ``entry``, in order."""
    return [
        Question(question_id(entry.id, i), entry, text)
        for i, text in enumerate(entry.questions_for_team)
    ]


def saved_ids(tracker: Tracker) -> list[str]:
    """The ``saved_questions`` slot as a list of strings (anything else is dropped)."""
    value = tracker.get_slot(SLOT)
    if not isinstance(value, list):
        return []
    return [q for q in value if isinstance(q, str)]


def numbered(texts: Sequence[str]) -> str:
    """Plain text, one question a line: ``1. ...``, easy to copy."""
    return "\n".join(f"{n}. {text}" for n, text in enumerate(texts, start=1))


def add_buttons(
    domain: Mapping[str, Any], entry: Entry, saved: Sequence[str]
) -> list[dict[str, str]]:
    """A button per question of ``entry`` not yet in the list, then "My question list"."""
    buttons = [
        {
            "title": button_title(domain, "add_question", number=n),
            "payload": intent_payload("save_question", question_id=q.id),
        }
        for n, q in enumerate(entry_questions(entry), start=1)
        if q.id not in saved
    ]
    buttons.append({"title": button_title(domain, "my_list"), "payload": SHOW_PAYLOAD})
    return buttons


def wanted_entry(kb: KnowledgeBase, tracker: Tracker) -> Entry | None:
    """The entry a request is about: the button's ``kb_id``, a KB term typed, the topic."""
    values = entity_values(tracker)
    for candidate in (
        values.get("kb_id"),
        values.get("kb_term"),
        tracker.get_slot("topic"),
    ):
        if isinstance(candidate, str) and candidate in kb.entries:
            entry = kb.entries[candidate]
            if entry.questions_for_team:
                return entry
    return None


def offer_questions(
    dispatcher: CollectingDispatcher,
    domain: Mapping[str, Any],
    kb: KnowledgeBase,
    entry: Entry | None,
    saved: Sequence[str],
) -> None:
    """Send an entry's questions with their "add" buttons, or ask which topic is meant."""
    if entry is None:
        dispatcher.utter_message(response=WHICH_TOPIC)
        return
    dispatcher.utter_message(
        response="utter_team_questions",
        title=entry.title,
        questions=numbered(entry.questions_for_team),
        buttons=add_buttons(domain, entry, saved),
    )


class ActionTeamQuestions(Action):
    """Runs on ``ask_team_questions`` (the button under an answer, or typed: "what could I
    ask my team about CAPTEM?"); the rule then sends the disclaimer.

    Reads the entity ``kb_id`` (button) or ``kb_term`` (typed), else the slot ``topic``,
    and the slot ``saved_questions``. Sends the entry's reviewed questions, numbered, with
    a button to add each one not yet in the list and a "My question list" button. Sets no
    slots.
    """

    def name(self) -> str:
        """Action name used in the domain and rules."""
        return "action_team_questions"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Offer the questions of the entry asked about."""
        kb = load_kb()
        offer_questions(
            dispatcher, domain, kb, wanted_entry(kb, tracker), saved_ids(tracker)
        )
        return []


class ActionSaveQuestion(Action):
    """Runs on ``save_question`` (an "add question" button).

    Reads the entity ``question_id`` and the slot ``saved_questions``. A known question is
    added to the list (once; at most ``MAX_SAVED``), confirmed with the count and buttons
    for the entry's other questions. An unknown or missing id (typed, or forged) saves
    nothing and offers the questions of the topic under discussion instead.
    Sets ``saved_questions``.
    """

    def name(self) -> str:
        """Action name used in the domain and rules."""
        return "action_save_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Add the question to the list."""
        kb = load_kb()
        saved = saved_ids(tracker)
        question = find_question(kb, entity_values(tracker).get("question_id"))
        if question is None:
            logger.debug("save_question: no known question id")
            offer_questions(dispatcher, domain, kb, wanted_entry(kb, tracker), saved)
            return []
        if question.id not in saved and len(saved) < MAX_SAVED:
            saved = saved + [question.id]
        dispatcher.utter_message(
            response="utter_question_saved",
            count=str(len(saved)),
            buttons=add_buttons(domain, question.entry, saved),
        )
        return [SlotSet(SLOT, saved)]


class ActionShowSavedQuestions(Action):
    """Runs on ``show_saved_questions`` ("show my questions", "My question list" button,
    ``/questions`` on Telegram); the rule then sends the disclaimer.

    Reads the slot ``saved_questions``. Sends the whole list as ONE plain-text numbered
    message (``utter_saved_questions``), with the question ids and texts in a custom
    ``saved_questions`` payload (the widget adds Copy and Print) and a "Clear my list"
    button; or ``utter_saved_questions_empty``. Sets no slots.
    """

    def name(self) -> str:
        """Action name used in the domain and rules."""
        return "action_show_saved_questions"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Send the list."""
        kb = load_kb()
        questions = [q for q in (find_question(kb, i) for i in saved_ids(tracker)) if q]
        if not questions:
            dispatcher.utter_message(response="utter_saved_questions_empty")
            return []
        texts = [q.text for q in questions]
        dispatcher.utter_message(
            response="utter_saved_questions",
            questions=numbered(texts),
            buttons=[
                {"title": button_title(domain, "clear_list"), "payload": CLEAR_PAYLOAD}
            ],
            json_message={
                "saved_questions": {
                    "ids": [q.id for q in questions],
                    "questions": texts,
                }
            },
        )
        return []


class ActionClearSavedQuestions(Action):
    """Runs on ``clear_saved_questions`` ("Clear my list" button, or typed); the rule then
    confirms (``utter_saved_questions_cleared``).

    Sets ``saved_questions`` to empty (None).
    """

    def name(self) -> str:
        """Action name used in the domain and rules."""
        return "action_clear_saved_questions"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Empty the list."""
        return [SlotSet(SLOT, None)]
