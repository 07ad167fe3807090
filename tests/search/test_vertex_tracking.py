"""Vertex AI Experiments tracking, tested by patching ``aiplatform``'s module functions (no
machine here reaches Google Cloud): run names Vertex accepts, only float/int/str values."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import google.auth
import pandas as pd
import pytest
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import DefaultCredentialsError
from google.cloud import aiplatform
from google.cloud.aiplatform_v1.types import Execution

from search import run
from search.results.table import study_table
from search.study_run import run_study
from search.trial import EPOCH_METRICS
from tests.search.conftest import tiny_config
from trainer.data import CLASS_NAMES

FUNCTIONS = (
    "init",
    "start_run",
    "log_params",
    "log_metrics",
    "log_time_series_metrics",
    "log_classification_metrics",
    "end_run",
)
TENSORBOARD = "projects/test-project/locations/us-central1/tensorboards/7"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple, dict]]:
    recorded: list[tuple[str, tuple, dict]] = []
    monkeypatch.setattr(
        google.auth, "default", lambda *a, **k: (AnonymousCredentials(), "test-project")
    )
    for name in FUNCTIONS:

        def record(*args: Any, _name: str = name, **kwargs: Any) -> None:
            recorded.append((_name, args, kwargs))

        monkeypatch.setattr(aiplatform, name, record)
    monkeypatch.setattr(aiplatform, "get_experiment_df", lambda *a, **k: pd.DataFrame())
    return recorded


def _named(calls: list[tuple[str, tuple, dict]], name: str) -> list[tuple[tuple, dict]]:
    return [(args, kwargs) for call, args, kwargs in calls if call == name]


@pytest.mark.slow
def test_every_trial_and_the_best_model_are_vertex_runs(studies_dir: Path, calls) -> None:
    config = tiny_config(
        studies_dir, tracking="vertex", project="test-project", tensorboard=TENSORBOARD, trials=2
    )
    run_study(config)

    expected = {
        "project": "test-project",
        "location": "us-central1",
        "experiment": "tiny",
        "experiment_tensorboard": TENSORBOARD,
    }
    inits = _named(calls, "init")
    assert inits and all(kwargs == expected for _, kwargs in inits)
    names = [kwargs["run"] for _, kwargs in _named(calls, "start_run")]
    assert len(names) == len(set(names)) == 3
    for name in names:
        assert re.fullmatch(r"[a-z0-9-]+", name) and len(f"tiny-{name}") <= 121
    for call in ("log_params", "log_metrics"):
        for args, _ in _named(calls, call):
            assert all(type(value) in (float, int, str) for value in args[0].values()), args[0]
    params = {k: v for args, _ in _named(calls, "log_params") for k, v in args[0].items()}
    assert params["trial_key"].startswith(("optuna-", "best-")) and params["filters"] in (
        "16-32-64",
        "32-64-128",
    )
    series = _named(calls, "log_time_series_metrics")
    assert series and all(type(kw["step"]) is int and kw["step"] >= 1 for _, kw in series)
    assert all(set(args[0]) <= set(EPOCH_METRICS) for args, _ in series)
    ((_, matrix),) = _named(calls, "log_classification_metrics")
    assert matrix["labels"] == list(CLASS_NAMES)
    assert sum(map(sum, matrix["matrix"])) == 10_000
    states = [kwargs["state"] for _, kwargs in _named(calls, "end_run")]
    assert len(states) == 3 and set(states) == {Execution.State.COMPLETE}


@pytest.mark.slow
def test_without_tensorboard_runs_keep_final_metrics(studies_dir: Path, calls) -> None:
    config = tiny_config(studies_dir, tracking="vertex", project="test-project", trials=1, epochs=1)
    run_study(config, retrain=False)
    assert not _named(calls, "log_time_series_metrics")
    ((args, _),) = _named(calls, "log_metrics")
    assert {"val_accuracy", "epochs_run", "parameter_count"} <= set(args[0])


def test_a_taken_run_name_is_renamed(studies_dir: Path, calls, monkeypatch) -> None:
    from search.tracking.vertex_tracker import VertexTracker

    taken = {"custom-cnn-x"}

    def start_run(run: str, **kwargs: Any) -> None:
        if run in taken:
            raise ValueError(f"Run {run} already exists in this experiment.")
        taken.add(run)

    monkeypatch.setattr(aiplatform, "start_run", start_run)
    tracker = VertexTracker(project="p", location="us-central1", experiment="tiny")
    assert tracker.start_run("custom-cnn-x", {}, "optuna-0").name == "custom-cnn-x-r2"
    assert tracker.start_run("custom-cnn-x", {}, "optuna-1").name == "custom-cnn-x-r3"


def test_missing_project_fails_before_any_trial(
    studies_dir: Path, calls, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    code = run.main(["--study", "tiny", "--studies-dir", str(studies_dir), "--tracking", "vertex"])
    assert code == 2
    assert "needs a Google Cloud project" in capsys.readouterr().err
    assert not _named(calls, "start_run")


def test_missing_credentials_fail_before_any_trial(studies_dir: Path, monkeypatch, capsys) -> None:
    def no_credentials(*args: Any, **kwargs: Any) -> Any:
        raise DefaultCredentialsError("no credentials here")

    monkeypatch.setattr(google.auth, "default", no_credentials)
    code = run.main(
        [
            "--study",
            "tiny",
            "--studies-dir",
            str(studies_dir),
            "--tracking",
            "vertex",
            "--project",
            "test-project",
        ]
    )
    assert code == 2
    assert "gcloud auth application-default login" in capsys.readouterr().err


def test_compare_reads_the_experiment_dataframe(studies_dir: Path, calls, monkeypatch) -> None:
    frame = pd.DataFrame(
        [
            {
                "experiment_name": "tiny",
                "run_name": "custom-cnn-a-t0",
                "run_type": "system.ExperimentRun",
                "state": "COMPLETE",
                "param.units": 256,
                "param.trial_state": "complete",
                "param.trial_key": "optuna-0",
                "metric.val_accuracy": 0.81,
                "time_series_metric.val_accuracy": 0.81,
            },
            {
                "experiment_name": "tiny",
                "run_name": "custom-cnn-b-t1",
                "run_type": "system.ExperimentRun",
                "state": "COMPLETE",
                "param.units": 512,
                "param.trial_state": "pruned",
                "param.trial_key": "optuna-1",
                "metric.val_accuracy": 0.52,
                "time_series_metric.val_accuracy": 0.52,
            },
        ]
    )
    monkeypatch.setattr(aiplatform, "get_experiment_df", lambda *a, **k: frame)
    table = study_table(tiny_config(studies_dir, tracking="vertex", project="test-project"))
    assert list(table.columns) == [
        "run_name",
        "state",
        "feasible",
        "pareto",
        "param.units",
        "metric.val_accuracy",
    ]
    assert list(table["run_name"]) == ["custom-cnn-a-t0", "custom-cnn-b-t1"]
    assert list(table["state"]) == ["complete", "pruned"]


@pytest.mark.slow
def test_a_tuning_trial_logs_its_own_run(tmp_path: Path, calls, monkeypatch) -> None:
    """``--experiment``: the container logs its job as an Experiments run (values cast)."""
    from trainer.train import main

    monkeypatch.setenv("CLOUD_ML_TRIAL_ID", "12")
    monkeypatch.setenv("CLOUD_ML_REGION", "europe-west4")
    monkeypatch.setenv("CLOUD_ML_HP_METRIC_FILE", str(tmp_path / "metrics"))
    code = main(
        [
            "--subset=100",
            "--validation-size=100",
            "--epochs=1",
            "--augmentation=0",
            "--experiment=fashion-tuning",
            f"--model-dir={tmp_path / 'model'}",
        ]
    )
    assert code == 0
    ((_, init),) = _named(calls, "init")
    assert init == {"experiment": "fashion-tuning", "location": "europe-west4"}
    ((_, start),) = _named(calls, "start_run")
    assert re.fullmatch(r"custom-cnn-32-64-128-512-0p25-0p5-\d{14}-t12", start["run"])
    for call in ("log_params", "log_metrics"):
        for args, _ in _named(calls, call):
            assert all(type(value) in (float, int, str) for value in args[0].values()), args[0]
    ((_, matrix),) = _named(calls, "log_classification_metrics")
    assert matrix["labels"] == list(CLASS_NAMES)
    assert len(_named(calls, "end_run")) == 1
