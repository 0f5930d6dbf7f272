"""Feedback on answers: buttons under the disclaimer, what is stored, what is refused."""

from __future__ import annotations

import json
import logging
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker

from actions import feedback_store
from actions.answer import ActionAnswerQuestion
from actions.feedback import ActionRecordFeedback, answer_buttons

MARKER = "QX7-unique-marker-ZEBRA"  # typed by the user: must never reach the database


@pytest.fixture
def feedback_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """FEEDBACK_DB pointing at a file in a folder that does not exist yet."""
    db = tmp_path / "private" / "feedback.db"
    monkeypatch.setenv("FEEDBACK_DB", str(db))
    return db


def vote_tracker(
    entities: dict[str, Any], channel: str = "telegram", text: str | None = None
) -> Tracker:
    """A tracker whose latest message is a feedback payload sent on ``channel``."""
    text = text or "/feedback" + json.dumps(entities)
    latest = {
        "text": text,
        "intent": {"name": "feedback", "confidence": 1.0},
        "entities": [{"entity": k, "value": v} for k, v in entities.items()],
    }
    events: list[dict[str, Any]] = [
        {"event": "user", "text": text, "input_channel": channel, "parse_data": latest}
    ]
    return Tracker(
        sender_id=f"sender-{MARKER}",
        slots={"topic": "captem", "facet": "how_given", "saved_questions": None},
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT kb_id, facet, vote, channel, created_at FROM answer_feedback"
        ).fetchall()


async def test_answer_disclaimer_carries_the_feedback_buttons(
    dispatcher, make_tracker, domain, disclaimer_name
) -> None:
    tracker = make_tracker("ask_how_given", ["captem"], text="how is captem given?")
    await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    last = dispatcher.messages[-1]
    assert last["response"] == disclaimer_name  # still last
    payloads = [b["payload"] for b in last["buttons"]]
    assert payloads == [
        '/feedback{"kb_id":"captem","facet":"how_given","vote":"up"}',
        '/feedback{"kb_id":"captem","facet":"how_given","vote":"down"}',
        '/ask_team_questions{"kb_id":"captem"}',
    ]
    titles = [b["title"] for b in last["buttons"]]
    assert "Helpful" in titles[0] and "Not helpful" in titles[1]
    # only the disclaimer has buttons: the KB text and its payload are unchanged
    assert not any(m.get("buttons") for m in dispatcher.messages[:-1])


async def test_no_buttons_without_a_kb_answer(
    dispatcher, make_tracker, domain, disclaimer_name
) -> None:
    tracker = make_tracker("ask_what_is", [], text="what is the drug zibotentan really")
    await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    assert dispatcher.messages[-1]["response"] == disclaimer_name
    assert not dispatcher.messages[-1].get("buttons")


async def test_vote_is_stored_with_entry_facet_channel_and_time_only(
    dispatcher, domain, feedback_db: Path
) -> None:
    tracker = vote_tracker(
        {"kb_id": "captem", "facet": "what_is", "vote": "down"},
        text=f"/feedback {MARKER}",
    )
    events = await ActionRecordFeedback().run(dispatcher, tracker, domain)
    assert events == []  # topic and facet untouched
    assert dispatcher.messages == []  # the rule thanks
    [(kb_id, facet, vote, channel, created_at)] = rows(feedback_db)
    assert (kb_id, facet, vote, channel) == ("captem", "what_is", "down", "telegram")
    assert len(created_at) == len("2026-12-01T20:15Z") and created_at.endswith("Z")
    with sqlite3.connect(feedback_db) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(answer_feedback)")]
    assert columns == ["id", "kb_id", "facet", "vote", "channel", "created_at"]
    for path in feedback_db.parent.iterdir():
        assert MARKER.encode() not in path.read_bytes()


async def test_database_file_and_folder_are_private(
    dispatcher, domain, feedback_db: Path
) -> None:
    tracker = vote_tracker({"kb_id": "folfox", "facet": "side_effects", "vote": "up"})
    await ActionRecordFeedback().run(dispatcher, tracker, domain)
    assert stat.S_IMODE(feedback_db.stat().st_mode) == 0o600
    assert stat.S_IMODE(feedback_db.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "entities",
    [
        {"kb_id": "nowhere", "facet": "what_is", "vote": "up"},
        {"kb_id": "captem", "facet": "dosage", "vote": "up"},
        {"kb_id": "captem", "facet": "what_is", "vote": "sideways"},
        {"kb_id": "captem", "facet": "what_is"},
        {"kb_id": ["captem"], "facet": "what_is", "vote": "up"},
        {"kb_id": "captem", "facet": "what_is", "vote": 1},
        {},
    ],
)
async def test_forged_payload_is_not_stored(
    dispatcher, domain, feedback_db: Path, entities, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="actions.feedback")
    events = await ActionRecordFeedback().run(
        dispatcher, vote_tracker(entities), domain
    )
    assert events == [] and dispatcher.messages == []
    assert not feedback_db.exists() or rows(feedback_db) == []
    assert any(
        r.levelno == logging.DEBUG and "not stored" in r.getMessage()
        for r in caplog.records
    )


async def test_unknown_channel_is_recorded_as_unknown(
    dispatcher, domain, feedback_db: Path
) -> None:
    tracker = vote_tracker(
        {"kb_id": "captem", "facet": "what_is", "vote": "up"}, channel="<b>x</b>"
    )
    await ActionRecordFeedback().run(dispatcher, tracker, domain)
    assert rows(feedback_db)[0][3] == "unknown"


async def test_database_error_still_lets_the_rule_thank(
    dispatcher, domain, tmp_path: Path, monkeypatch, caplog
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("FEEDBACK_DB", str(blocker / "feedback.db"))
    tracker = vote_tracker({"kb_id": "captem", "facet": "what_is", "vote": "up"})
    events = await ActionRecordFeedback().run(dispatcher, tracker, domain)
    assert events == []
    assert any("database error" in r.getMessage() for r in caplog.records)


def test_counts_sort_most_not_helpful_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    for kb_id, facet, vote in [
        ("captem", "what_is", "up"),
        ("captem", "what_is", "up"),
        ("folfox", "how_given", "down"),
        ("folfox", "what_is", "up"),
        ("prrt", "what_is", "down"),
        ("prrt", "what_is", "down"),
    ]:
        feedback_store.record(feedback_store.Vote(kb_id, facet, vote, "rest"), url)
    got = [(c.kb_id, c.up, c.down) for c in feedback_store.counts(url)]
    assert got == [("prrt", 0, 2), ("folfox", 1, 1), ("captem", 2, 0)]
    by_facet = feedback_store.counts(url, by_facet=True)
    assert [(c.kb_id, c.facet) for c in by_facet][:2] == [
        ("prrt", "what_is"),
        ("folfox", "how_given"),
    ]


def test_database_url_setting(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FEEDBACK_DB", raising=False)
    monkeypatch.setenv("TRACKER_DB", str(tmp_path / "tracker.db"))
    assert feedback_store.database_url() == f"sqlite:///{tmp_path / 'feedback.db'}"
    url = "postgresql://feedback@db.example/feedback"
    assert feedback_store.database_url(url) == url
    monkeypatch.delenv("TRACKER_DB")
    assert feedback_store.database_url().endswith("/var/feedback.db")


def test_every_answer_button_title_is_in_the_domain(domain) -> None:
    buttons = answer_buttons(domain, "captem", "what_is")
    assert all(b["title"].strip() for b in buttons)
    # words a screen reader reads, not only an emoji
    assert all(any(ch.isalpha() for ch in b["title"]) for b in buttons)
