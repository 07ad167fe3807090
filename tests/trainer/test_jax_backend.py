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
    """Also: 200 images in batches of 32 leave 8, yet the train step and the validation step are
    each compiled once for both epochs (a partial batch would be a second XLA program)."""
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "JAX_LOG_COMPILES": "1",
    }
    env.pop("AIP_MODEL_DIR", None)
    env.pop("CLOUD_ML_TRIAL_ID", None)
    command = [
        sys.executable,
        "-m",
        "trainer.train",
        "--subset=200",
        "--validation-size=100",
        "--epochs=2",
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
    assert metadata["settings"]["epochs"] == 2
    for step in ("train_step", "test_step"):
        assert result.stderr.count(f"Finished XLA compilation of jit({step})") == 1, step
