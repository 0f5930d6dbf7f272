"""Load and validate the safety lexicon: the reviewed YAML files in ``config/safety/``.

The wording that decides whether a message is a red flag, a crisis, a personal-advice
question or not English lives in those files (each with a JSON Schema in
``config/safety/schema/``, a ``reviewed`` date and ``reviewed_by`` role); this module
only reads them. A broken file fails loudly at load, naming the file, the pattern id and
the field: ``config/safety/red_flags.yml, pattern 'fever_02', field 'pattern': ...``.

The directory can be overridden with the environment variable ``NETCHEMO_SAFETY_LEXICON``
(a relative path is resolved from the repo root).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Mapping, Tuple

import jsonschema
import yaml

from bot.components.temperature_words import TemperatureWords, temperature_words
from kb import strict_yaml

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO_ROOT / "config" / "safety"
ENV_VAR = "NETCHEMO_SAFETY_LEXICON"
_MACRO_RE = re.compile(r"@([A-Z][A-Z_]*)")

# file -> schema file
FILES: Dict[str, str] = {
    "macros.yml": "macros.json",
    "typos.yml": "typos.json",
    "red_flags.yml": "patterns.json",
    "crisis.yml": "patterns.json",
    "personal_advice.yml": "patterns.json",
    "negation.yml": "negation.json",
    "content_words.yml": "words.json",
    "language.yml": "language.json",
    "topic_frames.yml": "frames.json",
    "scopes.yml": "scopes.json",
    "temperature.yml": "temperature.json",
}


class LexiconError(ValueError):
    """A safety lexicon file is missing, malformed or inconsistent."""

    def __init__(
        self,
        path: Path,
        message: str,
        pattern_id: str | None = None,
        field_name: str | None = None,
    ) -> None:
        where = _display(path)
        if pattern_id:
            where += f", pattern {pattern_id!r}"
        if field_name:
            where += f", field {field_name!r}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.pattern_id = pattern_id
        self.field_name = field_name


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Pattern:
    """One pattern line with its examples."""

    id: str
    category: str
    pattern: str
    matches: Tuple[str, ...]
    not_matches: Tuple[str, ...]
    source: Path


@dataclass(frozen=True)
class PatternFile:
    """A red_flags / crisis / personal_advice file."""

    categories: Dict[str, Tuple[Pattern, ...]]
    negatable: Dict[str, Tuple[Pattern, ...]] = field(default_factory=dict)
    exclusions: Tuple[Pattern, ...] = ()
    substrings: Dict[str, Tuple[str, ...]] = field(default_factory=dict)

    def all_patterns(self) -> List[Pattern]:
        """Every pattern of the file, in definition order."""
        found = [p for group in self.categories.values() for p in group]
        found += [p for group in self.negatable.values() for p in group]
        return found + list(self.exclusions)


@dataclass(frozen=True)
class TypoRegex:
    """A regular expression for one word's many misspellings."""

    id: str
    canonical: str
    regex: re.Pattern
    min_length: int
    max_length: int
    matches: Tuple[str, ...]
    not_matches: Tuple[str, ...]


@dataclass(frozen=True)
class Examples:
    """Messages a word list or setting must (``matches``) and must not affect."""

    matches: Tuple[str, ...]
    not_matches: Tuple[str, ...]


@dataclass(frozen=True)
class LanguageSettings:
    """How the other-language check is configured (language.yml)."""

    languages: Tuple[str, ...]
    max_english_confidence: float
    non_latin_share: float
    english_words: FrozenSet[str]
    examples: Examples
    # a message judged not English is English after all if one of its sentences with at
    # least this many words is English at this confidence (0 words: not checked)
    english_sentence_words: int = 0
    english_sentence_confidence: float = 1.0


@dataclass(frozen=True)
class Frame:
    """A symptom-as-topic frame (topic_frames.yml): word groups, not sequences."""

    id: str
    allow_first_person: bool
    single_symptom: bool
    starts_with: FrozenSet[str]
    all_of: Tuple[FrozenSet[str], ...]
    none_of: FrozenSet[str]
    matches: Tuple[str, ...]
    not_matches: Tuple[str, ...]


@dataclass(frozen=True)
class Frames:
    """All frames plus the shared word lists."""

    first_person: FrozenSet[str]
    other_owners: FrozenSet[str]
    now_words: FrozenSet[str]
    now_pairs: FrozenSet[Tuple[str, str]]
    symptom_words: FrozenSet[str]
    frames: Tuple[Frame, ...]


