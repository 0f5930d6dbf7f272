"""Process settings for less memory, applied before TensorFlow is imported.

Measured with the Rasa server of ``make run`` after a few answers (resident memory,
docs/performance.md, 2026-12-02):

* ``jax`` is marked as absent (``sys.modules["jax"] = None``): TensorFlow's wheel requires
  jax, but only its TFLite converter imports it, inside a ``try`` that sets ``None`` on
  ImportError; nothing here converts models. About 55 MB and 0.5 s of start-up per process.
* ``TF_ENABLE_ONEDNN_OPTS=0``: TensorFlow's oneDNN kernels off. About 35 MB; the CPU per
  message was the same (16.7-17.5 ms with, 16.9 ms without) on DIET's small matrices.

:func:`install` is idempotent, never overrides a variable already set, and is called when
``bot`` is first imported (``bot/__init__.py``): every process of this project imports
``bot`` before TensorFlow (``bot.cli``, the scripts, the action server). In a process where
TensorFlow is already loaded it changes nothing that matters.
"""

from __future__ import annotations

import os
import sys

RUNTIME_ENV: dict[str, str] = {"TF_ENABLE_ONEDNN_OPTS": "0"}
UNUSED_IMPORTS: tuple[str, ...] = ("jax",)
# The variables of RUNTIME_ENV that install() set (not set before by the user).
SET_HERE: set[str] = set()


def install() -> None:
    """Set :data:`RUNTIME_ENV` (unless set) and mark :data:`UNUSED_IMPORTS` as absent."""
    for name, value in RUNTIME_ENV.items():
        if name not in os.environ:
            os.environ[name] = value
            SET_HERE.add(name)
    for module in UNUSED_IMPORTS:
        sys.modules.setdefault(module, None)  # type: ignore[arg-type]
