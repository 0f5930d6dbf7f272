"""Load and validate the knowledge base from YAML.

Layout (all under one KB directory, ``kb/`` by default, or ``$NETCHEMO_KB_DIR``)::

    sources/*.yml      public sources that entries cite, by id
    routing.yml        which facet each question intent asks for, and default entries
    messages.yml       fixed sentences sent by actions and channels (see MESSAGE_KEYS)
    entries/*.yml      one topic per file; the file stem equals the entry id

A broken file raises :class:`KBError` naming the file, the entry and the field.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

from kb.model import FACETS, KINDS, Entry, Facet, KnowledgeBase, Source, normalise_term

DEFAULT_KB_DIR = Path(__file__).resolve().parent
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_ANSWER_CHARS = 900
MAX_FACET_CHARS = 900

ENTRY_FIELDS = {
    "id",
    "title",
    "kind",
    "answer",
    "sources",
    "reviewed",
    "reviewed_by",
    "questions_for_team",
    "names",
    "brands",
    "abbreviations",
    "misspellings",
    "is_chemo",
    "detail",
    "facets",
    "related",
    "broad",
}
REQUIRED_ENTRY_FIELDS = (
    "id",
    "title",
    "kind",
    "answer",
    "sources",
    "reviewed",
    "reviewed_by",
    "questions_for_team",
)
SOURCE_FIELDS = {"id", "title", "publisher", "year", "url", "doi", "note"}
DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
URL_RE = re.compile(r"^https://\S+$")
QUESTIONS_MIN, QUESTIONS_MAX = 2, 3
MAX_QUESTION_CHARS = 160
MESSAGE_KEYS = (
    "no_reviewed_info",
    "no_reviewed_side_effects",
    "no_reviewed_facet",
    "ask_which_topic",
    "offer_topics",
    "ask_rephrase",
    "empty_message",
    "message_too_long",
    "text_only",
    "forgotten",
    "forget_failed",
    "edited_message",
    "private_chat_only",
    "reconnected",
    "too_many_messages",
    "store_unavailable",
    "source_label",
    "sources_label",
    "button_topic",
    "button_what_is",
    "button_how_given",
    "button_is_chemo",
    "button_used_for",
    "button_side_effects",
    "button_brand_names",
    "button_why_not_chemo",
    "button_which_chemo",
    "button_does_chemo_work",
)
PLACEHOLDER_RE = re.compile(r"{([^{}]*)}")


class KBError(ValueError):
    """A knowledge-base file is invalid. The message names file, entry and field."""

    def __init__(
        self,
        path: Path | str,
        message: str,
        entry: str | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path)
        self.entry = entry
        self.field = field
        where = self.path
        if entry:
            where += f", entry '{entry}'"
        if field:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        raise KBError(path, f"not valid YAML ({exc})") from exc


def _str(
    path: Path, entry: str, data: Dict[str, Any], name: str, required: bool
) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise KBError(path, "is required", entry, name)
        return None
    if not isinstance(value, str) or not value.strip():
        raise KBError(path, "must be a non-empty string", entry, name)
    return " ".join(value.split()) if name != "detail" else value.strip()


def _str_list(
    path: Path, entry: str, data: Dict[str, Any], name: str
) -> Tuple[str, ...]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(
        isinstance(v, (str, int)) and str(v).strip() for v in value
    ):
        raise KBError(path, "must be a list of non-empty strings", entry, name)
    return tuple(str(v).strip() for v in value)


def _load_sources(kb_dir: Path) -> Dict[str, Source]:
    sources: Dict[str, Source] = {}
    files = sorted((kb_dir / "sources").glob("*.yml"))
    if not files:
        raise KBError(kb_dir / "sources", "no source files found")
    for path in files:
        _load_source_file(path, sources)
    return sources


def _load_source_file(path: Path, sources: Dict[str, Source]) -> None:
    data = _read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise KBError(path, "must hold a 'sources' list")
    for item in data["sources"]:
        if not isinstance(item, dict):
            raise KBError(path, "each source must be a mapping")
        sid = item.get("id")
        if not isinstance(sid, str) or not ID_RE.match(sid):
            raise KBError(path, "must be a lower-case id", str(sid), "id")
        unknown = sorted(set(item) - SOURCE_FIELDS)
        if unknown:
            raise KBError(path, f"unknown field(s) {unknown}", sid, unknown[0])
        for name in ("title", "publisher"):
            if not isinstance(item.get(name), str) or not item[name].strip():
                raise KBError(path, "is required", sid, name)
        if sid in sources:
            raise KBError(path, "duplicate source id", sid, "id")
        sources[sid] = Source(
            id=sid,
            title=item["title"].strip(),
            publisher=item["publisher"].strip(),
            url=_source_address(path, sid, item),
            note=item.get("note"),
            year=_source_year(path, sid, item),
            doi=item.get("doi"),
        )


def _source_year(path: Path, sid: str, item: Dict[str, Any]) -> int:
    """The publication year (or, for a page updated in place, the year it was checked)."""
    year = item.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2100:
        raise KBError(path, "must be a year like 2020", sid, "year")
    return year


def _source_address(path: Path, sid: str, item: Dict[str, Any]) -> str | None:
    """The source's address: its ``url``, else its DOI as a link. The seed needs neither."""
    url, doi = item.get("url"), item.get("doi")
    if url is not None and (not isinstance(url, str) or not URL_RE.match(url)):
        raise KBError(path, "must be an https:// address", sid, "url")
    if doi is not None and (not isinstance(doi, str) or not DOI_RE.match(doi)):
        raise KBError(path, "must be a DOI like 10.1056/NEJMoa2407417", sid, "doi")
    if url is None and doi is None and sid != "seed":
        raise KBError(path, "needs an address: give 'url' or 'doi'", sid, "url")
    return url or (f"https://doi.org/{doi}" if doi else None)


