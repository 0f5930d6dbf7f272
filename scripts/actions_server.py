"""The action server, hardened: rasa_sdk's Sanic app behind a shared secret, on one host.

    python -m scripts.actions_server --actions actions --host 127.0.0.1 --port 5055

Wraps ``rasa_sdk.endpoint.create_app`` (checked against rasa-sdk 3.6.2), whose defaults
are unsafe for us: ``rasa_sdk``'s own runner binds to ``SANIC_HOST`` or 0.0.0.0, accepts
any caller, lists its actions to anyone, and answers a malformed body with a 500 that
echoes the body. Here:

* it binds to ``--host`` (``scripts/serve.py`` passes the Rasa server's host; loopback by
  default);
* every route but ``GET /health`` needs the header ``X-Action-Token`` equal to the env var
  ``ACTION_SERVER_TOKEN`` (``bot/endpoints.yml`` makes the Rasa server send it;
  ``scripts/serve.py`` makes a random one per run when it is unset); without it: 401, no
  details. The server refuses to start without a token;
* a body that is not a well-formed action call gets 400 ``{"error": "bad_request"}``, and
  errors never echo the request: ``{"error": "<short name>"}`` only.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import sys
import zlib
from typing import Any

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import warnings_filter
from scripts.paths import TOKEN_ENV

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-Action-Token"  # noqa: S105 (a header name)
OPEN_PATHS = frozenset({"/health"})
MAX_INFLATED_BYTES = 64 * 2**20  # a deflated action call may not expand past this
STATUS_NAMES = {400: "bad_request", 401: "unauthorized", 404: "not_found"}


def error(status: int) -> HTTPResponse:
    """A JSON error that names the status only, never the request."""
    return response.json({"error": STATUS_NAMES.get(status, "error")}, status=status)


def token_ok(request: Request, token: str) -> bool:
    """True if the request carries the shared secret (compared in constant time)."""
    sent = request.headers.get(TOKEN_HEADER, "")
    return hmac.compare_digest(sent.encode("utf-8", "replace"), token.encode("utf-8"))


def parse_action_call(request: Request) -> dict[str, Any] | None:
    """The action call in the body if it has the shape rasa_sdk expects, else None."""
    body: bytes = request.body or b""
    try:
        if request.headers.get("Content-Encoding") == "deflate":
            inflater = zlib.decompressobj()
            body = inflater.decompress(body, MAX_INFLATED_BYTES)
            if inflater.unconsumed_tail:
                return None
        call = json.loads(body)
    except (ValueError, zlib.error, RecursionError):
        return None
    if not isinstance(call, dict) or not isinstance(call.get("next_action"), str):
        return None
    tracker = call.get("tracker")
    if not isinstance(tracker, dict) or not isinstance(tracker.get("sender_id"), str):
        return None
    shapes = {"slots": dict, "latest_message": dict, "events": list}
    if any(
        not isinstance(tracker.get(key, kind()), kind) for key, kind in shapes.items()
    ):
        return None
    if not isinstance(call.get("domain", {}), dict):
        return None
    if not isinstance(call.get("version", ""), str):
        return None
    return call


def create_app(actions: str, token: str) -> Sanic:
    """rasa_sdk's app with the token check, body validation and quiet errors added."""
    from rasa_sdk.endpoint import create_app as sdk_create_app

    if not token:
        raise ValueError(f"{TOKEN_ENV} is empty")
    app = sdk_create_app(actions, cors_origins="")  # no browser may call it

    @app.middleware("request")
    async def guard(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        if not token_ok(request, token):
            logger.warning("action server: refused a request without a valid token")
            return error(401)
        if request.path == "/webhook" and request.method == "POST":
            call = parse_action_call(request)
            if call is None:
                logger.warning("action server: refused a malformed action call")
                return error(400)
            # rasa_sdk reads request.json; Sanic 21 declares the attribute as None only
            request.parsed_json = call  # type: ignore[assignment]
        return None

    @app.exception(SanicException)
    async def http_error(_request: Request, exc: SanicException) -> HTTPResponse:
        return error(int(getattr(exc, "status_code", 500) or 500))

    @app.exception(Exception)
    async def internal_error(_request: Request, exc: Exception) -> HTTPResponse:
        # The type only at ERROR: an exception's text may hold what a user wrote.
        logger.error("action server: %s while running an action", type(exc).__name__)
        logger.debug("action server: traceback", exc_info=exc)
        return error(500)

    return app


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, set up logging as rasa_sdk does, and serve until stopped."""
    warnings_filter.install()
    from rasa_sdk import utils
    from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
    from rasa_sdk.plugin import plugin_manager

    from bot.logging_filter import install as install_log_filter

    parser = argparse.ArgumentParser(description="the hardened action server")
    parser.add_argument("--actions", default="actions", help="actions package")
    parser.add_argument("--host", default=os.environ.get("SANIC_HOST", "127.0.0.1"))
    parser.add_argument("-p", "--port", type=int, default=5055)
    utils.add_logging_level_option_arguments(parser)
    utils.add_logging_file_arguments(parser)
    args = parser.parse_args(argv)

    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    install_log_filter()

    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        logger.error(
            "%s is not set: the action server will not run without a shared secret "
            "(scripts/serve.py sets one for you)",
            TOKEN_ENV,
        )
        return 2
    app = create_app(args.actions, token)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    logger.info("Action server on http://%s:%d", args.host, args.port)
    app.run(args.host, args.port, workers=utils.number_of_sanic_workers())
    return 0


if __name__ == "__main__":
    sys.exit(main())
