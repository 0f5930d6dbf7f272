"""Limits on what a client may send a channel: body size, JSON depth and metadata.

* Request bodies: at most ``MAX_BODY_BYTES`` (64 kB). Sanic enforces it (HTTP 413) through
  its ``REQUEST_MAX_SIZE``: a deployment sets ``SANIC_REQUEST_MAX_SIZE=65536``; when that
  variable is unset, the channels lower the app's limit to 64 kB at start-up
  (:func:`limit_request_size`). The socket.io server gets the same cap.
* JSON: a body nested deeper than ``MAX_JSON_DEPTH`` (32) is refused (HTTP 400), and so is
  one Python's parser cannot read (RecursionError), never a 500.
* Metadata (REST ``metadata``, socket.io ``metadata``): an object of at most
  ``MAX_METADATA_KEYS`` (16) keys of at most 64 characters, with scalar values (string,
  number, true/false, null) and at most ``MAX_METADATA_BYTES`` (2 kB) as JSON. REST refuses
  anything else with a 400; socket.io drops it. It is stored in the tracker, so it must
  stay small.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_BODY_ENV = "SANIC_REQUEST_MAX_SIZE"
MAX_JSON_DEPTH = 32
MAX_METADATA_BYTES = 2048
MAX_METADATA_KEYS = 16
MAX_METADATA_KEY_CHARS = 64
METADATA_RULE = (
    f"an object of at most {MAX_METADATA_KEYS} keys with string, number, boolean or "
    f"null values, at most {MAX_METADATA_BYTES} bytes as JSON"
)


def limit_request_size(app: Any) -> None:
    """Lowers the Sanic app's request size limit to 64 kB unless the deployer set one."""
    if os.environ.get(MAX_BODY_ENV):
        return
    config = getattr(app, "config", None)
    if config is None:
        return
    current = getattr(config, "REQUEST_MAX_SIZE", None)
    if not isinstance(current, (int, float)) or current > MAX_BODY_BYTES:
        config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
        logger.debug("request bodies limited to %d bytes", MAX_BODY_BYTES)


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_json_object(raw: bytes | str | None) -> tuple[dict[str, Any] | None, str]:
    """The JSON object in ``raw``, or None and a short reason for the client."""
    if raw is not None and len(raw) > MAX_BODY_BYTES:
        return None, f"body must be at most {MAX_BODY_BYTES} bytes"
    try:
        body = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        return None, "body must be valid JSON"
    except RecursionError:
        return None, f"JSON must not nest deeper than {MAX_JSON_DEPTH} levels"
    if json_depth(body) > MAX_JSON_DEPTH:
        return None, f"JSON must not nest deeper than {MAX_JSON_DEPTH} levels"
    if not isinstance(body, dict):
        return None, "body must be a JSON object"
    return body, ""


def metadata_ok(metadata: Any) -> bool:
    """True if ``metadata`` follows ``METADATA_RULE`` (see module docstring)."""
    if not isinstance(metadata, dict) or len(metadata) > MAX_METADATA_KEYS:
        return False
    for key, value in metadata.items():
        if not isinstance(key, str) or len(key) > MAX_METADATA_KEY_CHARS:
            return False
        if value is not None and not isinstance(value, (str, int, float, bool)):
            return False
    try:
        size = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
    except (ValueError, UnicodeEncodeError):  # NaN is fine; lone surrogates are not
        return False
    return size <= MAX_METADATA_BYTES
