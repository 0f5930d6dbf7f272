"""Check the knowledge base: schema (``kb.read_kb``), wording and reading level.

Usage: ``python scripts/check_kb.py [--partial] [--seed PATH] [--kb DIR] [--max-grade N]``.

- Schema: every file loads (``--partial`` validates each entry file on its own, for work in
  progress where related entries may not exist yet).
- Wording: no KB file copies ten words in a row from the seed article.
- Reading level: every patient-facing text (answer, detail, facets, questions for the team)
  is at or below US grade ``--max-grade`` (default 8, about age 13) by the Flesch-Kincaid
  formula (``textstat``). Drug and topic names (every KB name, brand, abbreviation and
  misspelling) count as one short word, since patients need those words whatever we do.
  The ten hardest texts are printed.

Exits 1 and prints file/entry/field on any problem.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import textstat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.loader import (
    DEFAULT_KB_DIR,
    KBError,
    read_entry,
    read_kb,
    read_sources,
)  # noqa: E402
from kb.model import KnowledgeBase  # noqa: E402

DEFAULT_SEED = ROOT.parent / "shared" / "seed" / "000_fdb944165978fa01.txt"
RUN = 10  # words in a row that count as copying
MAX_GRADE = 8.0  # US school grade; 8 is about age 13
NAME_WORD = "drug"  # what a drug or topic name counts as: one short word
WORST = 10


@dataclass(frozen=True)
class Grade:
    """The reading grade of one patient-facing text."""

    grade: float
    entry: str
    field: str
    path: str


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def copied_runs(kb_dir: Path, seed_path: Path, run: int = RUN) -> dict[str, int]:
    """Files in ``kb_dir`` that share ``run``-word sequences with the seed, with counts."""
    seed = _words(seed_path.read_text(encoding="utf-8"))
    grams = {tuple(seed[i : i + run]) for i in range(len(seed) - run + 1)}
    found: dict[str, int] = {}
    for path in sorted(kb_dir.rglob("*")):
        if path.suffix in {".yml", ".yaml", ".md", ".json"}:
            words = _words(path.read_text(encoding="utf-8"))
            hits = sum(
                tuple(words[i : i + run]) in grams for i in range(len(words) - run + 1)
            )
            if hits:
                found[str(path.relative_to(kb_dir.parent))] = hits
    return found


def name_pattern(kb: KnowledgeBase) -> re.Pattern[str]:
    """A pattern for every KB term (longest first), matched as whole words."""
    terms = {term for entry in kb.entries.values() for term, _ in entry.terms()}
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


def grade_level(text: str, names: re.Pattern[str] | None = None) -> float:
    """US grade level (Flesch-Kincaid) of ``text``, with KB names as one short word."""
    plain = names.sub(NAME_WORD, text) if names is not None else text
    return float(textstat.flesch_kincaid_grade(plain))


def patient_texts(kb: KnowledgeBase) -> Iterator[tuple[str, str, str, str]]:
    """Every patient-facing KB text as ``(entry id, field, text, path)``."""
    for entry in sorted(kb.entries.values(), key=lambda e: e.id):
        yield entry.id, "answer", entry.answer, entry.path
        if entry.detail:
            yield entry.id, "detail", entry.detail, entry.path
        for name, facet in entry.facets.items():
            yield entry.id, f"facets.{name}", facet.text, entry.path
        if entry.questions_for_team:
            questions = " ".join(entry.questions_for_team)
            yield entry.id, "questions_for_team", questions, entry.path


def reading_grades(kb: KnowledgeBase) -> list[Grade]:
    """The grade of every patient-facing text, hardest first."""
    names = name_pattern(kb)
    grades = [
        Grade(round(grade_level(text, names), 1), eid, field, path)
        for eid, field, text, path in patient_texts(kb)
    ]
    return sorted(grades, key=lambda g: (-g.grade, g.entry, g.field))


def format_grades(grades: Sequence[Grade], limit: int = WORST) -> list[str]:
    """Lines for the hardest ``limit`` texts."""
    return [f"  {g.grade:5.1f}  {g.entry}: {g.field}" for g in grades[:limit]]


def check_reading_level(kb: KnowledgeBase, max_grade: float) -> int:
    """Print the worst ten and every text over ``max_grade``; return the number over."""
    grades = reading_grades(kb)
    over = [g for g in grades if g.grade > max_grade]
    print(
        f"Reading level (US grade, Flesch-Kincaid, names as one word): "
        f"{len(grades)} texts, hardest {WORST}:"
    )
    for line in format_grades(grades):
        print(line)
    for g in over:
        print(
            f"Too hard to read: {g.path}, entry '{g.entry}', field '{g.field}': "
            f"US grade {g.grade} is above {max_grade:g}; use shorter sentences and words"
        )
    return len(over)


def _print_kb_error(exc: KBError) -> int:
    """Print every problem a KB error carries (all schema problems of one file)."""
    lines = [str(p) for p in exc.problems] or [str(exc)]
    for line in lines:
        print(f"KB error: {line}")
    return len(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every check; 0 if the KB is fine, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partial", action="store_true")
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED)
    parser.add_argument("--kb", type=Path, default=DEFAULT_KB_DIR)
    parser.add_argument("--max-grade", type=float, default=MAX_GRADE)
    args = parser.parse_args(argv)
    problems = 0
    try:
        if args.partial:
            sources = read_sources(args.kb)
            for path in sorted((args.kb / "entries").glob("*.yml")):
                try:
                    read_entry(path, sources)
                except KBError as exc:
                    problems += _print_kb_error(exc)
        else:
            kb = read_kb(args.kb)
            print(f"KB ok: {len(kb.entries)} entries, {len(kb.sources)} sources")
            problems += check_reading_level(kb, args.max_grade)
    except KBError as exc:
        problems += _print_kb_error(exc)
    if args.seed.exists():
        for name, hits in copied_runs(args.kb, args.seed).items():
            problems += 1
            print(
                f"Copied wording: {name} shares {hits} runs of {RUN} words with the seed"
            )
    else:
        print(f"(seed article not found at {args.seed}; wording check skipped)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
