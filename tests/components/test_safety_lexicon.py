"""The reviewed safety lexicon (config/safety/*.yml): every pattern's examples run
against the real screen, and a broken file fails loudly naming file, pattern and field.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import List, Tuple

import pytest

from bot.components.safety import build_screen, normalise_text
from bot.components.safety_lexicon import (
    DEFAULT_DIR,
    LexiconError,
    Pattern,
    default_lexicon,
    load_lexicon,
)
from bot.components.safety_screen import SafetyScreen
from bot.components.temperature import Reading, find_readings
from bot.components.temperature_words import TemperatureExample, TemperatureWords

LEXICON = default_lexicon()


def _patterns() -> List[Tuple[str, Pattern]]:
    found = []
    for name, pattern_file in LEXICON.pattern_files().items():
        found += [(name, p) for p in pattern_file.all_patterns()]
    # scopes.yml: anchors, vetoes, cues, ... (their whole-message examples are in
    # tests/components/test_safety_scope.py)
    found += [("scopes", p) for p in LEXICON.scopes.all_patterns()]
    return found


PATTERNS = _patterns()
POSITIVE = [(n, p, t) for n, p in PATTERNS for t in p.matches]
NEGATIVE = [(n, p, t) for n, p in PATTERNS for t in p.not_matches]


def _id(item: Tuple[str, Pattern, str]) -> str:
    return f"{item[1].id}:{item[2][:40]}"


@pytest.fixture(scope="module")
def screen() -> SafetyScreen:
    return build_screen()


def test_every_pattern_has_examples() -> None:
    assert len(PATTERNS) > 250
    assert all(p.matches and p.not_matches for _, p in PATTERNS)


def test_no_pattern_is_cut_by_a_yaml_comment() -> None:
    """An unquoted pattern with " #" (a number) is cut there by YAML, silently: the
    number and everything after it would be lost. Such patterns must be quoted."""
    for path in DEFAULT_DIR.glob("*.yml"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith(("pattern:", "- id:")):
                value = stripped.split(":", 1)[1].strip()
                if value[:1] not in ("'", '"'):
                    assert " #" not in value, f"{path.name}:{number}: quote the pattern"


@pytest.mark.parametrize("item", POSITIVE, ids=[_id(i) for i in POSITIVE])
def test_pattern_fires_on_its_examples(
    screen: SafetyScreen, item: Tuple[str, Pattern, str]
) -> None:
    name, pattern, text = item
    assert pattern.id in screen.explain(text), f"{pattern.id} did not fire"
    if name == "scopes":
        return
    result = screen.screen(text)
    found = {
        "red_flags": result.red_flags,
        "crisis": result.crisis,
        "personal_advice": result.personal_advice,
    }[name]
    if pattern.category != "exclude" and pattern in _category_patterns(name):
        # found, or found but not escalated because the message asks about the
        # symptom as a topic (topic_frames.yml)
        assert pattern.category in found + result.mentioned, f"{text!r}: {result}"


def _category_patterns(name: str) -> List[Pattern]:
    pattern_file = LEXICON.pattern_files()[name]
    return [p for group in pattern_file.categories.values() for p in group]


@pytest.mark.parametrize("item", NEGATIVE, ids=[_id(i) for i in NEGATIVE])
def test_pattern_does_not_fire_on_its_counter_examples(
    screen: SafetyScreen, item: Tuple[str, Pattern, str]
) -> None:
    _, pattern, text = item
    assert pattern.id not in screen.explain(text)


@pytest.mark.parametrize("text", LEXICON.negation_examples.matches)
def test_negation_examples_are_suppressed(screen: SafetyScreen, text: str) -> None:
    result = screen.screen(text)
    assert not result.red_flags and result.negated


@pytest.mark.parametrize("text", LEXICON.negation_examples.not_matches)
def test_negation_counter_examples_escalate(screen: SafetyScreen, text: str) -> None:
    assert screen.screen(text).red_flags


@pytest.mark.parametrize("text", LEXICON.content_examples.matches)
def test_no_content_examples(text: str) -> None:
    assert not SafetyScreen.has_content(text)


@pytest.mark.parametrize("text", LEXICON.content_examples.not_matches)
def test_content_examples(text: str) -> None:
    assert SafetyScreen.has_content(text)


@pytest.mark.parametrize("text", LEXICON.language.examples.matches)
def test_language_examples_other(screen: SafetyScreen, text: str) -> None:
    assert screen.screen(text).other_language


@pytest.mark.parametrize("text", LEXICON.language.examples.not_matches)
def test_language_examples_english(screen: SafetyScreen, text: str) -> None:
    assert not screen.screen(text).other_language


def test_typo_regex_examples(screen: SafetyScreen) -> None:
    for rule in LEXICON.typo_regexes:
        for word in rule.matches:
            assert screen._canonical(word) == rule.canonical, (rule.id, word)
        for word in rule.not_matches:
            assert screen._canonical(word) != rule.canonical, (rule.id, word)


def test_every_typo_maps_to_its_word(screen: SafetyScreen) -> None:
    assert all(screen._canonical(v) == c for v, c in LEXICON.typos.items())


TEMPERATURE_EXAMPLES = [
    (group, example)
    for group, examples in LEXICON.temperature.examples.items()
    for example in examples
]


def _readings(
    screen: SafetyScreen, text: str, words: TemperatureWords
) -> List[Reading]:
    normalised = normalise_text(text)
    norms = [t.norm_ for t in screen._doc(normalised)]
    return find_readings(normalised, norms, words)


def _reads_as(readings: List[Reading], example: TemperatureExample) -> bool:
    celsius = tuple(r.celsius for r in readings)
    strong = example.strong is None or all(r.strong == example.strong for r in readings)
    return celsius == example.celsius and strong


@pytest.mark.parametrize(
    "group, example",
    TEMPERATURE_EXAMPLES,
    ids=[f"{g}:{e.message[:40]}" for g, e in TEMPERATURE_EXAMPLES],
)
def test_temperature_examples(
    screen: SafetyScreen, group: str, example: TemperatureExample
) -> None:
    readings = _readings(screen, example.message, LEXICON.temperature)
    assert _reads_as(readings, example), (group, readings)


@pytest.mark.parametrize("group", sorted(LEXICON.temperature.examples))
def test_every_temperature_word_group_matters(screen: SafetyScreen, group: str) -> None:
    """With the group's words removed, at least one of its examples reads differently:
    the examples prove the words are used, not only that the reader agrees."""
    without = dataclasses.replace(LEXICON.temperature, **{group: frozenset()})
    examples = LEXICON.temperature.examples[group]
    assert any(
        not _reads_as(_readings(screen, e.message, without), e) for e in examples
    )


def test_every_file_is_reviewed() -> None:
    assert set(LEXICON.reviewed) == {p.name for p in DEFAULT_DIR.glob("*.yml")}
    for path in DEFAULT_DIR.glob("*.yml"):
        assert path.read_text(encoding="utf-8").startswith(
            "# yaml-language-server: $schema=./schema/"
        )


# -- broken files fail loudly ------------------------------------------------------------
def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "safety"
    shutil.copytree(DEFAULT_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_copy_loads(tmp_path: Path) -> None:
    assert load_lexicon(_copy(tmp_path)).red_flags.categories


def test_missing_examples_name_file_pattern_and_field(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit(folder / "red_flags.yml", "    not_matches:\n    - what is CAPTEM?\n", "")
    with pytest.raises(LexiconError) as info:
        load_lexicon(folder)
    message = str(info.value)
    assert "red_flags.yml" in message and "temperature_01" in message
    assert "not_matches" in message


def test_unknown_macro_is_named(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit(
        folder / "red_flags.yml",
        "pattern: temperature|temperatures",
        "pattern: '@NOPE'",
    )
    with pytest.raises(LexiconError, match=r"temperature_01.*pattern.*@NOPE"):
        load_lexicon(folder)


def test_missing_review_date(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit(folder / "crisis.yml", "reviewed: '2026-12-01'\n", "")
    with pytest.raises(LexiconError, match=r"crisis.yml.*reviewed"):
        load_lexicon(folder)


def test_bad_pattern_syntax_fails_at_compile(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit(
        folder / "red_flags.yml", "pattern: temperature|temperatures", "pattern: 'a|#?'"
    )
    lexicon = load_lexicon(folder)
    with pytest.raises(LexiconError, match=r"red_flags.yml, pattern 'temperature_01'"):
        SafetyScreen(37.5, lexicon=lexicon)


def test_missing_schema_line(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit(
        folder / "negation.yml",
        "# yaml-language-server: $schema=./schema/negation.json",
        "#",
    )
    with pytest.raises(LexiconError, match="negation.yml"):
        load_lexicon(folder)
