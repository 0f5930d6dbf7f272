"""Telegram's own commands: ``/start``, ``/help``, ``/questions`` and ``/forget``.

Any other typed ``/...`` text is not a command: it goes through the shared typed-command
rule (bot.channels.guard.neutralise_commands) and reaches Rasa as words.
"""

from __future__ import annotations

import re

# Intents the commands trigger (an internal, trusted message, never user text).
COMMAND_INTENTS = {
    "start": "/greet",
    "help": "/ask_capabilities",
    "questions": "/show_saved_questions",  # the saved questions to ask the team, one message
}
COMMAND_FORGET = "forget"


def parse_command(text: str, bot_name: str | None = None) -> str | None:
    """Returns the lower-case command name of ``/cmd`` or ``/cmd@bot args``, or None.

    A command addressed to another bot (``/start@OtherBot``) is not ours: None.
    """
    match = re.match(r"^/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{1,64}))?(?:\s|$)", text)
    if not match:
        return None
    addressee = match.group(2)
    if addressee and bot_name and addressee.lower() != bot_name.lstrip("@").lower():
        return None
    return match.group(1).lower()
