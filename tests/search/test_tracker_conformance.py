"""What every tracker in ``search.components.TRACKERS`` must do: one suite, parametrized over
the trackers (MLflow on a real SQLite store; ``none``; Vertex AI Experiments through its SDK's
module functions, which ``FakeExperiment`` answers in memory as the service would, since no
machine here reaches Google Cloud). A new tracker joins by its entry in ``TRACKERS`` and, if
it keeps runs, a line in ``KEEPS_RUNS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google.auth
import pandas as pd
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform

from search.components import TRACKERS
from search.tracking import STATES, Tracker, open_tracker
from tests.search.conftest import tiny_config

#: Trackers that keep runs (``none`` keeps nothing and reads back nothing, by design).
KEEPS_RUNS = {"mlflow", "vertex"}


class FakeExperiment:
    """Vertex AI Experiments' run-level API (``aiplatform.start_run`` ...) kept in memory."""

    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.current: str | None = None
        self.reads = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(
            google.auth, "default", lambda *a, **k: (AnonymousCredentials(), "test-project")
        )
        for name in ("init", "start_run", "log_params", "log_metrics", "end_run"):
            monkeypatch.setattr(aiplatform, name, getattr(self, name))
        monkeypatch.setattr(aiplatform, "log_time_series_metrics", lambda *a, **k: None)
        monkeypatch.setattr(aiplatform, "log_classification_metrics", lambda *a, **k: None)
        monkeypatch.setattr(aiplatform, "get_experiment_df", self.get_experiment_df)
        monkeypatch.setattr(aiplatform, "ExperimentRun", self.experiment_run)

    def experiment_run(self, run_name: str, experiment: str, **kwargs: Any) -> Any:
        """``aiplatform.ExperimentRun(name, experiment)``: an existing run, by name."""
        runs, record = self.runs, self.runs[run_name]

        class Run:
            def delete(self, **kwargs: Any) -> None:
                del runs[run_name]

            def log_params(self, params: dict[str, Any]) -> None:
                record["params"].update(params)

            def end_run(self, state: Any = None) -> None:
                record["state"] = getattr(state, "name", "COMPLETE")

        return Run()

    def init(self, **kwargs: Any) -> None:
        return None

    def start_run(self, run: str, **kwargs: Any) -> None:
        if run in self.runs:
            raise ValueError(f"Run {run} already exists in this experiment.")
        self.runs[run] = {"state": "RUNNING", "params": {}, "metrics": {}}
        self.current = run

    def log_params(self, params: dict[str, Any]) -> None:
        assert self.current is not None
        self.runs[self.current]["params"].update(params)

    def log_metrics(self, metrics: dict[str, float]) -> None:
        assert self.current is not None
        self.runs[self.current]["metrics"].update(metrics)

    def end_run(self, state: Any = None) -> None:
        assert self.current is not None
        self.runs[self.current]["state"] = getattr(state, "name", "COMPLETE")
        self.current = None

    def get_experiment_df(self, experiment: str, **kwargs: Any) -> pd.DataFrame:
        self.reads += 1
        return pd.DataFrame(
            [
                {
                    "run_name": name,
                    "state": run["state"],
                    **{f"param.{k}": v for k, v in run["params"].items()},
                    **{f"metric.{k}": v for k, v in run["metrics"].items()},
                }
                for name, run in self.runs.items()
            ]
        )


