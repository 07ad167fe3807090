"""The Optuna engine end to end on a tiny real study: trials, runs, the best model, the registry."""

from __future__ import annotations

import json
import re
from pathlib import Path

import keras
import mlflow
import mlflow.keras
import numpy as np
import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState

import search.trial
from model_space import CNN_SPACE
from search.results.table import study_table
from search.study_run import run_study
from tests.search.conftest import tiny_config, trial_runs


def _runs(config):  # type: ignore[no-untyped-def]
    client = MlflowClient(config.mlflow_uri)
    experiment = client.get_experiment_by_name(config.name)
    return client, trial_runs(client, experiment.experiment_id)


@pytest.mark.slow
def test_study_tracks_every_trial_and_registers_the_best(finished, fashion) -> None:
    config, result = finished

    study = optuna.load_study(study_name="tiny", storage=config.storage_url)
    trials = study.get_trials()
    assert [t.number for t in trials] == [0, 1, 2]
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    assert (
        result.best_trial is not None
        and result.best_trial.key == f"optuna-{study.best_trial.number}"
    )

    client, runs = _runs(config)
    names = [run.info.run_name for run in runs]
    assert len(names) == len(set(names)) == 4
    experiment = client.get_experiment_by_name(config.name).experiment_id
    (parent,) = [r for r in client.search_runs([experiment]) if "study_parent" in r.data.tags]
    assert parent.info.run_name == "study-tiny"
    assert all(run.data.tags["mlflow.parentRunId"] == parent.info.run_id for run in runs)
    assert all(re.fullmatch(r"custom-cnn-[a-z0-9-]+", name) for name in names)
    assert all(len(f"tiny-{name}") <= 121 for name in names)
    for trial in trials:
        run = client.get_run(trial.user_attrs["run_id"])
        assert run.info.run_name == trial.user_attrs["run_name"]
        assert run.data.tags["trial_key"] == f"optuna-{trial.number}"
        assert run.data.tags["trial_state"] == trial.state.name.lower()
        assert set(CNN_SPACE.names) <= set(run.data.params)
        assert run.data.params["trial_number"] == str(trial.number)
        assert run.data.params["engine"] == "optuna" and run.data.params["algorithm"] == "tpe"
        history = client.get_metric_history(run.info.run_id, "val_accuracy")
        assert [m.step for m in history if m.step] == list(
            range(1, trial.user_attrs["epochs_run"] + 1)
        )
        assert "learning_rate" in run.data.metrics
        if trial.state == TrialState.COMPLETE:  # the objective has a column of its own
            assert run.data.metrics["objective_val_accuracy"] == pytest.approx(trial.value)

    best_runs = [run for run in runs if run.data.tags.get("role") == "best"]
    assert len(best_runs) == 1
    best_run = best_runs[0]
    metadata = json.loads((config.best_dir / "metadata.json").read_text())
    assert best_run.data.metrics["test_accuracy"] == pytest.approx(metadata["test"]["accuracy"])
    assert metadata["run_name"] == best_run.info.run_name
    assert metadata["params"] == result.best_trial.params
    matrix = mlflow.artifacts.load_dict(f"{best_run.info.artifact_uri}/confusion_matrix.json")
    assert matrix["labels"][0] == "T-shirt/top" and np.array(matrix["matrix"]).sum() == 10_000

    version = client.get_model_version_by_alias("fashion-mnist-cnn", "best")
    assert version.run_id == best_run.info.run_id
    assert client.get_model_version_by_alias("fashion-mnist-cnn", "tiny").version == version.version
    mlflow.set_tracking_uri(config.mlflow_uri)
    registered = mlflow.keras.load_model("models:/fashion-mnist-cnn@best")
    exported = keras.models.load_model(config.best_dir / "model.keras")
    images = fashion.test_images[:32]
    np.testing.assert_allclose(
        registered.predict(images, verbose=0), exported.predict(images, verbose=0), atol=1e-6
    )

    table = study_table(config)
    assert list(table.columns[:2]) == ["run_name", "state"]
    assert {f"param.{name}" for name in CNN_SPACE.names} <= set(table.columns)
    assert {"metric.val_accuracy", "metric.test_accuracy", "metric.epochs_run"} <= set(
        table.columns
    )
    accuracies = table["metric.val_accuracy"].dropna().tolist()
    assert accuracies == sorted(accuracies, reverse=True)
    assert (config.output_dir / "compare.csv").exists()


@pytest.mark.slow
def test_a_failing_trial_is_recorded_and_the_search_goes_on(
    studies_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_train = search.trial.train_model
    calls = []

    def train_or_run_out_of_memory(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError("simulated: out of memory building the model")
        return real_train(*args, **kwargs)

    monkeypatch.setattr(search.trial, "train_model", train_or_run_out_of_memory)
    config = tiny_config(studies_dir, epochs=1)
    run_study(config, retrain=False)

    trials = optuna.load_study(study_name="tiny", storage=config.storage_url).get_trials()
    assert [t.state for t in trials].count(TrialState.FAIL) == 1 and len(trials) == 3
    failed = next(t for t in trials if t.state == TrialState.FAIL)
    assert "out of memory" in failed.user_attrs["fail_reason"]
    client, runs = _runs(config)
    failed_run = client.get_run(failed.user_attrs["run_id"])
    assert failed_run.info.status == "FAILED"
    assert "MemoryError" in failed_run.data.tags["fail_reason"]
    assert sorted(r.info.status for r in runs) == ["FAILED", "FINISHED", "FINISHED"]
