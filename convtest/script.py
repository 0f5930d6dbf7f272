"""Load and validate conversation scripts (``tests/conversations/*.yml``).

A script file holds a list of named conversations. Each conversation is a list of steps
(what the user says or which button they press, plus what the reply must look like), or a
``messages`` list whose every message is sent in a new conversation with the same
expectations. The format is documented for reviewers in ``tests/conversations/README.md``.

The shape of a script is checked against ``convtest/schema/script.json`` (which every
script names on its first line, so editors check it while typing); this module adds what
the schema cannot know: response names (from the domain), KB entry ids, that regular
expressions compile, and that conversation names are unique.

Every problem is reported as a :class:`ScriptError` naming file, conversation, step and
field; loading collects all problems instead of stopping at the first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kb.schema import Problem, check, field_name, locate, to_json

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "script.json"

# Expectation keys, in the order the report shows them.
EXPECTATION_KEYS = (
    "responses",
    "not_responses",
    "contains",
    "not_contains",
    "matches",
    "not_matches",
    "kb_entry",
    "kb_facet",
    "buttons",
    "disclaimer",
    "urgent_first",
    "no_kb_answer",
    "silent",
)
TEXT_KEYS = EXPECTATION_KEYS[:7]
FLAG_KEYS = ("disclaimer", "urgent_first", "no_kb_answer", "silent")

ButtonRef = str | int
# Where a problem is, for sorting: conversation position (-1: the file), step position.
_Order = tuple[int, int]


def _display(path: str) -> str:
    """``path`` relative to the current directory when it is below it (shorter messages)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


class ScriptError(ValueError):
    """A malformed script, located by file, conversation, step (1-based) and field."""

    def __init__(
        self,
        path: Path | str,
        message: str,
        conversation: str | None = None,
        step: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path)
        self.conversation = conversation
        self.step = step
        self.field = field
        self.message = message
        super().__init__(
            locate(
                _display(self.path), message, conversation, field, "conversation", step
            )
        )


@dataclass(frozen=True)
class Expectations:
    """What one bot reply must (or must not) look like. ``None`` means "not checked"."""

    responses: tuple[str, ...] = ()
    not_responses: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    matches: tuple[str, ...] = ()
    not_matches: tuple[str, ...] = ()
    kb_entry: tuple[str, ...] = ()  # any of these ids
    kb_facet: str | None = None
    buttons: int | tuple[str, ...] | None = None
    disclaimer: bool | None = None
    urgent_first: bool | None = None
    no_kb_answer: bool | None = None
    silent: bool = False  # an empty reply is a failure unless this is true


@dataclass(frozen=True)
class Step:
    """One user turn and the expectations on the bot's reply to it."""

    index: int  # 1-based position in the conversation
    expect: Expectations
    user: str | None = None  # text typed by the user
    button: ButtonRef | None = None  # title, or 1-based index, of a button just offered
    repeat: int = 1
    note: str | None = None

    def describe(self) -> str:
        """What the user does, for the report: ``user: ...`` or ``button: ...``."""
        if self.button is not None:
            return f"button: {self.button!r}"
        return f"user: {self.user!r}"


@dataclass(frozen=True)
class Conversation:
    """A named sequence of steps sent by one user (one sender id)."""

    name: str
    path: str
    steps: tuple[Step, ...]
    note: str | None = None

    @property
    def suite(self) -> str:
        """The file's stem, used as the JUnit test suite / class name."""
        return Path(self.path).stem


