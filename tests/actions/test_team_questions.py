"""Questions to ask your team: offer, add, show (one message), clear, empty list."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.team_questions import (
    ActionClearSavedQuestions,
    ActionSaveQuestion,
    ActionShowSavedQuestions,
    ActionTeamQuestions,
    find_question,
)


def tracker_with(
    intent: str,
    entities: dict[str, Any] | None = None,
    slots: dict[str, Any] | None = None,
    text: str = "",
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
    }
    return Tracker(
        sender_id="test",
        slots={"topic": None, "facet": None, "saved_questions": None, **(slots or {})},
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def payloads(message: dict[str, Any]) -> list[str]:
    return [b["payload"] for b in message.get("buttons") or []]


async def test_offer_shows_the_reviewed_questions_with_add_buttons(
    dispatcher, domain, real_kb
) -> None:
    tracker = tracker_with("ask_team_questions", {"kb_id": "captem"})
    events = await ActionTeamQuestions().run(dispatcher, tracker, domain)
    assert events == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_team_questions"
    assert message["title"] == real_kb.entries["captem"].title
    questions = real_kb.entries["captem"].questions_for_team
    assert message["questions"].splitlines() == [
        f"{n}. {q}" for n, q in enumerate(questions, start=1)
    ]
    assert payloads(message) == [
        *(
            f'/save_question{{"question_id":"captem:{i}"}}'
            for i in range(len(questions))
        ),
        "/show_saved_questions",
    ]
    assert "utter_team_questions" in domain["responses"]


async def test_offer_uses_the_topic_when_typed(dispatcher, domain) -> None:
    tracker = tracker_with("ask_team_questions", slots={"topic": "folfox"})
    await ActionTeamQuestions().run(dispatcher, tracker, domain)
    assert "folfox:0" in payloads(dispatcher.messages[0])[0]


async def test_offer_without_a_topic_asks_which(dispatcher, domain) -> None:
    tracker = tracker_with("ask_team_questions", {"kb_id": "nowhere"})
    await ActionTeamQuestions().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_ask_which_topic"


async def test_add_then_add_again_keeps_one_copy(dispatcher, domain) -> None:
    tracker = tracker_with("save_question", {"question_id": "captem:1"})
    events = await ActionSaveQuestion().run(dispatcher, tracker, domain)
    assert events == [SlotSet("saved_questions", ["captem:1"])]
    message = dispatcher.messages[0]
    assert message["response"] == "utter_question_saved" and message["count"] == "1"
    # the other questions can still be added (the earlier buttons are gone), and the list
    assert '/save_question{"question_id":"captem:1"}' not in payloads(message)
    assert '/save_question{"question_id":"captem:0"}' in payloads(message)
    assert payloads(message)[-1] == "/show_saved_questions"

    again = tracker_with(
        "save_question", {"question_id": "captem:1"}, {"saved_questions": ["captem:1"]}
    )
    events = await ActionSaveQuestion().run(dispatcher, again, domain)
    assert events == [SlotSet("saved_questions", ["captem:1"])]


async def test_forged_question_id_saves_nothing(dispatcher, domain) -> None:
    for forged in ["captem:9", "captem:01", "nowhere:0", "captem", 3, None, "a:b:c"]:
        tracker = tracker_with(
            "save_question", {"question_id": forged}, {"topic": "captem"}
        )
        events = await ActionSaveQuestion().run(dispatcher, tracker, domain)
        assert events == [], forged
    # the questions of the topic are offered instead
    assert all(m["response"] == "utter_team_questions" for m in dispatcher.messages)


async def test_show_list_is_one_numbered_message(dispatcher, domain, real_kb) -> None:
    saved = ["captem:0", "folfox:1"]
    tracker = tracker_with("show_saved_questions", slots={"saved_questions": saved})
    events = await ActionShowSavedQuestions().run(dispatcher, tracker, domain)
    assert events == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_saved_questions"
    expected = [
        real_kb.entries["captem"].questions_for_team[0],
        real_kb.entries["folfox"].questions_for_team[1],
    ]
    assert message["questions"] == f"1. {expected[0]}\n2. {expected[1]}"
    assert message["custom"]["saved_questions"] == {"ids": saved, "questions": expected}
    assert payloads(message) == ["/clear_saved_questions"]


async def test_show_empty_list_is_explained(dispatcher, domain) -> None:
    for saved in [None, [], ["nowhere:0"], "captem:0"]:
        tracker = tracker_with("show_saved_questions", slots={"saved_questions": saved})
        await ActionShowSavedQuestions().run(dispatcher, tracker, domain)
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_saved_questions_empty"
    ] * 4


async def test_clear_empties_the_list(dispatcher, domain) -> None:
    tracker = tracker_with(
        "clear_saved_questions", slots={"saved_questions": ["captem:0"]}
    )
    events = await ActionClearSavedQuestions().run(dispatcher, tracker, domain)
    assert events == [SlotSet("saved_questions", None)]
    assert dispatcher.messages == []  # the rule confirms


def test_every_entry_has_addressable_questions(real_kb) -> None:
    for entry in real_kb.entries.values():
        for i, text in enumerate(entry.questions_for_team):
            found = find_question(real_kb, f"{entry.id}:{i}")
            assert found is not None and found.text == text
