"""The admission queue on the real servers: a red flag sent behind a queue of questions
skips it (bot/channels/admission.py)."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from pathlib import Path

import pytest

from scripts.serve import ServerConfig, Servers
from scripts.train import model_path
from tests.e2e.conftest import Client

QUESTIONS = 24  # queued behind one place: well over a second of work on 2 cores


def as_regex(template: str) -> str:
    return ".+".join(re.escape(part) for part in re.split(r"{\w+}", template))


def test_a_red_flag_skips_the_queue(tmp_path: Path, responses) -> None:
    model = Path(os.environ.get("NETCHEMO_MODEL") or model_path())
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run `make train` first")
    config = ServerConfig.in_folder(model, tmp_path, tracker_db=tmp_path / "t.db")
    config.extra_env.update(
        {"MAX_CONCURRENT_MESSAGES": "1", "RATE_LIMIT_EXEMPT_IPS": "127.0.0.1"}
    )
    servers = Servers(config).start()
    try:
        client = Client(servers)
        client.ask(f"warm-{uuid.uuid4().hex[:6]}", "what is CAPTEM?")
        finished: list[str] = []
        replies: dict[str, list] = {}
        lock = threading.Lock()

        def ask(name: str, text: str) -> None:
            out = client.ask(f"{name}-{uuid.uuid4().hex[:6]}", text)
            with lock:
                finished.append(name)
                replies[name] = out

        threads = [
            threading.Thread(target=ask, args=(f"q{i}", "how is FOLFOX given?"))
            for i in range(QUESTIONS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.3)  # the questions are queued now
        urgent = threading.Thread(
            target=ask,
            args=("urgent", "I'm on capecitabine and my temperature is 38.9"),
        )
        urgent.start()
        for thread in (*threads, urgent):
            thread.join(timeout=120)
        assert len(finished) == QUESTIONS + 1
        assert re.fullmatch(
            as_regex(responses["utter_urgent_red_flag"].strip()),
            replies["urgent"][0]["text"],
        )
        # Behind a first-come queue it would have finished last, or nearly.
        assert finished.index("urgent") < QUESTIONS // 2, finished
        assert all(replies[f"q{i}"] for i in range(QUESTIONS))
    finally:
        servers.stop()
