"""A hardened REST channel for integrations and tests. Same payload as Rasa's REST:
``POST /webhooks/rest/webhook`` with ``{"sender": "...", "message": "...", "metadata": {}}``.

* Bad requests get HTTP 400 with a short reason and never reach Rasa: a body that is not a
  JSON object, nested deeper than 32 levels or over 64 kB (``bot.channels.payload``); a
  ``sender`` that is not 1-128 characters of ``A-Z a-z 0-9 _ . : @ -``
  (``bot.channels.senders``); a ``message`` that is not a string; ``metadata`` that is
  not a small object of scalar values (16 keys, 2 kB).
* Conversations are namespaced: Rasa sees ``rest:<sender>``, the reply's
  ``recipient_id`` is the client's own ``sender``.
* Empty and over-long messages get a kind reply from bot/domain/channels.yml; typed ``/intent``
  commands are read as words (``bot.channels.guard``) unless they are buttons offered in
  the bot's latest turn (remembered by this process, else read from the tracker).
* Rate limits per sender and per client IP (``bot.channels.ratelimit``): over a limit,
  HTTP 429 with ``Retry-After`` and the ``too_many_messages`` sentence; the message is
  not processed and the conversation is kept.
* Forget me: ``POST /webhooks/rest/forget`` with ``{"sender": "..."}`` deletes that
  conversation (``bot.tracker_store.delete_conversation``) and answers with the
  ``forgotten`` sentence and ``"custom": {"forgotten": true}`` (or ``forget_failed`` and
  ``false``; HTTP 200 either way). Same access, body and rate-limit checks as messages.
* Access: with ``REST_TOKEN`` set, every request needs ``Authorization: Bearer <token>``
  (else 401). When the server listens on a non-loopback address (``RASA_HOST``, set by
  scripts/serve.py from ``make run HOST=...``; unset means loopback), the channel refuses
  to start without ``REST_TOKEN``.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.admission import gated, warm_up
from bot.channels.guard import (
    FORGET_FAILED,
    FORGOTTEN,
    OfferedButtons,
    check_message,
    forget_conversation,
    max_message_chars,
    neutralise_commands,
    reply_text,
)
from bot.channels.payload import (
    METADATA_RULE,
    limit_request_size,
    metadata_ok,
    parse_json_object,
)
from bot.channels.ratelimit import REPLY_KEY, RateLimiter
from bot.channels.senders import (
    MAX_SENDER_CHARS,
    REST_PREFIX,
    SENDER_CHARSET,
    namespaced,
    valid_sender,
)

logger = logging.getLogger(__name__)

# The output channel's name, as Rasa's NLG sees it: a `channel: collector` variant of a
# response is what REST users get, from Rasa and from this channel alike.
OUTPUT_NAME = CollectingOutputChannel.name()
TOKEN_ENV = "REST_TOKEN"  # noqa: S105 (the variable's name, not a secret)
HOST_ENV = "RASA_HOST"
MIN_TOKEN_CHARS = 16


class RestConfigError(RasaException, ValueError):
    """The REST channel cannot start safely with these settings."""


def is_loopback(host: str | None) -> bool:
    """True for an unset host, ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    host = (host or "").strip().strip("[]")
    if not host or host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def rest_token(environ: Mapping[str, str] | None = None) -> str | None:
    """The bearer token REST requires, or None when it stays open (loopback only).

    Raises:
        RestConfigError: off loopback without a token, or a token too short to trust.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    token = (env.get(TOKEN_ENV) or "").strip()
    host = env.get(HOST_ENV)
    if token and len(token) < MIN_TOKEN_CHARS:
        raise RestConfigError(
            f"{TOKEN_ENV} must be at least {MIN_TOKEN_CHARS} characters; generate one "
            "with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    if not token and not is_loopback(host):
        raise RestConfigError(
            f"The server listens on {host!r} ({HOST_ENV}), so the REST channel needs a "
            f"bearer token: set {TOKEN_ENV} (clients then send 'Authorization: Bearer "
            f"<token>'), or listen on 127.0.0.1 only."
        )
    return token or None


def bad_request(reason: str) -> HTTPResponse:
    """A 400 with a short, machine-readable reason."""
    return response.json({"error": "bad_request", "reason": reason}, status=400)


def parse_body(
    request: Request, needs_message: bool = True
) -> dict[str, Any] | HTTPResponse:
    """The checked JSON object in the body, or a 400 response saying what is wrong."""
    body, reason = parse_json_object(request.body)
    if body is None:
        if reason.startswith("body must be a JSON object"):
            reason = (
                'body must be a JSON object like {"sender": "...", "message": "..."}'
            )
        return bad_request(reason)
    sender = body.get("sender")
    if not isinstance(sender, str) or valid_sender(sender.strip()) is None:
        return bad_request(
            f"'sender' must be a string of 1 to {MAX_SENDER_CHARS} characters from "
            f"{SENDER_CHARSET}"
        )
    if needs_message and not isinstance(body.get("message"), str):
        return bad_request("'message' must be a string")
    metadata = body.get("metadata")
    if metadata is not None and not metadata_ok(metadata):
        return bad_request(f"'metadata' must be {METADATA_RULE}")
    return body


def client_ip(request: Request) -> str | None:
    """The client's address (the proxy's forwarded one when Sanic is told to trust it)."""
    try:
        return request.remote_addr or request.ip or None
    except Exception:  # a malformed forwarded header must not fail the request
        return request.ip or None


class SafeRestInput(RestInput):
    """REST channel at ``/webhooks/rest/webhook`` with input checks (see module docstring)."""

    @classmethod
    def name(cls) -> str:
        """Keep Rasa's channel name so URLs and clients stay the same."""
        return "rest"

    def __init__(
        self,
        max_chars: int | None = None,
        token: str | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.max_chars = max_chars or max_message_chars()
        self.token = token
        self.limiter = limiter or RateLimiter.from_env("rest")
        self.buttons = OfferedButtons()

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SafeRestInput:
        """Optional ``max_chars`` in credentials.yml; default from config/safety.yml.

        Raises:
            RestConfigError: see :func:`rest_token`.
        """
        return cls((credentials or {}).get("max_chars"), token=rest_token())

    def authorised(self, request: Request) -> bool:
        """True when no token is required or the request carries the right one."""
        if not self.token:
            return True
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented:
            return False
        return hmac.compare_digest(
            presented.strip().encode("utf-8", "surrogatepass"),
            self.token.encode("utf-8"),
        )

    async def admit(
        self, request: Request, needs_message: bool = True
    ) -> tuple[str, str, dict[str, Any]] | HTTPResponse:
        """Access, body and rate-limit checks: (sender, conversation, body) or a reply."""
        if not self.authorised(request):
            return response.json(
                {"error": "unauthorized", "reason": "a bearer token is required"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        body = parse_body(request, needs_message)
        if isinstance(body, HTTPResponse):
            return body
        sender = body["sender"].strip()
        conversation = namespaced(REST_PREFIX, sender)
        verdict = await self.limiter.check(conversation, client_ip(request))
        if not verdict.allowed:
            logger.info("REST request refused: %s rate limit", verdict.scope)
            return response.json(
                [{"recipient_id": sender, "text": reply_text(REPLY_KEY, OUTPUT_NAME)}],
                status=429,
                headers={"Retry-After": str(verdict.retry_after)},
            )
        return sender, conversation, body

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Routes: GET / (health), POST /webhook and POST /forget."""
        on_new_message = gated(on_new_message)
        hook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @hook.listener("before_server_start")
        async def limit_size(app: Any, _loop: Any) -> None:
            limit_request_size(app)
            await warm_up()

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/forget", methods=["POST"])
        async def forget(request: Request) -> HTTPResponse:
            admitted = await self.admit(request, needs_message=False)
            if isinstance(admitted, HTTPResponse):
                return admitted
            sender, conversation, _body = admitted
            agent = getattr(request.app.ctx, "agent", None)
            done = await forget_conversation(agent, conversation)
            text = reply_text(FORGOTTEN if done else FORGET_FAILED, OUTPUT_NAME)
            return response.json(
                [{"recipient_id": sender, "text": text, "custom": {"forgotten": done}}]
            )

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            admitted = await self.admit(request)
            if isinstance(admitted, HTTPResponse):
                return admitted
            sender, conversation, body = admitted
            agent = getattr(request.app.ctx, "agent", None)
            checked = check_message(body["message"], self.max_chars)
            if checked.reply:
                return response.json(
                    [
                        {
                            "recipient_id": sender,
                            "text": reply_text(checked.reply, OUTPUT_NAME),
                        }
                    ]
                )
            text = await neutralise_commands(
                checked.text or "", conversation, self.buttons, agent
            )
            self.buttons.new_turn(conversation)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        conversation,
                        input_channel=self.name(),
                        metadata=body.get("metadata"),
                    )
                )
            except Exception:  # never a 500 or a trace to the user; details in the log
                logger.exception("error while handling a REST message")
                collector.messages.append(
                    {"text": reply_text("ask_rephrase", OUTPUT_NAME)}
                )
            for message in collector.messages:
                self.buttons.offer_all(conversation, message.get("buttons") or [])
            # The client knows its conversation by its own sender id.
            return response.json(
                [{**m, "recipient_id": sender} for m in collector.messages]
            )

        return hook
