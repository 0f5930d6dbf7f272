"""Widget session ids: issued by the server, signed, never chosen by the browser.

A session id is ``<key>.<signature>``: ``key`` is 16 random bytes (base64url, 22
characters) and ``signature`` the first 16 bytes of HMAC-SHA256 over the key with the
server's secret (22 characters). The conversation Rasa stores is ``web:<key>``; the
signature is never stored or logged, so reading the tracker store (or guessing) does not
give anyone a session id that joins a conversation. A socket that presents an id the
server did not sign (forged, guessed, from an older widget) gets a fresh session.

The secret comes from ``WIDGET_SESSION_SECRET`` (at least 32 characters; generate one with
``python -c 'import secrets; print(secrets.token_urlsafe(32))'``). Every Rasa instance
behind one widget needs the same value. When it is unset, each process draws a random
secret and logs a WARNING: sessions then work until the server restarts, after which
every widget starts a new conversation. Nothing is written to disk.

A session id is a bearer credential for its conversation, like a session cookie: the
widget keeps it in the tab's ``sessionStorage`` only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
from typing import Any

from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

SECRET_ENV = "WIDGET_SESSION_SECRET"  # noqa: S105 (a variable name)
MIN_SECRET_CHARS = 32
KEY_BYTES = 16
SIG_BYTES = 16
SESSION_PATTERN = re.compile(r"([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})")
_CONTEXT = b"netchemo-widget-session-v1:"


class SessionSecretError(RasaException, ValueError):
    """``WIDGET_SESSION_SECRET`` is set but too short to sign anything safely."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


class SessionSigner:
    """Issues and checks widget session ids (see module docstring)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_CHARS:
            raise SessionSecretError(
                f"{SECRET_ENV} must be at least {MIN_SECRET_CHARS} characters; generate "
                "one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        self._secret = secret

    @classmethod
    def from_env(cls) -> SessionSigner:
        """The signer for ``WIDGET_SESSION_SECRET``, or a per-process random one."""
        value = os.environ.get(SECRET_ENV, "")
        if value.strip():
            return cls(value.strip().encode("utf-8"))
        logger.warning(
            "%s is not set: widget sessions are signed with a random per-process secret "
            "and will not survive a restart of this server (widgets then start a new "
            "conversation). Set it to keep them; see bot/channels/sessions.py.",
            SECRET_ENV,
        )
        return cls(secrets.token_bytes(32))

    def _signature(self, key: str) -> str:
        digest = hmac.new(self._secret, _CONTEXT + key.encode("ascii"), hashlib.sha256)
        return _b64(digest.digest()[:SIG_BYTES])

    def issue(self) -> str:
        """A new session id."""
        key = _b64(secrets.token_bytes(KEY_BYTES))
        return f"{key}.{self._signature(key)}"

    def verify(self, session_id: Any) -> str | None:
        """The session's key if ``session_id`` was issued by this secret, else None."""
        if not isinstance(session_id, str):
            return None
        match = SESSION_PATTERN.fullmatch(session_id)
        if not match:
            return None
        key, signature = match.groups()
        if not hmac.compare_digest(signature, self._signature(key)):
            return None
        return key
