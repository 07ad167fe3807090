"""What every tracker in ``search.components.TRACKERS`` must do: one suite, run on each
tracker through the fixture ``tracker_name`` (every tracker in the table by default; a
plug-in's test module overrides it, and ``keeps_runs`` / ``has_registry`` where its tracker
keeps no runs or has a model registry). Runs are written to a temporary study folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from search.components import TRACKERS
from search.testing.studies import studies_dir, tiny_config
from search.tracking import STATES, Tracker, open_tracker

__all__ = [
    "has_registry",
    "keeps_runs",
    "studies_dir",
    "test_a_finished_run_reads_back_with_its_final_metrics",
    "test_a_restarted_trial_leaves_one_run",
    "test_every_end_state_reads_back_in_the_one_vocabulary",
    "test_orphans_are_closed_as_interrupted",
    "test_reading_an_untracked_study_creates_nothing",
    "test_register_gives_a_version_where_there_is_a_registry",
    "tracker",
    "tracker_name",
]

#: Trackers that keep no runs (they read back nothing, by design).
KEEPS_NO_RUNS = {"none"}
#: Trackers whose ``register`` gives a version (the others return "").
REGISTRIES = {"mlflow"}


@pytest.fixture(params=sorted(TRACKERS))
def tracker_name(request: pytest.FixtureRequest) -> str:
    """The tracker under test; override it to run the suite on one tracker."""
    return str(request.param)


@pytest.fixture
def keeps_runs(tracker_name: str) -> bool:
    return tracker_name not in KEEPS_NO_RUNS


@pytest.fixture
def has_registry(tracker_name: str) -> bool:
    return tracker_name in REGISTRIES


@pytest.fixture
def tracker(tracker_name: str, studies_dir: Path) -> Iterator[Tracker]:
    yield open_tracker(tiny_config(studies_dir, tracking=tracker_name, project="test-project"))


def test_a_finished_run_reads_back_with_its_final_metrics(
    tracker_name: str, keeps_runs: bool, tracker: Tracker
) -> None:
    run = tracker.start_run("custom-cnn-x-t0", {"filters": "32-64-128", "dropout": 0.25}, "k-0")
    for step, value in enumerate((0.5, 0.7, 0.6), start=1):
        run.log_metrics({"val_accuracy": value, "loss": 1.0 / step}, step=step)
    run.log_metrics({"val_accuracy": 0.7, "trial_seconds": 3.0})
    run.end("complete")

    runs = tracker.runs()
    if not keeps_runs:
        assert runs == []
        return
    (record,) = runs
    assert (record.key, record.name, record.state) == ("k-0", run.name, "complete")
    assert record.metrics["val_accuracy"] == pytest.approx(0.7)  # the final, not the last epoch
    assert record.metrics["trial_seconds"] == pytest.approx(3.0)
    assert record.params["filters"] == "32-64-128"
    assert record.params["dropout"] == pytest.approx(0.25)


@pytest.mark.parametrize("state", ["complete", "pruned", "failed", "interrupted"])
def test_every_end_state_reads_back_in_the_one_vocabulary(
    keeps_runs: bool, tracker: Tracker, state: Any
) -> None:
    tracker.start_run("custom-cnn-x-t1", {"dropout": 0.1}, "k-1").end(state, "why")
    tracker.start_run("custom-cnn-x-t2", {"dropout": 0.1}, "k-2")  # never ended
    states = {record.key: record.state for record in tracker.runs()}
    if keeps_runs:
        assert states == {"k-1": state, "k-2": "running"}
    assert set(states.values()) <= set(STATES)


def test_a_restarted_trial_leaves_one_run(
    tracker_name: str, keeps_runs: bool, tracker: Tracker
) -> None:
    tracker.start_run("custom-cnn-x-t3", {"dropout": 0.1}, "k-3")  # its worker was killed
    tracker.start_run("custom-cnn-x-t3", {"dropout": 0.1}, "k-3").end("complete")
    keys = [record.key for record in tracker.runs()]
    assert keys.count("k-3") == (1 if keeps_runs else 0)


def test_orphans_are_closed_as_interrupted(
    tracker_name: str, keeps_runs: bool, tracker: Tracker
) -> None:
    tracker.start_run("custom-cnn-x-t4", {"dropout": 0.1}, "k-4")
    tracker.start_run("custom-cnn-x-t5", {"dropout": 0.1}, "k-5").end("complete")
    closed = tracker.close_orphans(["k-4", "k-5"])
    states = {record.key: record.state for record in tracker.runs()}
    if keeps_runs:
        assert closed == 1 and states == {"k-4": "interrupted", "k-5": "complete"}
    else:
        assert closed == 0 and states == {}


def test_register_gives_a_version_where_there_is_a_registry(
    has_registry: bool, tracker: Tracker, tmp_path: Path
) -> None:
    import keras

    model = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    model.save(tmp_path / "model.keras")
    run = tracker.start_run("custom-cnn-x-best", {"dropout": 0.1}, "best-k-0")
    version = tracker.register(run.run_id, tmp_path, study="tiny", tags={"study": "tiny"})
    run.end("complete")
    assert version == ("1" if has_registry else "")


def test_reading_an_untracked_study_creates_nothing(tracker_name: str, studies_dir: Path) -> None:
    config = tiny_config(studies_dir, tracking=tracker_name, project="test-project")
    assert open_tracker(config, create=False).runs() == []
    assert not config.output_dir.exists()
