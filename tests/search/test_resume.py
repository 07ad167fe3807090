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
    trial_runs,
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
    runs = trial_runs(client, experiment.experiment_id)
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
        runs = trial_runs(client, client.get_experiment_by_name("tiny").experiment_id)
        assert {run.info.status for run in runs} == {"FINISHED"}
        return sorted(run.data.tags["trial_key"] for run in runs)

    first = run_keys(2)
    second = run_keys(3)
    assert len(second) == len(set(second)) <= 3, "one run per trial, none logged twice"
    assert set(first) <= set(second)
    if algorithm != "hyperband":
        assert first == ["keras-tuner-0", "keras-tuner-1"]
        assert second == ["keras-tuner-0", "keras-tuner-1", "keras-tuner-2"]


@pytest.mark.slow
def test_a_truncated_checkpoint_is_warned_about_removed_and_the_trial_starts_over(
    studies_dir: Path,
) -> None:
    """A trial killed after its first epoch's checkpoint, whose file is then cut in half (a
    disk that lost its tail): the rerun says so, removes it, and trains that trial from its
    first epoch instead of failing on it or reading half of it."""
    write_study(studies_dir, heartbeat_seconds=600)
    process = _start(studies_dir)
    wait_for_line(process, "trial optuna-1 started")
    checkpoint = studies_dir / "tiny" / "checkpoints" / "optuna-1" / "checkpoint.npz"
    wait_for_line(process, "epoch 1/3")
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.kill()
    process.wait(timeout=60)
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[: len(data) // 2])

    log = _rerun(studies_dir)
    assert "trial optuna-1 was interrupted: the next trial continues it" in log
    assert "trial optuna-2 continues the interrupted optuna-1 from its checkpoint" in log
    resumed = checkpoint.parent.with_name("optuna-2") / checkpoint.name
    assert f"checkpoint {resumed} unreadable" in log
    assert "removed; training from the start" in log
    assert "continuing from the checkpoint" not in log
    assert "epoch 3/3" in log
    assert not checkpoint.parent.exists() and not resumed.parent.exists()
    _check_resumed_study(studies_dir, interrupted=1)
