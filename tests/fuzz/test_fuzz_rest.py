"""Property-based fuzzing of the REST channel and the shared input guard (hypothesis).

Properties, for any body, sender, message and metadata a client can send:
* the REST channel answers 200, 400, 401, 413 or 429, never a 5xx, and always with JSON;
* whatever reaches Rasa has a valid, namespaced sender and clean text that cannot force an
  intent (no leading slash-like character, no control or invisible characters);
* the guard's functions never raise.
At least 5,000 generated requests in all (``FUZZ_EXAMPLES`` raises the count).
"""

from __future__ import annotations

import http.client
import json
import os
import unicodedata
from typing import Any, Dict, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels import guard
from bot.channels.senders import valid_sender

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1300"))  # x4 request tests > 5,000
ALLOWED = {200, 400, 401, 413, 429}
SLASHES = "/\uff0f\u2215\u2044\u29f8"
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u202e"
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,  # nothing written to .hypothesis/ in the work tree
)

# Text that stresses the guard: slashes, invisible and control characters, intent syntax,
# surrogates, red-flag words and the Unicode corners.
_chars = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.sampled_from(list(SLASHES + INVISIBLE + "\x00\x1b\t\n\r {}[]\"':@")),
    ),
    max_size=80,
)
_words = st.sampled_from(
    ["restart", "/restart", "ask_what_is", '{"kb_term":"captem"}', "fever 39", "\ud800"]
)
hostile_text = st.lists(st.one_of(_chars, _words), max_size=6).map("".join)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), hostile_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)
    ),
    max_leaves=20,
)
senders = st.one_of(
    st.from_regex(r"[A-Za-z0-9_.:@-]{1,128}", fullmatch=True), hostile_text, json_values
)


class Client:
    """One keep-alive HTTP connection to the in-process app."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(
        self, body: bytes, content_type: str = "application/json"
    ) -> Tuple[int, Any]:
        for attempt in (1, 2):
            try:
                self.conn.request(
                    "POST",
                    "/webhooks/rest/webhook",
                    body=body,
                    headers={"content-type": content_type},
                )
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, ConnectionError):
                # the server may close the connection after a refused request: reconnect
                self.conn.close()
                self.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=30
                )
                if attempt == 2:
                    raise
        assert resp.status in ALLOWED, (resp.status, data[:200])
        assert b"Traceback" not in data
        return resp.status, json.loads(data)


def clean(text: str) -> bool:
    """No control, invisible or format characters, and no command prefix."""
    return not guard.is_command(text) and not any(
        unicodedata.category(ch) in ("Cc", "Cf") for ch in text
    )


def check_recorded(app: Any, before: int) -> None:
    for message in app.recorder.messages[before:]:
        assert message.sender_id.startswith("rest:")
        assert valid_sender(message.sender_id[len("rest:") :]) is not None
        assert clean(message.text), repr(message.text)


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


@FUZZ
@given(body=st.binary(max_size=2000))
def test_any_bytes(rest_app, body: bytes) -> None:
    client = Client(rest_app.port)
    before = len(rest_app.recorder.messages)
    client.post(body)
    check_recorded(rest_app, before)


@FUZZ
@given(body=json_values)
def test_any_json(rest_app, body: Any) -> None:
    client = Client(rest_app.port)
    before = len(rest_app.recorder.messages)
    client.post(dumps(body))
    check_recorded(rest_app, before)


@FUZZ
@given(sender=senders, message=hostile_text, metadata=st.one_of(st.none(), json_values))
def test_message_shaped_bodies(
    rest_app, sender: Any, message: str, metadata: Any
) -> None:
    client = Client(rest_app.port)
    body: Dict[str, Any] = {"sender": sender, "message": message}
    if metadata is not None:
        body["metadata"] = metadata
    before = len(rest_app.recorder.messages)
    status, reply = client.post(dumps(body))
    check_recorded(rest_app, before)
    if status == 200:
        assert isinstance(reply, list) and all("recipient_id" in m for m in reply)


@FUZZ
@given(depth=st.integers(min_value=1, max_value=5000), shape=st.sampled_from("[{"))
def test_deep_nesting(rest_app, depth: int, shape: str) -> None:
    client = Client(rest_app.port)
    inner = '{"a":' if shape == "{" else "["
    close = "}" if shape == "{" else "]"
    body = '{"sender":"fuzz","message":"hi","metadata":' + inner * depth
    body += "1" + close * depth + "}"
    client.post(body.encode())


@FUZZ
@given(text=hostile_text)
def test_guard_functions_never_raise_and_neutralise(text: str) -> None:
    cleaned = guard.clean_text(text)
    assert not any(unicodedata.category(ch) == "Cc" for ch in cleaned)
    checked = guard.check_message(text, 2000)
    assert (checked.text is None) != (checked.reply is None)
    stripped = guard.strip_command(cleaned)
    assert not guard.is_command(stripped), repr(stripped)


def test_the_fuzz_reached_rasa(rest_app) -> None:
    """Runs after the tests above (file order): valid requests did get through."""
    assert len(rest_app.recorder.messages) > 100
