"""``rasa data validate --fail-on-warnings``, with one reviewed exception.

Rasa's validator warns "The utterance 'utter_x' is not used in any story or rule." for
every domain response that only code sends: an action (``response="utter_x"``), a channel
(``reply_text("x", channel)``) or Rasa's core fallback (``utter_default``). Rasa 3.6 prints those
warnings but never fails on them, even with ``--fail-on-warnings``, so a response that
nothing sends any more would pass unnoticed; moving the sentences out of the domain to
silence them would lose Rasa's channel variants and ``response=`` dispatch.

This check runs Rasa's own validation (``rasa.cli.utils.validate_files``, as the CLI does)
and then fails on:

* anything Rasa itself fails on;
* any warning Rasa raises, except "not used in any story or rule" for a response on the
  reviewed list ``scripts/responses_sent_by_code.yml`` (deprecation warnings of the
  libraries imported are not about our data and are left out, and so are the warnings
  Rasa's own command line hides: ``rasa.utils.common.EXPECTED_WARNINGS``);
* a name on that list that is not a domain response, or that a story or rule now sends.

Usage (``make validate``)::

    python -m scripts.validate_data [--config config.yml] [--domain bot/domain] [--data data]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import re
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
ALLOW_LIST = ROOT / "scripts" / "responses_sent_by_code.yml"
ALLOW_LIST_SCHEMA = ROOT / "scripts" / "responses_sent_by_code.schema.json"
UNUSED_RESPONSE = re.compile(
    r"^The utterance '([^']+)' is not used in any story or rule\.$"
)
# Library deprecations raised while Rasa imports its modules: not about the project's data.
IGNORED_CATEGORIES = (DeprecationWarning, PendingDeprecationWarning)

logger = logging.getLogger(__name__)


class AllowListError(ValueError):
    """The allow-list file is missing or does not match its schema."""


@dataclass(frozen=True)
class Verdict:
    """What the validation found: problems (each fails the check) and accepted warnings."""

    problems: list[str]
    accepted: list[str]

    @property
    def ok(self) -> bool:
        """True if nothing fails the check."""
        return not self.problems


def load_allow_list(path: Path = ALLOW_LIST) -> dict[str, dict[str, Any]]:
    """The reviewed responses sent by code: name -> {sent_by, values, why}.

    Raises:
        AllowListError: if the file cannot be read or does not match its schema.
    """
    import jsonschema  # only this command needs it

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise AllowListError(f"{path}: cannot read: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("reviewed"), dt.date):
        data["reviewed"] = data["reviewed"].isoformat()
    schema = json.loads(ALLOW_LIST_SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(data),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top)"
        raise AllowListError(f"{path}, at {where}: {errors[0].message}")
    return dict(data["responses"])


def judge(
    warning_texts: Sequence[str],
    allowed: Sequence[str],
    domain_responses: Sequence[str],
    rasa_failed: bool = False,
) -> Verdict:
    """Sort the validator's warnings into problems and accepted ones.

    Args:
        warning_texts: every warning message Rasa raised (deprecations left out).
        allowed: the response names on the reviewed list.
        domain_responses: every response name in the domain.
        rasa_failed: True if Rasa's own validation failed.
    """
    problems: list[str] = []
    accepted: list[str] = []
    unused = set()
    for text in warning_texts:
        match = UNUSED_RESPONSE.match(text.strip())
        if match and match.group(1) in allowed:
            accepted.append(match.group(1))
            unused.add(match.group(1))
        elif match:
            problems.append(
                f"{text.strip()} Send it from a rule or story, delete it, or add it to "
                f"{ALLOW_LIST.relative_to(ROOT)} with the code that sends it."
            )
        else:
            problems.append(text.strip())
    for name in allowed:
        if name not in domain_responses:
            problems.append(
                f"{ALLOW_LIST.relative_to(ROOT)}: {name} is not a domain response"
            )
        elif name not in unused:
            problems.append(
                f"{ALLOW_LIST.relative_to(ROOT)}: {name} is sent by a story or rule "
                "now; take it off the list"
            )
    if rasa_failed:
        problems.append("Rasa's validation failed (see its errors above)")
    return Verdict(problems=problems, accepted=sorted(accepted))


def expected_warning(caught: warnings.WarningMessage) -> bool:
    """True for a library deprecation, or a warning Rasa's command line hides itself."""
    from rasa.utils.common import EXPECTED_WARNINGS

    if issubclass(caught.category, IGNORED_CATEGORIES):
        return True
    text = str(caught.message)
    return any(
        issubclass(caught.category, category) and re.match(pattern, text)
        for category, pattern in EXPECTED_WARNINGS
    )


def run_rasa_validation(
    config: Path, domain: Path, data: Path
) -> tuple[bool, list[str], list[str]]:
    """Rasa's ``data validate --fail-on-warnings``, in this process.

    Returns:
        (passed by Rasa's own rules, warnings raised, names of every domain response).
    """
    import rasa.cli.utils
    from rasa.shared.importers.importer import TrainingDataImporter

    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.name.startswith("rasa"):
                records.append(record)

    handler = Collect(level=logging.WARNING)
    logging.getLogger().addHandler(handler)
    passed = True
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            importer = TrainingDataImporter.load_from_config(
                domain_path=str(domain),
                training_data_paths=[str(data)],
                config_path=str(config),
            )
            responses = list(importer.get_domain().responses)
            try:
                rasa.cli.utils.validate_files(True, None, importer)
            except SystemExit as exc:  # print_error_and_exit: Rasa found errors
                passed = exc.code in (0, None)
    finally:
        logging.getLogger().removeHandler(handler)
    texts = [str(w.message) for w in caught if not expected_warning(w)]
    texts += [r.getMessage() for r in records]
    return passed, texts, responses


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--domain", type=Path, default=ROOT / "bot" / "domain")
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        allowed = load_allow_list()
    except AllowListError as exc:
        logger.error("error: %s", exc)
        return 2
    passed, texts, responses = run_rasa_validation(args.config, args.domain, args.data)
    verdict = judge(texts, list(allowed), responses, rasa_failed=not passed)
    for problem in verdict.problems:
        logger.error("error: %s", problem)
    if not verdict.ok:
        logger.error("data validation: %d problem(s)", len(verdict.problems))
        return 1
    logger.info(
        "data validation passed; %d responses are sent by code, not by rules "
        "(reviewed list: %s)",
        len(verdict.accepted),
        ALLOW_LIST.relative_to(ROOT),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
