"""Load and validate conversation scripts (``tests/conversations/*.yml``).

A script file holds a list of named conversations. Each conversation is a list of steps
(what the user says or which button they press, plus what the reply must look like), or a
``messages`` list whose every message is sent in a new conversation with the same
expectations. The format is documented for reviewers in ``tests/conversations/README.md``.

Every problem is reported as a :class:`ScriptError` naming file, conversation and step;
loading collects all problems instead of stopping at the first.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    Any,
    Collection,
    Dict,
    Iterable,
    List,
    Sequence,
    Tuple,
    Union,
)

import yaml

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
STEP_KEYS = ("user", "button", "repeat", "note") + EXPECTATION_KEYS
CONVERSATION_KEYS = ("name", "note", "steps", "messages", "expect", "before")
FILE_KEYS = ("conversations", "note")
FACET_NAMES = (
    "what_is",
    "how_given",
    "is_chemo",
    "brand_names",
    "used_for",
    "side_effects",
)
MAX_REPEAT = 100

ButtonRef = Union[str, int]


def _display(path: str) -> str:
    """``path`` relative to the current directory when it is below it (shorter messages)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


class ScriptError(ValueError):
    """A malformed script, located by file, conversation and step (1-based)."""

    def __init__(
        self,
        path: Union[Path, str],
        message: str,
        conversation: str | None = None,
        step: int | None = None,
    ) -> None:
        self.path = str(path)
        self.conversation = conversation
        self.step = step
        self.message = message
        where = _display(self.path)
        if conversation is not None:
            where += f", conversation '{conversation}'"
        if step is not None:
            where += f", step {step}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Expectations:
    """What one bot reply must (or must not) look like. ``None`` means "not checked"."""

    responses: Tuple[str, ...] = ()
    not_responses: Tuple[str, ...] = ()
    contains: Tuple[str, ...] = ()
    not_contains: Tuple[str, ...] = ()
    matches: Tuple[str, ...] = ()
    not_matches: Tuple[str, ...] = ()
    kb_entry: Tuple[str, ...] = ()  # any of these ids
    kb_facet: str | None = None
    buttons: Union[int, Tuple[str, ...]] | None = None
    disclaimer: bool | None = None
    urgent_first: bool | None = None
    no_kb_answer: bool | None = None
    silent: bool = False  # an empty reply is a failure unless this is true

    def is_empty(self) -> bool:
        """True if nothing about the reply is checked (beyond "the bot said something")."""
        return self == Expectations(silent=self.silent)


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
    steps: Tuple[Step, ...]
    note: str | None = None

    @property
    def suite(self) -> str:
        """The file's stem, used as the JUnit test suite / class name."""
        return Path(self.path).stem


