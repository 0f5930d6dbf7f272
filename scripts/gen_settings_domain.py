"""Write ``bot/domain/settings.generated.yml`` from ``config/safety.yml``.

The fragment declares text slots whose ``initial_value`` comes from the settings, so
responses in ``bot/domain/*.yml`` can say ``{helpline}``:

- ``helpline``, ``emergency_number``, ``crisis_line``: the deployer's contact wording;
- ``temperature_high_c`` / ``temperature_high_f`` and ``temperature_low_c`` /
  ``temperature_low_f``: the red-flag temperature thresholds as numbers only ("37.5",
  "99.5", "36", "96.8"; the words and units around them live in the response).

The slots never influence the conversation and are never filled by NLU (``type: custom``
mapping, no action sets them).

The fragment is committed, not git-ignored: a plain ``rasa train`` (without ``make``) or a
fresh clone then still trains replies with the contact wording, never a literal
``{helpline}``, and a change of wording shows up in review next to the change of
``config/safety.yml``. ``tests/test_settings.py`` fails when the committed file is not
what this script makes from ``config/safety.yml``.

Usage (from the repo root; ``make`` runs it)::

    python scripts/gen_settings_domain.py            # (re)write if changed
    python scripts/gen_settings_domain.py --check    # exit 1 if the file is stale

With ``NETCHEMO_SETTINGS`` set, the values come from that file (over config/safety.yml).
Idempotent: the file is only rewritten when its content would change, so its mtime is
stable for make.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # allow `python scripts/gen_settings_domain.py`
    sys.path.insert(0, str(REPO_ROOT))

from bot.settings import Settings, SettingsError, load_settings  # noqa: E402

logger = logging.getLogger(__name__)

DEFAULT_OUTPUT = REPO_ROOT / "bot" / "domain" / "settings.generated.yml"
HEADER = (
    "# generated from config/safety.yml by scripts/gen_settings_domain.py (make runs it);\n"
    "# do not edit: change config/safety.yml, run make, commit both files\n"
)


def _scalar(value: str) -> str:
    """Quote a string as a YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def format_degrees(value: float) -> str:
    """A temperature as people write it: one decimal at most, no trailing ".0".

    Args:
        value: degrees (C or F).

    Returns:
        e.g. ``"37.5"``, ``"36"``, ``"100.4"``.
    """
    text = f"{round(value, 1):.1f}"
    return text[:-2] if text.endswith(".0") else text


def celsius_to_fahrenheit(celsius: float) -> float:
    """Degrees Celsius to degrees Fahrenheit."""
    return celsius * 9.0 / 5.0 + 32.0


def render_domain(settings: Settings) -> str:
    """Return the domain fragment text for ``settings``.

    Args:
        settings: loaded deployment settings.

    Returns:
        YAML text (Rasa domain format ``version: "3.1"``).
    """
    high = settings.red_flags.temperature_threshold_c
    low = settings.red_flags.low_temperature_threshold_c
    slots = [
        ("helpline", settings.contacts.helpline),
        ("emergency_number", settings.contacts.emergency),
        ("crisis_line", settings.contacts.crisis),
        ("temperature_high_c", format_degrees(high)),
        ("temperature_high_f", format_degrees(celsius_to_fahrenheit(high))),
        ("temperature_low_c", format_degrees(low)),
        ("temperature_low_f", format_degrees(celsius_to_fahrenheit(low))),
    ]
    lines = [HEADER.rstrip("\n"), 'version: "3.1"', "", "slots:"]
    for name, value in slots:
        lines += [
            f"  {name}:",
            "    type: text",
            "    influence_conversation: false",
            f"    initial_value: {_scalar(value)}",
            "    mappings:",
            "      - type: custom",
        ]
    return "\n".join(lines) + "\n"


def write_if_changed(path: Path, content: str) -> bool:
    """Write ``content`` to ``path`` unless it is already identical.

    Returns:
        True if the file was (re)written.
    """
    if path.is_file() and path.read_text(encoding="utf-8") == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(content, encoding="utf-8")
    tmp.replace(path)
    return True


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--settings",
        type=Path,
        default=None,
        help="settings file (default: $NETCHEMO_SETTINGS or config/safety.yml)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="only check that the output is current"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    try:
        content = render_domain(load_settings(args.settings))
    except SettingsError as exc:
        logger.error("error: %s", exc)
        return 2

    output = args.output if args.output.is_absolute() else REPO_ROOT / args.output
    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else None
        if current != content:
            logger.error("%s is stale: run make", output)
            return 1
        return 0
    if write_if_changed(output, content):
        logger.info("wrote %s", output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
