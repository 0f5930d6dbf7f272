"""Per-entry counts of "helpful" / "not helpful" votes, worst first, for KB reviewers.

Usage: ``python -m scripts.feedback_report [--db PATH_OR_URL] [--facets]``
(``make feedback-report``). The database is the one the action server writes
(``actions/feedback_store.py``: ``FEEDBACK_DB``, else ``var/feedback.db``). Entries with the
most "not helpful" votes come first, so reviewers know what to fix first.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from actions import feedback_store
from bot import warnings_filter
from kb import load_kb


def render(rows: Sequence[feedback_store.EntryCounts], titles: dict) -> list[str]:
    """The report's lines: a header, one line per entry (or entry and facet), totals."""
    if not rows:
        return ["No feedback recorded yet."]
    lines = [f"{'not helpful':>11}  {'helpful':>7}  {'% not':>5}  entry"]
    for row in rows:
        total = row.up + row.down
        share = f"{100 * row.down / total:.0f}%" if total else "-"
        name = f"{row.kb_id} ({titles.get(row.kb_id, 'no longer in the KB')})"
        if row.facet:
            name += f", {row.facet}"
        lines.append(f"{row.down:>11}  {row.up:>7}  {share:>5}  {name}")
    up, down = sum(r.up for r in rows), sum(r.down for r in rows)
    lines.append(f"{down:>11}  {up:>7}  {'':>5}  total ({len(rows)} rows)")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report; 0 on success, 1 if the database cannot be read."""
    warnings_filter.install()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", help="database file or SQLAlchemy URL (default: FEEDBACK_DB)"
    )
    parser.add_argument(
        "--facets", action="store_true", help="one line per entry and facet"
    )
    args = parser.parse_args(argv)
    url = feedback_store.database_url(args.db)
    try:
        rows = feedback_store.counts(url, by_facet=args.facets)
    except Exception as error:  # noqa: BLE001 (reported, not swallowed)
        sys.stderr.write(f"feedback report: cannot read the database: {error}\n")
        return 1
    titles = {e.id: e.title for e in load_kb().entries.values()}
    sys.stdout.write("\n".join(render(rows, titles)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
