"""The backend's start-up: TensorFlow's oneDNN kernels on, unless the user said otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from trainer.startup import ONEDNN_ENV

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
        reason="oneDNN is TensorFlow's",
    ),
]

PROBE = (
    "from trainer.startup import import_backend; import_backend(); "
    "from tensorflow.python.util import _pywrap_util_port as port; "
    "print(port.IsMklEnabled())"
)


def onednn_enabled(setting: str | None) -> bool:
    """Whether TensorFlow's oneDNN is on in a new process that imported the backend the way
    every command does, with ``TF_ENABLE_ONEDNN_OPTS`` unset (None) or set as given."""
    env = {k: v for k, v in os.environ.items() if k != ONEDNN_ENV}
    if setting is not None:
        env[ONEDNN_ENV] = setting
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True, text=True, timeout=120, check=True, env=env,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1] == "True"


def test_onednn_is_on_whatever_the_cpu() -> None:
    """Unset, TensorFlow leaves oneDNN off on CPUs without AVX-512 (an AMD EPYC of this
    project's CI pool, where it trains about 1.3 times faster with it): the commands turn it
    on."""
    assert onednn_enabled(None)


def test_the_users_setting_wins() -> None:
    assert not onednn_enabled("0")
