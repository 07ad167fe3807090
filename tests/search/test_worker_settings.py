"""``--workers``: how many, with which environment and command (no processes started)."""

from __future__ import annotations

import sys

import pytest

from search import workers
from search.study_config import StudyError
from tests.search.conftest import tiny_config


def test_auto_is_one_worker_without_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "gpu_count", lambda: 0)
    assert workers.resolve("auto") == 1


def test_auto_on_a_gpu_is_one_worker_per_two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "gpu_count", lambda: 1)
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 16)
    assert workers.resolve("auto") == 8
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 6)
    assert workers.resolve("auto") == 3


@pytest.mark.parametrize("text", ["0", "-2", "many", "1.5"])
def test_a_bad_count_is_a_study_error(text: str) -> None:
    with pytest.raises(StudyError, match="positive number or auto"):
        workers.resolve(text)


def test_a_study_file_takes_workers(studies_dir) -> None:
    assert tiny_config(studies_dir, workers="auto").workers == "auto"
    with pytest.raises(StudyError, match="workers must be"):
        tiny_config(studies_dir, workers=0)


def test_gpu_workers_share_the_device_memory() -> None:
    env = workers.worker_environment(2, 4, gpus=1)
    assert env[workers.WORKER_ENV] == "2/4"
    assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert float(env["XLA_PYTHON_CLIENT_MEM_FRACTION"]) * 4 <= 0.9 + 1e-9
    assert env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"


def test_cpu_workers_share_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 8)
    env = workers.worker_environment(1, 4, gpus=0)
    assert env["OMP_NUM_THREADS"] == env["TF_NUM_INTRAOP_THREADS"] == "2"


def test_a_worker_runs_the_parents_search_without_the_retrain() -> None:
    argv = ["--study", "s", "--workers", "4", "--budget=10m", "--trials", "30", "--retrain-only"]
    command = workers.worker_argv(argv, budget_left=100.4)
    assert command[:3] == [sys.executable, "-m", "search.run"]
    assert command[3:] == ["--study", "s", "--trials", "30", "--budget", "100s", "--no-retrain"]
    assert workers.worker_argv(["--workers=2"], None)[3:] == ["--no-retrain"]


@pytest.mark.parametrize(
    ("flags", "parent", "reserved"),
    [
        ([], None, True),
        (["--no-retrain"], None, False),
        (["--no-retrain"], "1", True),  # a worker of a parent that retrains
        (["--no-retrain"], "0", False),  # a worker of a parent run with --no-retrain
    ],
)
def test_the_retrains_time_is_kept_only_when_a_retrain_follows(
    tmp_path, monkeypatch, flags, parent, reserved
) -> None:  # type: ignore[no-untyped-def]
    """``--workers 2 --no-retrain`` ran 2 of 4 trials: each worker kept the time of a retrain
    nobody would run."""
    import search.study_run
    from search import run
    from search.study_run import StudyResult
    from search.testing.studies import write_study

    studies_dir = tmp_path / "studies"
    write_study(studies_dir, tracking="none")
    seen = {}

    def fake_run_study(config, **kwargs):  # type: ignore[no-untyped-def]
        seen.update(kwargs)
        return StudyResult(None, None)

    monkeypatch.setattr(search.study_run, "run_study", fake_run_study)
    if parent is None:
        monkeypatch.delenv(workers.RETRAIN_ENV, raising=False)
    else:
        monkeypatch.setenv(workers.RETRAIN_ENV, parent)
    run.main(["--study", "tiny", "--studies-dir", str(studies_dir), *flags])
    assert seen["reserve"] is reserved
    assert workers.worker_environment(1, 2, 0, parent_retrains=False)[workers.RETRAIN_ENV] == "0"
