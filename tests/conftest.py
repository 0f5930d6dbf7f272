"""Shared fixtures: a small temporary KB, the real KB, the real domain."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Callable, Dict

import pytest
import yaml

from kb import KnowledgeBase, read_kb

ROOT = Path(__file__).resolve().parents[1]
REAL_KB = ROOT / "kb"


def write(path: Path, text: str) -> Path:
    """Write dedented text to ``path``, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def tmp_kb_dir(tmp_path: Path) -> Path:
    """A copy of the real KB that a test may break."""
    target = tmp_path / "kb"
    shutil.copytree(
        REAL_KB, target, ignore=shutil.ignore_patterns("*.py", "__pycache__")
    )
    return target


@pytest.fixture(scope="session")
def real_kb() -> KnowledgeBase:
    """The project's KB, read once."""
    return read_kb(REAL_KB)


@pytest.fixture(scope="session")
def domain() -> Dict:
    """The real domain, merged from bot/domain/*.yml as a plain dict (as rasa_sdk sees it)."""
    merged: Dict = {"responses": {}, "intents": [], "slots": {}, "actions": []}
    for path in sorted((ROOT / "bot" / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        merged["responses"].update(data.get("responses") or {})
        merged["intents"].extend(data.get("intents") or [])
        merged["slots"].update(data.get("slots") or {})
        merged["actions"].extend(data.get("actions") or [])
    return merged


@pytest.fixture
def disclaimer_name() -> str:
    """The one response that carries the disclaimer and specialist pointer."""
    return "utter_disclaimer"


@pytest.fixture
def make_entry(tmp_kb_dir: Path) -> Callable[..., Path]:
    """Write an entry file into the temporary KB."""

    def _make(name: str, text: str) -> Path:
        return write(tmp_kb_dir / "entries" / f"{name}.yml", text)

    return _make