def _load_entry(path: Path, sources: Dict[str, Source]) -> Entry:
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise KBError(path, "must be a mapping with one entry")
    eid = data.get("id")
    if not isinstance(eid, str) or not ID_RE.match(eid):
        raise KBError(path, "must be a lower-case id like 'captem'", str(eid), "id")
    if eid != path.stem:
        raise KBError(path, f"must match the file name '{path.stem}'", eid, "id")
    unknown = sorted(set(data) - ENTRY_FIELDS)
    if unknown:
        raise KBError(path, f"unknown field(s) {unknown}", eid, unknown[0])
    for name in REQUIRED_ENTRY_FIELDS:
        if data.get(name) in (None, "", []):
            raise KBError(path, "is required", eid, name)

    kind = data["kind"]
    if kind not in KINDS:
        raise KBError(path, f"must be one of {list(KINDS)}", eid, "kind")
    answer = _str(path, eid, data, "answer", True) or ""
    if len(answer) > MAX_ANSWER_CHARS:
        raise KBError(
            path, f"is longer than {MAX_ANSWER_CHARS} characters", eid, "answer"
        )

    entry_sources = _str_list(path, eid, data, "sources")
    for sid in entry_sources:
        if sid not in sources:
            raise KBError(
                path, f"unknown source '{sid}' (see kb/sources/)", eid, "sources"
            )

    reviewed = data["reviewed"]
    if isinstance(reviewed, str):
        try:
            reviewed = dt.date.fromisoformat(reviewed)
        except ValueError as exc:
            raise KBError(
                path, "must be a date like 2026-11-26", eid, "reviewed"
            ) from exc
    if not isinstance(reviewed, dt.date):
        raise KBError(path, "must be a date like 2026-11-26", eid, "reviewed")

    reviewed_by = _str(path, eid, data, "reviewed_by", True) or ""
    questions = _questions(path, eid, data)

    is_chemo = data.get("is_chemo")
    if is_chemo is not None and not isinstance(is_chemo, bool):
        raise KBError(path, "must be true or false", eid, "is_chemo")
    broad = data.get("broad", False)
    if not isinstance(broad, bool):
        raise KBError(path, "must be true or false", eid, "broad")

    facets: Dict[str, Facet] = {}
    raw_facets = data.get("facets") or {}
    if not isinstance(raw_facets, dict):
        raise KBError(
            path, "must be a mapping of facet name to {text, source}", eid, "facets"
        )
    for name, value in raw_facets.items():
        fname = f"facets.{name}"
        if name not in FACETS:
            raise KBError(path, f"unknown facet; use one of {list(FACETS)}", eid, fname)
        if not isinstance(value, dict) or set(value) != {"text", "source"}:
            raise KBError(path, "must have exactly 'text' and 'source'", eid, fname)
        text = _str(path, eid, value, "text", True) or ""
        if len(text) > MAX_FACET_CHARS:
            raise KBError(
                path, f"is longer than {MAX_FACET_CHARS} characters", eid, fname
            )
        if value["source"] not in entry_sources:
            raise KBError(
                path,
                f"source '{value['source']}' is not in the entry's sources",
                eid,
                fname,
            )
        facets[name] = Facet(text=text, source=value["source"])

    return Entry(
        id=eid,
        title=_str(path, eid, data, "title", True) or "",
        kind=kind,
        answer=answer,
        sources=entry_sources,
        reviewed=reviewed.isoformat(),
        names=_str_list(path, eid, data, "names"),
        brands=_str_list(path, eid, data, "brands"),
        abbreviations=_str_list(path, eid, data, "abbreviations"),
        misspellings=_str_list(path, eid, data, "misspellings"),
        is_chemo=is_chemo,
        detail=_str(path, eid, data, "detail", False),
        facets=facets,
        related=_str_list(path, eid, data, "related"),
        reviewed_by=reviewed_by,
        questions_for_team=questions,
        broad=broad,
        path=str(path),
    )


