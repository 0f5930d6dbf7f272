"""Train the model only when its inputs changed: ``models/<hash>.tar.gz``.

The hash covers config.yml, data/, bot/domain/, bot/components/ and kb/, so a change to any
of them trains a new model and anything else reuses the cached one. A file lock stops two
trainings of the same inputs at once. Prints the model path as the last line.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import logging
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from bot import warnings_filter
from scripts.paths import MODELS, ROOT, child_env, python

logger = logging.getLogger(__name__)
INPUTS = ("config.yml", "data", "bot/domain", "bot/components", "kb")
SUFFIXES = {".yml", ".yaml", ".py", ".json", ".txt", ".md"}


def input_files(root: Path = ROOT, inputs: Iterable[str] = INPUTS) -> list[Path]:
    """Every file that can change the trained model, sorted."""
    files: list[Path] = []
    for name in inputs:
        path = root / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts
            )
    return sorted(files)


def inputs_hash(root: Path = ROOT, inputs: Iterable[str] = INPUTS) -> str:
    """Content hash of the model's inputs (paths and bytes), 16 hex digits."""
    digest = hashlib.sha256()
    for path in input_files(root, inputs):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path(models: Path = MODELS, root: Path = ROOT) -> Path:
    """Where the model for the current inputs is (or will be) stored."""
    return models / f"{inputs_hash(root)}.tar.gz"


def train(force: bool = False, models: Path = MODELS) -> Path:
    """Train if needed and return the model path."""
    models.mkdir(parents=True, exist_ok=True)
    target = model_path(models)
    with open(models / ".train.lock", "w") as lock:
        fcntl.flock(
            lock, fcntl.LOCK_EX
        )  # another training of the same inputs waits here
        if target.exists() and not force:
            logger.info("model is up to date: %s", target.name)
            return target
        started = time.monotonic()
        cmd = [
            python(), "-m", "bot.cli", "train",
            "--config", str(ROOT / "config.yml"),
            "--domain", str(ROOT / "bot" / "domain"),
            "--data", str(ROOT / "data"),
            "--out", str(models),
            "--fixed-model-name", target.name[: -len(".tar.gz")],
        ]  # fmt: skip
        log_path = models / "train.log"
        logger.info("training %s (log: %s) ...", target.name, log_path)
        with open(log_path, "wb") as log:
            result = subprocess.run(
                cmd, cwd=ROOT, env=child_env(), stdout=log, stderr=subprocess.STDOUT
            )
        if result.returncode != 0:
            tail = log_path.read_text(errors="replace").splitlines()[-40:]
            logger.error("\n".join(tail))
            raise subprocess.CalledProcessError(result.returncode, cmd)
        logger.info("trained %s in %.0f s", target.name, time.monotonic() - started)
    return target


def main() -> int:
    """CLI: ``python -m scripts.train [--force] [--print-hash]``."""
    warnings_filter.install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--force", action="store_true", help="train even if cached")
    parser.add_argument(
        "--print-path", action="store_true", help="only print the model path"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.print_path:
        print(model_path())
        return 0
    try:
        print(train(force=args.force))
    except subprocess.CalledProcessError as exc:
        logger.error("training failed (exit %s)", exc.returncode)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
