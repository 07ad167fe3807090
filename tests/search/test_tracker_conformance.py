"""The tracker conformance suite (``search.testing.tracker_suite``) on every tracker in
``search.components.TRACKERS``: MLflow on a real SQLite store; ``none``; Vertex AI Experiments
through its SDK's module functions, which ``FakeExperiment`` answers in memory as the service
would, since no machine here reaches Google Cloud. A new tracker joins by its entry there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import google.auth
import pandas as pd
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform

from search.components import TRACKERS
from search.testing.tracker_suite import *  # noqa: F403 (the suite's tests and fixtures)
from search.tracking import open_tracker
from tests.search.conftest import tiny_config


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
def tracker_name(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every tracker; Vertex AI Experiments answered in memory."""
    if request.param == "vertex":
        FakeExperiment().install(monkeypatch)
    return str(request.param)


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
