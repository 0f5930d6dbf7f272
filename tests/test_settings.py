"""Tests for bot/settings.py (config/safety.yml loader) and scripts/gen_settings_domain.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import bot.settings
from bot.settings import (
    DEFAULT_LOW_TEMPERATURE_THRESHOLD_C,
    ENV_VAR,
    REPO_ROOT,
    SettingsError,
    clear_settings_cache,
    load_settings,
    parse_settings,
    resolve_settings_path,
)

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import gen_settings_domain  # noqa: E402

REPO_FILE = REPO_ROOT / "config" / "safety.yml"
# The values config/safety.yml ships with, read the way a reviewer reads them.
SHIPPED = yaml.safe_load(REPO_FILE.read_text(encoding="utf-8"))
SHIPPED_CONTACTS = SHIPPED["contacts"]


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    clear_settings_cache()
    yield
    clear_settings_cache()


def write(tmp_path: Path, text: str, name: str = "safety.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_repo_file_matches_documented_defaults() -> None:
    settings = load_settings()
    assert settings.source == REPO_FILE
    assert settings.red_flags.temperature_threshold_c == 37.5
    assert settings.red_flags.low_temperature_threshold_c == 36.0
    assert settings.contacts.helpline == SHIPPED_CONTACTS["helpline"]
    assert settings.contacts.emergency == SHIPPED_CONTACTS["emergency"]
    assert settings.contacts.crisis == SHIPPED_CONTACTS["crisis"]
    assert settings.input.max_message_chars == 2000
    # The fallback for code that builds a safety screen without settings agrees.
    assert (
        settings.red_flags.low_temperature_threshold_c
        == DEFAULT_LOW_TEMPERATURE_THRESHOLD_C
    )


def test_no_contact_wording_in_python() -> None:
    """config/safety.yml is the only place of the contact wording (issue 13)."""
    chunks = {
        value[i : i + 16]
        for value in SHIPPED_CONTACTS.values()
        for i in range(0, max(1, len(value) - 15), 8)
    }
    for folder in ("bot", "actions", "kb", "convtest", "scripts"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            text = " ".join(path.read_text(encoding="utf-8").split())
            found = [c for c in chunks if c in text]
            assert not found, (path, found)


def test_every_key_in_repo_file_is_commented_with_its_default() -> None:
    text = (REPO_ROOT / "config" / "safety.yml").read_text(encoding="utf-8")
    for default in ("37.5", "36.0", "999 in the UK", "Samaritans on 116 123", "2000"):
        assert f"Default: {default}" in text or f'Default: "{default}' in text


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "# nothing set\n"))
    assert settings.red_flags.temperature_threshold_c == 37.5
    assert settings.red_flags.low_temperature_threshold_c == 36.0
    assert settings.input.max_message_chars == 2000


def test_partial_file_keeps_other_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "red_flags:\n  temperature_threshold_c: 38\n"
        "contacts:\n  helpline: 'the Acute Oncology line on 0800 000 0000'\n",
    )
    settings = load_settings(path)
    assert settings.red_flags.temperature_threshold_c == 38.0
    assert isinstance(settings.red_flags.temperature_threshold_c, float)
    assert settings.contacts.helpline == "the Acute Oncology line on 0800 000 0000"
    assert settings.contacts.crisis == SHIPPED_CONTACTS["crisis"]


def test_env_var_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "input:\n  max_message_chars: 500\n")
    monkeypatch.setenv(ENV_VAR, str(path))
    assert load_settings().input.max_message_chars == 500


def test_argument_beats_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        ENV_VAR, str(write(tmp_path, "input:\n  max_message_chars: 500\n"))
    )
    other = write(tmp_path, "input:\n  max_message_chars: 700\n", "other.yml")
    assert load_settings(other).input.max_message_chars == 700


def test_relative_env_path_resolves_from_repo_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # the current directory must not matter
    monkeypatch.setenv(ENV_VAR, "config/safety.yml")
    assert resolve_settings_path() == REPO_ROOT / "config" / "safety.yml"
    assert load_settings().source == REPO_ROOT / "config" / "safety.yml"


def test_results_are_cached(tmp_path: Path) -> None:
    path = write(tmp_path, "red_flags:\n  temperature_threshold_c: 38\n")
    first = load_settings(path)
    path.write_text("red_flags:\n  temperature_threshold_c: 39\n")
    assert load_settings(path) is first
    clear_settings_cache()
    assert load_settings(path).red_flags.temperature_threshold_c == 39.0


def test_settings_are_immutable() -> None:
    settings = load_settings()
    with pytest.raises(AttributeError):
        settings.red_flags.temperature_threshold_c = 40  # type: ignore[misc]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "nope.yml")


def test_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read settings"):
        load_settings(write(tmp_path, "red_flags: [unclosed\n"))


@pytest.mark.parametrize(
    "text, key",
    [
        ("- just a list\n", "top level"),
        ("red_flag:\n  temperature_threshold_c: 38\n", "red_flag"),
        (
            "red_flags:\n  temperature_treshold_c: 38\n",
            "red_flags.temperature_treshold_c",
        ),
        ("contacts:\n  helpline_number: '0800'\n", "contacts.helpline_number"),
        ("red_flags: 38\n", "red_flags"),
        (
            "red_flags:\n  temperature_threshold_c: '37,5'\n",
            "red_flags.temperature_threshold_c",
        ),
        (
            "red_flags:\n  temperature_threshold_c: true\n",
            "red_flags.temperature_threshold_c",
        ),
        (
            "red_flags:\n  temperature_threshold_c: 100.4\n",
            "red_flags.temperature_threshold_c",
        ),
        (
            "red_flags:\n  temperature_threshold_c: 34\n",
            "red_flags.temperature_threshold_c",
        ),
        (
            "red_flags:\n  temperature_threshold_c: .nan\n",
            "red_flags.temperature_threshold_c",
        ),
        (
            "red_flags:\n  low_temperature_threshold_c: 33.9\n",
            "red_flags.low_temperature_threshold_c",
        ),
        (
            "red_flags:\n  low_temperature_threshold_c: 96.8\n",
            "red_flags.low_temperature_threshold_c",
        ),
        (
            "red_flags:\n  low_temperature_threshold_c: '36'\n",
            "red_flags.low_temperature_threshold_c",
        ),
        (
            # low must be below high: the normal range would be empty
            "red_flags:\n  temperature_threshold_c: 36.5\n"
            "  low_temperature_threshold_c: 36.5\n",
            "red_flags.low_temperature_threshold_c",
        ),
        ("contacts:\n  helpline: ''\n", "contacts.helpline"),
        ("contacts:\n  emergency: 999\n", "contacts.emergency"),
        ("contacts:\n  crisis: 'call {number}'\n", "contacts.crisis"),
        ("contacts:\n  helpline: '" + "x" * 301 + "'\n", "contacts.helpline"),
        ("input:\n  max_message_chars: 2000.5\n", "input.max_message_chars"),
        ("input:\n  max_message_chars: '2000'\n", "input.max_message_chars"),
        ("input:\n  max_message_chars: 10\n", "input.max_message_chars"),
        ("input:\n  max_message_chars: false\n", "input.max_message_chars"),
    ],
)
def test_invalid_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as excinfo:
        load_settings(path)
    message = str(excinfo.value)
    assert key in message
    assert str(path) in message


def test_contact_whitespace_is_collapsed() -> None:
    settings = parse_settings({"contacts": {"helpline": "  the  unit\n line "}})
    assert settings.contacts.helpline == "the unit line"


def test_no_io_at_import(tmp_path: Path) -> None:
    """Importing the module reads nothing (a bad path only fails when loading)."""
    env = {
        **os.environ,
        ENV_VAR: "/definitely/not/here.yml",
        "PYTHONPATH": str(REPO_ROOT),
    }
    code = (
        "import bot.settings as s\n"
        "try:\n    s.load_settings()\nexcept s.SettingsError:\n    print('lazy')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "lazy"


# -- scripts/gen_settings_domain.py ----------------------------------------------------


def test_generated_domain_fragment(tmp_path: Path) -> None:
    settings = parse_settings(
        {"contacts": {"helpline": 'the "Acute Oncology" line: 0800 000 0000'}}
    )
    text = gen_settings_domain.render_domain(settings)
    assert text.startswith("# generated from config/safety.yml by ")
    assert "do not edit" in text.splitlines()[1]
    data = yaml.safe_load(text)
    assert data["version"] == "3.1"
    assert set(data["slots"]) == {
        "helpline",
        "emergency_number",
        "crisis_line",
        "temperature_high_c",
        "temperature_high_f",
        "temperature_low_c",
        "temperature_low_f",
    }
    for slot in data["slots"].values():
        assert slot["type"] == "text"
        assert slot["influence_conversation"] is False
        assert slot["mappings"] == [{"type": "custom"}]
    assert data["slots"]["helpline"]["initial_value"] == (
        'the "Acute Oncology" line: 0800 000 0000'
    )
    assert data["slots"]["crisis_line"]["initial_value"] == SHIPPED_CONTACTS["crisis"]
    values = {name: slot["initial_value"] for name, slot in data["slots"].items()}
    assert values["temperature_high_c"] == "37.5"
    assert values["temperature_high_f"] == "99.5"
    assert values["temperature_low_c"] == "36"
    assert values["temperature_low_f"] == "96.8"


@pytest.mark.parametrize(
    "high, low, expected",
    [
        (38.0, 36.0, ("38", "100.4", "36", "96.8")),
        (37.8, 35.5, ("37.8", "100", "35.5", "95.9")),
    ],
)
def test_generated_thresholds_follow_the_settings(
    high: float, low: float, expected: tuple
) -> None:
    settings = parse_settings(
        {
            "red_flags": {
                "temperature_threshold_c": high,
                "low_temperature_threshold_c": low,
            }
        }
    )
    slots = yaml.safe_load(gen_settings_domain.render_domain(settings))["slots"]
    names = (
        "temperature_high_c",
        "temperature_high_f",
        "temperature_low_c",
        "temperature_low_f",
    )
    assert tuple(slots[n]["initial_value"] for n in names) == expected


def test_low_threshold_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "red_flags:\n  low_temperature_threshold_c: 35.5\n")
    settings = load_settings(path)
    assert settings.red_flags.low_temperature_threshold_c == 35.5
    assert settings.red_flags.temperature_threshold_c == 37.5


def test_urgent_reply_states_both_thresholds_from_the_slots() -> None:
    """utter_urgent_red_flag says the numbers through the generated slots, never as
    literal numbers that could disagree with config/safety.yml."""
    domain = yaml.safe_load(
        (REPO_ROOT / "bot" / "domain" / "safety.yml").read_text(encoding="utf-8")
    )
    text = domain["responses"]["utter_urgent_red_flag"][0]["text"]
    for slot in (
        "temperature_high_c",
        "temperature_high_f",
        "temperature_low_c",
        "temperature_low_f",
    ):
        assert "{" + slot + "}" in text
    assert "37.5" not in text and "36" not in text


@pytest.mark.filterwarnings("ignore:Slot auto-fill:UserWarning")
def test_generated_fragment_loads_as_rasa_domain(tmp_path: Path) -> None:
    from rasa.shared.core.domain import Domain

    path = write(tmp_path, gen_settings_domain.render_domain(load_settings()), "s.yml")
    domain = Domain.load(str(path))
    values = {slot.name: slot.initial_value for slot in domain.slots}
    assert values["emergency_number"] == SHIPPED_CONTACTS["emergency"]


def test_generator_is_idempotent_and_checks(tmp_path: Path) -> None:
    settings_path = write(tmp_path, "contacts:\n  helpline: 'ward 7 on 0800 111'\n")
    output = tmp_path / "out" / "settings.generated.yml"
    args = ["--settings", str(settings_path), "--output", str(output)]
    assert gen_settings_domain.main(args + ["--check"]) == 1  # missing
    assert gen_settings_domain.main(args) == 0
    first = output.stat().st_mtime_ns
    assert "ward 7 on 0800 111" in output.read_text(encoding="utf-8")
    assert gen_settings_domain.main(args) == 0
    assert output.stat().st_mtime_ns == first  # unchanged content is not rewritten
    assert gen_settings_domain.main(args + ["--check"]) == 0
    clear_settings_cache()
    settings_path.write_text("contacts:\n  helpline: 'ward 8'\n")
    assert gen_settings_domain.main(args + ["--check"]) == 1  # stale


def test_generator_reports_bad_settings(tmp_path: Path) -> None:
    bad = write(tmp_path, "input:\n  max_message_chars: nope\n")
    out = tmp_path / "x.yml"
    assert gen_settings_domain.main(["--settings", str(bad), "--output", str(out)]) == 2
    assert not out.exists()


# -- schema errors, config/safety.yml as the base, the committed fragment ----------------


def test_a_bad_settings_file_names_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "red_flags:\n  temperature_threshold_c: 100.4\n")
    with pytest.raises(SettingsError) as excinfo:
        load_settings(path)
    assert str(excinfo.value) == (
        f"{path}, field 'red_flags.temperature_threshold_c': must be a temperature "
        "in degrees C from 35.0 to 40.0 (got 100.4)"
    )


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path, "contacts:\n  helpine: 'ward 7'\n")
    with pytest.raises(SettingsError, match=r"did you mean 'helpline'\?"):
        load_settings(path)


def test_repo_file_must_set_every_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without Python defaults, a key missing from config/safety.yml is an error."""
    data = yaml.safe_load(REPO_FILE.read_text(encoding="utf-8"))
    del data["contacts"]["crisis"]
    base = write(tmp_path, yaml.safe_dump(data), "base.yml")
    monkeypatch.setattr(bot.settings, "DEFAULT_PATH", base)
    clear_settings_cache()
    with pytest.raises(SettingsError) as excinfo:
        load_settings(write(tmp_path, "input:\n  max_message_chars: 500\n"))
    assert str(excinfo.value) == f"{base}, field 'contacts.crisis': is required"


def test_committed_fragment_is_what_config_safety_yml_makes() -> None:
    """A plain `rasa train` uses the committed fragment: it must be current."""
    committed = gen_settings_domain.DEFAULT_OUTPUT.read_text(encoding="utf-8")
    assert committed == gen_settings_domain.render_domain(
        load_settings(REPO_FILE)
    ), "bot/domain/settings.generated.yml is stale: run `make settings` and commit it"
    assert "{" not in "".join(
        slot["initial_value"] for slot in yaml.safe_load(committed)["slots"].values()
    )


def test_committed_fragment_is_tracked_by_git() -> None:
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    relative = gen_settings_domain.DEFAULT_OUTPUT.relative_to(REPO_ROOT)
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(relative)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert tracked.returncode == 0, f"{relative} must be committed: {tracked.stderr}"
