"""`make validate` (scripts/validate_data.py): Rasa's validation with one reviewed exception."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts import validate_data
from scripts.validate_data import AllowListError, judge, load_allow_list

ROOT = Path(__file__).resolve().parents[1]


def unused(name: str) -> str:
    return f"The utterance '{name}' is not used in any story or rule."


def test_listed_responses_pass_and_others_fail() -> None:
    verdict = judge(
        [unused("utter_a"), unused("utter_b")],
        allowed=["utter_a"],
        domain_responses=["utter_a", "utter_b"],
    )
    assert verdict.accepted == ["utter_a"]
    assert len(verdict.problems) == 1 and "utter_b" in verdict.problems[0]
    assert not verdict.ok


def test_any_other_warning_fails() -> None:
    verdict = judge(
        ["The intent 'greet' is not used in any story or rule.", unused("utter_a")],
        allowed=["utter_a"],
        domain_responses=["utter_a"],
    )
    assert verdict.problems == ["The intent 'greet' is not used in any story or rule."]


def test_the_list_stays_honest() -> None:
    verdict = judge(
        [],
        allowed=["utter_used_by_a_rule", "utter_gone"],
        domain_responses=["utter_used_by_a_rule"],
    )
    assert any(
        "utter_used_by_a_rule is sent by a story or rule" in p for p in verdict.problems
    )
    assert any("utter_gone is not a domain response" in p for p in verdict.problems)


def test_rasa_failing_fails() -> None:
    assert not judge([], [], [], rasa_failed=True).ok
    assert judge([], [], []).ok


def test_the_list_matches_its_schema(tmp_path: Path) -> None:
    assert "utter_default" in load_allow_list()
    broken = tmp_path / "list.yml"
    broken.write_text("reviewed: 2026-12-01\nresponses:\n  utter_x: {why: because}\n")
    with pytest.raises(AllowListError, match="utter_x.*sent_by"):
        load_allow_list(broken)


def test_a_response_that_nothing_sends_fails_the_real_validation(
    tmp_path: Path, caplog
) -> None:
    """The whole command on a copy of the domain with one unlisted, unused response."""
    domain = tmp_path / "domain"
    shutil.copytree(ROOT / "bot" / "domain", domain)
    (domain / "extra.yml").write_text(
        'version: "3.1"\nresponses:\n  utter_forgotten_by_all:\n    - text: "Hi."\n'
    )
    args = ["--config", str(ROOT / "config.yml"), "--data", str(ROOT / "data")]
    assert validate_data.main([*args, "--domain", str(domain)]) == 1
    assert "utter_forgotten_by_all" in caplog.text
    caplog.clear()
    (domain / "extra.yml").unlink()
    assert validate_data.main([*args, "--domain", str(domain)]) == 0
