"""The installable project: every console script of pyproject.toml names a function that
exists, the venv's install matches pyproject.toml, and a script runs from any folder
without PYTHONPATH."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
from pathlib import Path

import pytest
import tomli

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomli.loads((ROOT / "pyproject.toml").read_text())
SCRIPTS: dict[str, str] = PYPROJECT["project"]["scripts"]
DIST = PYPROJECT["project"]["name"]


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_each_entry_point_is_a_function(name: str) -> None:
    module, _, attr = SCRIPTS[name].partition(":")
    assert callable(getattr(importlib.import_module(module), attr)), SCRIPTS[name]


def installed_scripts() -> dict[str, str]:
    try:
        dist = importlib.metadata.distribution(DIST)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the project is not installed here: run make venv")
    return {
        ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"
    }


def test_the_install_matches_pyproject() -> None:
    assert installed_scripts() == SCRIPTS, "pyproject.toml changed: run make venv"


def test_a_script_runs_from_another_folder_without_pythonpath(tmp_path: Path) -> None:
    installed_scripts()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "netchemo-train"), "--print-path"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    printed = Path(done.stdout.strip())
    assert printed.parent == ROOT / "models" and printed.name.endswith(".tar.gz")


def test_no_script_puts_itself_on_sys_path() -> None:
    """Files of the packaging work (pyproject's packages); the others are listed in the
    lead's notes until their owners remove theirs."""
    owned = [
        p for p in (ROOT / "scripts").rglob("*.py")
        if not p.name.startswith("telegram_")
        and p.name not in {"check_kb.py", "kb_report.py", "gen_settings_domain.py",
                           "eval_safety.py", "validate_data.py"}
    ]  # fmt: skip
    offenders = [
        str(p.relative_to(ROOT)) for p in owned if "sys.path.insert" in p.read_text()
    ]
    assert offenders == []
