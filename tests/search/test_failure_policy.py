"""The failure policy through the real trial runner: a bug stops the search at its first trial
with its traceback (exit 1), a trial's own failure (out of memory) does not, and a study that
ends with no completed trial exits 1 with one line."""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from search import run as search_run
from search import trial as trial_module
from search.failures import is_trial_failure
from search.study_run import run_study
from tests.search.conftest import tiny_config, trial_runs, write_study
from trainer.errors import DataError, DiskFull, StoreLocked, fault


class ResourceExhaustedError(Exception):
    """Named as TensorFlow's out-of-memory error."""


@pytest.mark.parametrize(
    ("error", "trial_failure"),
    [
        (MemoryError(), True),
        (ResourceExhaustedError("OOM when allocating tensor"), True),
        (DataError("a value the trainer refuses"), True),
        (TypeError("train_model() got an unexpected keyword argument"), False),
        (KeyError("learning_rate"), False),
        (AssertionError(), False),
        (ValueError("a shape mismatch"), False),
        # faults of the machine stop the search too (one line, exit 2): every trial would fail
        (OSError(errno.ENOSPC, "No space left on device"), False),
        (ResourceExhaustedError("/m/variables.data; No space left on device"), False),
        (RuntimeError("(sqlite3.OperationalError) database is locked"), False),
    ],
)
def test_only_a_trials_own_failures_let_the_search_go_on(
    error: Exception, trial_failure: bool
) -> None:
    assert is_trial_failure(error) is trial_failure


def _wrapped(error: Exception) -> Exception:
    try:
        try:
            raise error
        except Exception as inner:
            raise RuntimeError("the store's own wrapper") from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (_wrapped(OSError(errno.ENOSPC, "No space left on device", "/s/optuna.db")), DiskFull),
        (_wrapped(OSError(errno.EDQUOT, "Disk quota exceeded")), DiskFull),
        (_wrapped(Exception("database or disk is full")), DiskFull),
        (_wrapped(Exception("(sqlite3.OperationalError) database is locked")), StoreLocked),
        (_wrapped(OSError(errno.EACCES, "Permission denied")), None),
        (_wrapped(KeyError("database")), None),
    ],
)
def test_faults_of_the_machine_are_found_through_wrapping_exceptions(
    error: Exception, kind: type | None
) -> None:
    found = fault(error)
    assert (found is None) if kind is None else isinstance(found, kind)
    if kind is DiskFull and "optuna.db" in repr(error.__cause__):
        assert "writing /s/optuna.db" in str(found)


def _raising(error: Exception):
    def train_model(*args, **kwargs):
        raise error

    return train_model


def test_a_bug_in_every_trial_stops_the_search_after_the_first(tmp_path: Path, monkeypatch) -> None:
    studies_dir = tmp_path / "studies"
    write_study(studies_dir, trials=3)
    config = tiny_config(studies_dir)
    monkeypatch.setattr(trial_module, "train_model", _raising(TypeError("a refactor")))
    with pytest.raises(TypeError, match="a refactor"):
        run_study(config)

    study = optuna.load_study(study_name=config.name, storage=config.storage_url)
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.FAIL
    assert trial.user_attrs["bug"] == "TypeError: a refactor"
    client = MlflowClient(config.mlflow_uri)
    (run,) = trial_runs(client, client.get_experiment_by_name(config.name).experiment_id)
    assert run.info.status == "FAILED"

    monkeypatch.undo()  # fixed: the same command runs the 3 trials, the bug's not counted
    run_study(config, retrain=False)
    study = optuna.load_study(study_name=config.name, storage=config.storage_url)
    states = [t.state for t in study.trials]
    assert (
        states.count(optuna.trial.TrialState.COMPLETE)
        + states.count(optuna.trial.TrialState.PRUNED)
        == 3
    )


def test_out_of_memory_fails_the_trial_and_the_search_goes_on_then_exits_1(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    studies_dir = tmp_path / "studies"
    write_study(studies_dir, trials=2, tracking="none")
    monkeypatch.setattr(trial_module, "train_model", _raising(MemoryError()))
    code = search_run.main(["--study", "tiny", "--studies-dir", str(studies_dir)])
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "no completed trial" in err
    study = optuna.load_study(
        study_name="tiny", storage=f"sqlite:///{studies_dir / 'tiny' / 'optuna.db'}"
    )
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL] * 2


@pytest.mark.slow
def test_the_command_exits_1_with_the_bugs_traceback(tmp_path: Path) -> None:
    studies_dir = tmp_path / "studies"
    write_study(studies_dir, trials=3, tracking="none")
    script = textwrap.dedent(
        f"""
        import sys
        import search.trial
        def train_model(*args, **kwargs):
            raise TypeError("a refactor broke train_model")
        search.trial.train_model = train_model
        from search.run import main
        sys.exit(main(["--study", "tiny", "--studies-dir", {str(studies_dir)!r}]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "TypeError: a refactor broke train_model" in done.stderr
    assert "trial optuna-0 started" in done.stderr
    assert "trial optuna-1 started" not in done.stderr  # stopped at the first
