"""What every engine in ``search.components.ENGINES`` must do, in the style of Optuna's
``optuna/testing/pytest_samplers.py``: one suite, run on each engine through the fixture
``engine_name`` (every engine in the table by default; a plug-in's test module overrides it).

Trials here train nothing: a ``ScriptedRunner`` stands in for ``search.trial.TrialRunner`` and
scores each point by a fixed formula, so the suite checks the engine's bookkeeping (how many
trials, which numbers, which states, which best) in seconds. Training through the real runner
is covered by the project's study tests.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from search.components import ENGINES
from search.engines import best_of, open_engine
from search.study_config import StudyConfig
from search.testing.studies import studies_dir, tiny_config, write_study
from search.tracking import STATES
from search.tracking.null import NullTracker
from search.trial import TrialOutcome

__all__ = [
    "ScriptedRunner",
    "config_for",
    "engine_name",
    "studies_dir",
    "test_a_bug_stops_the_search_at_once_and_is_not_counted",
    "test_a_failed_trial_is_recorded_and_counted",
    "test_a_resumed_study_runs_only_the_remaining_trials",
    "test_a_study_runs_exactly_its_trials_each_number_once",
    "test_best_is_the_highest_complete_trial",
    "test_every_algorithm_of_the_engine_runs",
    "test_every_pruner_of_the_engine_runs",
    "test_objectives_and_constraints_are_kept",
    "test_reading_a_study_that_does_not_exist_creates_nothing",
    "test_records_are_read_without_keras",
]


class ScriptedRunner:
    """The ``TrialRunner`` surface an engine uses; the first ``failures`` trials fail, and
    with ``bug`` every trial raises it (``search.failures``: a bug, not a trial's failure)."""

    def __init__(
        self, config: StudyConfig, failures: int = 0, bug: Exception | None = None
    ) -> None:
        self.config = config
        self.tracker = NullTracker(config.name)
        self.failures = failures
        self.bug = bug
        self.calls: list[tuple[str, int]] = []

    def allows_trial(self, best: Any, trial_seconds: Any) -> bool:
        """No budget: every trial may start."""
        return True

    def retrain_reserve(self, throughput: Any) -> float:
        return 0.0

    def time_left(self) -> float:
        return math.inf

    def run(self, params: Mapping[str, Any], key: str, number: int, **kwargs: Any) -> TrialOutcome:
        """Scores the point by formula; its ``parameters`` objective is ``units * 1000``, and
        a configuration that breaks the study's constraints on it is returned untrained."""
        self.calls.append((key, number))
        if self.bug is not None:
            raise self.bug
        if len(self.calls) <= self.failures:
            return TrialOutcome("failed", math.nan, 0, 0.01, reason="scripted failure")
        before = {"parameters": 1000.0 * float(params["units"])}
        violations = tuple(c.violation(before) for c in self.config.constraint_list())
        if any(v > 0 for v in violations):
            return TrialOutcome(
                "failed",
                math.nan,
                0,
                0.01,
                reason="infeasible, not trained",
                values=before,
                feasible=False,
                violations=violations,
                trained=False,
            )
        score = 0.5 + 0.4 * float(params["conv_dropout"]) - 0.1 * float(params["dense_dropout"])
        return TrialOutcome(
            "complete",
            score,
            1,
            0.01,
            parameter_count=1000,
            values={self.config.objectives[0]: score, **before},
            feasible=True if violations else None,
            violations=violations,
        )


def config_for(studies_dir: Path, engine: str, **overrides: Any) -> StudyConfig:
    algorithm = "random" if "random" in ENGINES[engine].algorithms else None
    settings = {"engine": engine, "algorithm": algorithm, "pruner": "none", **overrides}
    return tiny_config(studies_dir, **settings)


@pytest.fixture(params=sorted(ENGINES))
def engine_name(request: pytest.FixtureRequest) -> str:
    """The engine under test; override it to run the suite on one engine."""
    return str(request.param)


def test_a_study_runs_exactly_its_trials_each_number_once(studies_dir, engine_name) -> None:
    config = config_for(studies_dir, engine_name, trials=4)
    runner = ScriptedRunner(config)
    best = open_engine(config).search(runner)

    records = open_engine(config, create=False).records()
    assert len(runner.calls) == len(records) == 4
    assert [r.number for r in records] == sorted({r.number for r in records})
    assert len({r.key for r in records}) == 4
    assert {r.state for r in records} <= set(STATES)
    assert all(r.state == "complete" and r.value is not None for r in records)
    top = best_of(records, config.objective_list())
    assert best is not None and top is not None and best.key == top.key


def test_a_resumed_study_runs_only_the_remaining_trials(studies_dir, engine_name) -> None:
    first = ScriptedRunner(config_for(studies_dir, engine_name, trials=2))
    open_engine(first.config).search(first)
    second = ScriptedRunner(config_for(studies_dir, engine_name, trials=3))
    open_engine(second.config).search(second)

    assert len(first.calls) == 2 and len(second.calls) == 1
    assert second.calls[0][0] not in {key for key, _ in first.calls}
    assert len(open_engine(second.config, create=False).records()) == 3


def test_best_is_the_highest_complete_trial(studies_dir, engine_name) -> None:
    config = config_for(studies_dir, engine_name, trials=3)
    searched = open_engine(config).search(ScriptedRunner(config))

    engine = open_engine(config, create=False)
    best, top = engine.best(), best_of(engine.records())
    assert best is not None and top is not None and searched is not None
    assert (best.key, best.number, best.val_accuracy) == (top.key, top.number, top.value)
    assert searched.key == best.key
    assert set(best.params) == set(config.search_space().names)


def test_a_failed_trial_is_recorded_and_counted(studies_dir, engine_name) -> None:
    config = config_for(studies_dir, engine_name, trials=3)
    runner = ScriptedRunner(config, failures=1)
    open_engine(config).search(runner)

    records = open_engine(config, create=False).records()
    assert len(runner.calls) == len(records) == 3
    (failed,) = [r for r in records if r.state == "failed"]
    assert failed.value is None and (failed.key, failed.number) == runner.calls[0]


def test_a_bug_stops_the_search_at_once_and_is_not_counted(studies_dir, engine_name) -> None:
    """Any exception but a trial's own failure stops the search at its first trial (not
    after every trial failed the same way), and the fixed command still runs ``trials``."""
    config = config_for(studies_dir, engine_name, trials=3)
    broken = ScriptedRunner(config, bug=TypeError("a refactor broke the trial"))
    with pytest.raises(Exception) as raised:  # an engine may wrap it
        open_engine(config).search(broken)
    chain = [raised.value, raised.value.__cause__]
    assert any(isinstance(e, TypeError) for e in chain), raised.value
    assert len(broken.calls) == 1

    fixed = ScriptedRunner(config)
    open_engine(config).search(fixed)
    records = open_engine(config, create=False).records()
    assert sum(r.state == "complete" for r in records) == 3
    assert len(fixed.calls) == 3


def test_reading_a_study_that_does_not_exist_creates_nothing(studies_dir, engine_name) -> None:
    config = config_for(studies_dir, engine_name)
    engine = open_engine(config, create=False)
    assert engine.records() == [] and engine.best() is None
    assert not config.output_dir.exists()


def test_every_algorithm_of_the_engine_runs(studies_dir, engine_name) -> None:
    for algorithm in ENGINES[engine_name].algorithms:
        _two_trials_run(studies_dir, engine_name, algorithm=algorithm)


def test_every_pruner_of_the_engine_runs(studies_dir, engine_name) -> None:
    for pruner in ENGINES[engine_name].pruners:
        _two_trials_run(studies_dir, engine_name, pruner=pruner)


def _two_trials_run(studies_dir: Path, engine_name: str, **setting: str) -> None:
    """A two-trial study with ``setting``, in a folder of its own, runs both trials."""
    (value,) = setting.values()
    folder = studies_dir.with_name(f"studies-{value}")
    write_study(folder)
    runner = ScriptedRunner(config_for(folder, engine_name, trials=2, **setting))
    open_engine(runner.config).search(runner)
    assert len(runner.calls) == 2, setting


def test_objectives_and_constraints_are_kept(studies_dir, engine_name) -> None:
    """Two objectives and a constraint: untrained, infeasible configurations are recorded but
    not counted, every trial keeps its objectives, the best is feasible."""
    entry = ENGINES[engine_name]
    if not entry.multi_objective:
        pytest.skip(f"engine {engine_name} searches one objective (its study refuses more)")
    config = config_for(
        studies_dir,
        engine_name,
        algorithm=entry.multi_objective[0],
        pruner=entry.multi_objective_pruners[-1],
        trials=4,
        objectives=["val_accuracy", "parameters"],
        constraints=["parameters<=700000"],
    )
    runner = ScriptedRunner(config)
    best = open_engine(config).search(runner)

    records = open_engine(config, create=False).records()
    trained = [r for r in records if r.state == "complete"]
    infeasible = [r for r in records if r.feasible is False]
    assert len(trained) == 4 and len(records) == len(runner.calls) == 4 + len(infeasible)
    assert all(r.state == "failed" and r.values["parameters"] > 700_000 for r in infeasible)
    assert all(set(r.values) == {"val_accuracy", "parameters"} and r.feasible for r in trained)
    top = best_of(records, config.objective_list())
    assert best is not None and top is not None and best.key == top.key
    assert best.values["parameters"] <= 700_000


def test_records_are_read_without_keras(studies_dir, engine_name) -> None:
    """The dashboard and the compare table read records; neither should load TensorFlow."""
    config = config_for(studies_dir, engine_name, trials=2)
    open_engine(config).search(ScriptedRunner(config))
    script = (
        "import sys\n"
        "from search.engines import open_engine\n"
        "from search.study_config import load_study\n"
        f"config = load_study('tiny', {{'engine': {engine_name!r}, 'algorithm': "
        f"{config.algorithm!r}}}, studies_dir=__import__('pathlib').Path({str(studies_dir)!r}))\n"
        "records = open_engine(config, create=False).records()\n"
        "assert len(records) == 2, records\n"
        "heavy = sorted(m for m in ('keras', 'tensorflow', 'keras_tuner') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=studies_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
