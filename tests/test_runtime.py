"""bot/runtime.py: set before TensorFlow loads, and TensorFlow still works without jax."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bot import runtime

PROBE = """
import json, os, sys
import bot
import tensorflow as tf
print(json.dumps({
    "jax": repr(sys.modules.get("jax", "missing")),
    "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
    "matmul": float(tf.linalg.matmul([[1.0, 2.0]], [[3.0], [4.0]])[0][0]),
}))
"""


def probe(**env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_tensorflow_runs_with_jax_absent_and_onednn_off() -> None:
    assert probe() == {"jax": "None", "onednn": "0", "matmul": 11.0}


def test_a_variable_already_set_is_kept() -> None:
    assert probe(TF_ENABLE_ONEDNN_OPTS="1")["onednn"] == "1"


def test_install_is_idempotent_and_keeps_a_loaded_module(monkeypatch) -> None:
    sentinel = object()
    monkeypatch.setitem(sys.modules, "jax", sentinel)
    runtime.install()
    runtime.install()
    assert sys.modules["jax"] is sentinel
