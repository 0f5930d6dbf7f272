"""bot/cli.py (netchemo-rasa): Rasa's CLI with the patches and the log filter installed
after Rasa's own logging set-up, for the serving commands only."""

from __future__ import annotations

import inspect
import logging
import sys
import warnings
from collections.abc import Iterator

import pytest
import rasa.__main__
import structlog

from bot import cli, logging_filter, rasa_patches


@pytest.fixture
def restored(monkeypatch) -> Iterator[None]:
    """Whatever prepare() and Rasa's logging set-up change, put back afterwards."""
    monkeypatch.setattr(
        rasa.__main__, "configure_structlog", rasa.__main__.configure_structlog
    )
    saved_structlog = structlog.get_config()
    saved_factory = logging.getLogRecordFactory()
    with warnings.catch_warnings():
        yield
    rasa_patches.revert()
    structlog.configure(**saved_structlog)
    logging.setLogRecordFactory(saved_factory)


def test_rasa_main_configures_structlog_before_running_the_command() -> None:
    """The hook point: if a Rasa upgrade moves configure_structlog, look at bot/cli.py."""
    source = inspect.getsource(rasa.__main__.main)
    assert source.index("configure_structlog(log_level)") < source.index(
        "cmdline_arguments.func(cmdline_arguments)"
    )


def test_run_gets_the_patches_and_the_filter_after_rasa_configures_logging(
    restored,
) -> None:
    rasa_patches.revert()
    cli.prepare(["run", "--model", "m.tar.gz"])
    from rasa.core.actions.action import RemoteAction

    assert not getattr(RemoteAction.run, rasa_patches._APPLIED, False)  # not yet
    rasa.__main__.configure_structlog(logging.INFO)  # what rasa's main() calls
    assert getattr(RemoteAction.run, rasa_patches._APPLIED, False)
    # Rasa's configure_structlog replaced the processors: ours must be in the new list.
    assert logging_filter.redact_event in structlog.get_config()["processors"]


@pytest.mark.parametrize("command", [["train"], ["data", "validate"], []])
def test_other_commands_are_not_patched(restored, command: list[str]) -> None:
    original = rasa.__main__.configure_structlog
    cli.prepare(command)
    assert rasa.__main__.configure_structlog is original


def test_main_hands_the_arguments_to_rasa(restored, monkeypatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(rasa.__main__, "main", lambda: seen.append(list(sys.argv)))
    monkeypatch.setattr("sys.argv", ["netchemo-rasa"])
    assert cli.main(["data", "validate", "--fail-on-warnings"]) == 0
    assert seen == [["rasa", "data", "validate", "--fail-on-warnings"]]
