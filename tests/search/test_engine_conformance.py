"""What every engine in ``search.components.ENGINES`` must do, in the style of Optuna's
``optuna/testing/pytest_samplers.py``: one suite, parametrized over the engines.

Trials here train nothing: a ``ScriptedRunner`` stands in for ``search.trial.TrialRunner`` and
scores each point by a fixed formula, so the suite checks the engine's bookkeeping (how many
trials, which numbers, which states, which best) in seconds. Training through the real runner
is covered by the study tests. A new engine joins by its entry in ``ENGINES``.
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
from search.tracking import STATES
from search.tracking.null import NullTracker
from search.trial import TrialOutcome
from tests.search.conftest import tiny_config

ENGINE_NAMES = sorted(ENGINES)
REPO = Path(__file__).resolve().parents[2]


class ScriptedRunner:
    """The ``TrialRunner`` surface an engine uses; the first ``failures`` trials fail."""

    def __init__(self, config: StudyConfig, failures: int = 0) -> None:
        self.config = config
        self.tracker = NullTracker(config.name)
        self.failures = failures
        self.calls: list[tuple[str, int]] = []

    def allows_trial(self, best: Any, trial_seconds: Any) -> bool:
        return True

    def retrain_reserve(self, throughput: Any) -> float:
        return 0.0

    def run(self, params: Mapping[str, Any], key: str, number: int, **kwargs: Any) -> TrialOutcome:
        self.calls.append((key, number))
        if len(self.calls) <= self.failures:
            return TrialOutcome("failed", math.nan, 0, 0.01, reason="scripted failure")
        score = 0.5 + 0.4 * float(params["conv_dropout"]) - 0.1 * float(params["dense_dropout"])
        return TrialOutcome("complete", score, 1, 0.01, parameter_count=1000)


def config_for(studies_dir: Path, engine: str, **overrides: Any) -> StudyConfig:
    algorithm = "random" if "random" in ENGINES[engine].algorithms else None
    settings = {"engine": engine, "algorithm": algorithm, "pruner": "none", **overrides}
    return tiny_config(studies_dir, **settings)


@pytest.fixture(params=ENGINE_NAMES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_study_runs_exactly_its_trials_each_number_once(studies_dir, engine_name) -> None:
    config = config_for(studies_dir, engine_name, trials=4)
    runner = ScriptedRunner(config)
    best = open_engine(config).search(runner)  # type: ignore[arg-type]

    records = open_engine(config, create=False).records()
    assert len(runner.calls) == len(records) == 4
    assert [r.number for r in records] == sorted({r.number for r in records})
    assert len({r.key for r in records}) == 4
    assert {r.state for r in records} <= set(STATES)
    assert all(r.state == "complete" and r.value is not None for r in records)
    assert best is not None and best.key == best_of(records).key  # type: ignore[union-attr]


def test_a_resumed_study_runs_only_the_remaining_trials(studies_dir, engine_name) -> None:
    first = ScriptedRunner(config_for(studies_dir, engine_name, trials=2))
    open_engine(first.config).search(first)  # type: ignore[arg-type]
    second = ScriptedRunner(config_for(studies_dir, engine_name, trials=3))
    open_engine(second.config).search(second)  # type: ignore[arg-type]

    assert len(first.calls) == 2 and len(second.calls) == 1
    assert second.calls[0][0] not in {key for key, _ in first.calls}
    assert len(open_engine(second.config, create=False).records()) == 3


def test_best_is_the_highest_complete_trial(studies_dir, engine_name) -> None:
    config = config_for(studies_dir, engine_name, trials=3)
    searched = open_engine(config).search(ScriptedRunner(config))  # type: ignore[arg-type]

    engine = open_engine(config, create=False)
    best, top = engine.best(), best_of(engine.records())
    assert best is not None and top is not None and searched is not None
    assert (best.key, best.number, best.val_accuracy) == (top.key, top.number, top.value)
    assert searched.key == best.key
    assert set(best.params) == set(config.search_space().names)


def test_a_failed_trial_is_recorded_and_counted(studies_dir, engine_name) -> None:
    config = config_for(studies_dir, engine_name, trials=3)
    runner = ScriptedRunner(config, failures=1)
    open_engine(config).search(runner)  # type: ignore[arg-type]

    records = open_engine(config, create=False).records()
    assert len(runner.calls) == len(records) == 3
    (failed,) = [r for r in records if r.state == "failed"]
    assert failed.value is None and (failed.key, failed.number) == runner.calls[0]


def test_reading_a_study_that_does_not_exist_creates_nothing(studies_dir, engine_name) -> None:
    config = config_for(studies_dir, engine_name)
    engine = open_engine(config, create=False)
    assert engine.records() == [] and engine.best() is None
    assert not config.output_dir.exists()


@pytest.mark.parametrize(
    ("engine", "algorithm"),
    [(name, algorithm) for name in ENGINE_NAMES for algorithm in ENGINES[name].algorithms],
)
def test_every_algorithm_in_the_table_runs(studies_dir, engine: str, algorithm: str) -> None:
    config = config_for(studies_dir, engine, algorithm=algorithm, trials=2)
    runner = ScriptedRunner(config)
    open_engine(config).search(runner)  # type: ignore[arg-type]
    assert len(runner.calls) == 2


@pytest.mark.parametrize("pruner", ENGINES["optuna"].pruners)
def test_every_pruner_in_the_table_runs(studies_dir, pruner: str) -> None:
    config = tiny_config(studies_dir, pruner=pruner, trials=2)
    runner = ScriptedRunner(config)
    open_engine(config).search(runner)  # type: ignore[arg-type]
    assert len(runner.calls) == 2


def test_records_are_read_without_keras(studies_dir, engine_name) -> None:
    """The dashboard and the compare table read records; neither should load TensorFlow."""
    config = config_for(studies_dir, engine_name, trials=2)
    open_engine(config).search(ScriptedRunner(config))  # type: ignore[arg-type]
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
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
