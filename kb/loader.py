"""Load and validate the knowledge base from YAML.

Layout (all under one KB directory, ``kb/`` by default, or ``$NETCHEMO_KB_DIR``)::

    sources/*.yml      public sources that entries cite, by id
    routing.yml        which facet each question intent asks for, and default entries
    entries/*.yml      one topic per file; the file stem equals the entry id

The fixed sentences around KB answers are domain responses (``bot/domain/*.yml``): Rasa
sends them, and a channel reads one with :func:`bot.responses.message`.

The shape of each file (fields, types, lengths, ids, dates) is checked against its JSON
Schema in ``kb/schema/``, the same schema that the file names on its first line for
editors. This module checks what a schema cannot: that an entry's id is its file name,
source and related ids exist, facet sources are among the entry's sources, no term
belongs to two entries, every entry is reachable, and no question is asked twice.

A broken file raises :class:`KBError` naming the file, the entry and the field.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from kb import strict_yaml
from kb.model import Entry, Facet, KnowledgeBase, Source, normalise_term
from kb.schema import (
    ENTRY_SCHEMA,
    ROUTING_SCHEMA,
    SOURCES_SCHEMA,
    EntryOf,
    Problem,
    check,
    keyed_under,
    locate,
    to_json,
)

DEFAULT_KB_DIR = Path(__file__).resolve().parent


class KBError(ValueError):
    """A knowledge-base file is invalid. The message names file, entry and field.

    Attributes:
        path, entry, field: where the (first) problem is.
        problems: every schema problem found in the file, when there were several.
    """

    def __init__(
        self,
        path: Path | str,
        message: str,
        entry: str | None = None,
        field: str | None = None,
        problems: Sequence[Problem] = (),
    ) -> None:
        self.path = str(path)
        self.entry = entry
        self.field = field
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(locate(self.path, message, entry, field))

    @classmethod
    def from_problems(cls, problems: Sequence[Problem]) -> KBError:
        """The error for the first problem, counting the others."""
        first, more = problems[0], len(problems) - 1
        message = first.message
        if more:
            message += (
                f" (and {more} more problem{'s' if more > 1 else ''} in this file)"
            )
        return cls(first.file, message, first.entry, first.field, problems)


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return strict_yaml.load(handle)
    except yaml.YAMLError as exc:
        raise KBError(path, f"not valid YAML ({exc})") from exc


def _validated(
    data: Any, schema: Path, path: Path, entry_of: EntryOf | None = None
) -> Any:
    """``data`` if it meets ``schema``; else :class:`KBError` for its first problem."""
    problems = check(data, schema, path, entry_of)
    if problems:
        raise KBError.from_problems(problems)
    return data


def _clean(text: str) -> str:
    """One line of text: runs of white space (YAML line breaks) become one space."""
    return " ".join(text.split())


def read_sources(kb_dir: Path) -> dict[str, Source]:
    """Every source in ``kb_dir/sources/*.yml``, by id (ids are unique across files)."""
    sources: dict[str, Source] = {}
    files = sorted((kb_dir / "sources").glob("*.yml"))
    if not files:
        raise KBError(kb_dir / "sources", "no source files found")
    for path in files:
        data = _validated(
            to_json(_read_yaml(path), drop_empty=True), SOURCES_SCHEMA, path
        )
        for item in data["sources"]:
            sid = item["id"]
            if sid in sources:
                raise KBError(path, "duplicate source id", sid, "id")
            url, doi = item.get("url"), item.get("doi")
            for field in ("title", "publisher"):
                _no_braces(path, sid, field, item[field])
            sources[sid] = Source(
                id=sid,
                title=_clean(item["title"]),
                publisher=_clean(item["publisher"]),
                # The address channels link to: the url, else the DOI as a link. The
                # schema lets only the seed article have neither.
                url=url or (f"https://doi.org/{doi}" if doi else None),
                note=item.get("note"),
                year=int(item["year"]),
                doi=doi,
            )
    return sources


def read_entry(path: Path, sources: dict[str, Source]) -> Entry:
    """One entry file, checked against its schema and against ``sources``."""
    data = to_json(_read_yaml(path), drop_empty=True)
    # The id names the entry in every other message, so it is checked first.
    if isinstance(data, dict) and "id" in data and data["id"] != path.stem:
        raise KBError(
            path, f"must match the file name '{path.stem}'", str(data["id"]), "id"
        )
    _validated(data, ENTRY_SCHEMA, path)
    eid = data["id"]
    entry_sources = tuple(data["sources"])
    for sid in entry_sources:
        if sid not in sources:
            raise KBError(
                path, f"unknown source '{sid}' (see kb/sources/)", eid, "sources"
            )
    facets: dict[str, Facet] = {}
    for name, value in (data.get("facets") or {}).items():
        if value["source"] not in entry_sources:
            raise KBError(
                path,
                f"source '{value['source']}' is not in the entry's sources",
                eid,
                f"facets.{name}",
            )
        facets[name] = Facet(text=_clean(value["text"]), source=value["source"])
    questions = tuple(_clean(q) for q in data["questions_for_team"])
    if len({q.lower() for q in questions}) != len(questions):
        raise KBError(path, "holds the same question twice", eid, "questions_for_team")
    entry = Entry(
        id=eid,
        title=_clean(data["title"]),
        kind=data["kind"],
        answer=_clean(data["answer"]),
        sources=entry_sources,
        reviewed=data["reviewed"],
        names=_terms(data, "names"),
        brands=_terms(data, "brands"),
        abbreviations=_terms(data, "abbreviations"),
        misspellings=_terms(data, "misspellings"),
        is_chemo=data.get("is_chemo"),
        detail=data["detail"].strip() if "detail" in data else None,
        facets=facets,
        related=tuple(data.get("related", ())),
        reviewed_by=_clean(data["reviewed_by"]),
        questions_for_team=questions,
        broad=data.get("broad", False),
        path=str(path),
    )
    texts = [("title", entry.title), ("answer", entry.answer)]
    texts += [("detail", entry.detail)] if entry.detail else []
    texts += [(f"facets.{name}", f.text) for name, f in facets.items()]
    texts += [(f"questions_for_team[{n}]", q) for n, q in enumerate(questions, 1)]
    for field, text in texts:
        _no_braces(path, eid, field, text)
    return entry


def _no_braces(path: Path, item: str, field: str, text: str) -> None:
    """KB text is sent as written, and titles and questions fill other responses'
    placeholders: a brace would reach the person as written (or break the filling)."""
    if "{" in text or "}" in text:
        raise KBError(
            path, "must not hold '{' or '}' (KB text is sent as written)", item, field
        )


def _terms(data: dict[str, Any], name: str) -> tuple[str, ...]:
    return tuple(term.strip() for term in data.get(name, ()))


def _load_routing(kb_dir: Path, entries: dict[str, Entry]) -> dict[str, dict[str, str]]:
    path = kb_dir / "routing.yml"
    data = to_json(_read_yaml(path))
    _validated(data, ROUTING_SCHEMA, path, keyed_under("intents"))
    routing: dict[str, dict[str, str]] = {}
    for intent, rule in data["intents"].items():
        default = rule.get("default_entry")
        if default is not None and default not in entries:
            raise KBError(path, f"unknown entry '{default}'", intent, "default_entry")
        routing[intent] = {
            "facet": rule.get("facet", "what_is"),
            **({"default_entry": default} if default else {}),
        }
    return routing


def _check_cross_references(
    entries: dict[str, Entry], routing: dict[str, dict[str, str]]
) -> None:
    owners: dict[str, str] = {}
    defaults = {rule.get("default_entry") for rule in routing.values()}
    for entry in entries.values():
        for rid in entry.related:
            if rid not in entries:
                raise KBError(
                    entry.path, f"unknown related entry '{rid}'", entry.id, "related"
                )
            if rid == entry.id:
                raise KBError(
                    entry.path,
                    "an entry cannot be related to itself",
                    entry.id,
                    "related",
                )
        if not any(True for _ in entry.terms()) and entry.id not in defaults:
            raise KBError(
                entry.path,
                "entry has no names and no intent routes to it, so no question can reach it",
                entry.id,
                "names",
            )
        for term, kind in entry.terms():
            key = normalise_term(term)
            if not key:
                raise KBError(
                    entry.path,
                    f"term '{term}' has no letters or digits",
                    entry.id,
                    kind + "s",
                )
            other = owners.get(key)
            if other is not None and other != entry.id:
                raise KBError(
                    entry.path,
                    f"term '{term}' is already a name of entry '{other}'",
                    entry.id,
                    kind + "s",
                )
            owners[key] = entry.id


def read_kb(kb_dir: Path | str | None = None) -> KnowledgeBase:
    """Read and validate the KB at ``kb_dir`` (default: ``$NETCHEMO_KB_DIR`` or ``kb/``)."""
    base = Path(kb_dir or os.environ.get("NETCHEMO_KB_DIR") or DEFAULT_KB_DIR)
    sources = read_sources(base)
    entries: dict[str, Entry] = {}
    files: list[Path] = sorted((base / "entries").glob("*.yml"))
    if not files:
        raise KBError(base / "entries", "no entry files found")
    for path in files:
        entry = read_entry(path, sources)
        entries[entry.id] = entry
    routing = _load_routing(base, entries)
    _check_cross_references(entries, routing)
    return KnowledgeBase(entries=entries, sources=sources, routing=routing)


@functools.lru_cache(maxsize=8)
def _load_kb_cached(kb_dir: str) -> KnowledgeBase:
    return read_kb(kb_dir)


def load_kb(kb_dir: Path | str | None = None) -> KnowledgeBase:
    """Cached :func:`read_kb`: the KB is read once per directory per process."""
    base = Path(kb_dir or os.environ.get("NETCHEMO_KB_DIR") or DEFAULT_KB_DIR)
    return _load_kb_cached(str(base.resolve()))
