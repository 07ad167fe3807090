"""A study read back keeps every run: a key maps to runs (two retrains of one best, a second
run under a trial's key), none is dropped from the compare table or the dashboard."""

from __future__ import annotations

from pathlib import Path

from search.contract import TrialRecord
from search.results.records import read_study
from search.tracking import RunRecord
from search.tracking.null import NullTracker
from tests.search.conftest import tiny_config


class Engine:
    def records(self) -> list[TrialRecord]:
        return [
            TrialRecord(0, "optuna-0", "complete", 0.8, {}, run_name="run-t0"),
            TrialRecord(1, "optuna-1", "complete", 0.9, {}, run_name="run-t1"),
        ]


class Tracker(NullTracker):
    def runs(self) -> list[RunRecord]:  # newest first, as MLflow gives them
        return [
            RunRecord("r5", "best-again", "best-optuna-1", "complete"),
            RunRecord("r4", "best", "best-optuna-1", "complete"),
            RunRecord("r3", "run-t1-second", "optuna-1", "complete"),
            RunRecord("r2", "run-t1", "optuna-1", "complete"),
            RunRecord("r1", "run-t0", "optuna-0", "complete"),
            RunRecord("r0", "by-hand", "", "complete"),
        ]


def test_every_run_is_kept_and_each_trial_joins_its_own(studies_dir: Path) -> None:
    records = read_study(tiny_config(studies_dir), Engine(), Tracker("tiny"))  # type: ignore[arg-type]
    assert [t.run_name for t in records.trials] == ["run-t0", "run-t1"]
    assert sorted(r.run_id for r in records.runs) == ["r0", "r3", "r4", "r5"]
