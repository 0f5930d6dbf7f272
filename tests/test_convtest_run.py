"""The runner against a small fake REST server: follow-ups, buttons, errors, concurrency,
the report, JUnit XML, coverage and the command line."""

from __future__ import annotations

import asyncio
import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.responses import settings_values
from convtest import cli
from convtest.client import run_all
from convtest.coverage import compute_coverage, wording_key
from convtest.domain import ResponseCatalog
from convtest.report import format_report, write_junit
from convtest.script import Conversation, load_scripts

DISCLAIMER = "This is general information, not medical advice."
URGENT = "This could be urgent: call {helpline} now."
BUTTON_PAYLOAD = '/ask_what_is{"kb_term": "folfiri"}'
DOMAIN = f"""
version: "3.1"
responses:
  utter_disclaimer:
    - text: "{DISCLAIMER}"
  utter_urgent_red_flag:
    - text: "{URGENT}"
  utter_offer_topics:
    - text: "Did you mean one of these?"
  utter_greet:
    - text: "Hello, I am not a doctor."
"""


class FakeBot:
    """Answers like the real REST channel for a handful of messages; remembers topics."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.topic: dict[str, str] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay = 0.0

    def answer(self, sender: str, text: str) -> list[dict[str, Any]]:
        def say(t: str) -> dict[str, Any]:
            return {"recipient_id": sender, "text": t}

        def kb(entry: str, facet: str, body: str) -> list[dict[str, Any]]:
            self.topic[sender] = entry
            return [
                say(body),
                {
                    "recipient_id": sender,
                    "custom": {"kb_answer": {"id": entry, "facet": facet}},
                },
                say(DISCLAIMER),
            ]

        low = text.lower()
        if low == "hi":
            return [say("Hello, I am not a doctor.")]
        if "captem" in low:
            return kb("captem", "what_is", "CAPTEM is capecitabine with temozolomide.")
        if low == BUTTON_PAYLOAD.lower() or "folfiri" in low:
            return kb("folfiri", "what_is", "FOLFIRI is a drip.")
        if "tablet" in low and sender in self.topic:
            return kb(
                self.topic[sender],
                "how_given",
                f"{self.topic[sender]} comes as tablets.",
            )
        if "fever" in low:
            # As the bot fills it: the settings' wording (convtest compares exactly).
            helpline = settings_values()["helpline"]
            return [say(URGENT.replace("{helpline}", helpline)), say(DISCLAIMER)]
        if low == "help":
            return [
                {
                    "recipient_id": sender,
                    "text": "Did you mean one of these?",
                    "buttons": [
                        {"title": "What is CAPTEM?", "payload": "/ask_what_is"},
                        {"title": "What is FOLFIRI?", "payload": BUTTON_PAYLOAD},
                    ],
                }
            ]
        if low == "dose":
            return [say("Take 500 mg a day."), say(DISCLAIMER)]
        if low == "quiet":
            return []
        return [say("Sorry?")]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body["message"] == "boom":
            return web.Response(status=500, text="internal error")
        self.calls.append((body["sender"], body["message"]))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            return web.json_response(self.answer(body["sender"], body["message"]))
        finally:
            self.in_flight -= 1


@pytest.fixture()
def fake_bot() -> Iterator[tuple[FakeBot, str]]:
    """The fake bot served on a spare port from a background thread; yields (bot, url)."""
    bot = FakeBot()
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", bot.handle)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield bot, f"http://127.0.0.1:{port}/webhooks/rest/webhook"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


@pytest.fixture()
def domain_dir(tmp_path: Path) -> Path:
    path = tmp_path / "domain"
    path.mkdir()
    (path / "core.yml").write_text(DOMAIN)
    return path


@pytest.fixture()
def catalog(domain_dir: Path) -> ResponseCatalog:
    return ResponseCatalog.from_domain(domain_dir)


def scripts(tmp_path: Path, text: str, catalog: ResponseCatalog) -> list[Conversation]:
    path = tmp_path / "flow.yml"
    path.write_text(text)
    conversations, errors = load_scripts([path], catalog.names, {"captem", "folfiri"})
    assert errors == []
    return conversations


PASSING = """
conversations:
  - name: follow-ups
    steps:
      - user: what is CAPTEM?
        kb_entry: captem
        disclaimer: true
      - user: is it taken as tablets?
        kb_entry: captem
        kb_facet: how_given
        contains: tablets
      - user: help
        buttons: 2
        responses: utter_offer_topics
      - button: What is FOLFIRI?
        kb_entry: folfiri
      - user: help
      - button: 1
        no_kb_answer: true
  - name: fever
    steps:
      - user: I have a fever
        urgent_first: true
        disclaimer: true
        responses: [utter_urgent_red_flag, utter_disclaimer]
