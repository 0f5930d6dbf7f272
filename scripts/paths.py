"""Repo paths shared by the scripts; everything resolved from the repo root, not the cwd."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_PY = ROOT / ".venv" / "bin" / "python"
MODELS = Path(os.environ.get("NETCHEMO_MODELS", ROOT / "models"))
VAR = Path(os.environ.get("NETCHEMO_VAR", ROOT / "var"))


def python() -> str:
    """The interpreter to run Rasa with: the project venv if present, else this one."""
    return str(VENV_PY) if VENV_PY.exists() else sys.executable


def child_env(**extra: str) -> dict:
    """Environment for Rasa and the action server: repo on PYTHONPATH, quiet TF logs."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), env.get("PYTHONPATH")])
    )
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.update(extra)
    return env