@dataclass(frozen=True)
class ScopeSpec:
    """Past and hypothetical clause scopes (scopes.yml)."""

    clause_breaks: FrozenSet[str]
    question_words: FrozenSet[str]
    past_anchors: Tuple[Pattern, ...]
    past_recent_anchors: Tuple[Pattern, ...]
    past_resolutions: Tuple[Pattern, ...]
    past_vetoes: Tuple[Pattern, ...]
    past_neutral: Tuple[Pattern, ...]
    past_examples: Examples
    hypothetical_cues: Tuple[Pattern, ...]
    hypothetical_ends: Tuple[Pattern, ...]
    hypothetical_vetoes: Tuple[Pattern, ...]
    hypothetical_soft_vetoes: Tuple[Pattern, ...]
    hypothetical_general: Tuple[Pattern, ...]
    threshold_words: FrozenSet[str]
    hypothetical_examples: Examples
    hypothetical_exceptions: Tuple[Pattern, ...] = ()
    other_subjects: Tuple[Pattern, ...] = ()
    other_children: Tuple[Pattern, ...] = ()
    other_not_patient: Tuple[Pattern, ...] = ()
    other_self_not_patient: Tuple[Pattern, ...] = ()
    other_outsiders: Tuple[Pattern, ...] = ()
    past_back_anchors: Tuple[Pattern, ...] = ()
    other_child_causes: Tuple[Pattern, ...] = ()
    other_vetoes: Tuple[Pattern, ...] = ()
    other_cause_vetoes: Tuple[Pattern, ...] = ()
    other_pronouns: FrozenSet[str] = frozenset()
    other_references: FrozenSet[str] = frozenset()
    other_first_person: FrozenSet[str] = frozenset()
    other_openers: FrozenSet[str] = frozenset()
    other_categories: FrozenSet[str] = frozenset()
    other_examples: Examples = Examples((), ())

    def all_patterns(self) -> List[Pattern]:
        """Every scope pattern, in definition order."""
        return [
            *self.past_anchors,
            *self.past_recent_anchors,
            *self.past_resolutions,
            *self.past_vetoes,
            *self.past_neutral,
            *self.hypothetical_cues,
            *self.hypothetical_ends,
            *self.hypothetical_vetoes,
            *self.hypothetical_soft_vetoes,
            *self.hypothetical_general,
            *self.hypothetical_exceptions,
            *self.other_subjects,
            *self.other_children,
            *self.other_not_patient,
            *self.other_self_not_patient,
            *self.other_outsiders,
            *self.past_back_anchors,
            *self.other_child_causes,
            *self.other_vetoes,
            *self.other_cause_vetoes,
        ]


@dataclass(frozen=True)
class Lexicon:
    """The whole safety lexicon, validated."""

    directory: Path
    macros: Dict[str, str]
    typos: Dict[str, str]
    typo_regexes: Tuple[TypoRegex, ...]
    red_flags: PatternFile
    crisis: PatternFile
    personal_advice: PatternFile
    negation_cues: FrozenSet[str]
    negation_fillers: FrozenSet[str]
    negation_window: int
    negation_examples: Examples
    no_content_words: FrozenSet[str]
    content_examples: Examples
    language: LanguageSettings
    frames: Frames
    scopes: ScopeSpec
    temperature: TemperatureWords
    reviewed: Dict[str, str]

    def pattern_files(self) -> Dict[str, PatternFile]:
        """name -> pattern file (for tests and tools)."""
        return {
            "red_flags": self.red_flags,
            "crisis": self.crisis,
            "personal_advice": self.personal_advice,
        }


