"""Hardened socket.io input channel for the patient-forum web widget (``widget/``).

Rasa 3.6's built-in :class:`rasa.core.channels.socketio.SocketIOInput` has three problems
for a widget that keeps its conversation across page loads:

* with ``session_persistence`` it calls ``sio.enter_room(...)`` without awaiting it (it is a
  coroutine in python-socketio 5.x), so the browser never joins its session room and never
  receives the bot's answers;
* ``send_custom_json`` passes the custom payload as keyword arguments to ``sio.emit``, which
  fails for our ``{"kb_answer": {...}}`` payload (see docs/DESIGN.md);
* it accepts socket.io connections from any origin.

This channel keeps the same wire protocol (events ``session_request`` / ``session_confirm``,
``user_uttered`` / ``bot_uttered``) and adds:

* server-issued, signed session ids (``bot.channels.sessions``): the widget asks with
  ``session_id: null`` (or the id it was given before) and stores what ``session_confirm``
  returns. An id the server did not sign (forged, guessed, chosen by the browser) gets a
  fresh session and never joins another conversation's room;
* real session rooms: the conversation ``web:<session key>`` is the Rasa sender id and the
  room name, and a socket may only send as the session it was confirmed for;
* an origin allow-list (``cors_allowed_origins``, default: the demo forum page's origins);
  an empty list (``[]``, ``""``, an empty ``${VAR}``) is refused at start-up, because
  python-engineio reads it as "every origin";
* limits: 64 kB per socket.io message, metadata of at most 16 scalar values (2 kB, else
  dropped), rate limits per session and per client IP (``bot.channels.ratelimit``; over a
  limit the widget gets the ``too_many_messages`` sentence and the message is dropped);
* input hygiene (``bot.channels.guard``, shared by all channels): empty and over-long
  messages get a kind reply from bot/domain/channels.yml and are not passed on; typed text starting
  with ``/`` cannot force an intent unless it equals the payload of a button the bot offered
  in its previous turn for that session (remembered in memory per session, with the tracker
  as a fallback after a restart);
* after a dropped connection the widget asks for its session with ``reconnected: true`` and
  gets the ``reconnected`` sentence from bot/domain/channels.yml as a ``{"text", "notice": true}``
  message;
* custom payloads are emitted as ``{"custom": {...}}`` and every bot turn ends with a
  ``bot_turn_end`` event, so the widget knows when to hide its typing indicator.
* after ``session_confirm`` the server sends ``intro`` (``{"greeting", "disclaimer"}``):
  the domain responses ``utter_greet`` and ``utter_disclaimer`` as the ``socketio``
  channel renders them, so the widget shows the reviewed wording and has none of its own;
* "Delete my conversation": the widget sends ``forget_request`` (``{"session_id"}``); the
  conversation is deleted (``bot.tracker_store.delete_conversation``), the socket gets
  ``conversation_forgotten`` (``{"forgotten": true|false, "text"}``, the ``forgotten`` or
  ``forget_failed`` sentence of bot/domain/channels.yml) and, once deleted, a new session
  (``session_confirm`` and ``intro`` again), so the next message starts afresh.

credentials.yml::

    bot.channels.socketio.WidgetSocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
      cors_allowed_origins: ["http://localhost:8080", "http://127.0.0.1:8080"]

``cors_allowed_origins`` also accepts a comma-separated string (e.g. from ``${ENV_VAR}``);
``"*"`` and an empty list are refused. Browsers always send an Origin header, so pages
elsewhere cannot connect; non-browser clients send none and are let through (as engine.io
does): this protects the patient's browser, it is not authentication (use ``jwt_key`` for
that, or the session ids, which only this server can sign).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import rasa.core.channels.channel
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.admission import gated, warm_up
from bot.channels.guard import (
    FORGET_FAILED,
    FORGOTTEN,
    OfferedButtons,
    check_message,
    forget_conversation,
    max_message_chars,
    neutralise_commands,
    render_response,
    reply_text,
)
from bot.channels.payload import MAX_BODY_BYTES, limit_request_size, metadata_ok
from bot.channels.ratelimit import REPLY_KEY, RateLimiter
from bot.channels.senders import WIDGET_PREFIX
from bot.channels.sessions import SessionSigner

logger = logging.getLogger(__name__)

# The output channel's name ("socketio"), which picks `channel: socketio` variants.
OUTPUT_NAME = SocketIOOutput.name()
DEFAULT_ALLOWED_ORIGINS = ("http://localhost:8080", "http://127.0.0.1:8080")
# Event sent to the session room after the bot has answered one user message.
TURN_END_EVT = "bot_turn_end"
# The widget's greeting and disclaimer (domain responses), sent after session_confirm.
INTRO_EVT = "intro"
INTRO_RESPONSES = {"greeting": "utter_greet", "disclaimer": "utter_disclaimer"}
# "Delete my conversation": the widget's request and the answer to it.
FORGET_EVT = "forget_request"
FORGOTTEN_EVT = "conversation_forgotten"


class OriginsConfigError(RasaException, ValueError):
    """``cors_allowed_origins`` would let pages on other sites talk to the assistant."""


def parse_origins(value: Any) -> list[str]:
    """Reads ``cors_allowed_origins`` from credentials: a list or a comma-separated string.

    Missing (``None``): the demo page's origins. ``"*"`` is refused on purpose (this
    channel is for a known forum, not for any site), and so is an empty list, which
    python-engineio would read as "accept every origin".

    Raises:
        OriginsConfigError: ``"*"`` or no origin at all.
        TypeError: neither a list nor a string.
    """
    if value is None:
        return list(DEFAULT_ALLOWED_ORIGINS)
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise TypeError(
            f"cors_allowed_origins must be a list or a string, not {value!r}"
        )
    origins = [str(item).strip().rstrip("/") for item in items if str(item).strip()]
    if "*" in origins:
        raise OriginsConfigError(
            "cors_allowed_origins: '*' is not allowed; list the forum's origins"
        )
    if not origins:
        raise OriginsConfigError(
            "cors_allowed_origins is empty (an empty list, string or ${VAR}), which "
            "socket.io reads as 'accept every origin'; list the forum's origin(s), "
            'e.g. cors_allowed_origins: ["https://forum.example.org"] in '
            "bot/credentials.yml"
        )
    return origins


class WidgetSocketIOOutput(SocketIOOutput):
    """Socket.io output that records offered buttons and emits custom JSON as ``custom``."""

    def __init__(
        self,
        sio: AsyncServer,
        bot_message_evt: str,
        buttons: OfferedButtons,
        namespace: str | None,
    ) -> None:
        super().__init__(sio, bot_message_evt)
        self.buttons = buttons
        self.namespace = namespace

    async def _send_message(self, socket_id: str, response: Any) -> None:
        await self.sio.emit(
            self.bot_message_evt, response, room=socket_id, namespace=self.namespace
        )

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        self.buttons.offer_all(recipient_id, buttons)
        await super().send_text_with_buttons(recipient_id, text, buttons, **kwargs)

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        # The parent passes the payload as emit() keyword arguments, which breaks on any
        # key emit() does not know (e.g. "kb_answer"). Send it as data instead.
        await self._send_message(recipient_id, {"custom": json_message})


class WidgetSocketIOInput(SocketIOInput):
    """Socket.io channel for the web widget: session rooms, origin allow-list, input hygiene."""

    @classmethod
    def name(cls) -> str:
        # Same name as the built-in channel, so `channel: socketio` response variants apply.
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            credentials.get("session_persistence", True),
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("jwt_key"),
            credentials.get("jwt_method", "HS256"),
            credentials.get("metadata_key", "metadata"),
            # WIDGET_ALLOWED_ORIGINS (comma-separated) replaces the credentials' list.
            cors_allowed_origins=os.environ.get("WIDGET_ALLOWED_ORIGINS")
            or credentials.get("cors_allowed_origins"),
            max_message_chars=credentials.get("max_message_chars"),
        )

    def __init__(
        self,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        namespace: str | None = None,
        session_persistence: bool = True,
        socketio_path: str | None = "/socket.io",
        jwt_key: str | None = None,
        jwt_method: str | None = "HS256",
        metadata_key: str | None = "metadata",
        cors_allowed_origins: Any = None,
        max_message_chars: int | None = None,
        signer: SessionSigner | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        super().__init__(
            user_message_evt,
            bot_message_evt,
            namespace,
            session_persistence,
            socketio_path,
            jwt_key,
            jwt_method,
            metadata_key,
        )
        self.cors_allowed_origins = parse_origins(cors_allowed_origins)
        self._max_message_chars = int(max_message_chars) if max_message_chars else None
        self.buttons = OfferedButtons()
        self.signer = signer or SessionSigner.from_env()
        self.limiter = limiter or RateLimiter.from_env("web")
        # socket id -> the signed session id that socket was confirmed for
        self._session_of_sid: dict[str, str] = {}
        # socket id -> the client's address (for the per-IP rate limit)
        self._ip_of_sid: dict[str, str | None] = {}
        self._app: Sanic | None = None

    @property
    def max_chars(self) -> int:
        """Longest message passed on (credentials, else ``input.max_message_chars``)."""
        if self._max_message_chars is None:
            self._max_message_chars = max_message_chars()
        return self._max_message_chars

    def get_output_channel(self) -> OutputChannel | None:
        """Output channel for messages not triggered by a user (e.g. ``/trigger_intent``)."""
        if self.sio is None:
            return super().get_output_channel()  # warns, returns None
        return WidgetSocketIOOutput(
            self.sio, self.bot_message_evt, self.buttons, self.namespace
        )

    @property
    def agent(self) -> Any:
        """The Rasa agent of the app this channel is registered on (None in some tests)."""
        return getattr(getattr(self._app, "ctx", None), "agent", None)

    async def allow_commands(self, text: str, sender_id: str) -> str:
        """Typed ``/intent`` text passes only if it is a button offered in the last turn.

        The payloads offered through this channel are remembered in memory; the tracker
        (``guard.neutralise_commands``) covers turns from before a server restart.
        """
        return await neutralise_commands(text, sender_id, self.buttons, self.agent)

    def sender_of(self, sid: str, data: dict[str, Any]) -> str | None:
        """The conversation socket ``sid`` may speak in, given what it sent, or None.

        With sessions, ``data["session_id"]`` must be the session this socket was
        confirmed for (``session_request`` first); without, it is ``web:<socket id>``.
        """
        if not self.session_persistence:
            return WIDGET_PREFIX + sid
        session_id = self._session_of_sid.get(sid)
        if not session_id or data.get("session_id") != session_id:
            logger.warning(
                "Ignored an event from socket %s: no session_request for that "
                "session_id first.",
                sid,
            )
            return None
        return self.conversation_of(session_id)

    async def intro(self, conversation: str) -> dict[str, str] | None:
        """The widget's greeting and disclaimer from the domain, or None (logged)."""
        texts = {}
        for key, name in INTRO_RESPONSES.items():
            try:
                message = await render_response(
                    self.agent, name, conversation, self.name()
                )
            except RasaException as error:  # e.g. the model is still loading
                logger.warning("No widget intro: %s.", error)
                return None
            texts[key] = str(message["text"])
        return texts

    def conversation_of(self, session_id: str) -> str | None:
        """``web:<key>`` for a session id this server signed, else None."""
        key = self.signer.verify(session_id)
        return WIDGET_PREFIX + key if key else None

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Defines the Sanic blueprint serving socket.io at ``socketio_path``."""
        on_new_message = gated(on_new_message)
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=self.cors_allowed_origins,
            max_http_buffer_size=MAX_BODY_BYTES,
        )
        channel = self

        class _Blueprint(SocketBlueprint):
            def register(self, app: Sanic, options: dict[str, Any]) -> None:
                channel._app = app
                super().register(app, options)

        socketio_webhook = _Blueprint(
            sio, self.socketio_path or "/socket.io", "socketio_webhook", __name__
        )
        self.sio = sio
        namespace = self.namespace

        @socketio_webhook.listener("before_server_start")
        async def limit_size(app: Any, _loop: Any) -> None:
            limit_request_size(app)  # 64 kB unless SANIC_REQUEST_MAX_SIZE is set
            await warm_up()

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict, auth: dict | None) -> bool:
            # The origin was already checked by engine.io (cors_allowed_origins).
            if self.jwt_key:
                token = auth.get("token") if isinstance(auth, dict) else None
                payload = (
                    rasa.core.channels.channel.decode_bearer_token(
                        token, self.jwt_key, self.jwt_algorithm or "HS256"
                    )
                    if token
                    else None
                )
                if not payload:
                    return False
            self._ip_of_sid[sid] = client_ip(environ)
            if not self.session_persistence:
                # Without sessions the conversation is the socket: web:<socket id>.
                await sio.enter_room(sid, WIDGET_PREFIX + sid, namespace=namespace)
            logger.debug("Socket %s connected.", sid)
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str, *_: Any) -> None:
            self._session_of_sid.pop(sid, None)
            self._ip_of_sid.pop(sid, None)
            logger.debug("Socket %s disconnected.", sid)

        async def join(sid: str, session_id: str, conversation: str) -> None:
            """Puts socket ``sid`` in the room of a signed session and confirms it."""
            previous = self._session_of_sid.get(sid)
            previous_room = self.conversation_of(previous) if previous else None
            if previous_room and previous_room != conversation:
                await sio.leave_room(sid, previous_room, namespace=namespace)
            if self.session_persistence:
                await sio.enter_room(sid, conversation, namespace=namespace)
            self._session_of_sid[sid] = session_id
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)
            logger.debug("Socket %s joined its session.", sid)
            intro = await self.intro(conversation)
            if intro is not None:
                await sio.emit(INTRO_EVT, intro, room=sid, namespace=namespace)

        async def join_new(sid: str) -> None:
            session_id = self.signer.issue()
            await join(sid, session_id, WIDGET_PREFIX + session_id.split(".")[0])

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            conversation = self.conversation_of(requested) if requested else None
            if conversation:
                await join(sid, str(requested), conversation)
            else:
                if requested:
                    logger.info(
                        "A socket presented a session id this server did not "
                        "issue; it gets a new session."
                    )
                await join_new(sid)
            if isinstance(data, dict) and data.get("reconnected") is True:
                notice = {
                    "text": reply_text("reconnected", OUTPUT_NAME),
                    "notice": True,
                }
                await sio.emit(
                    self.bot_message_evt, notice, room=sid, namespace=namespace
                )

        @sio.on(FORGET_EVT, namespace=namespace)
        async def forget(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            sender_id = self.sender_of(sid, data)
            if sender_id is None:
                return
            done = await forget_conversation(self.agent, sender_id)
            self.buttons.forget(sender_id)
            answer = {
                "forgotten": done,
                "text": reply_text(FORGOTTEN if done else FORGET_FAILED, OUTPUT_NAME),
            }
            await sio.emit(FORGOTTEN_EVT, answer, room=sid, namespace=namespace)
            if done and self.session_persistence:
                # A new session, so nothing more is said into the deleted conversation.
                await join_new(sid)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            sender_id = self.sender_of(sid, data)
            if sender_id is None:
                return
            output_channel = WidgetSocketIOOutput(
                sio, self.bot_message_evt, self.buttons, namespace
            )
            verdict = await self.limiter.check(sender_id, self._ip_of_sid.get(sid))
            if not verdict.allowed:
                # Not processed; the offered buttons and the conversation are kept.
                logger.info(
                    "Refused a message on one session: %s rate limit.", verdict.scope
                )
                await output_channel.send_text_message(
                    sender_id, reply_text(REPLY_KEY, OUTPUT_NAME)
                )
                await sio.emit(TURN_END_EVT, {}, room=sender_id, namespace=namespace)
                return
            checked = check_message(data.get("message"), self.max_chars)
            if checked.reply:
                # Refused (not text, empty or too long): answer kindly, keep the buttons.
                logger.info("Refused a message (%s) on one session.", checked.reply)
                await output_channel.send_text_message(
                    sender_id, reply_text(checked.reply, OUTPUT_NAME)
                )
                await sio.emit(TURN_END_EVT, {}, room=sender_id, namespace=namespace)
                return

            text = await self.allow_commands(checked.text or "", sender_id)
            self.buttons.new_turn(sender_id)  # a new bot turn starts
            metadata = data.get(self.metadata_key)
            # never json.loads() what a browser sent as a string; keep it small and flat
            if not isinstance(metadata, dict) or not metadata_ok(metadata):
                if metadata:
                    logger.debug("Dropped metadata that is not small and flat.")
                metadata = {}
            message = UserMessage(
                text,
                output_channel,
                sender_id,
                input_channel=self.name(),
                metadata=metadata,
            )
            try:
                await on_new_message(message)
            except Exception:  # never leave the widget waiting; details in the log
                logger.exception("error while handling a socket.io message")
                await output_channel.send_text_message(
                    sender_id, reply_text("ask_rephrase", OUTPUT_NAME)
                )
            finally:
                await sio.emit(TURN_END_EVT, {}, room=sender_id, namespace=namespace)

        return socketio_webhook


def client_ip(environ: Any) -> str | None:
    """The client's address from engine.io's environ (Sanic's request, if any)."""
    request = environ.get("sanic.request") if isinstance(environ, dict) else None
    if request is None:
        return None
    try:
        return request.remote_addr or request.ip or None
    except Exception:  # a malformed forwarded header must not refuse the socket
        return getattr(request, "ip", None)
