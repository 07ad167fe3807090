"""The trainer runs under ``KERAS_BACKEND=jax`` too (everything but the SavedModel export)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

pytest.importorskip("jax")


def test_training_job_under_jax(tmp_path: Path) -> None:
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("AIP_MODEL_DIR", None)
    env.pop("CLOUD_ML_TRIAL_ID", None)
    command = [
        sys.executable,
        "-m",
        "trainer.train",
        "--subset=200",
        "--validation-size=100",
        "--epochs=1",
        "--batch_size=32",
        f"--model-dir={tmp_path / 'model'}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    metadata = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert metadata["versions"]["keras_backend"] == "jax"
    assert metadata["params"]["augmentation"] == 1.0
    assert metadata["files"]["saved_model"] is False
    assert (tmp_path / "model" / "model.keras").exists()
    assert not (tmp_path / "model" / "saved_model.pb").exists()
