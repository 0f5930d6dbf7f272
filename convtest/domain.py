"""Name the bot's messages by matching their text against the domain's response texts.

The REST channel returns texts, not response names. Each response variant in
``bot/domain/*.yml`` becomes a pattern: the text with ``{slot}`` placeholders as wildcards,
compared after collapsing whitespace. A message may match several names (identical texts).

Fixed sentences that actions and channels send from ``kb/messages.yml`` (key ``offer_topics``)
are named like domain responses (``utter_offer_topics``), the names docs/DESIGN.md gives them,
so scripts do not depend on which file holds a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Tuple, Union

import yaml

PLACEHOLDER = re.compile(r"\{[^{}\n]+\}")


def normalise_space(text: str) -> str:
    """Collapse runs of whitespace to one space and strip the ends."""
    return " ".join(text.split())


def text_pattern(text: str) -> re.Pattern[str]:
    """A full-match pattern for a response text; ``{slot}`` matches any text."""
    parts = PLACEHOLDER.split(normalise_space(text))
    return re.compile(".*?".join(re.escape(part) for part in parts), re.DOTALL)


@dataclass(frozen=True)
class ResponseCatalog:
    """Response name -> compiled patterns of its text variants."""

    patterns: Mapping[str, Tuple[re.Pattern[str], ...]]

    @classmethod
    def from_responses(cls, responses: Mapping[str, Any]) -> ResponseCatalog:
        """Build from a domain ``responses:`` mapping (name -> list of variants)."""
        patterns: Dict[str, Tuple[re.Pattern[str], ...]] = {}
        for name, variants in responses.items():
            compiled: List[re.Pattern[str]] = []
            for variant in variants or []:
                if isinstance(variant, dict) and isinstance(variant.get("text"), str):
                    compiled.append(text_pattern(variant["text"]))
            patterns[str(name)] = tuple(compiled)
        return cls(patterns=patterns)

    def with_messages(
        self, messages: Mapping[str, str], prefix: str = "utter_"
    ) -> ResponseCatalog:
        """A catalog that also names fixed sentences (``key`` -> ``utter_key``)."""
        patterns = dict(self.patterns)
        for key, text in messages.items():
            if not PLACEHOLDER.sub("", text).strip():
                continue  # only placeholders ("{title}"): it would match any text at all
            name = prefix + key
            patterns[name] = patterns.get(name, ()) + (text_pattern(text),)
        return ResponseCatalog(patterns=patterns)

    @classmethod
    def from_domain(cls, domain: Union[str, Path]) -> ResponseCatalog:
        """Read every ``*.yml`` in a domain directory (or one domain file).

        Raises:
            ValueError: if a domain file is not valid YAML.
        """
        base = Path(domain)
        files: Iterable[Path] = (
            sorted(base.rglob("*.yml")) + sorted(base.rglob("*.yaml"))
            if base.is_dir()
            else [base]
        )
        responses: Dict[str, Any] = {}
        for path in files:
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise ValueError(f"{path}: cannot read domain file: {exc}") from exc
            if isinstance(data, dict) and isinstance(data.get("responses"), dict):
                responses.update(data["responses"])
        return cls.from_responses(responses)

    @property
    def names(self) -> FrozenSet[str]:
        """Every response name in the domain."""
        return frozenset(self.patterns)

    def names_for(self, text: str) -> FrozenSet[str]:
        """Names of every response with a variant whose text matches ``text`` fully."""
        norm = normalise_space(text)
        return frozenset(
            name
            for name, patterns in self.patterns.items()
            if any(p.fullmatch(norm) for p in patterns)
        )