def _texts(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _expectations(raw: dict[str, Any]) -> Expectations:
    """:class:`Expectations` from a mapping the schema has accepted."""
    kwargs: dict[str, Any] = {k: _texts(raw[k]) for k in TEXT_KEYS if k in raw}
    kwargs.update({k: raw[k] for k in FLAG_KEYS + ("kb_facet",) if k in raw})
    if "buttons" in raw:
        buttons = raw["buttons"]
        kwargs["buttons"] = buttons if isinstance(buttons, int) else _texts(buttons)
    return Expectations(**kwargs)


def _unknown_names(
    raw: dict[str, Any], response_names: Collection[str], kb_ids: Collection[str]
) -> Iterator[tuple[str, str]]:
    """(field, message) for names the schema cannot check: responses, KB ids, regexes.

    Response names and KB ids are checked only when the collections are non-empty.
    """
    for key, known, what in (
        ("responses", response_names, "response"),
        ("not_responses", response_names, "response"),
        ("kb_entry", kb_ids, "KB entry"),
    ):
        for name in _texts(raw.get(key, [])):
            if known and name not in known:
                close = difflib.get_close_matches(name, list(known), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                yield key, f"unknown {what} '{name}'{hint}"
    for key in ("matches", "not_matches"):
        for pattern in _texts(raw.get(key, [])):
            try:
                re.compile(pattern)
            except re.error as exc:
                yield key, f"pattern {pattern!r} is not a valid regex: {exc}"


def _conversation_of(data: Any, path: tuple[Any, ...]) -> tuple[str | None, int]:
    """Problems are located by conversation name (``conversations[i]``), when it has one."""
    if len(path) >= 2 and path[0] == "conversations" and isinstance(path[1], int):
        try:
            name = data["conversations"][path[1]].get("name")
        except (AttributeError, IndexError, KeyError, TypeError):
            name = None
        if isinstance(name, str) and name.strip():
            return name, 2
    return None, 0


def _position(problem: Problem) -> tuple[int | None, str | None, int | None]:
    """(conversation, section, step) positions of a problem, 0-based, where known."""
    full = problem.entry_path + problem.field_path
    if len(full) < 2 or full[0] != "conversations" or not isinstance(full[1], int):
        return None, None, None
    if len(full) >= 4 and full[2] in ("steps", "before") and isinstance(full[3], int):
        return full[1], str(full[2]), full[3]
    return full[1], None, None


def _schema_error(path: Path, problem: Problem) -> tuple[_Order, ScriptError]:
    conv, section, step = _position(problem)
    if problem.entry is not None and step is not None:
        field = field_name(problem.field_path[2:]) or None
        error = ScriptError(path, problem.message, problem.entry, step + 1, field)
    else:
        error = ScriptError(path, problem.message, problem.entry, field=problem.field)
    order = (-1 if conv is None else conv, -1 if step is None else step)
    return order, error


def _steps(raw: list[dict[str, Any]]) -> tuple[Step, ...]:
    return tuple(
        Step(
            index=i,
            expect=_expectations(item),
            user=item.get("user"),
            button=item.get("button"),
            repeat=item.get("repeat", 1),
            note=item.get("note"),
        )
        for i, item in enumerate(raw, start=1)
    )


def _conversations(raw: dict[str, Any], path: Path) -> list[Conversation]:
    """One conversation, or one per message of the ``messages`` form."""
    name, note = raw["name"], raw.get("note")
    if "steps" in raw:
        return [Conversation(name, str(path), _steps(raw["steps"]), note)]
    before = _steps(raw.get("before", []))
    expect = _expectations(raw["expect"])
    conversations = []
    for i, message in enumerate(raw["messages"], start=1):
        short = " ".join(message.split())
        short = short if len(short) <= 50 else short[:47] + "..."
        step = Step(index=len(before) + 1, expect=expect, user=message)
        conversations.append(
            Conversation(f"{name} #{i}: {short}", str(path), before + (step,), note)
        )
    return conversations


def _name_errors(
    raw: dict[str, Any],
    index: int,
    path: Path,
    bad_steps: Collection[tuple[int | None, str | None, int | None]],
    response_names: Collection[str],
    kb_ids: Collection[str],
) -> Iterator[tuple[_Order, ScriptError]]:
    """Unknown names and bad regexes in the steps and ``expect:`` the schema accepted."""
    name = raw.get("name")
    for section in ("before", "steps"):
        for i, step in enumerate(raw.get(section) or []):
            if (index, section, i) in bad_steps or not isinstance(step, dict):
                continue
            for key, message in _unknown_names(step, response_names, kb_ids):
                yield (index, i), ScriptError(path, message, name, i + 1, key)
    expect = raw.get("expect")
    if isinstance(expect, dict) and (index, None, None) not in bad_steps:
        for key, message in _unknown_names(expect, response_names, kb_ids):
            yield (index, -1), ScriptError(path, message, name, field=f"expect.{key}")


def parse_file(
    path: Path,
    response_names: Collection[str] = (),
    kb_ids: Collection[str] = (),
) -> tuple[list[Conversation], list[ScriptError]]:
    """Read one script file; returns its conversations and every problem found."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return [], [ScriptError(path, f"not valid YAML{where}: {problem}")]
    except (OSError, UnicodeDecodeError) as exc:
        return [], [ScriptError(path, f"cannot read the file: {exc}")]
    data = to_json(data)
    problems = check(data, SCHEMA_PATH, path, _conversation_of)
    errors = [_schema_error(path, p) for p in problems]
    positions = [_position(p) for p in problems]
    bad_conversations = {conv for conv, _, _ in positions}
    # A problem in a conversation's expect: (or its form) blocks checking its expect:.
    bad_steps = set(positions) | {(c, None, None) for c in bad_conversations}
    raw_list = data.get("conversations") if isinstance(data, dict) else None
    conversations: list[Conversation] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_list if isinstance(raw_list, list) else []):
        if not isinstance(raw, dict):
            continue
        found = list(_name_errors(raw, index, path, bad_steps, response_names, kb_ids))
        errors.extend(found)
        if found or index in bad_conversations:
            continue
        for conv in _conversations(raw, path):
            if conv.name in seen:
                errors.append(
                    (
                        (index, -1),
                        ScriptError(
                            path, "two conversations have this name", conv.name
                        ),
                    )
                )
                continue
            seen[conv.name] = index
            conversations.append(conv)
    errors.sort(key=lambda pair: pair[0])
    return conversations, [error for _, error in errors]


def find_script_files(paths: Iterable[str | Path]) -> list[Path]:
    """Script files named by ``paths``: files as given, directories searched for ``*.yml``."""
    files: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            files.extend(
                sorted(f for f in p.rglob("*.y*ml") if f.suffix in (".yml", ".yaml"))
            )
        else:
            files.append(p)
    return list(dict.fromkeys(files))


def load_scripts(
    paths: Iterable[str | Path],
    response_names: Collection[str] = (),
    kb_ids: Collection[str] = (),
    name_filter: str | None = None,
) -> tuple[list[Conversation], list[ScriptError]]:
    """Load every script under ``paths``; keep conversations whose name contains ``name_filter``.

    Response names and KB ids are checked when the collections are non-empty.
    """
    conversations: list[Conversation] = []
    errors: list[ScriptError] = []
    files = find_script_files(paths)
    if not files:
        errors.append(
            ScriptError(
                ", ".join(str(p) for p in paths) or ".", "no script files found"
            )
        )
    for path in files:
        if not path.exists():
            errors.append(ScriptError(path, "no such file or directory"))
            continue
        convs, errs = parse_file(path, response_names, kb_ids)
        conversations.extend(convs)
        errors.extend(errs)
    if name_filter:
        needle = name_filter.lower()
        conversations = [
            c
            for c in conversations
            if needle in c.name.lower() or needle in c.suite.lower()
        ]
    return conversations, errors
