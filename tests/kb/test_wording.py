"""KB text is written in our own words: no ten-word run copied from the seed article."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.check_kb import DEFAULT_SEED, copied_runs

ROOT = Path(__file__).resolve().parents[2]


def test_copy_check_detects_copying(tmp_path: Path) -> None:
    seed = tmp_path / "seed.txt"
    seed.write_text("one two three four five six seven eight nine ten eleven twelve")
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "a.yml").write_text(
        "answer: two three four five six seven eight nine ten eleven"
    )
    (kb / "b.yml").write_text("answer: two three four five six seven eight nine ten")
    assert copied_runs(kb, seed) == {"kb/a.yml": 1}


@pytest.mark.skipif(
    not DEFAULT_SEED.exists(), reason="seed article not beside the repo"
)
def test_kb_copies_no_seed_wording() -> None:
    assert copied_runs(ROOT / "kb", DEFAULT_SEED) == {}
