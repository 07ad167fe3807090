"""The local registry deletes only the versions it proved unfinished: a registration killed
half-way (no ``study`` tag, its run deleted) goes; one whose run cannot be read just now (a
transient error) or that another process is registering now (its run alive) stays."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import TEMPORARILY_UNAVAILABLE

from search.tracking.mlflow_registry import MODEL_NAME, _drop_unfinished_versions
from search.tracking.mlflow_tracker import MlflowTracker


def _version(tracker: MlflowTracker, *, study_tag: bool) -> tuple[str, str]:
    """A version of the model linked to a new run: (version, run id)."""
    client = tracker.client
    run = client.create_run(tracker.experiment_id)
    if not client.search_registered_models(f"name='{MODEL_NAME}'"):
        client.create_registered_model(MODEL_NAME)
    version = client.create_model_version(MODEL_NAME, "file:///nowhere", run_id=run.info.run_id)
    if study_tag:
        client.set_model_version_tag(MODEL_NAME, version.version, "study", "tiny")
    return version.version, run.info.run_id


def _versions(tracker: MlflowTracker) -> set[str]:
    return {v.version for v in tracker.client.search_model_versions(f"name='{MODEL_NAME}'")}


@pytest.fixture
def tracker(tmp_path: Path) -> MlflowTracker:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    return MlflowTracker(uri, experiment="tiny", artifact_dir=tmp_path / "artifacts")


def test_only_a_killed_registration_is_deleted(tracker: MlflowTracker) -> None:
    finished, _ = _version(tracker, study_tag=True)
    _, killed_run = _version(tracker, study_tag=False)
    tracker.client.delete_run(killed_run)  # the retrain ran again: its run was discarded
    in_progress, _ = _version(tracker, study_tag=False)  # another process registers it now
    _drop_unfinished_versions(tracker)
    assert _versions(tracker) == {finished, in_progress}


def test_a_run_that_cannot_be_read_just_now_keeps_its_version(
    tracker: MlflowTracker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    version, run_id = _version(tracker, study_tag=False)
    tracker.client.delete_run(run_id)  # would be deleted, were its run readable

    def unavailable(run: str) -> None:
        raise MlflowException("the store is busy", error_code=TEMPORARILY_UNAVAILABLE)

    monkeypatch.setattr(tracker.client, "get_run", unavailable)
    _drop_unfinished_versions(tracker)
    assert _versions(tracker) == {version}
    assert any(f"version {version} kept" in r.getMessage() for r in caplog.records)
