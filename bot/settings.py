"""Typed loader for the deployment settings in ``config/safety.yml``.

Usage::

    from bot.settings import load_settings

    settings = load_settings()
    settings.red_flags.temperature_threshold_c  # 37.5
    settings.contacts.helpline  # the wording config/safety.yml gives

``config/safety.yml`` sets every key and is the only place their values live (the contact
wording is patient-facing: it never appears in Python). A different settings file, given
as the ``path`` argument or by the environment variable ``NETCHEMO_SETTINGS`` (a relative
path is resolved from the repo root, never from the current directory), may set only some
keys: the others keep their values from ``config/safety.yml``.

Each file is checked against ``config/schema/safety.json`` (which the file also names for
editors); unknown keys, wrong types and out-of-range values raise :class:`SettingsError`
naming the file and the key. Nothing is read at import time; results are cached per
resolved path.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kb import strict_yaml
from kb.schema import Problem, check, locate, to_json

logger = logging.getLogger(__name__)

ENV_VAR = "NETCHEMO_SETTINGS"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = REPO_ROOT / "config" / "safety.yml"
SCHEMA_PATH = REPO_ROOT / "config" / "schema" / "safety.json"

# The low threshold of a safety screen built without reading the settings (tests, tools):
# the value config/safety.yml ships with (tests/test_settings.py checks that they agree).
DEFAULT_LOW_TEMPERATURE_THRESHOLD_C = 36.0


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

    temperature_threshold_c: float
    low_temperature_threshold_c: float


@dataclass(frozen=True)
class ContactSettings:
    """Patient-facing wording for the numbers to call, as config/safety.yml gives it.

    Attributes:
        helpline: the chemotherapy / acute oncology helpline.
        emergency: emergency services.
        crisis: crisis / suicide-prevention support.
    """

    helpline: str
    emergency: str
    crisis: str


@dataclass(frozen=True)
class InputSettings:
    """Limits on incoming messages.

    Attributes:
        max_message_chars: longer messages are refused by the channels.
    """

    max_message_chars: int


@dataclass(frozen=True)
class Settings:
    """All deployment settings.

    Attributes:
        red_flags: red-flag thresholds.
        contacts: contact wording.
        input: input limits.
        source: the file the settings were read from.
    """

    red_flags: RedFlagSettings
    contacts: ContactSettings
    input: InputSettings
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
            Keys it leaves out keep their values from ``config/safety.yml``.

    Returns:
        The validated settings.

    Raises:
        SettingsError: a file is missing, is not valid YAML, or a key is invalid.
    """
    return _load_settings_cached(resolve_settings_path(path))


def clear_settings_cache() -> None:
    """Forget cached settings (tests, or after the file was edited)."""
    _load_settings_cached.cache_clear()
    _base_document.cache_clear()


@functools.lru_cache(maxsize=8)
def _load_settings_cached(path: Path) -> Settings:
    if path == DEFAULT_PATH.resolve():
        _base_document()  # validated in full
        settings = parse_settings(None, source=path)
    else:
        settings = parse_settings(_read(path), source=path)
    logger.debug("Loaded settings from %s", path)
    return settings


def _read(path: Path) -> Any:
    if not path.is_file():
        raise SettingsError(f"{path}: settings file not found (set ${ENV_VAR}?)")
    try:
        return strict_yaml.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(f"{path}: cannot read settings: {exc}") from exc


@functools.lru_cache(maxsize=1)
def _base_document() -> dict[str, Any]:
    """``config/safety.yml``, which must set every key."""
    data = to_json(_read(DEFAULT_PATH.resolve()), drop_empty=True)
    _raise_first(check(data, SCHEMA_PATH, DEFAULT_PATH.resolve()))
    return data


def _raise_first(problems: list[Problem]) -> None:
    if problems:
        first = problems[0]
        raise SettingsError(locate(first.file, first.message, field=first.field))


def parse_settings(raw: Any, source: Path | None = None) -> Settings:
    """Validate a parsed settings document and build :class:`Settings`.

    Args:
        raw: the parsed document; keys it leaves out (all of them for ``None``, an
            empty file) keep their values from ``config/safety.yml``.
        source: file name used in error messages.

    Returns:
        The validated settings.

    Raises:
        SettingsError: naming the file and the offending key.
    """
    where = str(source) if source else "<settings>"
    override = to_json(raw, drop_empty=True) if raw is not None else {}
    # A partial file need not repeat what config/safety.yml sets: only missing keys are
    # forgiven here, every other problem is reported.
    problems = check(override, SCHEMA_PATH, where)
    _raise_first([p for p in problems if p.keyword != "required"])
    data = _merge(_base_document(), override)

    red, contacts = data["red_flags"], data["contacts"]
    high = float(red["temperature_threshold_c"])
    low = float(red["low_temperature_threshold_c"])
    if low >= high:
        # The normal range between them would be empty: every reading a red flag.
        raise SettingsError(
            locate(
                where,
                f"must be below red_flags.temperature_threshold_c, {high} (got {low})",
                field="red_flags.low_temperature_threshold_c",
            )
        )
    return Settings(
        red_flags=RedFlagSettings(
            temperature_threshold_c=high, low_temperature_threshold_c=low
        ),
        # Responses are templates and these are one-line phrases: YAML line breaks and
        # runs of spaces become one space.
        contacts=ContactSettings(
            **{key: " ".join(contacts[key].split()) for key in contacts}
        ),
        input=InputSettings(max_message_chars=int(data["input"]["max_message_chars"])),
        source=source,
    )


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with each section's keys replaced by those ``override`` sets."""
    return {
        section: {**values, **(override.get(section) or {})}
        for section, values in base.items()
    }