def _read(path: Path, schema_dir: Path, schema_name: str) -> Dict[str, Any]:
    """Read one YAML file and validate it against its JSON Schema."""
    if not path.is_file():
        raise LexiconError(path, "file not found")
    try:
        data = strict_yaml.load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LexiconError(path, f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise LexiconError(path, "must be a mapping")
    first_line = path.read_text(encoding="utf-8").split("\n", 1)[0]
    if f"$schema=./schema/{schema_name}" not in first_line:
        raise LexiconError(
            path,
            f"first line must be '# yaml-language-server: $schema=./schema/"
            f"{schema_name}'",
        )
    schema = json.loads((schema_dir / schema_name).read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        path_parts = list(error.absolute_path)
        raise LexiconError(
            path,
            error.message,
            pattern_id=_pattern_id_at(data, path_parts),
            field_name=".".join(str(p) for p in path_parts) or None,
        )
    return data


def _pattern_id_at(data: Any, parts: List[Any]) -> str | None:
    """The ``id`` of the innermost pattern object on a JSON path, if any."""
    found = None
    node = data
    for part in parts:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            found = node["id"]
    return found


def _words(text: str) -> FrozenSet[str]:
    return frozenset(str(text).split())


def _examples(data: Mapping[str, Any]) -> Examples:
    return Examples(tuple(data["matches"]), tuple(data["not_matches"]))


def _patterns(
    path: Path,
    category: str,
    items: List[Dict[str, Any]],
    macros: Mapping[str, str],
    seen: Dict[str, Path],
) -> Tuple[Pattern, ...]:
    """Patterns of one category; checks ids are unique and macros exist."""
    result = []
    for item in items:
        pid = item["id"]
        if pid in seen and seen[pid] == path:
            raise LexiconError(path, "duplicate pattern id", pid, "id")
        seen[pid] = path
        for name in _MACRO_RE.findall(item["pattern"]):
            if name not in macros:
                raise LexiconError(path, f"unknown macro @{name}", pid, "pattern")
        result.append(
            Pattern(
                pid,
                category,
                " ".join(item["pattern"].split()),
                tuple(item["matches"]),
                tuple(item["not_matches"]),
                path,
            )
        )
    return tuple(result)


def _pattern_file(
    path: Path, data: Dict[str, Any], macros: Mapping[str, str]
) -> PatternFile:
    seen: Dict[str, Path] = {}
    categories = {
        name: _patterns(path, name, items, macros, seen)
        for name, items in data["categories"].items()
    }
    negatable = {
        name: _patterns(path, name, items, macros, seen)
        for name, items in (data.get("negatable") or {}).items()
    }
    exclusions = _patterns(path, "exclude", data.get("exclusions") or [], macros, seen)
    substrings = {k: tuple(v) for k, v in (data.get("substrings") or {}).items()}
    return PatternFile(categories, negatable, exclusions, substrings)


def load_lexicon(directory: Path | str | None = None) -> Lexicon:
    """Read and validate every lexicon file (uncached; see :func:`default_lexicon`).

    Args:
        directory: the lexicon directory; default ``$NETCHEMO_SAFETY_LEXICON`` or
            ``config/safety``.

    Raises:
        LexiconError: naming the file, pattern id and field of the first problem.
    """
    if directory is None:
        directory = os.environ.get(ENV_VAR) or DEFAULT_DIR
    directory = Path(directory)
    if not directory.is_absolute():
        directory = REPO_ROOT / directory
    schema_dir = directory / "schema"
    raw = {
        name: _read(directory / name, schema_dir, schema)
        for name, schema in FILES.items()
    }
    macros = dict(raw["macros.yml"]["macros"])
    macro_path = directory / "macros.yml"
    for name, value in macros.items():
        for ref in _MACRO_RE.findall(value):
            raise LexiconError(
                macro_path,
                f"macros cannot use macros (@{ref})",
                field_name=f"macros.{name}",
            )
    typo_data = raw["typos.yml"]
    typos: Dict[str, str] = {}
    for canonical, variants in typo_data["groups"].items():
        for variant in variants:
            if variant in typos and typos[variant] != canonical:
                raise LexiconError(
                    directory / "typos.yml",
                    f"{variant!r} maps to two words",
                    field_name=f"groups.{canonical}",
                )
            typos[variant] = canonical
    regexes = []
    for item in typo_data.get("regexes") or []:
        try:
            compiled = re.compile(item["regex"])
        except re.error as exc:
            raise LexiconError(
                directory / "typos.yml", str(exc), item["id"], "regex"
            ) from exc
        regexes.append(
            TypoRegex(
                item["id"],
                item["canonical"],
                compiled,
                item["min_length"],
                item["max_length"],
                tuple(item["matches"]),
                tuple(item["not_matches"]),
            )
        )
    negation = raw["negation.yml"]
    content = raw["content_words.yml"]
    language = raw["language.yml"]
    return Lexicon(
        directory=directory,
        macros=macros,
        typos=typos,
        typo_regexes=tuple(regexes),
        red_flags=_pattern_file(
            directory / "red_flags.yml", raw["red_flags.yml"], macros
        ),
        crisis=_pattern_file(directory / "crisis.yml", raw["crisis.yml"], macros),
        personal_advice=_pattern_file(
            directory / "personal_advice.yml", raw["personal_advice.yml"], macros
        ),
        negation_cues=_words(negation["cues"]),
        negation_fillers=_words(negation["fillers"]),
        negation_window=int(negation["window"]),
        negation_examples=_examples(negation),
        no_content_words=_words(content["words"]),
        content_examples=_examples(content),
        language=LanguageSettings(
            tuple(language["languages"]),
            float(language["max_english_confidence"]),
            float(language["non_latin_share"]),
            _words(language.get("english_words") or ""),
            _examples(language),
            int(language.get("english_sentence_words", 0)),
            float(language.get("english_sentence_confidence", 1.0)),
        ),
        frames=_frames(directory / "topic_frames.yml", raw["topic_frames.yml"], macros),
        scopes=_scopes(directory / "scopes.yml", raw["scopes.yml"], macros),
        temperature=temperature_words(raw["temperature.yml"]),
        reviewed={name: str(data["reviewed"]) for name, data in raw.items()},
    )


def _frame_words(
    path: Path, frame_id: str, words: List[str], macros: Mapping[str, str]
) -> FrozenSet[str]:
    """A word group; ``@NAME`` expands to a macro's single-word alternatives."""
    found: set = set()
    for word in words:
        if word.startswith("@"):
            if word[1:] not in macros:
                raise LexiconError(path, f"unknown macro {word}", frame_id, "all_of")
            found |= {a for a in macros[word[1:]].split("|") if "+" not in a}
        else:
            found.add(str(word).lower())
    return frozenset(found)


def _frames(path: Path, data: Dict[str, Any], macros: Mapping[str, str]) -> Frames:
    frames = []
    for item in data["frames"]:
        fid = item["id"]
        frames.append(
            Frame(
                id=fid,
                allow_first_person=bool(item["allow_first_person"]),
                single_symptom=bool(item.get("single_symptom", False)),
                starts_with=_frame_words(
                    path, fid, item.get("starts_with") or [], macros
                ),
                all_of=tuple(
                    _frame_words(path, fid, g, macros) for g in item["all_of"]
                ),
                none_of=_frame_words(path, fid, item.get("none_of") or [], macros),
                matches=tuple(item["matches"]),
                not_matches=tuple(item["not_matches"]),
            )
        )
    return Frames(
        _words(data["first_person"]),
        _words(data.get("other_owners") or ""),
        frozenset(w for w in _words(data["now_words"]) if "+" not in w),
        frozenset(
            tuple(w.split("+", 1))  # type: ignore[misc]
            for w in _words(data["now_words"])
            if "+" in w
        ),
        _words(data["symptom_words"]),
        tuple(frames),
    )


def _scopes(path: Path, data: Dict[str, Any], macros: Mapping[str, str]) -> ScopeSpec:
    seen: Dict[str, Path] = {}
    past, hypothetical = data["past"], data["hypothetical"]
    others = data.get("others") or {}

    def group(section: Dict[str, Any], key: str) -> Tuple[Pattern, ...]:
        return _patterns(path, key, section.get(key) or [], macros, seen)

    return ScopeSpec(
        clause_breaks=_words(data["clause_breaks"]),
        question_words=_words(data["question_words"]),
        past_anchors=group(past, "anchors"),
        past_recent_anchors=group(past, "recent_anchors"),
        past_resolutions=group(past, "resolutions"),
        past_vetoes=group(past, "vetoes"),
        past_neutral=group(past, "neutral"),
        past_examples=_examples(past),
        hypothetical_cues=group(hypothetical, "cues"),
        hypothetical_ends=group(hypothetical, "ends"),
        hypothetical_vetoes=group(hypothetical, "vetoes"),
        hypothetical_soft_vetoes=group(hypothetical, "soft_vetoes"),
        hypothetical_general=group(hypothetical, "general"),
        threshold_words=_words(hypothetical["threshold_words"]),
        hypothetical_examples=_examples(hypothetical),
        hypothetical_exceptions=group(hypothetical, "veto_exceptions"),
        other_subjects=group(others, "subjects"),
        other_children=group(others, "children"),
        other_not_patient=group(others, "not_patient"),
        other_self_not_patient=group(others, "self_not_patient"),
        other_outsiders=group(others, "outsiders"),
        past_back_anchors=group(past, "back_anchors"),
        other_child_causes=group(others, "child_causes"),
        other_vetoes=group(others, "vetoes"),
        other_cause_vetoes=group(others, "cause_vetoes"),
        other_pronouns=_words(others.get("pronouns") or ""),
        other_references=_words(others.get("references") or ""),
        other_first_person=_words(others.get("first_person") or ""),
        other_openers=_words(others.get("openers") or ""),
        other_categories=_words(others.get("categories") or ""),
        other_examples=_examples(others) if others else Examples((), ()),
    )


@lru_cache(maxsize=4)
def _cached(directory: str) -> Lexicon:
    return load_lexicon(directory)


def default_lexicon(directory: Path | str | None = None) -> Lexicon:
    """The lexicon, loaded once per directory per process."""
    if directory is None:
        directory = os.environ.get(ENV_VAR) or DEFAULT_DIR
    return _cached(str(directory))
