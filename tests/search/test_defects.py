"""Defects found by reading the code (issue 11), each with the test that failed before its fix."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import search.trial
from search.study_config import load_study
from search.tracking.null import NullRun, NullTracker
from search.trial import TrialRunner
from tests.search.conftest import tiny_config, write_study


class RecordingTracker(NullTracker):
    def __init__(self) -> None:
        super().__init__("tiny")
        self.params: list[Mapping[str, Any]] = []

    def start_run(self, name: str, params: Mapping[str, Any], key: str) -> NullRun:
        self.params.append(dict(params))
        return NullRun(name)


def test_a_trial_logs_the_epochs_its_engine_gave_it(studies_dir: Path, monkeypatch) -> None:
    """Keras Tuner's Hyperband gives each trial its own epochs; the run logged the study's."""

    def not_training(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("not training in this test")  # a trial's own failure

    monkeypatch.setattr(search.trial, "train_model", not_training)
    tracker = RecordingTracker()
    runner = TrialRunner(tiny_config(studies_dir, epochs=9), None, tracker)  # type: ignore[arg-type]
    point = tiny_config(studies_dir).search_space().defaults()
    outcome = runner.run(point, "keras-tuner-0", 0, epochs=3)
    assert outcome.state == "failed"
    assert tracker.params[0]["epochs"] == 3
    runner.run(point, "keras-tuner-1", 1)
    assert tracker.params[1]["epochs"] == 9


def test_naming_the_files_own_engine_keeps_its_algorithm(studies_dir: Path) -> None:
    write_study(studies_dir, "kt", engine="keras-tuner", algorithm="bayesian")
    config = load_study("kt", {"engine": "keras-tuner"}, studies_dir=studies_dir)
    assert config.algorithm == "bayesian"
    assert load_study("kt", {"engine": "optuna"}, studies_dir=studies_dir).algorithm == "tpe"


@pytest.mark.slow
def test_a_failed_registration_ends_the_best_run_as_failed(studies_dir: Path, monkeypatch) -> None:
    from search.study_run import run_study
    from search.tracking import open_tracker
    from search.tracking.mlflow_tracker import MlflowTracker

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("the registry is down")

    monkeypatch.setattr(MlflowTracker, "register", refuse)
    config = tiny_config(studies_dir, trials=1, epochs=1, pruner="none")
    with pytest.raises(RuntimeError, match="the registry is down"):
        run_study(config)
    (best,) = [r for r in open_tracker(config, create=False).runs() if r.key.startswith("best-")]
    assert best.state == "failed"


def test_a_search_with_nothing_to_do_says_so_and_why(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from search.progress import Progress

    with caplog.at_level(logging.INFO, logger="search"):
        Progress(3, done=3).begin("optuna (tpe)")
    assert "nothing to search: the study already holds 3 finished trials of the 3" in caplog.text
    assert "raise --trials" in caplog.text


def test_the_time_left_after_a_trial_counts_the_retrain(caplog) -> None:  # type: ignore[no-untyped-def]
    """It said "about 0m00s left" before an 18-minute retrain; the trials' share is capped by
    what the budget leaves them."""
    from search.progress import Progress
    from search.trial import TrialOutcome

    progress = Progress(3)
    progress._started -= 100  # the first trial took 100 s
    outcome = TrialOutcome("complete", 0.9, 1, 1.0)
    with caplog.at_level(logging.INFO, logger="search"):
        progress.trial_finished("optuna-0", outcome, retrain_seconds=600.0, budget_left=660.0)
        line = caplog.records[-1].getMessage()
        progress.trial_finished("optuna-1", outcome)
    # two more trials of 100 s, but the budget leaves them 60 s; then the 10-minute retrain
    assert "about 11m00s left (the retrain 10m00s)" in line
    assert caplog.records[-1].getMessage().endswith("left")
