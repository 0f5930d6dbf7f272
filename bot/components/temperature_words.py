"""The temperature reader's word lists (``config/safety/temperature.yml``), as data.

``bot/components/safety_lexicon.py`` validates the file against its schema and calls
:func:`temperature_words`; ``bot/components/temperature.py`` uses the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Dict, FrozenSet, Mapping, Tuple


@dataclass(frozen=True)
class TemperatureExample:
    """A message and the readings (deg C) the temperature reader must find in it."""

    message: str
    celsius: Tuple[float, ...]
    strong: bool | None = None


@dataclass(frozen=True)
class TemperatureWords:
    """The temperature reader's word lists (temperature.yml); see
    ``bot/components/temperature.py`` for how each is used."""

    context: FrozenSet[str]
    body_context: FrozenSet[str]
    environment: FrozenSet[str]
    service_numbers: FrozenSet[str]
    labels_before: FrozenSet[str]
    labels_before_whole: FrozenSet[str]
    labels_after: FrozenSet[str]
    fillers_before: FrozenSet[str]
    examples: Dict[str, Tuple[TemperatureExample, ...]] = field(
        default_factory=dict, compare=False
    )


# Every word group of the file (the fields above but ``examples``).
GROUPS: Tuple[str, ...] = tuple(
    f.name for f in fields(TemperatureWords) if f.name != "examples"
)


def _words(text: str) -> FrozenSet[str]:
    return frozenset(str(text).split())


def temperature_words(data: Mapping[str, Any]) -> TemperatureWords:
    """The word lists of a validated temperature.yml; body context is the context
    words minus ``body_context.remove`` plus ``body_context.add``."""
    body = data["body_context"]
    words = {
        name: _words(data[name]["words"]) for name in GROUPS if name != "body_context"
    }
    words["body_context"] = (words["context"] - _words(body["remove"])) | _words(
        body["add"]
    )
    examples = {
        name: tuple(
            TemperatureExample(
                str(item["message"]),
                tuple(float(c) for c in item["celsius"]),
                item.get("strong"),
            )
            for item in data[name]["examples"]
        )
        for name in GROUPS
    }
    return TemperatureWords(**words, examples=examples)
