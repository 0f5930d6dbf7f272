"""The safety rules use domain responses only, so they never wait for the action server."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import yaml

ROOT = Path(__file__).resolve().parents[1]
SAFETY_INTENTS = {"red_flag", "red_flag_crisis", "crisis", "other_language"}


def rules_by_intent() -> Dict[str, List[List[str]]]:
    """Each rule's actions, by the intent that starts it, over every rules file in data/."""
    out: Dict[str, List[List[str]]] = {}
    for path in sorted((ROOT / "data" / "stories").glob("*.yml")):
        for rule in yaml.safe_load(path.read_text()).get("rules") or []:
            steps = rule.get("steps") or []
            if steps and "intent" in steps[0]:
                actions = [s["action"] for s in steps if "action" in s]
                out.setdefault(steps[0]["intent"], []).append(actions)
    return out


def test_every_safety_intent_has_a_rule_of_domain_responses_only() -> None:
    rules = rules_by_intent()
    for intent in SAFETY_INTENTS:
        assert rules.get(intent), f"no rule starts with intent {intent}"
        for actions in rules[intent]:
            custom = [a for a in actions if not a.startswith("utter_")]
            assert not custom, f"{intent} waits for the action server: {custom}"


def test_red_flags_start_with_the_urgent_message_and_end_with_the_disclaimer() -> None:
    rules = rules_by_intent()
    for intent in ("red_flag", "red_flag_crisis"):
        for actions in rules[intent]:
            assert actions[0] == "utter_urgent_red_flag"
            assert actions[-1] == "utter_disclaimer"
    assert rules["red_flag_crisis"] == [
        ["utter_urgent_red_flag", "utter_crisis", "utter_disclaimer"]
    ]