def _questions(path: Path, eid: str, data: Dict[str, Any]) -> Tuple[str, ...]:
    """Two or three questions a patient could ask their team, each ending with '?'."""
    field = "questions_for_team"
    questions = tuple(" ".join(q.split()) for q in _str_list(path, eid, data, field))
    if not QUESTIONS_MIN <= len(questions) <= QUESTIONS_MAX:
        raise KBError(
            path,
            f"must hold {QUESTIONS_MIN} or {QUESTIONS_MAX} questions, not {len(questions)}",
            eid,
            field,
        )
    for number, question in enumerate(questions, start=1):
        where = f"{field}[{number}]"
        if not question.endswith("?") or question.count("?") != 1:
            raise KBError(path, "must be one question ending with '?'", eid, where)
        if len(question) > MAX_QUESTION_CHARS:
            raise KBError(
                path, f"is longer than {MAX_QUESTION_CHARS} characters", eid, where
            )
    if len(set(q.lower() for q in questions)) != len(questions):
        raise KBError(path, "holds the same question twice", eid, field)
    return questions


def _load_routing(kb_dir: Path, entries: Dict[str, Entry]) -> Dict[str, Dict[str, str]]:
    path = kb_dir / "routing.yml"
    data = _read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("intents"), dict):
        raise KBError(path, "must hold an 'intents' mapping")
    routing: Dict[str, Dict[str, str]] = {}
    for intent, rule in data["intents"].items():
        if not isinstance(rule, dict) or not set(rule) <= {"facet", "default_entry"}:
            raise KBError(
                path, "must be a mapping with 'facet' and/or 'default_entry'", intent
            )
        facet = rule.get("facet", "what_is")
        if facet != "what_is" and facet not in FACETS:
            raise KBError(path, f"unknown facet '{facet}'", intent, "facet")
        default = rule.get("default_entry")
        if default is not None and default not in entries:
            raise KBError(path, f"unknown entry '{default}'", intent, "default_entry")
        routing[intent] = {
            "facet": facet,
            **({"default_entry": default} if default else {}),
        }
    return routing


def _load_messages(kb_dir: Path) -> Dict[str, str]:
    path = kb_dir / "messages.yml"
    data = _read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("messages"), dict):
        raise KBError(path, "must hold a 'messages' mapping")
    raw = data["messages"]
    messages: Dict[str, str] = {}
    for key in MESSAGE_KEYS:
        text = _str(path, "messages", raw, key, True) or ""
        bad = [p for p in PLACEHOLDER_RE.findall(text) if p != "title"]
        if bad:
            raise KBError(
                path, f"unknown placeholder(s) {bad}; only {{title}}", "messages", key
            )
        messages[key] = text
    unknown = sorted(set(raw) - set(MESSAGE_KEYS))
    if unknown:
        raise KBError(path, f"unknown message(s) {unknown}", "messages", unknown[0])
    return messages


def _check_cross_references(
    entries: Dict[str, Entry], routing: Dict[str, Dict[str, str]]
) -> None:
    owners: Dict[str, str] = {}
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
                    kind,
                )
            other = owners.get(key)
            if other is not None and other != entry.id:
                raise KBError(
                    entry.path,
                    f"term '{term}' is already a name of entry '{other}'",
                    entry.id,
                    kind + "s" if kind != "misspelling" else "misspellings",
                )
            owners[key] = entry.id


def read_kb(kb_dir: Path | str | None = None) -> KnowledgeBase:
    """Read and validate the KB at ``kb_dir`` (default: ``$NETCHEMO_KB_DIR`` or ``kb/``)."""
    base = Path(kb_dir or os.environ.get("NETCHEMO_KB_DIR") or DEFAULT_KB_DIR)
    sources = _load_sources(base)
    entries: Dict[str, Entry] = {}
    files: List[Path] = sorted((base / "entries").glob("*.yml"))
    if not files:
        raise KBError(base / "entries", "no entry files found")
    for path in files:
        entry = _load_entry(path, sources)
        entries[entry.id] = entry
    routing = _load_routing(base, entries)
    _check_cross_references(entries, routing)
    messages = _load_messages(base)
    return KnowledgeBase(
        entries=entries, sources=sources, routing=routing, messages=messages
    )


@functools.lru_cache(maxsize=8)
def _load_kb_cached(kb_dir: str) -> KnowledgeBase:
    return read_kb(kb_dir)


def load_kb(kb_dir: Path | str | None = None) -> KnowledgeBase:
    """Cached :func:`read_kb`: the KB is read once per directory per process."""
    base = Path(kb_dir or os.environ.get("NETCHEMO_KB_DIR") or DEFAULT_KB_DIR)
    return _load_kb_cached(str(base.resolve()))
