"""The retrain as an ensemble, end to end on a tiny real study: its members in metadata.json
and in the best run, and a study that searches latency retraining one model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from search.study_config import StudyError
from search.study_run import run_study
from tests.search.conftest import tiny_config, write_study
from trainer import job

pytestmark = pytest.mark.slow


def test_the_retrain_exports_an_ensemble_and_tracks_its_members(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(job, "MEMBER_DROP", 1.0)  # one epoch of 300 images: keep every member
    studies_dir = tmp_path / "studies"
    write_study(studies_dir, trials=2, epochs=1, pruner="none", ensemble=3)
    config = tiny_config(studies_dir)
    result = run_study(config)
    assert result.best_model is not None

    metadata = json.loads((config.best_dir / "metadata.json").read_text())
    members = metadata["ensemble"]["members"]
    assert len(members) == 3
    assert members[0]["source_trial"] == result.best_trial.key  # type: ignore[union-attr]
    assert len({(json.dumps(m["params"], sort_keys=True), m["seed"]) for m in members}) == 3
    run = MlflowClient(config.mlflow_uri).get_run(result.best_model.run_id)
    assert run.data.params["ensemble"] == "3"
    assert run.data.params["precision"] == "auto"
    for index, member in enumerate(members, start=1):
        assert run.data.metrics[f"member_{index}_test_accuracy"] == pytest.approx(
            member["test_accuracy"]
        )
    assert len(run.data.tags["ensemble_members"].split(",")) == 3


def test_a_study_that_searches_latency_retrains_one_model(tmp_path: Path) -> None:
    studies_dir = tmp_path / "studies"
    write_study(
        studies_dir,
        trials=1,
        epochs=1,
        pruner="none",
        ensemble=3,
        objectives=["val_accuracy", "latency_ms"],
    )
    config = tiny_config(studies_dir)
    run_study(config)
    metadata = json.loads((config.best_dir / "metadata.json").read_text())
    assert "ensemble" not in metadata


def test_ensemble_and_retrain_seeds_together_are_refused(tmp_path: Path) -> None:
    studies_dir = tmp_path / "studies"
    write_study(studies_dir)
    with pytest.raises(StudyError, match="ensemble and retrain_seeds cannot both"):
        tiny_config(studies_dir, ensemble=2, retrain_seeds=2)
