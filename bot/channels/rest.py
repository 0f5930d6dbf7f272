"""A hardened REST channel: 400 with a short reason for bad requests, friendly replies for
empty or over-long messages, and no typed ``/intent`` commands. Same payload as Rasa's REST.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.guard import (
    check_message,
    max_message_chars,
    neutralise_commands,
    reply_text,
)

logger = logging.getLogger(__name__)
MAX_SENDER_CHARS = 128


def bad_request(reason: str) -> HTTPResponse:
    """A 400 with a short, machine-readable reason."""
    return response.json({"error": "bad_request", "reason": reason}, status=400)


def parse_body(request: Request) -> Dict[str, Any] | HTTPResponse:
    """The JSON object in the body, or a 400 response saying what is wrong."""
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        return bad_request("body must be valid JSON")
    if not isinstance(body, dict):
        return bad_request(
            'body must be a JSON object like {"sender": "...", "message": "..."}'
        )
    sender = body.get("sender")
    if (
        not isinstance(sender, str)
        or not sender.strip()
        or len(sender) > MAX_SENDER_CHARS
    ):
        return bad_request(
            f"'sender' must be a non-empty string of at most {MAX_SENDER_CHARS}"
        )
    if not isinstance(body.get("message"), str):
        return bad_request("'message' must be a string")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return bad_request("'metadata' must be an object")
    return body


class SafeRestInput(RestInput):
    """REST channel at ``/webhooks/rest/webhook`` with input checks (see module docstring)."""

    @classmethod
    def name(cls) -> str:
        """Keep Rasa's channel name so URLs and clients stay the same."""
        return "rest"

    def __init__(self, max_chars: int | None = None) -> None:
        self.max_chars = max_chars or max_message_chars()

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> SafeRestInput:
        """Optional ``max_chars`` in credentials.yml; default from config/safety.yml."""
        return cls((credentials or {}).get("max_chars"))

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Routes: GET / (health) and POST /webhook."""
        hook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = parse_body(request)
            if isinstance(body, HTTPResponse):
                return body
            sender = body["sender"].strip()
            agent = getattr(request.app.ctx, "agent", None)
            checked = check_message(body["message"], self.max_chars)
            if checked.reply:
                return response.json(
                    [{"recipient_id": sender, "text": reply_text(checked.reply)}]
                )
            text = await neutralise_commands(checked.text or "", agent, sender)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata=body.get("metadata"),
                    )
                )
            except Exception:  # never a 500 or a trace to the user; details in the log
                logger.exception("error while handling a REST message")
                collector.messages.append(
                    {"recipient_id": sender, "text": reply_text("ask_rephrase")}
                )
            return response.json(collector.messages)

        return hook
