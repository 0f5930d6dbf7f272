"""Action test fixtures in the rasa-sdk / financial-demo style."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture
def make_tracker() -> Callable[..., Tracker]:
    """A tracker whose latest message has this intent, these KB entities, slots and text."""

    def _make(
        intent: str,
        entities: list[str] | None = None,
        slots: dict[str, Any] | None = None,
        text: str = "",
        ranking: list[dict[str, Any]] | None = None,
        safety: dict[str, Any] | None = None,
    ) -> Tracker:
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "intent_ranking": ranking or [{"name": intent, "confidence": 0.9}],
            "entities": [{"entity": "kb_term", "value": e} for e in entities or []],
        }
        if safety is not None:
            latest["safety"] = safety
        return Tracker(
            sender_id="test",
            slots={"topic": None, "facet": None, **(slots or {})},
            latest_message=latest,
            events=[],
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )

    return _make
