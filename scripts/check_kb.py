"""Check the knowledge base: schema (``kb.read_kb``) and wording (no copying from the seed).

Usage: ``python scripts/check_kb.py [--partial] [--seed PATH]``.
``--partial`` validates each entry file on its own (for work in progress, where related
entries may not exist yet). Exits 1 and prints file/entry/field on any problem.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.loader import (
    DEFAULT_KB_DIR,
    KBError,
    _load_entry,
    _load_sources,
    read_kb,
)  # noqa: E402, I001

DEFAULT_SEED = ROOT.parent / "shared" / "seed" / "000_fdb944165978fa01.txt"
RUN = 10  # words in a row that count as copying


def _words(text: str) -> List[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def copied_runs(kb_dir: Path, seed_path: Path, run: int = RUN) -> Dict[str, int]:
    """Files in ``kb_dir`` that share ``run``-word sequences with the seed, with counts."""
    seed = _words(seed_path.read_text(encoding="utf-8"))
    grams = {tuple(seed[i : i + run]) for i in range(len(seed) - run + 1)}
    found: Dict[str, int] = {}
    for path in sorted(kb_dir.rglob("*")):
        if path.suffix in {".yml", ".yaml", ".md", ".json"}:
            words = _words(path.read_text(encoding="utf-8"))
            hits = sum(
                tuple(words[i : i + run]) in grams for i in range(len(words) - run + 1)
            )
            if hits:
                found[str(path.relative_to(kb_dir.parent))] = hits
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--partial", action="store_true")
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED)
    parser.add_argument("--kb", type=Path, default=DEFAULT_KB_DIR)
    args = parser.parse_args()
    problems = 0
    try:
        if args.partial:
            sources = _load_sources(args.kb)
            for path in sorted((args.kb / "entries").glob("*.yml")):
                try:
                    _load_entry(path, sources)
                except KBError as exc:
                    problems += 1
                    print(f"KB error: {exc}")
        else:
            kb = read_kb(args.kb)
            print(f"KB ok: {len(kb.entries)} entries, {len(kb.sources)} sources")
    except KBError as exc:
        problems += 1
        print(f"KB error: {exc}")
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
