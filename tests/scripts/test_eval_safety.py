"""scripts/eval_safety.py and scripts/safety_suites.py: suites, default gates, English row.

Plain functions over a temporary suite folder and a stub screen: no lexicon is built.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType
from typing import Dict, List

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def eval_safety() -> ModuleType:
    return importlib.import_module("scripts.eval_safety")


def write_suite(folder: Path, name: str, messages: List[Dict[str, str]]) -> None:
    data = {"version": 1, "reviewed": "2026-12-02", "messages": messages}
    (folder / name).write_text(yaml.safe_dump(data), encoding="utf-8")


def test_dev_v4_is_a_dev_suite_with_gate_options(eval_safety: ModuleType) -> None:
    assert eval_safety.DEV_SUITES["dev-v4"] == REPO_ROOT / "tests" / "safety_dev" / "v4"
    flags = [flag for _, flag in eval_safety.GATE_FLAGS]
    assert "english-misread" in flags


def test_every_dev_suite_is_gated_at_the_targets_by_default(
    eval_safety: ModuleType,
) -> None:
    assert eval_safety.DEV_SUITES["dev-v7"] == REPO_ROOT / "tests" / "safety_dev" / "v7"
    for label, folder in eval_safety.DEV_SUITES.items():
        assert (folder / "red_flags.yml").exists(), label
        assert eval_safety.default_gates(label) == eval_safety.TARGETS
    assert eval_safety.TARGETS["english_misread_rate"] == 0.0
    # the Makefile relaxes the false-alarm gate of the two newest dev suites only, each to
    # at most its figure after one round (v10 8%, v11 16%); never a recall or crisis gate
    makefile = (REPO_ROOT / "mk" / "safety.mk").read_text(encoding="utf-8")
    dev = makefile.split("SAFETY_DEV_GATES ?=", 1)[1].split("SAFETY_BLIND_GATES", 1)[0]
    options = re.findall(r"(--dev[\w-]*)\s+([0-9.]+)", dev)
    assert len(options) == dev.count("--")
    allowed = {"--dev-v10-false-alarm-gate": 0.08, "--dev-v11-false-alarm-gate": 0.16}
    assert [option for option, _ in options] == list(allowed)
    assert all(float(value) <= allowed[option] for option, value in options)


def test_blind_suites_default_to_the_targets_without_the_english_gate(
    eval_safety: ModuleType,
) -> None:
    for label in eval_safety.BLIND_SUITES:
        gates = eval_safety.default_gates(label)
        assert gates["english_misread_rate"] is None
        assert gates["red_flag_recall"] == eval_safety.TARGETS["red_flag_recall"]


def test_english_messages_default_to_english_in_false_alarm_files(
    eval_safety: ModuleType,
) -> None:
    messages = [
        {"text": "a", "lang": "en"},
        {"text": "b", "lang": "fr"},
        {"text": "c"},
    ]
    assert eval_safety.english_messages("false_alarms.yml", messages) == ["a", "c"]
    # elsewhere a message without lang may be in any language: left out
    assert eval_safety.english_messages("red_flags.yml", messages) == ["a"]


def test_english_misread_row_counts_english_read_as_other(
    eval_safety: ModuleType, tmp_path: Path
) -> None:
    write_suite(
        tmp_path,
        "false_alarms.yml",
        [
            {"text": "merci for the help", "class": "english_with_foreign_word"},
            {"text": "what is capecitabine", "class": "other", "lang": "en"},
        ],
    )
    write_suite(
        tmp_path,
        "crisis.yml",
        [{"text": "je veux mourir", "class": "crisis", "lang": "fr"}],
    )

    def intent(text: str) -> str | None:
        return "crisis" if "mourir" in text else None

    def language(text: str) -> str | None:
        return "other_language" if "merci" in text or "mourir" in text else None

    misses: List[str] = []
    results = eval_safety.blind_suites(intent, "t", tmp_path, misses, language)
    row = results[-1]
    assert row.measure == "english_misread_rate"
    # the French crisis message is not counted: only English ones are
    assert (row.hits, row.total) == (1, 2)
    assert row.per_class == {"false_alarms": [1, 2]}
    assert "read as another language: merci for the help" in misses
    assert not eval_safety.passes(row, {"english_misread_rate": 0.0})
    # no gate given: reported, never failing
    assert eval_safety.passes(row, {"english_misread_rate": None})
    assert eval_safety.passes(row, {})


def test_english_misread_gate_option(eval_safety: ModuleType) -> None:
    # blind suites: not gated unless the option is given
    assert eval_safety.default_gates("blind")["english_misread_rate"] is None
    with pytest.raises(SystemExit):
        # --dev-v4-english-misread-gate takes a number
        eval_safety.main(["--dev-v4-english-misread-gate", "none"])


WHOLE_NLU_GATES = REPO_ROOT / "tests" / "safety" / "whole_nlu_gates.yml"


def test_whole_nlu_gates_cover_every_suite_and_keep_recall_at_target(
    eval_safety: ModuleType,
) -> None:
    gates = eval_safety.load_model_gates(WHOLE_NLU_GATES)
    labels = {eval_safety.OWN_LABEL, *eval_safety.DEV_SUITES, *eval_safety.BLIND_SUITES}
    assert set(gates) == labels
    for label in labels - set(eval_safety.BLIND_SUITES):
        # our own and the dev suites: every red flag and crisis, whatever the classifier
        assert gates[label]["red_flag_recall"] == 1.0, label
        assert gates[label]["crisis_recall"] == 1.0, label
    makefile = (REPO_ROOT / "mk" / "safety.mk").read_text(encoding="utf-8")
    assert "--model-gates tests/safety/whole_nlu_gates.yml" in makefile


@pytest.mark.parametrize(
    "data",
    [
        {"dev-v99": {"red_flag_recall": 1.0}},  # unknown suite
        {"dev": {"red_flag_recal": 1.0}},  # a typo'd measure would switch a gate off
        {"dev": {"false_alarm_rate": 5}},  # a percentage, not a rate
        ["dev"],
    ],
)
def test_model_gates_refuse_what_would_silently_not_gate(
    eval_safety: ModuleType, tmp_path: Path, data: object
) -> None:
    path = tmp_path / "gates.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ValueError):
        eval_safety.load_model_gates(path)


def test_model_gates_are_applied(eval_safety: ModuleType) -> None:
    result = eval_safety.SuiteResult("dev false_alarms", "false_alarm_rate", 6, 100)
    assert not eval_safety.passes(result, {"false_alarm_rate": 0.05})
    assert eval_safety.passes(result, {"false_alarm_rate": 0.06})


def test_model_gates_refuse_a_suite_given_twice(
    eval_safety: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "gates.yml"
    path.write_text(
        "dev:\n  false_alarm_rate: 0.05\ndev:\n  false_alarm_rate: 0.5\n",
        encoding="utf-8",
    )
    with pytest.raises(yaml.YAMLError, match="duplicate key"):
        eval_safety.load_model_gates(path)
