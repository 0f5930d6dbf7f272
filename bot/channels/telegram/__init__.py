"""Hardened Telegram channel for Rasa 3.6 (credentials: ``bot.channels.telegram.TelegramInput``).

Replaces Rasa's stock connector (``rasa.core.channels.telegram``), which has no
webhook authentication, exposes an unauthenticated ``/set_webhook`` route, sends
plain text that breaks on long answers, and forwards typed ``/intent`` text.

What this channel does (see docs/telegram.md for the deployer's walkthrough):

* ``mode: webhook``: every update must carry Telegram's
  ``X-Telegram-Bot-Api-Secret-Token`` header; others get 403 and are not read.
  The webhook is registered (``setWebhook`` with ``secret_token``) at start-up;
  there is no route that changes it.
* ``mode: polling``: ``getUpdates`` long polling, for a laptop without HTTPS.
* Replies use Telegram's HTML parse mode; all text is escaped, ``**bold**`` becomes
  ``<b>``, and replies longer than 4,096 characters are split on paragraph, line
  or word boundaries.
* Buttons become inline keyboards. ``callback_data`` is a short token that maps, per
  chat, to the payload the bot offered (``bot.channels.guard.OfferedButtons``, in
  Redis with ``TELEGRAM_REDIS_URL``); every press is acknowledged with
  ``answerCallbackQuery``.
* Typed text gets the input checks every channel shares (``bot.channels.guard``):
  anything but text, over-long or empty messages are answered kindly without reaching
  Rasa, the rest is cleaned, and typed ``/...`` text never forces an intent.
* ``/start`` greets (and adds the disclaimer), ``/help`` lists what the bot can
  answer, ``/questions`` sends the list of saved questions to ask the team as one
  message, ``/forget`` deletes the chat's conversation from the tracker store
  (``bot.tracker_store.delete_conversation``).
* Stickers, photos, voice notes, documents, edited messages and group chats get a
  kind reply instead of being processed.

Every fixed sentence the channel sends by itself is a key of bot/domain/channels.yml, read
with ``bot.channels.guard.reply_text``; the disclaimer after ``/start`` is the domain
response ``utter_disclaimer``. No patient-facing sentence is written in this package.

One concern per module:

=================  ==================================================================
``channel``        ``TelegramInput``: webhook and polling routes, one chat at a time
``output``         ``TelegramOutput``: a turn's replies as HTML messages and keyboards
``formatting``     HTML escaping, bold and links, splitting, the Source line
``commands``       ``/start``, ``/help``, ``/questions``, ``/forget``
``updates``        chat and conversation ids, content kinds, button titles
``api``            ``TelegramBotAPI``, the small Bot API client (aiogram 2.15, which
                   Rasa pins, lacks ``secret_token``)
``settings``       ``TelegramSettings`` from the credentials block
``shared``         state shared by several instances in Redis (tokens, updates, poller)
=================  ==================================================================

The deployer's command-line tool is ``python -m scripts.telegram_admin`` (credentials
file, status). Settings come from the channel's block in the credentials file, whose
values are ``${TELEGRAM_*}`` environment variables (bot/credentials.telegram.yml).
"""

from bot.channels.telegram.api import TelegramAPIError, TelegramBotAPI
from bot.channels.telegram.channel import TelegramInput
from bot.channels.telegram.output import TelegramOutput
from bot.channels.telegram.settings import TelegramSettings

__all__ = [
    "TelegramAPIError",
    "TelegramBotAPI",
    "TelegramInput",
    "TelegramOutput",
    "TelegramSettings",
]
