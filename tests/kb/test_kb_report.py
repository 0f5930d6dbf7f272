"""The KB review report: review age (12-month flag, injectable date) and unsourced claims."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
import yaml

from kb import read_kb
from scripts.kb_report import (
    main,
    months_before,
    report,
    review_rows,
    seed_only_claims,
    unsourced_claims,
)


def _set_reviewed(tmp_kb_dir: Path, entry: str, date: str) -> None:
    path = tmp_kb_dir / "entries" / f"{entry}.yml"
    data = yaml.safe_load(path.read_text())
    data["reviewed"] = date
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_months_before_handles_month_ends() -> None:
    assert months_before(dt.date(2027, 12, 1), 12) == dt.date(2026, 12, 1)
    assert months_before(dt.date(2028, 2, 29), 12) == dt.date(2027, 2, 28)
    assert months_before(dt.date(2027, 3, 31), 1) == dt.date(2027, 2, 28)


def test_entries_over_12_months_are_flagged(tmp_kb_dir: Path) -> None:
    _set_reviewed(tmp_kb_dir, "captem", "2025-11-30")
    _set_reviewed(tmp_kb_dir, "tace", "2025-12-01")
    kb = read_kb(tmp_kb_dir)
    rows = review_rows(kb, today=dt.date(2026, 12, 1))
    assert rows[0].entry == "captem" and rows[0].overdue
    assert rows[0].age_days == 366
    tace = next(r for r in rows if r.entry == "tace")
    assert not tace.overdue  # exactly 12 months: due, not yet overdue
    assert [r.entry for r in rows if r.overdue] == ["captem"]
    assert rows == sorted(rows, key=lambda r: (r.reviewed, r.entry))


def test_the_same_kb_is_overdue_a_year_later(real_kb) -> None:
    now = review_rows(real_kb, today=dt.date(2026, 12, 1))
    later = review_rows(real_kb, today=dt.date(2028, 1, 1))
    assert not any(r.overdue for r in now)
    assert all(r.overdue for r in later)


def test_unsourced_claims_are_listed(real_kb) -> None:
    assert unsourced_claims(real_kb) == []
    entry = real_kb.entries["captem"]
    facet = dataclasses.replace(entry.facets["how_given"], source="nowhere")
    broken_entry = dataclasses.replace(
        entry, sources=("gone",), facets={**entry.facets, "how_given": facet}
    )
    source = dataclasses.replace(real_kb.sources["cruk_ssa"], url=None)
    broken = dataclasses.replace(
        real_kb,
        entries={**real_kb.entries, "captem": broken_entry},
        sources={**real_kb.sources, "cruk_ssa": source},
    )
    problems = unsourced_claims(broken)
    assert "captem: answer has no known source" in problems
    assert any("captem: facets.how_given cites 'nowhere'" in p for p in problems)
    assert "source cruk_ssa: no address (url or doi)" in problems


def test_seed_only_claims(real_kb) -> None:
    claims = seed_only_claims(real_kb)
    assert "captem: facets.how_given" in claims
    assert "adjuvant: answer" not in claims  # adjuvant cites public sources too


def test_report_lines_and_strict_exit(
    tmp_kb_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_reviewed(tmp_kb_dir, "captem", "2020-01-01")
    lines = report(read_kb(tmp_kb_dir), dt.date(2026, 12, 1))
    text = "\n".join(lines)
    assert "(1 over 12 months)" in text
    assert "captem" in lines[3] and lines[3].endswith("OVERDUE")
    assert "2. Claims without a source: none" in text
    assert "4. Hardest texts to read" in text
    args = ["--kb", str(tmp_kb_dir), "--today", "2026-12-01"]
    assert main(args) == 0
    assert main([*args, "--strict"]) == 1
    assert "OVERDUE" in capsys.readouterr().out
