"""Name the bot's messages with the domain's response names.

A REST message that says which response it is (``"response": "utter_x"``, if the channel
passes Rasa's response name on) is named by that. Otherwise its text is compared with
every text variant of every response in ``bot/domain/*.yml`` that the REST channel can
receive (no ``channel:``, or ``channel: collector``, the name Rasa gives the REST
channel's output channel; the domain is read by :func:`bot.responses.load_responses`):

* placeholders whose values are known are filled exactly as the bot fills them (the
  deployment settings of ``config/safety.yml``: ``{helpline}``, ``{emergency_number}``,
  ...), so a reply that still says "{helpline}" matches nothing;
* what is left is the values only the sender knows (``{title}``, ``{questions}``): the
  text must start with the variant's first words, end with its last ones, and hold the
  words in between in order.

Whitespace runs count as one space. A message may match several names (identical texts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import responses as domain_responses

# The name of the REST channel's output channel (Rasa's CollectingOutputChannel), which
# picks the variants that REST users get.
REST_CHANNEL = "collector"


def normalise_space(text: str) -> str:
    """Collapse runs of whitespace to one space and strip the ends."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Template:
    """One text variant: its words, split where a value only the sender knows goes."""

    pieces: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, known: Mapping[str, str]) -> Template:
        """``text`` with the ``known`` placeholders filled as Rasa fills them."""
        pieces = [""]
        for literal, name in domain_responses.parts(text):
            pieces[-1] += literal
            if name is None:
                continue
            if name in known:
                pieces[-1] += str(known[name])
            else:
                pieces.append("")
        return cls(tuple(normalise_space(p) for p in pieces))

    @property
    def has_words(self) -> bool:
        """False for a variant that is only placeholders: it would match any text."""
        return any(self.pieces)

    def matches(self, text: str) -> bool:
        """True if ``text`` is this variant with some values put in its open places."""
        norm = normalise_space(text)
        if len(self.pieces) == 1:
            return norm == self.pieces[0]
        first, *middle, last = self.pieces
        if not (norm.startswith(first) and norm.endswith(last)):
            return False
        pos, end = len(first), len(norm) - len(last)
        if end < pos:
            return False
        for piece in middle:
            found = norm.find(piece, pos, end)
            if found < 0:
                return False
            pos = found + len(piece)
        return True


@dataclass(frozen=True)
class ResponseCatalog:
    """Response name -> its text variants, ready to compare."""

    templates: Mapping[str, tuple[Template, ...]]

    @classmethod
    def from_responses(
        cls,
        responses: Mapping[str, Any],
        known: Mapping[str, str] | None = None,
        channel: str = REST_CHANNEL,
    ) -> ResponseCatalog:
        """Build from a domain ``responses:`` mapping (name -> list of variants).

        Args:
            responses: the domain's responses.
            known: placeholder values the bot always uses (default: none).
            channel: the output channel whose variants count (REST).
        """
        templates: dict[str, tuple[Template, ...]] = {}
        for name, variants in responses.items():
            parsed: list[Template] = []
            for variant in variants or []:
                if not isinstance(variant, dict) or not isinstance(
                    variant.get("text"), str
                ):
                    continue
                if variant.get("channel") not in (None, channel):
                    continue
                template = Template.parse(variant["text"], known or {})
                if template.has_words:
                    parsed.append(template)
            templates[str(name)] = tuple(parsed)
        return cls(templates=templates)

    @classmethod
    def from_domain(
        cls, domain: str | Path, known: Mapping[str, str] | None = None
    ) -> ResponseCatalog:
        """Read every ``*.yml`` in a domain directory (or one domain file).

        Args:
            domain: a domain folder or file.
            known: placeholder values the bot always uses; default the deployment
                settings (``bot.responses.settings_values``, from ``config/safety.yml`` or
                ``$NETCHEMO_SETTINGS``).

        Raises:
            ValueError: if a domain file is not valid YAML, or the settings are invalid.
        """
        if known is None:
            known = domain_responses.settings_values()
        responses = domain_responses.load_responses(domain)
        return cls.from_responses(responses, known)

    @property
    def names(self) -> frozenset[str]:
        """Every response name in the domain."""
        return frozenset(self.templates)

    def names_for(self, text: str) -> frozenset[str]:
        """Names of every response with a variant that ``text`` is."""
        return frozenset(
            name
            for name, templates in self.templates.items()
            if any(t.matches(text) for t in templates)
        )
