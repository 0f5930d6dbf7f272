"""``make feedback-report``: counts per entry, most "not helpful" first."""

from __future__ import annotations

from pathlib import Path

from actions import feedback_store
from scripts import feedback_report


def test_report_lists_worst_entry_first(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    for kb_id, vote in [("captem", "up"), ("prrt", "down"), ("prrt", "down")]:
        feedback_store.record(feedback_store.Vote(kb_id, "what_is", vote, "rest"), url)
    assert feedback_report.main(["--db", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "not helpful" in lines[0]
    assert lines[1].split()[:3] == ["2", "0", "100%"] and "prrt" in lines[1]
    assert "captem" in lines[2]
    assert lines[-1].split()[:2] == ["2", "1"]


def test_report_on_an_empty_database(tmp_path: Path, capsys) -> None:
    assert feedback_report.main(["--db", str(tmp_path / "none.db")]) == 0
    assert "No feedback" in capsys.readouterr().out
