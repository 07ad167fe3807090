"""A full disk, for real: a small tmpfs under the study's folder fills while a checkpoint or the
export is written. One line and exit 2, nothing half-written, and the same command, run again
with space, finishes the study with every trial counted once and one run per trial."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from search.engines.optuna_study import is_counted
from tests.search.conftest import (
    quiet_env,
    search_command,
    tiny_config,
    trial_runs,
    write_study,
)

pytestmark = pytest.mark.slow

#: One architecture (the checkpoint's size follows from it): 99,402 parameters.
SPACE = {
    "batch_size": {"value": 32},
    "filters": {"value": "16-32-64"},
    "units": {"value": 128},
    "convs_per_block": {"value": 1},
}
PAGE = 4096


@contextmanager
def _tmpfs(folder: Path, size: int) -> Iterator[None]:
    """``folder`` on a tmpfs of ``size`` bytes (root only; outside CI a test without it is
    skipped)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs as CI's root: {mounted.stderr.strip()}")
        pytest.skip(f"mounting a tmpfs needs root: {mounted.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


def _grow(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,size=256m", str(folder)], check=True)


def _search(studies_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        search_command(studies_dir, *args),
        capture_output=True,
        text=True,
        env=quiet_env(),
        timeout=600,
        check=False,
    )


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, stderr[-3000:]
    assert stderr.strip().splitlines()[-1] == errors[0]
    return errors[0]


def _checkpoint_bytes() -> int:
    """The size of one checkpoint of the study's architecture, with the best epoch's weights:
    saved here the way the trainer saves one."""
    from model_space import CNN_SPACE, build_cnn
    from trainer.checkpoint import Checkpoint
    from trainer.fit import compile_model

    point = {**CNN_SPACE.defaults(), **{k: v["value"] for k, v in SPACE.items()}}
    model = build_cnn(point, seed=0)
    compile_model(model, point, total_steps=10)
    model.optimizer.build(model.trainable_variables)
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"size-{os.getpid()}"
    checkpoint = Checkpoint(str(folder))
    weights = model.get_weights()
    checkpoint.save(model, key="k", epoch=1, history={}, stopping={}, best_weights=weights)
    size = Path(checkpoint.path).stat().st_size
    checkpoint.delete()
    return size


def test_disk_full_while_a_checkpoint_is_written(studies_dir: Path) -> None:
    """The tmpfs holds one checkpoint, not a second beside it: the first epoch's is written,
    the second epoch's fills the disk. The rerun continues that trial from its first epoch."""
    write_study(studies_dir, trials=2, pruner="none", space=SPACE)
    size = _checkpoint_bytes()
    checkpoints = studies_dir / "tiny" / "checkpoints"
    with _tmpfs(checkpoints, (size * 3 // 2 // PAGE + 1) * PAGE):
        first = _search(studies_dir, "--no-retrain")
        assert first.returncode == 2, first.stderr[-3000:]
        line = _one_error_line(first.stderr)
        assert "no space left on the device writing" in line
        assert "checkpoints/optuna-0/checkpoint.npz" in line
        assert "epoch 1/2" in first.stderr and "epoch 2/2" in first.stderr
        left = sorted(p.name for p in (checkpoints / "optuna-0").iterdir())
        assert left == ["checkpoint.npz"], f"the first epoch's checkpoint alone: {left}"

        _grow(checkpoints)
        second = _search(studies_dir, "--no-retrain")
        assert second.returncode == 0, second.stderr[-3000:]
        assert "trial optuna-0 was interrupted: the next trial continues it" in second.stderr
        assert "continuing from the checkpoint of epoch 1 of 2" in second.stderr
        assert list(checkpoints.iterdir()) == [], "finished trials remove their checkpoints"

    config = tiny_config(studies_dir)
    trials = optuna.load_study(study_name="tiny", storage=config.storage_url).get_trials()
    assert trials[0].state == TrialState.FAIL and not is_counted(trials[0])
    counted = [t for t in trials if is_counted(t)]
    assert len(counted) == 2 and all(t.state == TrialState.COMPLETE for t in counted)

    from mlflow import MlflowClient

    client = MlflowClient(config.mlflow_uri)
    experiment = client.get_experiment_by_name("tiny")
    runs = trial_runs(client, experiment.experiment_id)
    statuses = {run.data.tags["trial_key"]: run.info.status for run in runs}
    assert len(runs) == len(statuses) == 3, "one run per trial"
    assert statuses.pop("optuna-0") == "FAILED"
    assert set(statuses.values()) == {"FINISHED"}


def test_disk_full_while_the_export_is_written(studies_dir: Path, fashion) -> None:  # type: ignore[no-untyped-def]
    """The study's folder is a 1 MB tmpfs (its checkpoints on the real disk): the trials and
    their Optuna storage fit, the exported model (over 2 MB) does not."""
    import keras

    write_study(studies_dir, trials=2, pruner="none", ensemble=1, space=SPACE)
    study = studies_dir / "tiny"
    real_checkpoints = studies_dir.parent / "checkpoints"
    real_checkpoints.mkdir()
    with _tmpfs(study, 1024 * 1024):
        (study / "checkpoints").mkdir()
        subprocess.run(
            ["mount", "--bind", str(real_checkpoints), str(study / "checkpoints")], check=True
        )
        try:
            first = _search(studies_dir, "--tracking", "none")
            assert first.returncode == 2, first.stderr[-3000:]
            line = _one_error_line(first.stderr)
            assert f"no space left on the device writing {study / 'best'}" in line
            assert not (study / "best").exists()
            assert [p.name for p in study.iterdir() if p.name.startswith(".")] == []

            _grow(study)
            second = _search(studies_dir, "--tracking", "none")
            assert second.returncode == 0, second.stderr[-3000:]
            assert "2 trials to run" not in second.stderr, "the finished trials are kept"
            metadata = json.loads((study / "best" / "metadata.json").read_text())
            keras.config.set_dtype_policy("float32")
            exported = keras.models.load_model(study / "best" / "model.keras")
            predicted = exported.predict(fashion.test_images, verbose=0).argmax(axis=1)
            assert np.mean(predicted == fashion.test_labels) == pytest.approx(
                metadata["test"]["accuracy"], abs=1e-4
            )
            storage = tiny_config(studies_dir).storage_url
            trials = optuna.load_study(study_name="tiny", storage=storage).get_trials()
            assert len(trials) == 2 and all(t.state == TrialState.COMPLETE for t in trials)
        finally:
            subprocess.run(["umount", "-l", str(study / "checkpoints")], check=False)
