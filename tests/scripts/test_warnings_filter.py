"""The known-warnings filter (bot/warnings_filter.py): each entry against its real text, the
filter against a library that re-enables DeprecationWarnings after us, VERBOSE=1, and the
real imports of a Rasa server process."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import warnings_filter
from bot.warnings_filter import KNOWN, known

ROOT = Path(__file__).resolve().parents[2]

# The texts as the libraries of requirements.lock print them (make run, 2026-12-01).
SAMPLES = [
    ("pkg_resources is deprecated as an API. See https://setuptools.pypa.io/en/latest/pkg_resources.html", DeprecationWarning),  # noqa: E501
    ("Deprecated call to `pkg_resources.declare_namespace('ruamel')`.", DeprecationWarning),
    ("distutils Version classes are deprecated. Use packaging.version instead.", DeprecationWarning),  # noqa: E501
    ("jax.xla_computation is deprecated. Please use the AOT APIs.", DeprecationWarning),
    ("'setParseAction' deprecated - use 'set_parse_action'", DeprecationWarning),
    ("'click.utils.get_binary_stream' is deprecated and will be removed in Click 9.0.", DeprecationWarning),  # noqa: E501
    ("Importing 'parser.split_arg_string' is deprecated, it will only be available in 'shell_completion' in Click 9.0.", DeprecationWarning),  # noqa: E501
    ("Calling URL() directly is deprecated and will be disabled in a future release.", DeprecationWarning),  # noqa: E501
]  # fmt: skip
# Warnings that must still be printed: Rasa's data checks and anything of our own.
KEPT = [
    ("The utterance 'utter_x' is not used in any story or rule.", UserWarning),
    ("pkg_resources is deprecated as an API.", UserWarning),  # another category
    ("our_function is deprecated", DeprecationWarning),
]


@pytest.fixture
def installed(monkeypatch) -> Iterator[list[str]]:
    """install() with the warnings state and the quiet loggers restored afterwards; the
    list collects what reaches the original showwarning."""
    monkeypatch.delenv(warnings_filter.VERBOSE_ENV, raising=False)
    shown: list[str] = []
    loggers = {
        name: list(logging.getLogger(name).filters)
        for name in warnings_filter.QUIET_LOG_LINES
    }
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, *a, **k: shown.append(str(message))
        assert warnings_filter.install()
        yield shown
    for name, filters in loggers.items():
        logging.getLogger(name).filters[:] = filters


def test_every_known_entry_matches_a_real_text() -> None:
    for entry in KNOWN:
        assert any(entry.matches(text, cat) for text, cat in SAMPLES), entry.package


@pytest.mark.parametrize("text,category", SAMPLES)
def test_known_texts_are_known(text: str, category: type[Warning]) -> None:
    assert known(text, category)


@pytest.mark.parametrize("text,category", KEPT)
def test_other_warnings_are_not_known(text: str, category: type[Warning]) -> None:
    assert not known(text, category)


def test_known_warnings_are_dropped_and_others_shown(installed: list[str]) -> None:
    for text, category in SAMPLES + KEPT:
        warnings.warn(text, category, stacklevel=1)
    assert installed == [text for text, _ in KEPT]


def test_a_filter_added_later_does_not_bring_them_back(installed: list[str]) -> None:
    warnings.filterwarnings(
        "once", category=DeprecationWarning
    )  # what sanic/app.py does
    warnings.warn(SAMPLES[0][0], DeprecationWarning, stacklevel=1)
    assert installed == []


def test_rasa_sdk_registration_lines_are_dropped(installed: list[str], caplog) -> None:
    log = logging.getLogger("rasa_sdk.executor")
    with caplog.at_level(logging.INFO, logger="rasa_sdk.executor"):
        log.info("Registered function for 'action_x'.")
        log.info("Reloaded module/package: 'actions'")
        log.warning("Registered function for 'action_y' failed")  # not INFO: kept
    assert [r.getMessage() for r in caplog.records] == [
        "Reloaded module/package: 'actions'",
        "Registered function for 'action_y' failed",
    ]


def test_verbose_changes_nothing(monkeypatch) -> None:
    monkeypatch.setenv(warnings_filter.VERBOSE_ENV, "1")
    with warnings.catch_warnings():
        before = list(warnings.filters)
        shown = warnings.showwarning
        assert warnings_filter.install() is False
        assert warnings.filters == before and warnings.showwarning is shown
    assert warnings_filter.quiet_env() == {}


def rasa_imports(verbose: str) -> str:
    """stderr of a fresh process that installs the filter and imports what `rasa run`
    imports (Rasa's CLI, its server, the SQL tracker store)."""
    code = (
        "from bot import warnings_filter; warnings_filter.install()\n"
        "import rasa.__main__, rasa.core.run, rasa.core.tracker_store\n"
        "import sanic_cors\n"
    )
    # As a terminal has it: jax, imported by tests before, sets TF_CPP_MIN_LOG_LEVEL=1 in
    # this process, and install() keeps a value that is already set.
    unset = {"PYTHONWARNINGS", *warnings_filter.QUIET_ENV}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["VERBOSE"] = verbose
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300, check=True,
    )  # fmt: skip
    return done.stderr


def test_a_rasa_process_prints_none_of_them() -> None:
    quiet = rasa_imports("")
    assert "Warning" not in quiet, quiet[:2000]
    loud = rasa_imports("1")  # the same imports do warn: the test can fail
    assert "pkg_resources is deprecated" in loud


def test_the_makefile_exports_the_same_quiet_environment() -> None:
    lines = (ROOT / "Makefile").read_text().splitlines()
    block = lines[lines.index("ifeq ($(VERBOSE),)") + 1 :]
    block = block[: block.index("endif")]
    exported = dict(line.removeprefix("export ").split(" ?= ") for line in block)
    assert exported == warnings_filter.QUIET_ENV
