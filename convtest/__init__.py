"""Scripted conversation tests: YAML scripts that content reviewers write, run over REST.

Run with ``python -m convtest [paths]`` (see ``tests/conversations/README.md``).

Modules:
    script      load and validate ``tests/conversations/*.yml``
    domain      name bot messages by matching them against the domain's response texts
    checks      compare one bot reply with a step's expectations
    client      talk to the Rasa REST channel and run conversations concurrently
    servers     start and stop the bot (``scripts/serve.py``) when no ``--url`` is given
    coverage    which KB entries the scripts reach
    report      the readable report and JUnit XML
    cli         the command line
"""

from convtest.checks import Failure, check_reply
from convtest.domain import ResponseCatalog
from convtest.script import Conversation, Expectations, ScriptError, Step, load_scripts

__all__ = [
    "Conversation",
    "Expectations",
    "Failure",
    "ResponseCatalog",
    "ScriptError",
    "Step",
    "check_reply",
    "load_scripts",
]
