"""Plain data classes for the knowledge base; no I/O here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

# What an entry can be about. ``non_chemo`` is a treatment people often mistake for chemo.
KINDS = ("drug", "regimen", "concept", "procedure", "non_chemo", "myth")

# The questions an entry can answer beyond its short ``answer`` ("what is it?").
FACETS = (
    "how_given",  # tablets or drip, how often
    "is_chemo",  # is it chemotherapy or not
    "brand_names",  # brand and other names
    "used_for",  # which NETs / situations it is used for
    "side_effects",  # only reviewed, sourced facts
)


def normalise_term(text: str) -> str:
    """Lower-case and drop everything but letters and digits: "5-FU" -> "5fu"."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())


@dataclass(frozen=True)
class Source:
    """A public source that KB text is based on."""

    id: str
    title: str
    publisher: str
    # The address channels link to: the ``url`` field, or https://doi.org/<doi>.
    url: str | None = None
    note: str | None = None
    year: int | None = None
    doi: str | None = None


@dataclass(frozen=True)
class Facet:
    """One reviewed answer to one kind of question about an entry."""

    text: str
    source: str


@dataclass(frozen=True)
class Entry:
    """One topic of the knowledge base."""

    id: str
    title: str
    kind: str
    answer: str
    sources: tuple[str, ...]
    reviewed: str
    names: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()
    misspellings: tuple[str, ...] = ()
    is_chemo: bool | None = None
    detail: str | None = None
    facets: dict[str, Facet] = field(default_factory=dict)
    related: tuple[str, ...] = ()
    # Who last checked the entry, as a role ("oncology pharmacist"), never a name.
    reviewed_by: str = ""
    # Two or three reviewed questions a patient could take to their specialist team.
    questions_for_team: tuple[str, ...] = ()
    # A broad topic ("chemotherapy", "NET") yields to a more specific entry or to
    # the intent's default entry when both are mentioned.
    broad: bool = False
    path: str = ""

    def terms(self) -> Iterator[tuple[str, str]]:
        """Every way of writing this entry's name, as ``(term, term_kind)`` pairs."""
        for kind, terms in (
            ("name", self.names),
            ("brand", self.brands),
            ("abbreviation", self.abbreviations),
            ("misspelling", self.misspellings),
        ):
            for term in terms:
                yield term, kind

    def facet(self, name: str) -> Facet | None:
        """The reviewed text for ``name``, or None if the KB holds none."""
        if name == "what_is":
            return Facet(self.answer, self.sources[0])
        return self.facets.get(name)


@dataclass(frozen=True)
class KnowledgeBase:
    """All entries and sources, with lookups built once."""

    entries: dict[str, Entry]
    sources: dict[str, Source]
    routing: dict[str, dict[str, str]]

    def get(self, entry_id: str) -> Entry | None:
        """The entry with this id, if any."""
        return self.entries.get(entry_id)

    def term_index(self) -> dict[str, str]:
        """Map of normalised term -> entry id for every name, brand, abbreviation, misspelling."""
        index: dict[str, str] = {}
        for entry in self.entries.values():
            for term, _kind in entry.terms():
                index[normalise_term(term)] = entry.id
        return index