"""


def test_follow_ups_and_buttons_use_one_sender(
    tmp_path: Path, fake_bot: tuple[FakeBot, str], catalog: ResponseCatalog
) -> None:
    bot, url = fake_bot
    results = asyncio.run(
        run_all(scripts(tmp_path, PASSING, catalog), catalog, url, run_id="r1")
    )
    assert [r.passed for r in results] == [True, True], format_report(results, 0, url)
    senders = [s for s, _ in bot.calls]
    conv_senders = {r.sender for r in results}
    assert conv_senders == {"convtest-r1-0000", "convtest-r1-0001"}
    assert senders.count("convtest-r1-0000") == 6
    # pressing a button sends its payload
    assert ("convtest-r1-0000", BUTTON_PAYLOAD) in bot.calls
    assert ("convtest-r1-0000", "/ask_what_is") in bot.calls


FAILING = """
conversations:
  - name: dose pressure
    steps:
      - user: dose
        not_matches: '\\d+\\s*(mg|milligram)'
        urgent_first: true
        disclaimer: true
      - user: what is CAPTEM?
        kb_entry: folfiri
  - name: broken server
    steps:
      - user: hi
      - user: boom
      - user: hi
      - user: hi
  - name: missing button
    steps:
      - user: hi
      - button: Side effects
      - user: hi
  - name: silence
    steps:
      - user: quiet
"""


def test_failures_errors_report_and_junit(
    tmp_path: Path, fake_bot: tuple[FakeBot, str], catalog: ResponseCatalog
) -> None:
    _, url = fake_bot
    results = asyncio.run(run_all(scripts(tmp_path, FAILING, catalog), catalog, url))
    dose, broken, button, silence = results
    assert not dose.passed and not dose.errored
    assert [f.check for f in dose.steps[0].failures] == ["urgent_first", "not_matches"]
    assert [f.check for f in dose.steps[1].failures] == ["kb_entry"]
    assert (
        broken.errored
        and broken.not_run == 2
        and "HTTP 500" in (broken.steps[1].error or "")
    )
    assert button.errored and "offered none" in (button.steps[1].error or "")
    assert [f.check for f in silence.steps[0].failures] == ["reply"]

    text = format_report(results, 1.5, url)
    assert "FAIL  flow :: dose pressure" in text
    assert "user: 'dose'" in text and "bot 1: Take 500 mg a day." in text
    assert "expected: nothing matching /\\d+\\s*(mg|milligram)/" in text
    assert "actual:   found '500 mg'" in text
    assert "- utter_urgent_red_flag" in text and '+ "Take 500 mg a day."' in text
    assert "(2 later step(s) not run)" in text
    assert "4 conversations, " in text and "0 passed, 2 failed, 2 errors" in text

    junit = tmp_path / "out" / "conv.xml"
    write_junit(results, junit, 1.5)
    root = ET.parse(junit).getroot()
    assert (
        root.get("tests") == "4"
        and root.get("failures") == "2"
        and root.get("errors") == "2"
    )
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == [
        "dose pressure",
        "broken server",
        "missing button",
        "silence",
    ]
    assert cases[0].get("classname") == "conversations.flow"
    assert "urgent_first" in cases[0].find("failure").get("message")  # type: ignore[union-attr]
    assert cases[1].find("error") is not None


def test_junit_survives_characters_xml_cannot_hold(
    tmp_path: Path, fake_bot: tuple[FakeBot, str], catalog: ResponseCatalog
) -> None:
    _, url = fake_bot
    convs = scripts(
        tmp_path,
        'conversations:\n  - name: "odd \\x01 input"\n    steps:\n      - user: "\\x00\\u202e"\n'
        "        contains: nothing\n",
        catalog,
    )
    results = asyncio.run(run_all(convs, catalog, url))
    junit = tmp_path / "odd.xml"
    write_junit(results, junit, 0.1)
    assert ET.parse(junit).getroot().get("failures") == "1"


def test_conversations_run_concurrently_within_the_limit(
    tmp_path: Path, fake_bot: tuple[FakeBot, str], catalog: ResponseCatalog
) -> None:
    bot, url = fake_bot
    bot.delay = 0.2
    text = "conversations:\n" + "".join(
        f"  - name: c{i}\n    steps: [{{user: hi}}, {{user: hi}}]\n" for i in range(10)
    )
    results = asyncio.run(
        run_all(scripts(tmp_path, text, catalog), catalog, url, concurrency=5)
    )
    assert all(r.passed for r in results)
    assert bot.max_in_flight == 5  # five at once, never more (no wall-clock limit)
    assert len({r.sender for r in results}) == 10


def test_repeat_sends_the_same_message_again(
    tmp_path: Path, fake_bot: tuple[FakeBot, str], catalog: ResponseCatalog
) -> None:
    bot, url = fake_bot
    convs = scripts(
        tmp_path,
        "conversations:\n  - name: r\n    steps:\n      - user: hi\n        repeat: 20\n"
        "        responses: utter_greet\n",
        catalog,
    )
    (result,) = asyncio.run(run_all(convs, catalog, url))
    assert result.passed and len(result.steps) == 20 and len(bot.calls) == 20
    assert [s.turn for s in result.steps] == list(range(1, 21))


def test_coverage_from_scripts_and_from_results(
    tmp_path: Path, fake_bot: tuple[FakeBot, str], catalog: ResponseCatalog
) -> None:
    _, url = fake_bot
    convs = scripts(
        tmp_path,
        """
