"""Review report for the knowledge base: what to review next.

Usage: ``python scripts/kb_report.py [--kb DIR] [--today YYYY-MM-DD] [--strict]``
(or ``make kb-report``, ``make kb-report TODAY=2027-12-02``).

Prints:

1. every entry by review age, oldest first, with its reviewer role; entries last reviewed
   more than 12 months before ``--today`` are flagged ``OVERDUE``;
2. claims without a source: an answer or facet whose source is missing or unknown
   (the loader refuses these, so this should say "none"), and sources with no address;
3. claims resting only on the seed article (a patient blog): a reviewer should find a
   public reference for them;
4. the ten hardest texts by reading level (see ``scripts/check_kb.py``).

Exit status is 0, or 1 with ``--strict`` when an entry is overdue or a claim is unsourced.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.loader import DEFAULT_KB_DIR, KBError, read_kb  # noqa: E402
from kb.model import KnowledgeBase  # noqa: E402
from scripts.check_kb import format_grades, reading_grades  # noqa: E402

MAX_AGE_MONTHS = 12
SEED = "seed"


@dataclass(frozen=True)
class ReviewRow:
    """One entry's review state."""

    entry: str
    reviewed: dt.date
    reviewed_by: str
    age_days: int
    overdue: bool


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (29 Feb -> 28 Feb)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - every month has a 28th


def review_rows(kb: KnowledgeBase, today: dt.date) -> list[ReviewRow]:
    """Every entry's review date, oldest first; overdue if older than 12 months."""
    limit = months_before(today, MAX_AGE_MONTHS)
    rows = []
    for entry in kb.entries.values():
        reviewed = dt.date.fromisoformat(entry.reviewed)
        rows.append(
            ReviewRow(
                entry=entry.id,
                reviewed=reviewed,
                reviewed_by=entry.reviewed_by,
                age_days=(today - reviewed).days,
                overdue=reviewed < limit,
            )
        )
    return sorted(rows, key=lambda r: (r.reviewed, r.entry))


def unsourced_claims(kb: KnowledgeBase) -> list[str]:
    """Answers and facets with no known source, and sources with no address."""
    problems: list[str] = []
    for entry in sorted(kb.entries.values(), key=lambda e: e.id):
        known = [s for s in entry.sources if s in kb.sources]
        if not known:
            problems.append(f"{entry.id}: answer has no known source")
        for name, facet in sorted(entry.facets.items()):
            if facet.source not in kb.sources or facet.source not in entry.sources:
                problems.append(
                    f"{entry.id}: facets.{name} cites '{facet.source}', "
                    "which is not among the entry's sources"
                )
    for source in sorted(kb.sources.values(), key=lambda s: s.id):
        if source.id != SEED and not source.url:
            problems.append(f"source {source.id}: no address (url or doi)")
        if not source.year:
            problems.append(f"source {source.id}: no year")
    return problems


def seed_only_claims(kb: KnowledgeBase) -> list[str]:
    """Answers and facets whose only support is the seed article."""
    found: list[str] = []
    for entry in sorted(kb.entries.values(), key=lambda e: e.id):
        if set(entry.sources) == {SEED}:
            found.append(f"{entry.id}: answer")
        for name, facet in sorted(entry.facets.items()):
            if facet.source == SEED:
                found.append(f"{entry.id}: facets.{name}")
    return found


def report(kb: KnowledgeBase, today: dt.date) -> list[str]:
    """The report as lines of text."""
    rows = review_rows(kb, today)
    overdue = [r for r in rows if r.overdue]
    lines = [
        f"KB review report for {today.isoformat()}: {len(kb.entries)} entries, "
        f"{len(kb.sources)} sources",
        "",
        f"1. Entries by review age, oldest first ({len(overdue)} over "
        f"{MAX_AGE_MONTHS} months):",
    ]
    for r in rows:
        flag = "  OVERDUE" if r.overdue else ""
        lines.append(
            f"  {r.reviewed.isoformat()}  {r.age_days:4d} days  {r.entry:24s} "
            f"{r.reviewed_by}{flag}"
        )
    missing = unsourced_claims(kb)
    lines += ["", f"2. Claims without a source: {len(missing) or 'none'}"]
    lines += [f"  {p}" for p in missing]
    seed_only = seed_only_claims(kb)
    lines += [
        "",
        f"3. Claims resting only on the seed article: {len(seed_only)} "
        "(find a public reference when reviewing)",
    ]
    lines += [f"  {c}" for c in seed_only]
    lines += ["", "4. Hardest texts to read (US grade, Flesch-Kincaid):"]
    lines += format_grades(reading_grades(kb))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report; with ``--strict``, 1 if anything is overdue or unsourced."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=DEFAULT_KB_DIR)
    parser.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        default=dt.date.today(),
        help="report as of this date (YYYY-MM-DD); default: today",
    )
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args(argv)
    try:
        kb = read_kb(args.kb)
    except KBError as exc:
        print(f"KB error: {exc}")
        return 1
    for line in report(kb, args.today):
        print(line)
    bad = any(r.overdue for r in review_rows(kb, args.today)) or unsourced_claims(kb)
    return 1 if args.strict and bad else 0


if __name__ == "__main__":
    sys.exit(main())
