"""A kill -9 soak: one small real search SIGKILLed at six points and run again after each;
at the end nothing is lost and nothing is counted or logged twice."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
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

HOOKS = Path(__file__).parent / "soak"
SETTINGS = ("--trials", "3", "--epochs", "3", "--pruner", "none", "--retrain-epochs", "3")


def _env(point: str = "") -> dict[str, str]:
    env = {**quiet_env(), "PYTHONPATH": f"{HOOKS}{os.pathsep}{os.getcwd()}"}
    if point:
        env["SOAK_KILL"] = point
    return env


def _killed_at(studies_dir: Path, *needles: str, point: str = "") -> str:
    """Runs the search until every needle was printed (or the hook kills it); SIGKILL."""
    process = subprocess.Popen(
        search_command(studies_dir, *SETTINGS),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(point),
    )
    lines: list[str] = []
    for needle in needles:
        lines += wait_for_line(process, needle)
    if not point:
        process.kill()
    output = "".join(lines) + (process.communicate(timeout=300)[0] or "")
    assert process.returncode == -9, output[-3000:]
    return output


def test_a_search_killed_six_times_loses_nothing(studies_dir: Path, fashion) -> None:
    _killed_at(studies_dir, "trial optuna-0 started", "epoch 2/3")  # inside a trial's epoch
    _killed_at(studies_dir, "trial optuna-1 complete")  # between trials
    _killed_at(studies_dir, "trial optuna-2 started", point="checkpoint")  # writing a checkpoint
    _killed_at(studies_dir, "retraining the best trial", "epoch 2/3")  # inside the retrain
    _killed_at(studies_dir, "retraining the best trial", point="export")  # during the export
    _killed_at(studies_dir, "retraining the best trial", point="register")  # registering
    done = subprocess.run(
        search_command(studies_dir, *SETTINGS), capture_output=True, text=True, env=_env()
    )
    assert done.returncode == 0, done.stderr[-3000:]

    config = tiny_config(studies_dir)
    trials = optuna.load_study(study_name="tiny", storage=config.storage_url).get_trials()
    counted = [t for t in trials if is_counted(t)]
    assert len(counted) == 3 and all(t.state == TrialState.COMPLETE for t in counted)
    assert len({t.number for t in trials}) == len(trials)

    client = MlflowClient(config.mlflow_uri)
    runs = trial_runs(client, client.get_experiment_by_name("tiny").experiment_id)
    keys = [run.data.tags["trial_key"] for run in runs]
    assert len(keys) == len(set(keys)), "one run per trial"
    for trial in counted:
        steps = [m.step for m in client.get_metric_history(trial.user_attrs["run_id"], "loss")]
        assert sorted(steps) == [1, 2, 3], f"optuna-{trial.number} logged {steps}"
    (best,) = [run for run in runs if run.data.tags["trial_key"].startswith("best-")]
    assert best.info.status == "FINISHED"
    assert sorted(m.step for m in client.get_metric_history(best.info.run_id, "loss")) == [1, 2, 3]
    assert len(client.search_model_versions("name='fashion-mnist-cnn'")) == 1

    import keras

    metadata = json.loads((config.best_dir / "metadata.json").read_text())
    model = keras.saving.load_model(config.best_dir / "model.keras")
    predicted = model.predict(fashion.test_images, verbose=0).argmax(axis=1)
    accuracy = float(np.mean(predicted == fashion.test_labels))
    assert accuracy == pytest.approx(metadata["test"]["accuracy"], abs=1e-4)
    assert not list(config.output_dir.glob(".best.partial-*"))
    assert not any((config.output_dir / "checkpoints").iterdir())
