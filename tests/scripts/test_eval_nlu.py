"""scripts/eval_nlu.py: report names and per-file gates (make test-nlu runs the rest)."""

from __future__ import annotations

import argparse
from pathlib import Path

from scripts import eval_nlu


def test_two_sets_with_one_file_name_get_two_reports() -> None:
    first = eval_nlu.report_name(Path("tests/nlu_blind/heldout_blind.yml"))
    second = eval_nlu.report_name(Path("tests/nlu_blind_v2/heldout_blind.yml"))
    assert first != second
    assert second == "nlu_blind_v2-heldout_blind"


def test_gates_take_one_value_per_file_or_one_for_all() -> None:
    args = argparse.Namespace(
        min_accuracy=[0.97, 0.91], min_macro_f1=None, max_button_rate=[0.02]
    )
    assert eval_nlu.gates(args, 1)["intent_accuracy"] == 0.91
    assert eval_nlu.gates(args, 0)["button_rate"] == 0.02
    assert eval_nlu.gates(args, 1)["button_rate"] == 0.02
    assert (
        eval_nlu.gates(args, 0)["intent_macro_f1"]
        == eval_nlu.THRESHOLDS["intent_macro_f1"]
    )
