"""Epoch checkpoints: a trial or a retrain killed (SIGKILL) mid-way continues after its last
saved epoch when the same command runs again, and its run holds each epoch once."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState

from search.engines.optuna_study import is_counted
from tests.search.conftest import (
    quiet_env,
    search_command,
    tiny_config,
    trial_runs,
    wait_for_line,
)

pytestmark = pytest.mark.slow


def _kill_after(command: list[str], *needles: str) -> None:
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=quiet_env()
    )
    for needle in needles:
        wait_for_line(process, needle)
    process.kill()
    process.wait(timeout=60)


def _rerun(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env=quiet_env(), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


def _epochs_logged(client: MlflowClient, run_id: str) -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, "loss"))


def test_a_killed_trial_continues_from_its_last_epoch(studies_dir: Path) -> None:
    command = search_command(
        studies_dir, "--trials", "1", "--epochs", "4", "--pruner", "none", "--no-retrain"
    )
    _kill_after(command, "epoch 3/4")
    log = _rerun(command)  # at once: the dead worker was a process of this machine

    assert "trial optuna-1 continues the interrupted optuna-0 from its checkpoint" in log
    (resumed,) = re.findall(r"continuing from the checkpoint of epoch (\d) of 4", log)
    assert int(resumed) >= 2, "at most one epoch lost"
    assert "epoch 1/4" not in log and "epoch 4/4" in log

    config = tiny_config(studies_dir)
    trials = optuna.load_study(study_name="tiny", storage=config.storage_url).get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]
    assert [is_counted(t) for t in trials] == [False, True]
    assert sorted(trials[1].intermediate_values) == [1, 2, 3, 4]
    client = MlflowClient(config.mlflow_uri)
    assert _epochs_logged(client, trials[1].user_attrs["run_id"]) == [1, 2, 3, 4]
    assert not any((config.output_dir / "checkpoints").iterdir())


def test_a_killed_retrain_continues_from_its_last_epoch(studies_dir: Path) -> None:
    command = search_command(studies_dir, "--trials", "1", "--epochs", "1", "--retrain-epochs", "4")
    _kill_after(command, "retraining the best trial", "epoch 3/4")
    log = _rerun(command)

    assert "nothing to search" in log
    (resumed,) = re.findall(r"continuing from the checkpoint of epoch (\d) of 4", log)
    assert int(resumed) >= 2
    config = tiny_config(studies_dir)
    client = MlflowClient(config.mlflow_uri)
    experiment = client.get_experiment_by_name("tiny")
    best = [
        run
        for run in trial_runs(client, experiment.experiment_id)
        if run.data.tags["trial_key"].startswith("best-")
    ]
    assert len(best) == 1 and best[0].info.status == "FINISHED"
    assert _epochs_logged(client, best[0].info.run_id) == [1, 2, 3, 4]
    versions = client.search_model_versions("name='fashion-mnist-cnn'")
    assert len(versions) == 1
    assert (config.best_dir / "metadata.json").exists()
    assert not any((config.output_dir / "checkpoints").iterdir())
