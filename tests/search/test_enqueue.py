"""Warm start: enqueued points run first, exactly once, also across a resume."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from search.study_config import StudyError
from search.study_run import run_study
from tests.search.conftest import tiny_config, write_study

SEED_IN_TINY = {}  # the declared defaults, within the tiny study's narrowing
STRONG = {"filters": "16-32-64", "convs_per_block": 2, "units": 256, "flip": 0.5, "crop": 1}


def _matches(trial: optuna.trial.FrozenTrial, point: dict) -> bool:
    return all(trial.params[name] == value for name, value in point.items())


@pytest.mark.slow
def test_enqueued_points_run_first_and_once_across_a_resume(tmp_path: Path) -> None:
    studies_dir = tmp_path / "studies"
    write_study(studies_dir, enqueue=[SEED_IN_TINY, STRONG])
    config = tiny_config(studies_dir, trials=2, tracking="none", pruner="none")
    seed_point = config.enqueued_points()[0]
    run_study(config, retrain=False)
    study = optuna.load_study(study_name="tiny", storage=config.storage_url)
    first, second = study.trials
    assert first.params == seed_point and _matches(second, STRONG)

    run_study(tiny_config(studies_dir, trials=4, tracking="none", pruner="none"), retrain=False)
    trials = optuna.load_study(study_name="tiny", storage=config.storage_url).trials
    assert len(trials) == 4
    assert sum(t.params == seed_point for t in trials) == 1
    assert sum(_matches(t, STRONG) for t in trials) == 1
    assert all(t.state != optuna.trial.TrialState.WAITING for t in trials)


@pytest.mark.slow
def test_enqueue_from_another_study_tries_its_best_first(tmp_path: Path) -> None:
    studies_dir = tmp_path / "studies"
    write_study(studies_dir, enqueue=[STRONG])
    run_study(tiny_config(studies_dir, trials=1, tracking="none", pruner="none"), retrain=False)
    write_study(studies_dir, name="next")
    config = tiny_config(studies_dir, trials=1, tracking="none", enqueue_from="tiny")
    config = type(config)(**{**config.__dict__, "name": "next"})
    run_study(config, retrain=False)
    (trial,) = optuna.load_study(study_name="next", storage=config.storage_url).trials
    assert _matches(trial, STRONG)


def test_enqueue_from_a_missing_study_is_one_clear_error(studies_dir: Path) -> None:
    config = tiny_config(studies_dir, enqueue_from="nowhere", tracking="none")
    with pytest.raises(StudyError, match="enqueue_from: cannot read study 'nowhere'"):
        run_study(config, retrain=False)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"units": 100}, "enqueue entry 1: units must be between 128 and 1024"),
        ({"colour": 3}, r"enqueue entry 1: Unknown parameter\(s\) \['colour'\]"),
        ("32-64-128", "enqueue entry 1 must map parameter names to values"),
        ({"filters": "64-128-256"}, "enqueue entry 1: filters must be one of 16-32-64, 32-64-128"),
    ],
)
def test_bad_enqueue_entries_name_the_entry_and_the_value(
    studies_dir: Path, entry: object, message: str
) -> None:
    with pytest.raises(StudyError, match=message):
        tiny_config(studies_dir, enqueue=[entry])


def test_keras_tuner_hyperband_refuses_enqueued_points(studies_dir: Path) -> None:
    config = tiny_config(
        studies_dir, engine="keras-tuner", algorithm="hyperband", enqueue=[STRONG], tracking="none"
    )
    with pytest.raises(StudyError, match="Hyperband chooses every trial itself"):
        run_study(config, retrain=False)


@pytest.mark.slow
def test_keras_tuner_runs_enqueued_points_first(studies_dir: Path) -> None:
    config = tiny_config(
        studies_dir,
        engine="keras-tuner",
        algorithm="random",
        enqueue=[STRONG],
        tracking="none",
        trials=2,
    )
    run_study(config, retrain=False)
    import json

    import keras_tuner  # noqa: F401  (imports TensorFlow; the engine needs it anyway)

    first = sorted((config.output_dir / "keras_tuner").glob("trial_*/trial.json"))[0]
    values = json.loads(first.read_text())["hyperparameters"]["values"]
    assert all(values[name] == value for name, value in STRONG.items())
