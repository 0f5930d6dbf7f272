"""The user-text log filter (bot/logging_filter.py) against Rasa's own leaky records."""

from __future__ import annotations

import logging
import uuid
import warnings
from collections.abc import Iterator

import pytest
import structlog
from rasa.shared.core.training_data.story_reader.yaml_story_reader import (
    YAMLStoryReader,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.log_utils import configure_structlog

from bot import logging_filter


@pytest.fixture(params=[logging.INFO])
def rasa_logging(request) -> Iterator[None]:
    """Logging set up as `rasa run` does, the filter installed; all undone afterwards."""
    saved_structlog = structlog.get_config()
    saved_factory = logging.getLogRecordFactory()
    saved_show = warnings.showwarning
    configure_structlog(request.param)
    logging_filter.install()
    try:
        yield
    finally:
        structlog.configure(**saved_structlog)
        logging.setLogRecordFactory(saved_factory)
        warnings.showwarning = saved_show


def marker() -> str:
    return f"zq{uuid.uuid4().hex[:10]}"


def test_structlog_user_text_is_redacted(rasa_logging, caplog) -> None:
    mark = marker()
    with caplog.at_level(logging.INFO):
        YAMLStoryReader.unpack_regex_message(Message({"text": f"/{{{mark} hello"}))
    assert "message.parsing.failed" in caplog.text
    assert mark not in caplog.text


@pytest.mark.parametrize("rasa_logging", [logging.DEBUG], indirect=True)
def test_debug_events_keep_their_text(rasa_logging, caplog) -> None:
    mark = marker()
    with caplog.at_level(logging.DEBUG):
        structlog.get_logger().debug("some.event", text=mark)
    assert mark in caplog.text


def test_rasa_warning_quoting_a_typed_line_is_redacted(rasa_logging) -> None:
    mark = marker()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logging_filter.install()  # catch_warnings swapped showwarning
        YAMLStoryReader.unpack_regex_message(
            Message({"text": f'/greet{{"{mark}": oops}}'})
        )
    texts = [str(w.message) for w in caught]
    assert any("Failed to parse arguments" in t for t in texts), texts
    assert not any(mark in t for t in texts)


def test_stdlib_records_are_redacted(rasa_logging, caplog) -> None:
    mark = marker()
    with caplog.at_level(logging.INFO):
        logging.getLogger("py.warnings").warning(
            "Failed to parse arguments in line '%s'. Continuing.", f"/x{{{mark}"
        )
    assert "Failed to parse arguments" in caplog.text
    assert mark not in caplog.text


def test_install_is_idempotent(rasa_logging) -> None:
    logging_filter.install()
    processors = structlog.get_config()["processors"]
    assert processors.count(logging_filter.redact_event) == 1
