"""Keeps what people type out of the logs at INFO and above, Rasa's own records included.

People write about their health; the logs of a server are read by more people, and kept
longer, than conversations. Our own code logs labels only. Rasa 3.6.21 does not: it logs
user text in three ways, each handled here for records at INFO or above (DEBUG, used only
when someone debugs on purpose, is left alone):

1. **structlog events** with the text in named fields, e.g. ``message.parsing.failed``
   with ``user_text`` (rasa/shared/core/training_data/story_reader/yaml_story_reader.py)
   or ``rest.message.received.timeout`` with ``text``. Rasa lists those fields itself
   (``rasa.utils.log_utils._anonymizer``) but only a Rasa Pro plugin redacts them; our
   structlog processor replaces them with ``<redacted>``.
2. **Python warnings** from ``rasa.shared.utils.io.raise_warning`` that quote a typed
   ``/intent{...}`` line ("Failed to parse arguments in line '<the whole message>'"):
   ``warnings.showwarning`` is wrapped to redact them.
3. **stdlib log records** with the same sentences (e.g. warnings routed to logging): a log
   record factory redacts their message and drops their arguments.

:func:`install` is idempotent. ``bot/__init__.py`` calls it through
:func:`install_if_serving` in every Rasa server process (not in ``rasa train``), and
``scripts/actions_server.py`` calls it in the action server.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

REDACTED = "<redacted>"
# The structlog fields rasa.utils.log_utils._anonymizer lists as carrying user data.
USER_FIELDS = frozenset(
    {
        "text", "response_text", "user_text", "slot_values", "parse_data_text",
        "parse_data_entities", "prediction_events", "tracker_latest_message",
        "prefilled_slots", "message", "response", "slot_candidates", "rasa_event",
        "rasa_events", "tracker_states", "current_states", "old_states", "successes",
        "current_entity", "next_entity", "states", "entity", "token_text",
        "user_message", "json_message", "metadata", "sender_id",
    }
)  # fmt: skip
QUIET_METHODS = frozenset({"debug", "trace"})  # structlog methods below INFO
# Sentences Rasa writes with user text in them: (pattern, what remains of the sentence).
SENTENCES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"Failed to parse arguments in line '.*", re.DOTALL),
        "Failed to parse arguments in a typed /intent line (text redacted).",
    ),
    (
        re.compile(r"(Expected confidence to be .*?)(found|but found) .*", re.DOTALL),
        r"\1\2 a value (redacted).",
    ),
)
_MARK = "_netchemo_user_text_filter"


def redact(text: str) -> str:
    """``text`` with every sentence known to quote user text cut at the quote."""
    for pattern, replacement in SENTENCES:
        text = pattern.sub(replacement, text)
    return text


def redact_event(_logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: user fields of events at INFO and above become <redacted>."""
    if method in QUIET_METHODS:
        return event
    for key in USER_FIELDS.intersection(event):
        event[key] = REDACTED
    if isinstance(event.get("event"), str):
        event["event"] = redact(event["event"])
    return event


def _record_factory(previous: Callable[..., logging.LogRecord]) -> Callable[..., Any]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.levelno >= logging.INFO:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 (a malformed record is left as it is)
                return record
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, ()
        return record

    setattr(factory, _MARK, True)
    return factory


def _showwarning(previous: Callable[..., None]) -> Callable[..., None]:
    def showwarning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        text = str(message)
        cleaned = redact(text)
        if cleaned != text:
            message = cleaned
        previous(message, category, *args, **kwargs)

    setattr(showwarning, _MARK, True)
    return showwarning


def _install_structlog() -> bool:
    """Put :func:`redact_event` first in structlog's processors (in place, so loggers
    already bound see it too). False if structlog is not there."""
    try:
        import structlog
    except ImportError:  # pragma: no cover (Rasa depends on it)
        return False
    processors: list[Any] = structlog.get_config()["processors"]
    if redact_event not in processors:
        processors.insert(0, redact_event)
    return True


def install() -> None:
    """Install the three filters (idempotent); logs one line the first time."""
    first = not getattr(logging.getLogRecordFactory(), _MARK, False)
    if first:
        logging.setLogRecordFactory(_record_factory(logging.getLogRecordFactory()))
    if not getattr(warnings.showwarning, _MARK, False):
        warnings.showwarning = _showwarning(warnings.showwarning)
    _install_structlog()
    if first:
        logger.info("user-text log filter installed")


def install_if_serving() -> None:
    """:func:`install` in a Rasa server process (``rasa run``, ``rasa shell``) only, so
    ``rasa train`` and ``rasa data validate`` still quote the training line they reject."""
    if "rasa.core.run" in sys.modules:
        install()
