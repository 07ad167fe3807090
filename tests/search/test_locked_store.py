"""MLflow's SQLite store locked by another process (an exclusive transaction, as a sqlite3
shell or a second writer holds it) in the middle of a search: a lock shorter than MLflow's
20-second wait is waited out; a longer one stops the search with one line and exit 2, and
the same command, run once the lock is gone, finishes the study with nothing counted or
logged twice."""

from __future__ import annotations

import subprocess
import sys
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

SETTINGS = ("--no-retrain", "--pruner", "none")

#: Holds an exclusive lock on the database argv[1] for argv[2] seconds.
HOLD = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
print("released", flush=True)
"""


def _search_with_a_lock(studies_dir: Path, seconds: float) -> tuple[int, str]:
    """Starts the search; once its first trial started, another process holds mlflow.db for
    ``seconds``. Returns the search's exit code and its output."""
    search = subprocess.Popen(
        search_command(studies_dir, *SETTINGS),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=quiet_env(),
    )
    lines = wait_for_line(search, "trial optuna-0 started")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(studies_dir / "tiny" / "mlflow.db"), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        output = "".join(lines) + search.communicate(timeout=600)[0]
    finally:
        holder.kill()
        holder.wait()
    return search.returncode, output


def _check_study(studies_dir: Path) -> None:
    config = tiny_config(studies_dir)
    trials = optuna.load_study(study_name="tiny", storage=config.storage_url).get_trials()
    counted = [t for t in trials if is_counted(t)]
    assert len(counted) == 3 and all(t.state == TrialState.COMPLETE for t in counted)
    client = MlflowClient(config.mlflow_uri)
    runs = trial_runs(client, client.get_experiment_by_name("tiny").experiment_id)
    finished = [run.data.tags["trial_key"] for run in runs if run.info.status == "FINISHED"]
    assert sorted(finished) == sorted(f"optuna-{t.number}" for t in counted)
    keys = [run.data.tags["trial_key"] for run in runs]
    assert len(keys) == len(set(keys)), "one run per trial, none logged twice"


def test_a_short_lock_is_waited_out(studies_dir: Path) -> None:
    code, output = _search_with_a_lock(studies_dir, 8)
    assert code == 0, output[-3000:]
    assert "error" not in output.lower()
    _check_study(studies_dir)


def test_a_long_lock_stops_the_search_with_one_line_and_the_rerun_finishes(
    studies_dir: Path,
) -> None:
    # held until the search has stopped (it is killed then): on a slow machine the trial's
    # first write may come after a 40-second lock would have ended
    code, output = _search_with_a_lock(studies_dir, 600)
    assert code == 2, output[-3000:]
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if "error:" in line]
    assert len(errors) == 1 and output.strip().splitlines()[-1] == errors[0], output[-3000:]
    assert "stayed locked by another process" in errors[0]

    rerun = subprocess.run(
        search_command(studies_dir, *SETTINGS),
        capture_output=True,
        text=True,
        env=quiet_env(),
        timeout=600,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    _check_study(studies_dir)