@pytest.fixture(params=sorted(TRACKERS))
def name(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "vertex":
        FakeExperiment().install(monkeypatch)
    return str(request.param)


@pytest.fixture
def tracker(name: str, studies_dir: Path) -> Iterator[Tracker]:
    yield open_tracker(tiny_config(studies_dir, tracking=name, project="test-project"))


def test_a_finished_run_reads_back_with_its_final_metrics(name: str, tracker: Tracker) -> None:
    run = tracker.start_run("custom-cnn-x-t0", {"filters": "32-64-128", "dropout": 0.25}, "k-0")
    for step, value in enumerate((0.5, 0.7, 0.6), start=1):
        run.log_metrics({"val_accuracy": value, "loss": 1.0 / step}, step=step)
    run.log_metrics({"val_accuracy": 0.7, "trial_seconds": 3.0})
    run.end("complete")

    runs = tracker.runs()
    if name not in KEEPS_RUNS:
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
    name: str, tracker: Tracker, state: Any
) -> None:
    tracker.start_run("custom-cnn-x-t1", {"dropout": 0.1}, "k-1").end(state, "why")
    tracker.start_run("custom-cnn-x-t2", {"dropout": 0.1}, "k-2")  # never ended
    states = {record.key: record.state for record in tracker.runs()}
    if name in KEEPS_RUNS:
        assert states == {"k-1": state, "k-2": "running"}
    assert set(states.values()) <= set(STATES)


def test_a_restarted_trial_leaves_one_run(name: str, tracker: Tracker) -> None:
    tracker.start_run("custom-cnn-x-t3", {"dropout": 0.1}, "k-3")  # its worker was killed
    tracker.start_run("custom-cnn-x-t3", {"dropout": 0.1}, "k-3").end("complete")
    keys = [record.key for record in tracker.runs()]
    assert keys.count("k-3") == (1 if name in KEEPS_RUNS else 0)


def test_orphans_are_closed_as_interrupted(name: str, tracker: Tracker) -> None:
    tracker.start_run("custom-cnn-x-t4", {"dropout": 0.1}, "k-4")
    tracker.start_run("custom-cnn-x-t5", {"dropout": 0.1}, "k-5").end("complete")
    closed = tracker.close_orphans(["k-4", "k-5"])
    states = {record.key: record.state for record in tracker.runs()}
    if name in KEEPS_RUNS:
        assert closed == 1 and states == {"k-4": "interrupted", "k-5": "complete"}
    else:
        assert closed == 0 and states == {}


def test_register_gives_a_version_where_there_is_a_registry(
    name: str, tracker: Tracker, tmp_path: Path
) -> None:
    import keras

    model = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    model.save(tmp_path / "model.keras")
    run = tracker.start_run("custom-cnn-x-best", {"dropout": 0.1}, "best-k-0")
    version = tracker.register(run.run_id, tmp_path, study="tiny", tags={"study": "tiny"})
    run.end("complete")
    assert version == ("1" if name == "mlflow" else "")


def test_reading_an_untracked_study_creates_nothing(name: str, studies_dir: Path) -> None:
    config = tiny_config(studies_dir, tracking=name, project="test-project")
    assert open_tracker(config, create=False).runs() == []
    assert not config.output_dir.exists()


def test_vertex_reads_the_experiment_once_for_a_search(
    studies_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listing an experiment costs requests per run: read at every run start, a search's
    requests grew with the square of its trials. A run left open by an earlier process is
    still discarded, and so is one this tracker started and never ended."""
    experiment = FakeExperiment()
    experiment.install(monkeypatch)
    config = tiny_config(studies_dir, tracking="vertex", project="test-project")
    open_tracker(config).start_run("custom-cnn-x-killed", {"dropout": 0.1}, "k-0")
    experiment.reads = 0

    tracker = open_tracker(config)
    for number in range(5):
        tracker.start_run(f"custom-cnn-x-t{number}", {"dropout": 0.1}, f"k-{number}").end(
            "complete"
        )
    tracker.start_run("custom-cnn-x-t9", {"dropout": 0.1}, "k-9")  # its trial was interrupted
    tracker.start_run("custom-cnn-x-t9", {"dropout": 0.1}, "k-9").end("complete")

    assert experiment.reads == 1
    states = [(record.key, record.state) for record in tracker.runs()]
    assert sorted(states) == [(f"k-{n}", "complete") for n in (0, 1, 2, 3, 4, 9)]
