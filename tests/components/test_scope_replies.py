"""Scope replies say honestly what the assistant is and what it cannot help with (issue 11)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict

import yaml

DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain"


@functools.lru_cache(maxsize=1)
def responses() -> Dict[str, str]:
    """Every domain response's first text, by name."""
    out: Dict[str, str] = {}
    for path in DOMAIN.glob("*.yml"):
        data = yaml.safe_load(path.read_text()) or {}
        for name, variants in (data.get("responses") or {}).items():
            text = next((v["text"] for v in variants if "text" in v), "")
            out[name] = " ".join(text.split())
    return out


def test_crisis_reply_says_it_is_automated_and_points_to_a_person() -> None:
    text = responses()["utter_crisis"]
    assert "automated information service" in text
    assert "not a person" in text
    assert "talking to a person" in text
    assert "{crisis_line}" in text and "{emergency_number}" in text


def test_out_of_scope_reply_is_honest_about_scope() -> None:
    text = responses()["utter_out_of_scope"]
    assert "outside what I can help with" in text
    assert "didn't quite get" not in text