def _suggest(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key '{key}'{hint}; allowed: {', '.join(allowed)}"


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _text_list(value: Any, key: str) -> Tuple[str, ...]:
    """A string or a list of non-empty strings -> tuple; raises ValueError otherwise."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError(f"'{key}' must be a text or a list of texts")
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(
                f"'{key}' must hold non-empty texts; got {item!r} "
                "(put numbers, yes/no and texts with ':' in quotes)"
            )
    return tuple(items)


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"'{key}' must be true or false, not {value!r}")
    return value


@dataclass
class _Context:
    """What validation checks names against (empty collections mean "don't check")."""

    response_names: Collection[str] = ()
    kb_ids: Collection[str] = ()
    errors: List[ScriptError] = field(default_factory=list)


def parse_expectations(data: Dict[str, Any], ctx: _Context) -> Expectations:
    """Build :class:`Expectations` from the expectation keys of ``data``.

    Raises:
        ValueError: with a reviewer-friendly message on the first bad value.
    """
    kwargs: Dict[str, Any] = {}
    for key in ("responses", "not_responses"):
        if key in data:
            names = _text_list(data[key], key)
            for name in names:
                if ctx.response_names and name not in ctx.response_names:
                    close = difflib.get_close_matches(
                        name, list(ctx.response_names), n=1
                    )
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    raise ValueError(f"unknown response '{name}' in '{key}'{hint}")
            kwargs[key] = names
    for key in ("contains", "not_contains"):
        if key in data:
            kwargs[key] = _text_list(data[key], key)
    for key in ("matches", "not_matches"):
        if key in data:
            patterns = _text_list(data[key], key)
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(
                        f"'{key}' pattern {pattern!r} is not a valid regex: {exc}"
                    ) from None
            kwargs[key] = patterns
    if "kb_entry" in data:
        ids = _text_list(data["kb_entry"], "kb_entry")
        for eid in ids:
            if ctx.kb_ids and eid not in ctx.kb_ids:
                close = difflib.get_close_matches(eid, list(ctx.kb_ids), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ValueError(f"unknown KB entry '{eid}' in 'kb_entry'{hint}")
        kwargs["kb_entry"] = ids
    if "kb_facet" in data:
        facet = data["kb_facet"]
        if facet not in FACET_NAMES:
            raise ValueError(
                f"'kb_facet' must be one of {', '.join(FACET_NAMES)}; got {facet!r}"
            )
        kwargs["kb_facet"] = facet
    if "buttons" in data:
        buttons = data["buttons"]
        if isinstance(buttons, bool) or (isinstance(buttons, int) and buttons < 0):
            raise ValueError(
                "'buttons' must be a number (how many) or a list of button titles"
            )
        kwargs["buttons"] = (
            buttons if isinstance(buttons, int) else _text_list(buttons, "buttons")
        )
    for key in ("disclaimer", "urgent_first", "no_kb_answer", "silent"):
        if key in data:
            kwargs[key] = _bool(data[key], key)
    expect = Expectations(**kwargs)
    if expect.silent and (
        expect.responses or expect.contains or expect.matches or expect.buttons
    ):
        raise ValueError(
            "'silent: true' cannot be combined with responses, contains or buttons"
        )
    return expect


def _parse_step(raw: Any, index: int, ctx: _Context) -> Step:
    """One step mapping -> :class:`Step`; raises ValueError with a readable message."""
    if isinstance(raw, str):
        raise ValueError(
            f"a step must be a mapping like 'user: {raw}' (with a dash before 'user:'), "
            "not plain text"
        )
    if not isinstance(raw, dict):
        raise ValueError("a step must be a mapping with 'user:' or 'button:'")
    for key in raw:
        if key not in STEP_KEYS:
            raise ValueError(_suggest(str(key), STEP_KEYS))
    if ("user" in raw) == ("button" in raw):
        raise ValueError(
            "a step needs exactly one of 'user:' (what is typed) or 'button:'"
        )
    user = raw.get("user")
    button = raw.get("button")
    if "user" in raw and not _is_text(user):
        raise ValueError(
            f"'user' must be text; got {user!r}. Put it in quotes, e.g. user: \"38.5\" "
            '(an empty message is user: "")'
        )
    if "button" in raw:
        if isinstance(button, bool) or not isinstance(button, (str, int)):
            raise ValueError(
                "'button' must be a button title or its number (1 = first)"
            )
        if isinstance(button, int) and button < 1:
            raise ValueError("'button' numbers start at 1 (the first button)")
        if isinstance(button, str) and not button.strip():
            raise ValueError("'button' must not be empty")
    repeat = raw.get("repeat", 1)
    if (
        isinstance(repeat, bool)
        or not isinstance(repeat, int)
        or not 1 <= repeat <= MAX_REPEAT
    ):
        raise ValueError(f"'repeat' must be a whole number from 1 to {MAX_REPEAT}")
    note = raw.get("note")
    if note is not None and not isinstance(note, str):
        raise ValueError("'note' must be text")
    return Step(
        index=index,
        expect=parse_expectations(raw, ctx),
        user=user,
        button=button,
        repeat=repeat,
        note=note,
    )


def _parse_steps(
    raw: Any, path: Path, name: str, ctx: _Context, key: str
) -> List[Step]:
    if not isinstance(raw, list) or not raw:
        ctx.errors.append(
            ScriptError(path, f"'{key}' must be a non-empty list of steps", name)
        )
        return []
    steps: List[Step] = []
    for i, raw_step in enumerate(raw, start=1):
        try:
            steps.append(_parse_step(raw_step, i, ctx))
        except ValueError as exc:
            ctx.errors.append(ScriptError(path, str(exc), name, i))
    return steps


def _parse_messages_form(
    raw: Dict[str, Any], path: Path, name: str, ctx: _Context
) -> List[Conversation]:
    """``messages`` + ``expect`` (+ optional ``before`` steps) -> one conversation per message."""
    messages = raw.get("messages")
    if not isinstance(messages, list) or not messages:
        ctx.errors.append(
            ScriptError(path, "'messages' must be a non-empty list of texts", name)
        )
        return []
    before = (
        _parse_steps(raw["before"], path, name, ctx, "before")
        if "before" in raw
        else []
    )
    expect_raw = raw.get("expect")
    if not isinstance(expect_raw, dict) or not expect_raw:
        ctx.errors.append(
            ScriptError(
                path,
                "'messages' needs an 'expect:' mapping of what every reply must be",
                name,
            )
        )
        return []
    errors_before = len(ctx.errors)
    for key in expect_raw:
        if key not in EXPECTATION_KEYS:
            ctx.errors.append(
                ScriptError(
                    path, "in 'expect': " + _suggest(str(key), EXPECTATION_KEYS), name
                )
            )
    try:
        expect = parse_expectations(expect_raw, ctx)
    except ValueError as exc:
        ctx.errors.append(ScriptError(path, f"in 'expect': {exc}", name))
        return []
    if len(ctx.errors) > errors_before:
        return []
    conversations: List[Conversation] = []
    for i, message in enumerate(messages, start=1):
        if not isinstance(message, str):
            ctx.errors.append(
                ScriptError(
                    path,
                    f"message {i} must be text in quotes; got {message!r}",
                    name,
                    len(before) + 1,
                )
            )
            continue
        step = Step(index=len(before) + 1, expect=expect, user=message)
        short = " ".join(message.split())
        short = short if len(short) <= 50 else short[:47] + "..."
        conversations.append(
            Conversation(
                name=f"{name} #{i}: {short}",
                path=str(path),
                steps=tuple(before) + (step,),
                note=raw.get("note"),
            )
        )
    return conversations


def _parse_conversation(
    raw: Any, position: int, path: Path, ctx: _Context
) -> List[Conversation]:
    if not isinstance(raw, dict):
        ctx.errors.append(
            ScriptError(
                path,
                f"conversation {position} must be a mapping with 'name:' and 'steps:'",
            )
        )
        return []
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        ctx.errors.append(
            ScriptError(path, f"conversation {position} needs a 'name:' (text)")
        )
        return []
    unknown = [k for k in raw if k not in CONVERSATION_KEYS]
    for key in unknown:
        ctx.errors.append(
            ScriptError(path, _suggest(str(key), CONVERSATION_KEYS), name)
        )
    if unknown:
        return []
    if ("steps" in raw) == ("messages" in raw):
        ctx.errors.append(
            ScriptError(
                path,
                "a conversation needs exactly one of 'steps:' or 'messages:'",
                name,
            )
        )
        return []
    if "messages" in raw:
        return _parse_messages_form(raw, path, name, ctx)
    for key in ("expect", "before"):
        if key in raw:
            ctx.errors.append(
                ScriptError(path, f"'{key}:' only goes with 'messages:'", name)
            )
            return []
    errors_before = len(ctx.errors)
    steps = _parse_steps(raw["steps"], path, name, ctx, "steps")
    if len(ctx.errors) > errors_before:
        return []
    return [
        Conversation(
            name=name, path=str(path), steps=tuple(steps), note=raw.get("note")
        )
    ]


def parse_file(
    path: Path,
    response_names: Collection[str] = (),
    kb_ids: Collection[str] = (),
) -> Tuple[List[Conversation], List[ScriptError]]:
    """Read one script file; returns its conversations and every problem found."""
    ctx = _Context(response_names=response_names, kb_ids=kb_ids)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return [], [ScriptError(path, f"not valid YAML{where}: {problem}")]
    except (OSError, UnicodeDecodeError) as exc:
        return [], [ScriptError(path, f"cannot read the file: {exc}")]
    if not isinstance(data, dict) or not isinstance(data.get("conversations"), list):
        return [], [
            ScriptError(
                path, "the file must start with 'conversations:' followed by a list"
            )
        ]
    for key in data:
        if key not in FILE_KEYS:
            ctx.errors.append(ScriptError(path, _suggest(str(key), FILE_KEYS)))
    conversations: List[Conversation] = []
    seen: Dict[str, int] = {}
    for position, raw in enumerate(data["conversations"], start=1):
        for conv in _parse_conversation(raw, position, path, ctx):
            if conv.name in seen:
                ctx.errors.append(
                    ScriptError(path, "two conversations have this name", conv.name)
                )
                continue
            seen[conv.name] = position
            conversations.append(conv)
    return conversations, ctx.errors


def find_script_files(paths: Iterable[Union[str, Path]]) -> List[Path]:
    """Script files named by ``paths``: files as given, directories searched for ``*.yml``."""
    files: List[Path] = []
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
    paths: Iterable[Union[str, Path]],
    response_names: Collection[str] = (),
    kb_ids: Collection[str] = (),
    name_filter: str | None = None,
) -> Tuple[List[Conversation], List[ScriptError]]:
    """Load every script under ``paths``; keep conversations whose name contains ``name_filter``.

    Response names and KB ids are checked when the collections are non-empty.
    """
    conversations: List[Conversation] = []
    errors: List[ScriptError] = []
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
