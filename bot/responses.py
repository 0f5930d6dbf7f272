"""Domain responses as text, for sentences that a channel sends by itself.

Every fixed sentence lives in the domain (``bot/domain/*.yml``) as a response. Rules and
actions send them through Rasa (``response="utter_..."``); the channels, which answer
some messages without Rasa (a rate limit, an over-long message, "forget me"), read them
here: :func:`text` picks the variant for the channel (a ``channel:`` variant if there is
one, else the default one) and fills its ``{placeholders}``.

Placeholders are filled exactly as Rasa's response templating fills them
(``rasa.core.nlg.interpolator``, Rasa 3.6), from:

* the deployment settings (:func:`settings_values`: ``{helpline}``,
  ``{emergency_number}``, ``{crisis_line}`` and the four ``{temperature_*}`` numbers,
  from ``config/safety.yml``), the same values that the Rasa server fills from the slots
  of ``bot/domain/settings.generated.yml``;
* the values the caller passes (``title="CAPTEM"``).

A placeholder with no value is an error (:class:`KeyError`), never sent as ``{name}``.
Nothing is read at import time; the domain files are read once per process.
"""

from __future__ import annotations

import functools
import os
import re
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.settings import Settings, load_settings
from kb import strict_yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DOMAIN_DIR = ROOT / "bot" / "domain"
DOMAIN_ENV = "NETCHEMO_DOMAIN_DIR"  # another domain folder (tests)
PREFIX = "utter_"

# Rasa's own rule (rasa/core/nlg/interpolator.py, 3.6): "{name}" becomes "{0[name]}" for
# str.format, so "{{" stays a literal brace and names may hold any character but braces
# and new lines.
_RASA_PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")

Variant = dict[str, Any]


def format_degrees(value: float) -> str:
    """A temperature as people write it: one decimal at most, no trailing ".0"."""
    text = f"{round(value, 1):.1f}"
    return text[:-2] if text.endswith(".0") else text


def settings_values(settings: Settings | None = None) -> dict[str, str]:
    """The placeholder values that come from the deployment settings.

    Args:
        settings: the settings to use; default :func:`bot.settings.load_settings`.

    Returns:
        ``helpline``, ``emergency_number``, ``crisis_line`` (the contact wording) and
        ``temperature_high_c`` / ``_f``, ``temperature_low_c`` / ``_f`` (numbers only,
        e.g. "37.5", "99.5", "36", "96.8").
    """
    settings = settings or load_settings()
    high = settings.red_flags.temperature_threshold_c
    low = settings.red_flags.low_temperature_threshold_c
    return {
        "helpline": settings.contacts.helpline,
        "emergency_number": settings.contacts.emergency,
        "crisis_line": settings.contacts.crisis,
        "temperature_high_c": format_degrees(high),
        "temperature_high_f": format_degrees(high * 9.0 / 5.0 + 32.0),
        "temperature_low_c": format_degrees(low),
        "temperature_low_f": format_degrees(low * 9.0 / 5.0 + 32.0),
    }


def parts(template: str) -> list[tuple[str, str | None]]:
    """``template`` as Rasa reads it: (literal text, placeholder name or None) pairs, in
    order ("{{" is a literal brace)."""
    converted = _RASA_PLACEHOLDER.sub(r"{0[\1]}", template)
    out: list[tuple[str, str | None]] = []
    for literal, field, _spec, _conversion in string.Formatter().parse(converted):
        named = field and field.startswith("0[") and field.endswith("]")
        out.append((literal, field[2:-1] if named and field else None))
    return out


def placeholders(template: str) -> tuple[str, ...]:
    """The names Rasa would look up to fill ``template``, in order ("{{" is a brace)."""
    return tuple(name for _literal, name in parts(template) if name is not None)


def fill(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with its placeholders filled, as Rasa fills a response text.

    Raises:
        KeyError: naming the first placeholder without a value.
    """
    missing = [name for name in placeholders(template) if name not in values]
    if missing:
        raise KeyError(f"no value for placeholder {{{missing[0]}}}")
    return _RASA_PLACEHOLDER.sub(r"{0[\1]}", template).format(dict(values))


def domain_dir() -> Path:
    """The domain folder: ``$NETCHEMO_DOMAIN_DIR`` or ``bot/domain``."""
    return Path(os.environ.get(DOMAIN_ENV) or DEFAULT_DOMAIN_DIR).resolve()


def domain_files(path: Path | str) -> list[Path]:
    """The domain files of ``path`` as Rasa finds them: the file itself, or every
    ``*.yml`` / ``*.yaml`` under the folder (sub-folders too), in name order."""
    base = Path(path)
    if not base.is_dir():
        return [base]
    return sorted(p for p in base.rglob("*") if p.suffix in (".yml", ".yaml"))


@functools.lru_cache(maxsize=4)
def read_responses(path: str) -> dict[str, list[Variant]]:
    """:func:`load_responses`, cached (read once per process)."""
    return load_responses(path)


def load_responses(path: Path | str) -> dict[str, list[Variant]]:
    """Every response of the domain at ``path``, a file or a folder (name -> variants).

    The one reader of domain responses: the channels, convtest and the tests use it.

    Raises:
        ValueError: if a domain file is not valid YAML or a response is not a list.
    """
    responses: dict[str, list[Variant]] = {}
    for file in domain_files(path):
        try:
            data = strict_yaml.load(file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"{file}: cannot read domain file: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"{file}: a domain file must be a mapping")
        for name, variants in (data.get("responses") or {}).items():
            if not isinstance(variants, list) or not all(
                isinstance(v, dict) for v in variants
            ):
                raise ValueError(f"{file}: response {name} must be a list of variants")
            responses[str(name)] = variants
    return responses


def responses() -> dict[str, list[Variant]]:
    """The project's domain responses (cached)."""
    return read_responses(str(domain_dir()))


def variant(variants: Sequence[Variant], channel: str | None = None) -> Variant | None:
    """The variant Rasa would choose for ``channel`` without slot conditions: the first
    one made for the channel, else the first without ``channel:`` and ``condition:``."""
    plain = [v for v in variants if not v.get("condition")]
    for candidate in plain:
        if channel and candidate.get("channel") == channel:
            return candidate
    return next((v for v in plain if not v.get("channel")), None)


def text(name: str, channel: str | None = None, **values: Any) -> str:
    """The text of response ``name`` for ``channel``, with its placeholders filled.

    Args:
        name: a response name (``utter_too_many_messages``).
        channel: the output channel's name (``telegram``, ``socketio``, ``rest``).
        values: values for the placeholders (the settings' values are always there).

    Raises:
        KeyError: no such response, it has no text variant, or a placeholder has no value.
    """
    chosen = variant(responses()[name], channel)
    if chosen is None or not isinstance(chosen.get("text"), str):
        raise KeyError(f"response {name} has no text for channel {channel or 'any'}")
    return fill(chosen["text"], {**settings_values(), **values})


def message(key: str, channel: str | None = None, **values: Any) -> str:
    """The sentence ``key`` (the response ``utter_<key>``): ``message("text_only")``."""
    return text(PREFIX + key, channel, **values)
