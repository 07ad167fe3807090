"""The Dockerfile, checked statically (no Docker engine runs here), and its entrypoint run
exactly as a Vertex AI tuning trial runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "Dockerfile").read_text()


def _instructions(name: str) -> list[str]:
    return re.findall(rf"^{name}\s+(.+)$", DOCKERFILE, flags=re.MULTILINE)


def test_entrypoint_is_the_trainer() -> None:
    (entrypoint,) = _instructions("ENTRYPOINT")
    assert json.loads(entrypoint) == ["python", "-m", "trainer.train"]


def test_base_image_is_pinned() -> None:
    (default,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, flags=re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", default), default
    assert _instructions("FROM") == ["${PYTHON_IMAGE}"]


def test_runs_as_a_non_root_user_after_installing() -> None:
    lines = DOCKERFILE.splitlines()
    user_line = next(i for i, line in enumerate(lines) if line.startswith("USER "))
    assert lines[user_line].split()[1] not in ("root", "0")
    last_install = max(i for i, line in enumerate(lines) if "pip install" in line)
    assert last_install < user_line


def test_copies_only_the_packages() -> None:
    copied = {line.split()[0] for line in _instructions("COPY")}
    assert copied == {"pyproject.toml", "model_space/", "trainer/", "search/"}
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {"studies", "tests", ".venv", ".git", "**/__pycache__"} <= set(ignored)


def _trial_args_from_the_job_spec(tmp_path: Path) -> list[str]:
    """The container args of the tuning job this project submits, then one value per spec as
    Vertex appends them (``--<parameter_id>=<value>``)."""
    from google.auth.credentials import AnonymousCredentials

    from search.study_config import StudyConfig
    from search.vertex.job import TuningJobSettings, build_tuning_job

    config = StudyConfig(
        name="container", epochs=1, subset=200, validation_size=100, studies_dir=tmp_path
    )
    settings = TuningJobSettings(image_uri="trainer:test", base_output_dir="gs://bucket/tuning")
    job = build_tuning_job(config, settings, credentials=AnonymousCredentials())._gca_resource
    args = list(job.trial_job_spec.worker_pool_specs[0].container_spec.args)
    for spec in job.study_spec.parameters:
        if spec.categorical_value_spec.values:
            value = spec.categorical_value_spec.values[0]
        elif spec.discrete_value_spec.values:
            value = spec.discrete_value_spec.values[0]
        elif spec.integer_value_spec.min_value:
            value = spec.integer_value_spec.min_value
        else:
            value = (spec.double_value_spec.min_value + spec.double_value_spec.max_value) / 2
        args.append(f"--{spec.parameter_id}={value}")
    return args


@pytest.mark.slow
def test_entrypoint_as_a_tuning_trial(tmp_path: Path) -> None:
    (entrypoint,) = _instructions("ENTRYPOINT")
    command = json.loads(entrypoint)
    command[0] = sys.executable
    trial_args = _trial_args_from_the_job_spec(tmp_path)
    assert "--hypertune" in trial_args and "--filters=16-32-64" in trial_args
    env = {
        **os.environ,
        "AIP_MODEL_DIR": str(tmp_path / "trial-3" / "model"),
        "CLOUD_ML_TRIAL_ID": "3",
        "CLOUD_ML_HP_METRIC_FILE": str(tmp_path / "hypertune" / "output.metrics"),
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    result = subprocess.run(
        [*command, *trial_args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    exported = tmp_path / "trial-3" / "model"
    assert {"saved_model.pb", "model.keras", "metadata.json"} <= {
        p.name for p in exported.iterdir()
    }
    metadata = json.loads((exported / "metadata.json").read_text())
    assert metadata["params"]["filters"] == "16-32-64" and metadata["params"]["units"] == 128
    assert metadata["params"]["batch_size"] == 32 and metadata["settings"]["subset"] == 200
    report = json.loads((tmp_path / "hypertune" / "output.metrics").read_text().splitlines()[-1])
    assert report["trial"] == "3"
    assert float(report["val_accuracy"]) == metadata["validation"]["best_epoch_accuracy"]
