"""The reading-level gate: every patient-facing KB text is at or below US grade 8."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb import read_kb
from scripts.check_kb import (
    MAX_GRADE,
    grade_level,
    main,
    name_pattern,
    patient_texts,
    reading_grades,
)

LONG_WINDED = (
    "Notwithstanding the considerable heterogeneity characterising neuroendocrine "
    "neoplasia, multidisciplinary consideration of individualised therapeutic "
    "alternatives, incorporating cytotoxic, radiopharmaceutical and biological "
    "modalities, remains fundamentally indispensable, particularly whenever "
    "radiological progression necessitates reconsideration of previously established "
    "management strategies."
)


def test_names_count_as_one_short_word(real_kb) -> None:
    names = name_pattern(real_kb)
    text = "Capecitabine and temozolomide are taken together as CAPTEM."
    assert grade_level(text, names) < grade_level(text)
    assert names.sub("drug", "Is 5-FU the same as fluorouracil?") == (
        "Is drug the same as drug?"
    )
    # Only whole words: "carbo" is a name, "carbohydrate" is not.
    assert "carbohydrate" in names.sub("drug", "carbohydrate")


def test_every_patient_facing_text_is_checked(real_kb) -> None:
    fields = {(eid, field) for eid, field, _, _ in patient_texts(real_kb)}
    assert ("captem", "answer") in fields
    assert ("captem", "detail") in fields
    assert ("capecitabine", "facets.side_effects") in fields
    assert ("captem", "questions_for_team") in fields


def test_the_real_kb_reads_at_grade_8_or_below(real_kb) -> None:
    worst = reading_grades(real_kb)[0]
    assert worst.grade <= MAX_GRADE, worst


def test_gate_fails_on_a_long_winded_entry(
    make_entry, tmp_kb_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_entry(
        "wordy",
        f"""
        id: wordy
        title: Wordy
        kind: concept
        names: [wordy topic]
        answer: >
          {LONG_WINDED}
        sources: [seed]
        reviewed: 2026-12-01
        reviewed_by: content reviewer
        questions_for_team: ["Is this for me?", "What happens next?"]
        """,
    )
    kb = read_kb(tmp_kb_dir)
    assert reading_grades(kb)[0].entry == "wordy"
    assert main(["--kb", str(tmp_kb_dir), "--seed", str(tmp_kb_dir / "none")]) == 1
    out = capsys.readouterr().out
    assert "wordy.yml, entry 'wordy', field 'answer'" in out
    assert "hardest 10:" in out and "wordy: answer" in out


def test_gate_passes_the_real_kb(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    worst = [line for line in lines if line.startswith("  ") and ": " in line]
    assert len(worst) == 10
