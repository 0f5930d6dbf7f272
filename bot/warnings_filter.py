"""Known third-party warnings and start-up chatter, filtered in one place.

Rasa 3.6.21 pins libraries that warn about their own dependencies each time they are
imported: a plain ``make run`` printed about 36 such lines (pkg_resources, sanic-cors,
jax, pyparsing, click, SQLAlchemy) between the lines that matter. None of them is about
this project's code or data, and none can be fixed here without upgrading Rasa. They are
listed in :data:`KNOWN`, each with the package it comes from; anything not listed (our own
warnings, Rasa's data-validation warnings such as "utterance ... is not used") is printed
as before.

:func:`install` (idempotent) does four things:

1. an ``ignore`` filter per :data:`KNOWN` entry (``warnings.filterwarnings``);
2. a check in ``warnings.showwarning`` that drops a :data:`KNOWN` warning let through
   anyway, because a library put its own filter in front of ours later (``sanic/app.py``
   adds ``once`` for every DeprecationWarning when it is imported);
3. drops rasa_sdk's one INFO line per registered action (:data:`QUIET_LOG_LINES`);
4. sets :data:`QUIET_ENV` (TensorFlow's C++ log level, SQLAlchemy's 2.0 notice) in
   ``os.environ`` unless already set, for this process and the servers it starts
   (``scripts.paths.child_env`` adds them too; the Makefile exports the same two for
   what runs without this module, such as pytest).

Who calls it, first thing: ``bot.cli`` (``netchemo-rasa``, which runs every Rasa command of
the Makefile and the Rasa server of ``make run``), the action server and each script's
``main()`` (the ``netchemo-*`` entry points, ``make`` targets).

``VERBOSE=1`` in the environment (``make run VERBOSE=1``) turns all of it off: every warning
and log line is printed as Rasa and its libraries print them.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

VERBOSE_ENV = "VERBOSE"
_MARK = "_netchemo_known_warnings"


@dataclass(frozen=True)
class KnownWarning:
    """One warning we know and do not print: where it comes from, and its text."""

    package: str  # who warns, and who uses them (for the reader of this file)
    message: str  # regular expression matched at the start of the text, case-insensitive
    category: type[Warning] = DeprecationWarning  # or a subclass of it

    def matches(self, message: str, category: type[Warning]) -> bool:
        """True if a warning of ``category`` with text ``message`` is this one."""
        return issubclass(category, self.category) and bool(
            re.match(self.message, message, re.IGNORECASE)
        )


# Checked against rasa 3.6.21 and requirements.lock. All are DeprecationWarnings (or
# subclasses: PyparsingDeprecationWarning, SADeprecationWarning) about the libraries' own
# dependencies.
KNOWN: tuple[KnownWarning, ...] = (
    KnownWarning(
        "setuptools: pkg_resources, imported by Rasa", r"pkg_resources is deprecated"
    ),
    KnownWarning(
        "setuptools: pkg_resources namespaces of matplotlib and ruamel.yaml",
        r"Deprecated call to `pkg_resources\.declare_namespace",
    ),
    KnownWarning("sanic-cors: distutils", r"distutils Version classes are deprecated"),
    KnownWarning("jax, imported by TensorFlow", r"jax\.xla_computation is deprecated"),
    KnownWarning(
        "pyparsing 3: camelCase names used by matplotlib and packaging",
        r"'\w+' deprecated - use '\w+'",
    ),
    KnownWarning("click 8.2: names used by typer and spaCy", r".*\bClick 9\.0\b"),
    KnownWarning(
        "SQLAlchemy 1.4: Rasa's SQL tracker store builds URL() directly",
        r"Calling URL\(\) directly is deprecated",
    ),
)

# Environment for quiet children: TensorFlow's C++ INFO/WARNING lines, and SQLAlchemy 1.4's
# one "upgrade to 2.0" notice (Rasa 3.6 pins SQLAlchemy < 2).
QUIET_ENV: dict[str, str] = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}

# Log lines dropped, by logger: the start of the message. rasa_sdk logs one INFO line per
# action it registers (7 lines at every start); its errors and warnings are kept.
QUIET_LOG_LINES: dict[str, tuple[str, ...]] = {
    "rasa_sdk.executor": ("Registered function for ",),
}


def verbose() -> bool:
    """True if ``VERBOSE`` is set to anything but empty or 0: filter nothing."""
    return os.environ.get(VERBOSE_ENV, "").strip() not in ("", "0")


def known(message: str, category: type[Warning]) -> bool:
    """True if the warning is one of :data:`KNOWN`."""
    return any(entry.matches(message, category) for entry in KNOWN)


def quiet_env() -> dict[str, str]:
    """:data:`QUIET_ENV`, or nothing with ``VERBOSE=1``."""
    return {} if verbose() else dict(QUIET_ENV)


class _DropLines(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno < logging.WARNING
            and isinstance(record.msg, str)
            and record.msg.startswith(self.prefixes)
        )


def _showwarning(previous: Callable[..., None]) -> Callable[..., None]:
    def showwarning(
        message: Any, category: type[Warning], *args: Any, **kw: Any
    ) -> None:
        if not known(str(message), category):
            previous(message, category, *args, **kw)

    setattr(showwarning, _MARK, True)
    return showwarning


def install() -> bool:
    """Filter the known warnings and lines (see the module docstring); idempotent.

    Returns False, and changes nothing, with ``VERBOSE=1``.
    """
    if verbose():
        return False
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    if getattr(warnings.showwarning, _MARK, False):
        return True
    for entry in KNOWN:
        warnings.filterwarnings(
            "ignore", message=entry.message, category=entry.category
        )
    warnings.showwarning = _showwarning(warnings.showwarning)
    for name, prefixes in QUIET_LOG_LINES.items():
        logging.getLogger(name).addFilter(_DropLines(prefixes))
    return True
