"""A scripted stand-in for the Rasa server, behind the real widget channel.

It runs :class:`bot.channels.socketio.WidgetSocketIOInput` in a plain Sanic app whose "agent"
answers from a tiny script with the message shapes of docs/DESIGN.md, so the widget and the
channel can be tested without a trained model:

    python tests/widget/fake_bot.py --port 5099 --origins http://localhost:8099

* "...captem..." (or the CAPTEM button payload): two text paragraphs, the ``kb_answer``
  custom payload with two sources, then the disclaimer.
* "...thing..." or "...vague...": "Did you mean one of these?" with two buttons.
* "...slow...": waits 1.5 s, then answers (to see the typing indicator).
* "...rate me...": an answer whose disclaimer carries the feedback buttons; "...my list...":
  the saved questions list with its ``saved_questions`` payload (issue 10).
* anything else: "You said: <text>" (echo, to check that bot text is rendered as text).

``GET /fake/received`` lists what reached the "agent" (after the channel's input hygiene).

Like Rasa's agent, it has the real domain (bot/domain) and a template NLG, so the widget's
greeting and disclaimer come from the domain responses (the channel's ``intro``); and a
real tracker store, the SQLite file ``--tracker-db``, in which every user message is
stored, so "Delete my conversation" can be checked in the store itself.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import UserMessage, register
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from sanic import Sanic, response
from sanic.request import Request

from bot.channels.socketio import WidgetSocketIOInput
from bot.tracker_store import SQLiteTrackerStore

REPO_ROOT = Path(__file__).resolve().parents[2]

CAPTEM_PAYLOAD = '/ask_what_is{"kb_term":"captem"}'
CAPE_PAYLOAD = '/ask_what_is{"kb_term":"capecitabine"}'
DISCLAIMER = (
    "This is general information, not medical advice. Your specialist team knows your "
    "situation: please ask them about your own care."
)
CAPTEM_ANSWER = {
    "kb_answer": {
        "id": "captem",
        "title": "CAPTEM (capecitabine with temozolomide)",
        "kind": "regimen",
        "facet": "what_is",
        "reviewed": "2026-11-26",
        "sources": [
            {
                "id": "seed",
                "title": "Chemotherapy for Neuroendocrine Cancer",
                "publisher": "Ronny Allan, patient advocate blog",
            },
            {
                "id": "cruk_net_chemo",
                "title": "Chemotherapy for neuroendocrine tumours (NETs)",
                "publisher": "Cancer Research UK",
                "url": "https://www.cancerresearchuk.org/about-cancer/"
                "neuroendocrine-tumours-nets/treatment/chemotherapy",
            },
        ],
    }
}

FEEDBACK_UP = '/feedback{"kb_id":"captem","facet":"what_is","vote":"up"}'
FEEDBACK_BUTTONS = [
    {"title": "👍 Helpful", "payload": FEEDBACK_UP},
    {"title": "👎 Not helpful", "payload": FEEDBACK_UP.replace('"up"', '"down"')},
    {
        "title": "Questions to ask your team",
        "payload": '/ask_team_questions{"kb_id":"captem"}',
    },
]
# One paragraph: the channel would send each paragraph as its own message.
SAVED_LIST = (
    "Questions to ask my specialist team:\n1. Would CAPTEM suit me?\n2. How often?"
)


class FakeAgent:
    """Answers like the real bot would, from a script; records what it was sent."""

    def __init__(self, tracker_db: str | None = None) -> None:
        self.received: list[dict[str, Any]] = []
        self.domain = load_domain()
        self.nlg = TemplatedNaturalLanguageGenerator(self.domain.responses)
        self.lock_store = InMemoryLockStore()
        self.tracker_store = (
            FailSafeTrackerStore(SQLiteTrackerStore(self.domain, db=tracker_db))
            if tracker_db
            else None
        )

    async def handle_message(self, message: UserMessage) -> None:
        record: dict[str, Any] = {"sender": message.sender_id, "text": message.text}
        if message.metadata:
            record["metadata"] = message.metadata  # what the channel let through
        self.received.append(record)
        if self.tracker_store is not None:  # stored as Rasa would, in its lock
            async with self.lock_store.lock(message.sender_id):
                tracker = await self.tracker_store.get_or_create_tracker(
                    message.sender_id
                )
                tracker.update(UserUttered(message.text))
                await self.tracker_store.save(tracker)
        out = message.output_channel
        sender = message.sender_id
        text = message.text or ""
        low = text.lower()
        if "slow" in low:
            await asyncio.sleep(1.5)
        if "captem" in low or text == CAPTEM_PAYLOAD:
            await out.send_response(
                sender,
                {
                    "text": "CAPTEM is a chemotherapy combination of **capecitabine** and "
                    "**temozolomide**.\n\nBoth are taken by mouth:\n- capecitabine as "
                    "tablets\n- temozolomide as capsules"
                },
            )
            await out.send_response(sender, {"custom": CAPTEM_ANSWER})
            await out.send_response(sender, {"text": DISCLAIMER})
        elif "thing" in low or "vague" in low:
            await out.send_response(
                sender,
                {
                    "text": "I'm not sure I understood. Did you mean one of these?",
                    "buttons": [
                        {"title": "CAPTEM", "payload": CAPTEM_PAYLOAD},
                        {"title": "Capecitabine", "payload": CAPE_PAYLOAD},
                    ],
                },
            )
        elif "rate me" in low or "my list" in low:
            await self._feedback_script(out, sender, low)
        elif text == CAPE_PAYLOAD:
            await out.send_response(sender, {"text": "Capecitabine is a tablet."})
            await out.send_response(sender, {"text": DISCLAIMER})
        else:
            await out.send_response(sender, {"text": f"You said: {text}"})

    async def _feedback_script(self, out: Any, sender: str, low: str) -> None:
        """ "rate me": an answer whose disclaimer carries the thumbs buttons (issue 10);
        "my list": the saved questions message, its ``saved_questions`` payload, the
        disclaimer."""
        if "rate me" in low:
            await out.send_response(sender, {"text": "CAPTEM is two drugs."})
            await out.send_response(
                sender, {"text": DISCLAIMER, "buttons": FEEDBACK_BUTTONS}
            )
            return
        await out.send_response(
            sender,
            {
                "text": SAVED_LIST,
                "buttons": [
                    {"title": "Clear my list", "payload": "/clear_saved_questions"}
                ],
            },
        )
        await out.send_response(
            sender,
            {"custom": {"saved_questions": {"ids": ["captem:0"], "questions": ["Q?"]}}},
        )
        await out.send_response(sender, {"text": DISCLAIMER})


def load_domain() -> Domain:
    """The real domain, as the Rasa server has it."""
    return Domain.load(str(REPO_ROOT / "bot" / "domain"))


def make_app(
    origins: list[str], max_chars: int = 2000, tracker_db: str | None = None
) -> Sanic:
    """The Sanic app: the widget channel at /socket.io plus /fake/received."""
    app = Sanic(f"fake_bot_{id(origins)}")
    app.ctx.agent = FakeAgent(tracker_db)
    channel = WidgetSocketIOInput.from_credentials(
        {
            "session_persistence": True,
            "cors_allowed_origins": origins,
            "max_message_chars": max_chars,
        }
    )
    register([channel], app, route="/webhooks/")

    @app.get("/fake/received")
    async def received(_: Request) -> Any:
        return response.json(app.ctx.agent.received)

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--origins", default="http://localhost:8080,http://127.0.0.1:8080"
    )
    parser.add_argument("--max-chars", type=int, default=2000)
    parser.add_argument(
        "--tracker-db", default=None, help="SQLite file (default: none)"
    )
    args = parser.parse_args()
    app = make_app(args.origins.split(","), args.max_chars, args.tracker_db)
    app.run(host="127.0.0.1", port=args.port, access_log=False, motd=False)


if __name__ == "__main__":
    main()
