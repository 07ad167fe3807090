"""Interrupted searches resume: finished trials are kept, never re-run, never logged twice."""

from __future__ import annotations

import signal
import subprocess
import time
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
    wait_for_line,
    write_study,
)

SETTINGS = ("--no-retrain", "--epochs", "3", "--pruner", "none")


def _start(studies_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        search_command(studies_dir, *SETTINGS),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=quiet_env(),
    )


def _check_resumed_study(studies_dir: Path, interrupted: int) -> None:
    config = tiny_config(studies_dir)
    trials = optuna.load_study(study_name="tiny", storage=config.storage_url).get_trials()
    assert sum(is_counted(t) for t in trials) == 3
    assert trials[interrupted].state == TrialState.FAIL and not is_counted(trials[interrupted])
    finished = [t for t in trials if is_counted(t)]
    assert all(t.state == TrialState.COMPLETE for t in finished)

    client = MlflowClient(config.mlflow_uri)
    experiment = client.get_experiment_by_name("tiny")
    runs = client.search_runs([experiment.experiment_id])
    keys = [run.data.tags["trial_key"] for run in runs]
    assert len(keys) == len(set(keys)) == 4, "one run per trial, none logged twice"
    names = [run.info.run_name for run in runs]
    assert len(names) == len(set(names))
    statuses = {run.data.tags["trial_key"]: run.info.status for run in runs}
    assert statuses.pop(f"optuna-{interrupted}") == "KILLED"
    assert set(statuses.values()) == {"FINISHED"}
    for trial in finished:
        assert (
            client.get_run(trial.user_attrs["run_id"]).data.tags["trial_key"]
            == f"optuna-{trial.number}"
        )


def _rerun(studies_dir: Path) -> str:
    result = subprocess.run(
        search_command(studies_dir, *SETTINGS),
        capture_output=True,
        text=True,
        env=quiet_env(),
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


@pytest.mark.slow
def test_sigterm_mid_trial_then_resume(studies_dir: Path) -> None:
    process = _start(studies_dir)
    wait_for_line(process, "trial optuna-1 started")
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output[-3000:]
    assert "run the same command to resume" in output

    log = _rerun(studies_dir)
    assert "resuming with 1 of 3 trials already finished" in log
    assert "trial optuna-0 started" not in log
    _check_resumed_study(studies_dir, interrupted=1)


@pytest.mark.slow
def test_killed_worker_then_resume_at_once(studies_dir: Path) -> None:
    """SIGKILL leaves the trial RUNNING; the same command right away sees that its worker, a
    process of this machine, is gone: the trial is failed (not counted), its run closed, and
    the study finished, without waiting for the heartbeat."""
    write_study(studies_dir, heartbeat_seconds=600)
    process = _start(studies_dir)
    wait_for_line(process, "trial optuna-1 started")
    time.sleep(2)
    process.kill()
    process.wait(timeout=60)

    log = _rerun(studies_dir)
    assert "trial optuna-1: its worker (process" in log
    assert "closed 1 run(s) left open by a worker that was killed" in log
    assert "trial optuna-0 started" not in log
    _check_resumed_study(studies_dir, interrupted=1)


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["random", "bayesian", "hyperband"])
def test_keras_tuner_resumes_without_rerunning(studies_dir: Path, algorithm: str) -> None:
    """Random and Bayesian run exactly ``trials``; Hyperband decides how many trials its
    brackets need, at most ``trials``. Either way a second run keeps the first's trials."""
    from search.study_run import run_study

    def run_keys(trials: int) -> list[str]:
        config = tiny_config(
            studies_dir, engine="keras-tuner", algorithm=algorithm, trials=trials, epochs=2
        )
        run_study(config, retrain=False)
        client = MlflowClient(config.mlflow_uri)
        runs = client.search_runs([client.get_experiment_by_name("tiny").experiment_id])
        assert {run.info.status for run in runs} == {"FINISHED"}
        return sorted(run.data.tags["trial_key"] for run in runs)

    first = run_keys(2)
    second = run_keys(3)
    assert len(second) == len(set(second)) <= 3, "one run per trial, none logged twice"
    assert set(first) <= set(second)
    if algorithm != "hyperband":
        assert first == ["keras-tuner-0", "keras-tuner-1"]
        assert second == ["keras-tuner-0", "keras-tuner-1", "keras-tuner-2"]
