"""kb/strict_yaml.py: duplicate keys are refused, everywhere reviewed YAML is read."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.components.safety_lexicon import LexiconError, load_lexicon
from bot.settings import SettingsError, load_settings
from kb import strict_yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_loads_like_safe_load() -> None:
    text = "a: 1\nb:\n  c: [x, y]\n  d: {e: 2}\n"
    assert strict_yaml.load(text) == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",
        "substrings:\n  no_urine: [a]\n  other: [b]\n  no_urine: [c]\n",
        "- {x: 1, x: 2}\n",
    ],
)
def test_duplicate_keys_are_refused_with_the_line(text: str) -> None:
    with pytest.raises(yaml.YAMLError, match="duplicate key"):
        strict_yaml.load(text)


def test_the_same_key_in_two_mappings_is_fine() -> None:
    assert strict_yaml.load("- {x: 1}\n- {x: 2}\n") == [{"x": 1}, {"x": 2}]


def test_the_lexicon_refuses_a_duplicate_key(tmp_path: Path) -> None:
    source = REPO_ROOT / "config" / "safety"
    for path in source.glob("*.yml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"))
    (tmp_path / "schema").symlink_to(source / "schema")
    negation = tmp_path / "negation.yml"
    text = negation.read_text(encoding="utf-8")
    negation.write_text(text + "\nversion: 1\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="duplicate key"):
        load_lexicon(tmp_path)


def test_the_settings_refuse_a_duplicate_key(tmp_path: Path) -> None:
    path = tmp_path / "safety.yml"
    path.write_text(
        "red_flags:\n  temperature_threshold_c: 38.0\n"
        "red_flags:\n  temperature_threshold_c: 37.5\n",
        encoding="utf-8",
    )
    with pytest.raises(SettingsError, match="duplicate key"):
        load_settings(path)


def test_the_domain_responses_refuse_a_duplicate_key(tmp_path: Path) -> None:
    from bot.responses import load_responses

    domain = tmp_path / "domain"
    domain.mkdir()
    (domain / "a.yml").write_text(
        'responses:\n  utter_x:\n  - text: "one"\n  utter_x:\n  - text: "two"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="duplicate key"):
        load_responses(domain)
