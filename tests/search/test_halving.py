"""Successive halving on the primary objective of a multi-objective Optuna study."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from search.engines.optuna_halving import SuccessiveHalving, _is_rung
from search.engines.optuna_study import CURVE, VALUES
from trainer.objectives import objective

OBJECTIVES = [objective("val_accuracy"), objective("parameters")]


class FakeModel:
    stop_training = False


def study_with(finished: list[tuple[list[float], float]]) -> optuna.Study:
    """Finished (pruned) trials, each with its accuracy curve and parameter count."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    for curve, parameters in finished:
        study.add_trial(
            optuna.trial.create_trial(
                state=TrialState.PRUNED,
                user_attrs={CURVE: curve, VALUES: {"parameters": parameters}},
            )
        )
    return study


def run_epochs(study: optuna.Study, parameters: float, curve: list[float]) -> SuccessiveHalving:
    halving = SuccessiveHalving(study, study.ask(), OBJECTIVES)
    halving.set_model(FakeModel())  # type: ignore[arg-type]
    halving.measured({"parameters": parameters})
    for epoch, value in enumerate(curve):
        halving.on_epoch_end(epoch, {"val_accuracy": value})
        if halving.pruned:
            break
    return halving


def test_rungs_are_powers_of_three() -> None:
    assert [step for step in range(1, 30) if _is_rung(step)] == [1, 3, 9, 27]


def test_a_trial_worse_than_as_small_models_is_pruned_at_the_first_rung() -> None:
    study = study_with([([0.8], 100_000.0), ([0.7], 100_000.0), ([0.75], 50_000.0)])
    halving = run_epochs(study, 200_000.0, [0.6, 0.9])
    assert halving.pruned and halving.curve == [0.6]
    assert halving.model.stop_training
    assert study.trials[-1].user_attrs[CURVE] == [0.6]


def test_bigger_models_never_prune_a_smaller_one() -> None:
    """The cheap end of the front: the smallest model competes with no one."""
    study = study_with([([0.9, 0.9, 0.9], 500_000.0), ([0.88, 0.9, 0.9], 400_000.0)])
    halving = run_epochs(study, 90_000.0, [0.5, 0.55, 0.6])
    assert not halving.pruned and halving.curve == [0.5, 0.55, 0.6]


def test_the_best_third_goes_on() -> None:
    others = [([value], 100_000.0) for value in (0.5, 0.6, 0.7, 0.8, 0.9)]
    assert not run_epochs(study_with(others), 100_000.0, [0.85]).pruned  # 2nd of 6: top third
    assert run_epochs(study_with(others), 100_000.0, [0.75]).pruned  # 3rd of 6


def test_disabled_it_only_keeps_the_curve() -> None:
    study = study_with([([0.9], 10.0)])
    halving = SuccessiveHalving(study, study.ask(), OBJECTIVES, enabled=False)
    halving.set_model(FakeModel())  # type: ignore[arg-type]
    halving.on_epoch_end(0, {"val_accuracy": 0.1})
    assert not halving.pruned and study.trials[-1].user_attrs[CURVE] == [0.1]


@pytest.mark.parametrize("value", [None, float("nan")])
def test_epochs_without_a_value_are_skipped(value) -> None:
    study = study_with([])
    halving = SuccessiveHalving(study, study.ask(), OBJECTIVES)
    halving.on_epoch_end(0, {"val_accuracy": value} if value is not None else {})
    assert halving.curve == []
