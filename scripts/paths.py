"""Repo paths shared by the scripts; everything resolved from the repo root, not the cwd."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bot import warnings_filter

ROOT = Path(__file__).resolve().parents[1]
VENV_PY = ROOT / ".venv" / "bin" / "python"
MODELS = Path(os.environ.get("NETCHEMO_MODELS", ROOT / "models"))
VAR = Path(os.environ.get("NETCHEMO_VAR", ROOT / "var"))
# The shared secret the Rasa server sends the action server (bot/endpoints.yml).
TOKEN_ENV = "ACTION_SERVER_TOKEN"  # noqa: S105 (a variable name)


def python() -> str:
    """The interpreter to run Rasa with: the project venv if present, else this one."""
    return str(VENV_PY) if VENV_PY.exists() else sys.executable


def child_env(**extra: str) -> dict[str, str]:
    """Environment for Rasa and the action server: this one, quiet (TensorFlow's C++ log
    level, SQLAlchemy's 2.0 notice: bot/warnings_filter.py; not with ``VERBOSE=1``),
    telemetry off, and ``extra``. No PYTHONPATH: ``make venv`` installs the project."""
    env = dict(os.environ)
    for key, value in warnings_filter.quiet_env().items():
        env.setdefault(key, value)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.update(extra)
    return env


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077  # what the servers create is readable by their user only


def make_private(path: Path) -> None:
    """chmod a folder 0700 and everything under it (folders 0700, files 0600), or a
    file 0600. Symbolic links are left alone; a missing path is ignored."""
    try:
        if path.is_symlink() or not path.exists():
            return
        if path.is_dir():
            path.chmod(PRIVATE_DIR)
            for child in path.iterdir():
                make_private(child)
        else:
            path.chmod(PRIVATE_FILE)
    except FileNotFoundError:
        pass  # e.g. SQLite removed its -wal file meanwhile
