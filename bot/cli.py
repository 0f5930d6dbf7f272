"""``netchemo-rasa`` (``python -m bot.cli``): Rasa's command line, without the known noise.

Takes the same arguments as ``rasa`` (``netchemo-rasa run --help``); the Makefile and
``scripts/serve.py`` run every Rasa command through it. Before Rasa is imported, the known
third-party warnings are filtered (bot/warnings_filter.py; ``VERBOSE=1`` shows them).

For the serving commands (``run``, ``shell``) it also applies the Rasa patches
(bot/rasa_patches.py) and the user-text log filter (bot/logging_filter.py). In a plain
``rasa run`` the hooks in ``bot/__init__.py`` do that when Rasa first imports ``bot`` (its
components and channels), after Rasa has set up logging. Here ``bot`` is imported first,
so the same two calls are made right after Rasa's ``configure_structlog`` (which replaces
structlog's processors: the filter must come after it), before the command runs (patch 5
of bot/rasa_patches.py). A plain
``rasa ...`` still works as before, only noisier.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bot import logging_filter, rasa_patches, warnings_filter

SERVING_COMMANDS = frozenset({"run", "shell"})


def prepare(args: Sequence[str]) -> None:
    """Filter the known warnings; for a serving command, have the Rasa patches and the
    log filter installed once Rasa has configured its logging."""
    warnings_filter.install()
    if args[:1] and args[0] in SERVING_COMMANDS:
        rasa_patches.call_after_logging_setup(serve_hooks)


def serve_hooks() -> None:
    """What ``bot/__init__.py`` does in a Rasa server process, made explicit."""
    rasa_patches.apply()
    logging_filter.install()


def main(argv: Sequence[str] | None = None) -> int:
    """Run Rasa's command line with ``argv`` (default: this process's arguments)."""
    args = list(sys.argv[1:] if argv is None else argv)
    prepare(args)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *args]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
