"""The deployer's tool, scripts/telegram_admin.py: the merged credentials file and status
(against the fake Bot API; nothing contacts api.telegram.org)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scripts.telegram_admin import OPTIONAL_ENV_DEFAULTS, main, merge_credentials
from tests.telegram.conftest import REPO_ROOT
from tests.telegram.fake_telegram import BOT_USER, TEST_TOKEN, FakeTelegram

CHANNEL = "bot.channels.telegram.TelegramInput"
BASE = str(REPO_ROOT / "bot" / "credentials.yml")
TELEGRAM = str(REPO_ROOT / "bot" / "credentials.telegram.yml")


def test_merge_keeps_secrets_as_references_and_fills_unset_options() -> None:
    merged = merge_credentials(BASE, TELEGRAM, {"TELEGRAM_TOKEN": "1:secret"})
    assert "bot.channels.socketio.WidgetSocketIOInput" in merged  # the base is kept
    block = merged[CHANNEL]
    assert block["access_token"] == "${TELEGRAM_TOKEN}"  # never the token itself
    assert "1:secret" not in yaml.safe_dump(merged)
    assert block["mode"] == OPTIONAL_ENV_DEFAULTS["TELEGRAM_MODE"]
    set_mode = merge_credentials(
        BASE, TELEGRAM, {"TELEGRAM_TOKEN": "1:secret", "TELEGRAM_MODE": "polling"}
    )
    assert set_mode[CHANNEL]["mode"] == "${TELEGRAM_MODE}"


def test_credentials_command_writes_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "var" / "credentials.telegram.yml"
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    assert main(["credentials", "--out", str(out)]) == 1  # no token: refused
    assert not out.exists()
    monkeypatch.setenv("TELEGRAM_TOKEN", "1:secret")
    argv = ["credentials", "--base", BASE, "--telegram", TELEGRAM, "--out", str(out)]
    assert main(argv) == 0
    written = yaml.safe_load(out.read_text())
    assert written[CHANNEL]["access_token"] == "${TELEGRAM_TOKEN}"
    # The Telegram channel loads from what was written (the import path still works).
    from rasa.shared.utils.common import class_from_module_path

    assert class_from_module_path(CHANNEL).name() == "telegram"


def test_status_asks_telegram(
    fake_telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TELEGRAM_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE", fake_telegram.base_url)
    with caplog.at_level("INFO", logger="scripts.telegram_admin"):
        assert main(["status"]) == 0
    assert f"bot: @{BOT_USER['username']}" in caplog.text
    assert TEST_TOKEN not in caplog.text
