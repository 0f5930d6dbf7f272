"""Start the real servers (as `make run` does) on spare ports, with the cached model."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.serve import ServerConfig, Servers
from scripts.train import model_path

ROOT = Path(__file__).resolve().parents[2]


def start(tmp: Path, db: Path | None = None) -> Servers:
    model = Path(os.environ.get("NETCHEMO_MODEL") or model_path())
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run `make train` first")
    config = ServerConfig.in_folder(model, tmp, tracker_db=db or tmp / "tracker.db")
    return Servers(config).start()


class Client:
    """A tiny REST client for one running assistant."""

    def __init__(self, servers: Servers) -> None:
        self.servers = servers
        self.url = servers.config.rest_url

    def raw(self, body: bytes) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.url, data=body, headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def ask(self, sender: str, message: str) -> list[dict[str, Any]]:
        status, body = self.raw(
            json.dumps({"sender": sender, "message": message}).encode()
        )
        assert status == 200, (status, body)
        return body


@pytest.fixture(scope="session")
def responses() -> dict[str, str]:
    """Domain response texts by name (first variant)."""
    out: dict[str, str] = {}
    for path in (ROOT / "bot" / "domain").glob("*.yml"):
        for name, variants in (
            yaml.safe_load(path.read_text()).get("responses") or {}
        ).items():
            if "text" in variants[0]:  # e.g. utter_button_titles is custom-only
                out[name] = variants[0]["text"]
    return out


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[Client]:
    servers = start(tmp_path_factory.mktemp("e2e"))
    try:
        yield Client(servers)
    finally:
        servers.stop()
