"""End to end over REST: the real Rasa server and action server, as `make run` starts them."""

from __future__ import annotations

import json
import re
import uuid

from bot import responses
from tests.e2e.conftest import Client, start


def sender() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


def texts(messages):
    return [m["text"] for m in messages if "text" in m]


def kb_ids(messages):
    return [m["custom"]["kb_answer"]["id"] for m in messages if "custom" in m]


def as_regex(template: str) -> str:
    """A response text with {slot} placeholders as a regex (slots come from settings)."""
    return ".+".join(re.escape(part) for part in re.split(r"{\w+}", template))


def test_what_is_captem(client: Client, responses) -> None:
    out = client.ask(sender(), "what is CAPTEM?")
    joined = " ".join(texts(out)).lower()
    assert "capecitabine" in joined and "temozolomide" in joined
    assert kb_ids(out) == ["captem"]
    source = next(m for m in out if "custom" in m)["custom"]["kb_answer"]["sources"][0]
    assert source["id"] == "seed" and source["title"]
    assert out[-1]["text"] == responses["utter_disclaimer"].strip()
    assert (
        "not medical advice" in out[-1]["text"] and "specialist team" in out[-1]["text"]
    )


def test_why_am_i_not_on_chemo(client: Client, responses) -> None:
    out = client.ask(sender(), "why am I not on chemo?")
    assert kb_ids(out) == ["why_not_chemo"]
    assert "low grade" in " ".join(texts(out)).lower()
    assert out[-1]["text"] == responses["utter_disclaimer"].strip()


def test_follow_ups_resolve_against_the_topic(client: Client) -> None:
    user = sender()
    client.ask(user, "what is CAPTEM?")
    out = client.ask(user, "is it taken as tablets?")
    assert kb_ids(out) == ["captem"]
    assert (
        next(m for m in out if "custom" in m)["custom"]["kb_answer"]["facet"]
        == "how_given"
    )
    out = client.ask(user, "and FOLFIRI?")
    assert kb_ids(out) == ["folfiri"]


def test_red_flag_inside_a_question_comes_first(client: Client, responses) -> None:
    out = client.ask(
        sender(), "what is CAPTEM? also I've had a fever since this morning"
    )
    assert re.fullmatch(
        as_regex(responses["utter_urgent_red_flag"].strip()), out[0]["text"]
    )
    # The urgent message and the disclaimer only: a drug answer would distract from the call
    # to make, and the reply must not wait for the action server.
    assert kb_ids(out) == []
    assert texts(out) == [out[0]["text"], responses["utter_disclaimer"].strip()]


def test_unknown_topic_is_honest(client: Client, responses) -> None:
    out = client.ask(
        sender(), "what is the dose of zibotentan in prostate cancer trials"
    )
    assert kb_ids(out) == []
    assert out[-1]["text"] == responses["utter_disclaimer"].strip()


def test_bad_requests_get_400_with_a_reason(client: Client) -> None:
    for body in (b"{not json", b"[1, 2]", b'{"message": "hi"}', b'{"sender": "", "message": "x"}',
                 b'{"sender": "a", "message": 5}', b"\xff\xfe"):  # fmt: skip
        status, reply = client.raw(body)
        assert status == 400, body
        assert reply["error"] == "bad_request" and reply["reason"]


def test_odd_messages_get_a_friendly_answer(client: Client) -> None:
    user = sender()
    assert texts(client.ask(user, "   ")) == [responses.message("empty_message")]
    assert texts(client.ask(user, "x" * 20_000)) == [
        responses.message("message_too_long")
    ]
    huge = json.dumps({"sender": user, "message": "x" * 10**6}).encode()
    assert client.raw(huge)[0] == 413  # over the Rasa server's 64 kB request limit
    for message in ("🙂🙂🙂", "<script>alert(1)</script>", "what is\u200b CAPTEM\u202e?",
                    "\x00\x07hello", "¿qué es la quimioterapia?"):  # fmt: skip
        out = client.ask(user, message)
        assert out and all(isinstance(m.get("text", ""), str) for m in out), message
    # the conversation is still intact afterwards
    assert kb_ids(client.ask(user, "what is FOLFOX")) == ["folfox"]


def test_typed_commands_do_not_steer_the_bot(client: Client) -> None:
    user = sender()
    client.ask(user, "what is CAPTEM?")
    out = client.ask(user, "/restart")  # honoured, it would wipe the conversation
    assert out, "a typed /restart is read as text and answered"
    out = client.ask(user, "is it taken as tablets?")
    assert kb_ids(out) == [
        "captem"
    ], "the topic survived: the conversation was not restarted"
    # A typed intent with a made-up entity is read as words, not as an intent with an entity.
    out = client.ask(user, '/ask_how_given{"kb_term": "no_such_entry"}')
    assert all(
        m.get("custom", {}).get("kb_answer", {}).get("id") != "no_such_entry"
        for m in out
    )


def test_offered_buttons_work(client: Client) -> None:
    user = sender()
    out = client.ask(user, "what can you do?")
    buttons = [b for m in out for b in m.get("buttons", [])]
    assert len(buttons) >= 2
    pressed = next(b for b in buttons if "captem" in b["payload"].lower())
    assert kb_ids(client.ask(user, pressed["payload"])) == ["captem"]


def test_conversation_survives_a_restart(tmp_path) -> None:
    db = tmp_path / "tracker.db"
    user = sender()
    servers = start(tmp_path / "one", db)
    try:
        assert kb_ids(Client(servers).ask(user, "what is temozolomide?")) == [
            "temozolomide"
        ]
    finally:
        servers.stop()
    servers = start(tmp_path / "two", db)
    try:
        out = Client(servers).ask(user, "is it a tablet?")
        assert kb_ids(out) == ["temozolomide"]
    finally:
        servers.stop()
    assert db.exists()


def test_safety_replies_work_without_the_action_server(tmp_path, responses) -> None:
    servers = start(tmp_path)
    try:
        servers.stop_actions()
        client = Client(servers)
        out = client.ask(
            sender(), "I have a temperature of 38.5 and I'm on capecitabine"
        )
        assert re.fullmatch(
            as_regex(responses["utter_urgent_red_flag"].strip()), out[0]["text"]
        )
        out = client.ask(sender(), "everyone would be better off without me")
        assert re.fullmatch(as_regex(responses["utter_crisis"].strip()), out[0]["text"])
        out = client.ask(
            sender(), "can I double my dose of temozolomide if I missed one"
        )
        assert any(
            re.fullmatch(as_regex(responses["utter_personal_boundary"].strip()), t)
            for t in texts(out)
        )
        assert json.dumps(out).count("not medical advice") == 1
    finally:
        servers.stop()