conversations:
  - name: a
    steps:
      - user: What is CAPTEM?
        kb_entry: captem
      - user: what is captem
        kb_entry: captem
      - user: tell me about CAPTEM please
        kb_entry: captem
      - user: is folfiri chemo
        kb_entry: captem
      - user: anything
        kb_entry: [captem, folfiri]
""",
        catalog,
    )
    static = compute_coverage(
        ["captem", "folfiri", "tace"], convs, None, min_wordings=2
    )
    assert static.missing == ["folfiri", "tace"]
    assert static.thin == ["folfiri", "tace"]
    assert static.wordings["captem"] == {
        "what is captem",
        "tell me about captem please",
        "is folfiri chemo",
    }
    results = asyncio.run(run_all(convs, catalog, url))
    ran = compute_coverage(["captem", "folfiri"], convs, results, min_wordings=3)
    # "is folfiri chemo" got folfiri, not captem, so it does not count for captem
    assert ran.reached_by == {"captem": 3, "folfiri": 0}
    assert ran.wordings["captem"] == {"what is captem", "tell me about captem please"}
    assert not ran.ok and "folfiri" in ran.format()
    assert wording_key("  What's CAPTEM?? ") == "what s captem"


def test_cli_runs_scripts_and_writes_junit(
    tmp_path: Path,
    fake_bot: tuple[FakeBot, str],
    domain_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, url = fake_bot
    monkeypatch.setattr(cli, "_kb_ids", lambda: frozenset({"captem", "folfiri"}))
    folder = tmp_path / "convs"
    folder.mkdir()
    (folder / "flow.yml").write_text(PASSING)
    junit = tmp_path / "results" / "c.xml"
    base = [str(folder), "--url", url, "--domain", str(domain_dir)]

    assert (
        cli.main(base + ["--junit", str(junit), "--coverage", "--concurrency", "2"])
        == 0
    )
    out = capsys.readouterr().out
    assert "2 conversations, 7 turns" in out and "KB coverage: 2/2" in out
    assert ET.parse(junit).getroot().get("tests") == "2"

    assert cli.main(base + ["--name", "FEVER"]) == 0
    assert "1 conversations" in capsys.readouterr().out
    assert cli.main(base + ["--coverage", "--min-wordings", "3"]) == 1
    assert "fewer than 3 different wordings: 2" in capsys.readouterr().out
    assert cli.main(base + ["--name", "no such conversation"]) == 2

    (folder / "flow.yml").write_text(FAILING)
    assert cli.main(base) == 1


def test_cli_reports_malformed_scripts_without_running(
    tmp_path: Path,
    domain_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli, "_kb_ids", lambda: frozenset({"captem"}))
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "conversations:\n  - name: A\n    steps:\n      - user: hi\n        kb_entry: x\n"
    )
    code = cli.main(
        [str(bad), "--url", "http://127.0.0.1:9/none", "--domain", str(domain_dir)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert (
        f"{bad}, conversation 'A', step 1, field 'kb_entry': unknown KB entry 'x'"
        in err
    )
    assert "Traceback" not in err


def test_cli_check_mode_needs_no_bot(
    tmp_path: Path,
    domain_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli, "_kb_ids", lambda: frozenset({"captem", "folfiri"}))
    path = tmp_path / "flow.yml"
    path.write_text(PASSING)
    assert cli.main([str(path), "--check", "--domain", str(domain_dir)]) == 0
    assert "Scripts OK: 2 conversations, 7 turns." in capsys.readouterr().out
    assert (
        cli.main([str(path), "--check", "--coverage", "--domain", str(domain_dir)]) == 0
    )
    code = cli.main(
        [
            str(path),
            "--check",
            "--coverage",
            "--min-wordings",
            "2",
            "--domain",
            str(domain_dir),
        ]
    )
    assert code == 1


def test_real_scripts_are_well_formed() -> None:
    """Every script in tests/conversations loads against the real domain and KB."""
    root = Path(__file__).resolve().parents[1]
    catalog = ResponseCatalog.from_domain(root / "bot" / "domain")
    conversations, errors = load_scripts(
        [root / "tests" / "conversations"], catalog.names, cli._kb_ids()
    )
    assert errors == [], "\n".join(str(e) for e in errors)
    assert len(conversations) >= 40
    assert json.dumps([c.name for c in conversations])  # names are plain text
