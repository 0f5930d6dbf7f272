"""The stock assistant of ``rasa init``, created and trained once (cached in .cache/bench)."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

from scripts.paths import ROOT, child_env, python
from scripts.serve import ServerConfig

logger = logging.getLogger(__name__)
STOCK_DIR = ROOT / ".cache" / "bench" / "stock"


def stock_model() -> Path:
    """Create (once) the stock assistant with `rasa init --no-prompt` and return its model."""
    models = STOCK_DIR / "models"
    found = sorted(models.glob("*.tar.gz")) if models.exists() else []
    if found:
        return found[-1]
    if STOCK_DIR.exists():
        shutil.rmtree(STOCK_DIR)
    STOCK_DIR.mkdir(parents=True)
    logger.info(
        "creating the stock assistant (rasa init --no-prompt; trains once, cached)"
    )
    with open(STOCK_DIR.parent / "stock-init.log", "wb") as log:
        subprocess.run(
            [
                python(),
                "-m",
                "rasa",
                "init",
                "--no-prompt",
                "--init-dir",
                str(STOCK_DIR),
            ],
            cwd=STOCK_DIR,
            env=child_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return sorted(models.glob("*.tar.gz"))[-1]


def stock_config(model: Path, folder: Path) -> ServerConfig:
    """The stock assistant as Rasa runs it: its own credentials and endpoints, no action
    server, plain ``rasa`` (none of this project's patches, filters or runtime settings:
    what bot/runtime.py set in this process is not passed on)."""
    from bot import runtime

    return ServerConfig.in_folder(
        model,
        folder,
        start_actions=False,
        credentials=STOCK_DIR / "credentials.yml",
        endpoints=STOCK_DIR / "endpoints.yml",
        rasa_module="rasa",
        drop_env=tuple(sorted(runtime.SET_HERE)),
    )
