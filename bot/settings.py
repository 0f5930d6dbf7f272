"""Typed loader for the deployment settings in ``config/safety.yml``.

Usage::

    from bot.settings import load_settings

    settings = load_settings()
    settings.red_flags.temperature_threshold_c  # 37.5
    settings.red_flags.low_temperature_threshold_c  # 36.0

The file is found from, in order: the ``path`` argument, the environment variable
``NETCHEMO_SETTINGS`` (a relative path is resolved from the repo root, never from the
current directory), the repo's ``config/safety.yml``. Every key is optional (missing keys
take the defaults below, which are also documented in the file); unknown keys, wrong types
and out-of-range values raise :class:`SettingsError` naming the file and the key.
Nothing is read at import time; results are cached per resolved path.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping

import yaml

logger = logging.getLogger(__name__)

ENV_VAR = "NETCHEMO_SETTINGS"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = REPO_ROOT / "config" / "safety.yml"

DEFAULT_TEMPERATURE_THRESHOLD_C = 37.5
DEFAULT_LOW_TEMPERATURE_THRESHOLD_C = 36.0
DEFAULT_HELPLINE = "your 24-hour chemotherapy (acute oncology) helpline"
DEFAULT_EMERGENCY = "999 in the UK, 112 in Europe or 911 in the US"
DEFAULT_CRISIS = (
    "Samaritans on 116 123 (UK and Ireland, free, any time), or 988 in the US, "
    "or your local crisis line"
)
DEFAULT_MAX_MESSAGE_CHARS = 2000

# Plausible ranges: a threshold outside them is far more likely a typo (e.g. 375 or
# a Fahrenheit value) than a clinical decision.
TEMPERATURE_THRESHOLD_RANGE = (35.0, 40.0)
LOW_TEMPERATURE_THRESHOLD_RANGE = (34.0, 37.0)
MAX_MESSAGE_CHARS_RANGE = (100, 20000)
MAX_CONTACT_CHARS = 300


class SettingsError(ValueError):
    """A settings file is missing, unreadable or invalid (the message names the key)."""


@dataclass(frozen=True)
class RedFlagSettings:
    """Thresholds for the red-flag checks.

    Attributes:
        temperature_threshold_c: a temperature at or above this (degrees C) is a red flag.
        low_temperature_threshold_c: a temperature below this (degrees C) is a red flag;
            always below ``temperature_threshold_c``.
    """

    temperature_threshold_c: float = DEFAULT_TEMPERATURE_THRESHOLD_C
    low_temperature_threshold_c: float = DEFAULT_LOW_TEMPERATURE_THRESHOLD_C


@dataclass(frozen=True)
class ContactSettings:
    """Patient-facing wording for the numbers to call.

    Attributes:
        helpline: the chemotherapy / acute oncology helpline.
        emergency: emergency services.
        crisis: crisis / suicide-prevention support.
    """

    helpline: str = DEFAULT_HELPLINE
    emergency: str = DEFAULT_EMERGENCY
    crisis: str = DEFAULT_CRISIS


@dataclass(frozen=True)
class InputSettings:
    """Limits on incoming messages.

    Attributes:
        max_message_chars: longer messages are refused by the channels.
    """

    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS


@dataclass(frozen=True)
class Settings:
    """All deployment settings.

    Attributes:
        red_flags: red-flag thresholds.
        contacts: contact wording.
        input: input limits.
        source: the file the settings were read from.
    """

    red_flags: RedFlagSettings = RedFlagSettings()
    contacts: ContactSettings = ContactSettings()
    input: InputSettings = InputSettings()
    source: Path | None = None


def resolve_settings_path(path: Path | None = None) -> Path:
    """Return the settings file to use (argument, then ``$NETCHEMO_SETTINGS``, then default).

    Args:
        path: explicit path; relative paths are resolved from the repo root.

    Returns:
        An absolute path (not checked for existence).
    """
    if path is None:
        env_value = os.environ.get(ENV_VAR, "").strip()
        path = Path(env_value) if env_value else DEFAULT_PATH
    path = Path(path).expanduser()
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path.resolve()


def load_settings(path: Path | None = None) -> Settings:
    """Load and validate the deployment settings (cached per resolved path).

    Args:
        path: settings file; default ``$NETCHEMO_SETTINGS`` or ``config/safety.yml``.

    Returns:
        The validated settings.

    Raises:
        SettingsError: the file is missing, is not valid YAML, or a key is invalid.
    """
    return _load_settings_cached(resolve_settings_path(path))


def clear_settings_cache() -> None:
    """Forget cached settings (tests, or after the file was edited)."""
    _load_settings_cached.cache_clear()


@functools.lru_cache(maxsize=8)
def _load_settings_cached(path: Path) -> Settings:
    if not path.is_file():
        raise SettingsError(f"{path}: settings file not found (set ${ENV_VAR}?)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(f"{path}: cannot read settings: {exc}") from exc
    settings = parse_settings(raw, source=path)
    logger.debug("Loaded settings from %s", path)
    return settings


def parse_settings(raw: Any, source: Path | None = None) -> Settings:
    """Validate a parsed YAML document and build :class:`Settings`.

    Args:
        raw: the parsed document (``None`` for an empty file means all defaults).
        source: file name used in error messages.

    Returns:
        The validated settings.

    Raises:
        SettingsError: naming the offending key.
    """
    where = str(source) if source else "<settings>"
    if raw is None:
        raw = {}
    top = _section(raw, "", where, {"red_flags", "contacts", "input"})

    red = _section(
        top.get("red_flags"),
        "red_flags",
        where,
        {"temperature_threshold_c", "low_temperature_threshold_c"},
    )
    contacts = _section(
        top.get("contacts"), "contacts", where, {"helpline", "emergency", "crisis"}
    )
    inp = _section(top.get("input"), "input", where, {"max_message_chars"})

    high = _number(
        red,
        "red_flags.temperature_threshold_c",
        where,
        DEFAULT_TEMPERATURE_THRESHOLD_C,
        TEMPERATURE_THRESHOLD_RANGE,
    )
    low = _number(
        red,
        "red_flags.low_temperature_threshold_c",
        where,
        DEFAULT_LOW_TEMPERATURE_THRESHOLD_C,
        LOW_TEMPERATURE_THRESHOLD_RANGE,
    )
    if low >= high:
        # The normal range between them would be empty: every reading a red flag.
        raise SettingsError(
            f"{where}: 'red_flags.low_temperature_threshold_c' ({low}) must be below "
            f"'red_flags.temperature_threshold_c' ({high})"
        )
    return Settings(
        red_flags=RedFlagSettings(
            temperature_threshold_c=high, low_temperature_threshold_c=low
        ),
        contacts=ContactSettings(
            helpline=_text(contacts, "contacts.helpline", where, DEFAULT_HELPLINE),
            emergency=_text(contacts, "contacts.emergency", where, DEFAULT_EMERGENCY),
            crisis=_text(contacts, "contacts.crisis", where, DEFAULT_CRISIS),
        ),
        input=InputSettings(
            max_message_chars=_integer(
                inp,
                "input.max_message_chars",
                where,
                DEFAULT_MAX_MESSAGE_CHARS,
                MAX_MESSAGE_CHARS_RANGE,
            )
        ),
        source=source,
    )


def _section(value: Any, name: str, where: str, allowed: set) -> Mapping[str, Any]:
    """Check that a (sub)section is a mapping with only known keys."""
    label = name or "top level"
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SettingsError(
            f"{where}: '{label}' must be a mapping, got {type(value).__name__}"
        )
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        prefix = f"{name}." if name else ""
        raise SettingsError(
            f"{where}: unknown key(s) {', '.join(prefix + k for k in unknown)} "
            f"(allowed: {', '.join(prefix + k for k in sorted(allowed))})"
        )
    return value


def _leaf(section: Mapping[str, Any], key: str) -> Any:
    return section.get(key.rsplit(".", 1)[-1])


def _number(
    section: Mapping[str, Any],
    key: str,
    where: str,
    default: float,
    bounds: tuple,
) -> float:
    value = _leaf(section, key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(
            f"{where}: '{key}' must be a number (degrees C), got {value!r}"
        )
    value = float(value)
    low, high = bounds
    if not math.isfinite(value) or not low <= value <= high:
        raise SettingsError(
            f"{where}: '{key}' must be between {low} and {high}, got {value}"
        )
    return value


def _integer(
    section: Mapping[str, Any], key: str, where: str, default: int, bounds: tuple
) -> int:
    value = _leaf(section, key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"{where}: '{key}' must be a whole number, got {value!r}")
    low, high = bounds
    if not low <= value <= high:
        raise SettingsError(
            f"{where}: '{key}' must be between {low} and {high}, got {value}"
        )
    return value


def _text(section: Mapping[str, Any], key: str, where: str, default: str) -> str:
    value = _leaf(section, key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise SettingsError(f"{where}: '{key}' must be text, got {value!r}")
    value = " ".join(value.split())
    if not value:
        raise SettingsError(f"{where}: '{key}' must not be empty")
    if len(value) > MAX_CONTACT_CHARS:
        raise SettingsError(
            f"{where}: '{key}' is longer than {MAX_CONTACT_CHARS} characters"
        )
    # Responses are Rasa templates: braces in a slot value would confuse readers of
    # the domain and are never needed in a phone number or service name.
    if "{" in value or "}" in value:
        raise SettingsError(f"{where}: '{key}' must not contain '{{' or '}}'")
    return value


def settings_as_dict(settings: Settings) -> Dict[str, Any]:
    """Plain-dict view (without ``source``), e.g. for logging or generated files."""
    return {
        "red_flags": {
            "temperature_threshold_c": settings.red_flags.temperature_threshold_c,
            "low_temperature_threshold_c": (
                settings.red_flags.low_temperature_threshold_c
            ),
        },
        "contacts": {
            "helpline": settings.contacts.helpline,
            "emergency": settings.contacts.emergency,
            "crisis": settings.contacts.crisis,
        },
        "input": {"max_message_chars": settings.input.max_message_chars},
    }
