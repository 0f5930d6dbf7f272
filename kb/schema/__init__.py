"""JSON Schema checks for the YAML files people edit by hand, with errors that name
file, entry and field.

The schemas sit next to what they describe and each YAML file names its own on its first
line, ``# yaml-language-server: $schema=<relative path>``, so an editor with YAML support
(VS Code's YAML extension or any other yaml-language-server client) checks the file while
it is typed, against the same schema the loader uses:

=============================  ==========================================  ===================
schema                         files                                       loader
=============================  ==========================================  ===================
``kb/schema/entry.json``       ``kb/entries/*.yml``                        ``kb/loader.py``
``kb/schema/sources.json``     ``kb/sources/*.yml``                        ``kb/loader.py``
``kb/schema/routing.json``     ``kb/routing.yml``                          ``kb/loader.py``
``config/schema/safety.json``  ``config/safety.yml``                       ``bot/settings.py``
``convtest/schema/script.json`` ``tests/conversations/*.yml``              ``convtest/script.py``
=============================  ==========================================  ===================

The schemas are draft-07: the newest draft that yaml-language-server implements in full
(it reads later drafts only in part), and one that the locked ``jsonschema`` supports.
Rules a schema cannot express (ids that must exist elsewhere, duplicates, the seed-copy
and reading-level checks) stay in the loaders.

Messages. A schema node may carry ``errorMessage`` (used for any failure of that node but
an unknown field) and ``patternErrorMessage`` (for a failed ``pattern``): the same
extensions yaml-language-server shows in the editor, so reviewers read one wording in
both places. Nodes without them get a plain generic message ("must be true or false").
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

SCHEMA_DIR = Path(__file__).resolve().parent
ENTRY_SCHEMA = SCHEMA_DIR / "entry.json"
SOURCES_SCHEMA = SCHEMA_DIR / "sources.json"
ROUTING_SCHEMA = SCHEMA_DIR / "routing.json"

PathPart = str | int
JsonPath = tuple[PathPart, ...]
# Given the document and a path into it: the name of the entry the path is in (or None)
# and how many leading path parts lead to that entry.
EntryOf = Callable[[Any, JsonPath], tuple[str | None, int]]

_TYPE_WORDS = {
    "string": "text",
    "array": "a list",
    "object": "a mapping",
    "boolean": "true or false",
    "integer": "a whole number",
    "number": "a number",
    "null": "empty",
}
_SHORT = 40  # values up to this long are quoted back in messages


@dataclass(frozen=True)
class Problem:
    """One schema violation, located in a file.

    Attributes:
        file: the file, as the caller names it in messages.
        message: what is wrong, e.g. "must be true or false (got 'maybe')".
        entry: the id (or name) of the entry the problem is in, if any.
        field: where in the entry, e.g. ``facets.how_given.text`` or
            ``questions_for_team[2]`` (list positions count from 1).
        keyword: the JSON Schema keyword that failed (``required``, ``type``, ...).
        entry_path: the JSON path to the entry (list positions from 0).
        field_path: the JSON path from the entry to the field.
    """

    file: str
    message: str
    entry: str | None = None
    field: str | None = None
    keyword: str = ""
    entry_path: JsonPath = ()
    field_path: JsonPath = ()

    def __str__(self) -> str:
        return locate(self.file, self.message, self.entry, self.field)


def locate(
    file: str | Path,
    message: str,
    entry: str | None = None,
    field: str | None = None,
    entry_label: str = "entry",
    step: int | None = None,
) -> str:
    """The one message format of every YAML loader.

    ``file, entry 'captem', field 'sources': unknown source 'nowhere'``; a conversation
    script says ``conversation '...'`` (``entry_label``) and ``step 2`` before the field.
    """
    where = str(file)
    if entry is not None:
        where += f", {entry_label} '{entry}'"
    if step is not None:
        where += f", step {step}"
    if field:
        where += f", field '{field}'"
    return f"{where}: {message}"


def field_name(parts: Sequence[PathPart]) -> str:
    """``("facets", "how_given", "text")`` -> ``facets.how_given.text``; list positions
    count from 1, as people count: ``("questions_for_team", 1)`` -> ``questions_for_team[2]``.
    """
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def by_key(key: str = "id") -> EntryOf:
    """Entries are the innermost mappings on the path that have a text or number ``key``."""

    def entry_of(data: Any, path: JsonPath) -> tuple[str | None, int]:
        found: tuple[str | None, int] = (None, 0)
        node = data
        for depth in range(len(path) + 1):
            if isinstance(node, dict) and isinstance(node.get(key), (str, int, float)):
                found = (str(node[key]), depth)
            if depth == len(path):
                break
            try:
                node = node[path[depth]]
            except (KeyError, IndexError, TypeError):
                break
        return found

    return entry_of


def keyed_under(name: str) -> EntryOf:
    """Entries are the keys of the top-level mapping ``name`` (``intents:`` in routing)."""

    def entry_of(data: Any, path: JsonPath) -> tuple[str | None, int]:
        if len(path) >= 2 and path[0] == name:
            return str(path[1]), 2
        return None, 0

    return entry_of


@functools.lru_cache(maxsize=16)
def validator(schema_path: Path) -> Draft7Validator:
    """The validator for one schema file, built once per process (building is the slow
    part; checking a document is fast)."""
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def to_json(value: Any, drop_empty: bool = False) -> Any:
    """The parsed YAML as JSON would hold it, which is what the schema and the editor see.

    Dates become ISO text (``2026-11-26``: YAML reads it as a date, JSON Schema editors
    as text), numbers JSON has not got (``.nan``, ``.inf``) become text so that a number
    check fails, and keys become text. With ``drop_empty``, a key with no value
    (``names:``) counts as not given.
    """
    if isinstance(value, dict):
        return {
            str(k): to_json(v, drop_empty)
            for k, v in value.items()
            if not (drop_empty and v is None)
        }
    if isinstance(value, (list, tuple)):
        return [to_json(v, drop_empty) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (str, int, float)):
        return value
    return str(value)


def check(
    data: Any,
    schema_path: Path,
    file: str | Path,
    entry_of: EntryOf | None = None,
) -> list[Problem]:
    """Every way ``data`` (already passed through :func:`to_json`) breaks the schema,
    in the order the fields appear in the file.

    Args:
        data: the document.
        schema_path: the JSON Schema file.
        file: the file name to put in messages.
        entry_of: how to find the entry a path is in (default :func:`by_key` ``"id"``).
    """
    entry_of = entry_of or by_key("id")
    problems: list[Problem] = []
    seen = set()
    for error in validator(Path(schema_path)).iter_errors(data):
        for path, message in _explain(error):
            if (path, message) in seen:
                continue
            seen.add((path, message))
            entry, depth = entry_of(data, path)
            problems.append(
                Problem(
                    file=str(file),
                    message=message,
                    entry=entry,
                    field=field_name(path[depth:]) or None,
                    keyword=str(error.validator),
                    entry_path=path[:depth],
                    field_path=path[depth:],
                )
            )
    return sorted(
        problems, key=lambda p: _document_order(data, p.entry_path + p.field_path)
    )


def _explain(error: ValidationError) -> Iterator[tuple[JsonPath, str]]:
    """(path, message) pairs for one jsonschema error; an unknown-field error gives one
    pair per unknown field, a missing-field error one per missing field."""
    path: JsonPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        for key in instance:
            if key in allowed or any(re.search(p, key) for p in patterns):
                continue
            yield path + (key,), _unknown(key, allowed)
        return
    if error.validator == "required" and isinstance(instance, dict):
        for key in error.validator_value:
            if key not in instance:
                yield path + (key,), schema.get("errorMessage", "is required")
        return
    if error.validator == "pattern" and "patternErrorMessage" in schema:
        yield path, schema["patternErrorMessage"] + _got(instance, error.validator)
        return
    if "errorMessage" in schema:
        yield path, schema["errorMessage"] + _got(instance, error.validator)
        return
    yield path, _generic(error) + _got(instance, error.validator)


def _unknown(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    listed = f"; allowed: {', '.join(allowed)}" if allowed else ""
    return f"unknown field{hint}{listed}"


def _generic(error: ValidationError) -> str:
    keyword, value = error.validator, error.validator_value
    if keyword == "type":
        types = value if isinstance(value, list) else [value]
        return "must be " + " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in types)
    if keyword == "enum":
        return "must be one of: " + ", ".join(str(v) for v in value)
    if keyword == "const":
        return f"must be {json.dumps(value)}"
    if keyword == "minLength":
        return "must not be empty" if value == 1 else f"must be at least {value} long"
    if keyword == "maxLength":
        return f"is longer than {value} characters"
    if keyword == "pattern":
        return f"must match the pattern {value}"
    if keyword == "minimum":
        return f"must be at least {value}"
    if keyword == "maximum":
        return f"must be at most {value}"
    if keyword == "minItems":
        return "must not be empty" if value == 1 else f"must hold at least {value}"
    if keyword == "maxItems":
        return f"must hold at most {value}"
    if keyword == "minProperties":
        return "must not be empty"
    if keyword == "uniqueItems":
        return "holds the same item twice"
    if keyword == "format":
        return f"must be a valid {value}"
    if keyword in ("not", None):
        return "is not allowed here"
    return error.message


def _got(instance: Any, keyword: Any = None) -> str:
    """`` (got 'maybe')`` for short values, `` (got 4)`` for list lengths."""
    if keyword in ("minItems", "maxItems") and isinstance(instance, list):
        return f" (got {len(instance)})"
    if keyword == "maxLength" and isinstance(instance, str):
        return f" (got {len(instance)})"
    if isinstance(instance, bool):
        return f" (got {'true' if instance else 'false'})"
    if isinstance(instance, (int, float)):
        return f" (got {instance})"
    if isinstance(instance, str):
        return f" (got {instance!r})" if 0 < len(instance.strip()) <= _SHORT else ""
    if instance is None:
        return " (got nothing)"
    if isinstance(instance, list):
        return " (got a list)"
    if isinstance(instance, dict):
        return " (got a mapping)"
    return ""


def _document_order(data: Any, path: JsonPath) -> tuple[int, ...]:
    """Sort key: where ``path`` is in the file (mappings keep the file's key order)."""
    order: list[int] = []
    node = data
    for part in path:
        if isinstance(node, dict):
            keys = list(node)
            order.append(keys.index(part) if part in keys else len(keys))
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            order.append(part)
            node = node[part] if part < len(node) else None
        else:
            order.append(0)
            node = None
    return tuple(order)
