"""Keras Tuner's tuner and oracle over the study's space (imports TensorFlow: only when the
search runs).

The study's ``enqueue`` points are the oracle's first trials (random and bayesian; Hyperband
chooses its brackets itself and refuses them), and the time budget stops the oracle: both
through ``populate_space``, the oracle's one hook for choosing the next trial.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import keras_tuner

from search.contract import trial_attrs
from search.engine_loop import Asked, TrialLoop
from search.engines.keras_tuner_space import declare, point
from search.study_config import StudyConfig, StudyError
from trainer import interrupts

logger = logging.getLogger(__name__)

OBJECTIVE = keras_tuner.Objective("val_accuracy", direction="max")
STATUS = keras_tuner.engine.trial.TrialStatus


def make_oracle(config: StudyConfig) -> Any:
    oracles = keras_tuner.oracles
    common = {
        "objective": OBJECTIVE,
        "seed": config.seed,
        "hyperparameters": declare(config.search_space()),
        "tune_new_entries": False,
        "max_consecutive_failed_trials": config.trials,
    }
    if config.algorithm == "random":
        return oracles.RandomSearchOracle(max_trials=config.trials, **common)
    if config.algorithm == "bayesian":
        return oracles.BayesianOptimizationOracle(max_trials=config.trials, **common)
    return oracles.HyperbandOracle(max_epochs=config.epochs, factor=3, **common)


class CnnTuner(keras_tuner.Tuner):
    """Runs each Keras Tuner trial through the shared trial function."""

    def __init__(
        self, config: StudyConfig, loop: TrialLoop, records: Callable[[], list[Any]]
    ) -> None:
        self.config = config
        self.loop = loop
        self.records = records
        self.enqueued = config.enqueued_points()
        if self.enqueued and config.algorithm == "hyperband":
            raise StudyError(
                "enqueue: Keras Tuner's Hyperband chooses every trial itself; use algorithm "
                "random or bayesian, or engine optuna, or remove the study's enqueue points."
            )
        if config.enqueue_from:
            raise StudyError("enqueue_from needs engine optuna (it reads an Optuna study).")
        super().__init__(
            oracle=make_oracle(config),
            directory=str(config.output_dir),
            project_name="keras_tuner",
            overwrite=False,
        )
        self.oracle.max_trials = config.trials
        sample = self.oracle.populate_space
        self.oracle.populate_space = lambda trial_id: self.populate_space(trial_id, sample)

    def populate_space(self, trial_id: str, sample: Any) -> dict[str, Any]:
        """The next trial's values: none when the budget is spent, else the first enqueued
        point no trial has had yet, else the oracle's own choice."""
        if not self.loop.allows_trial(self.records()):
            return {"status": STATUS.STOPPED}
        tried = [t.hyperparameters.values for t in self.oracle.trials.values()]
        for values in self.enqueued:
            if not any(all(old.get(k) == v for k, v in values.items()) for old in tried):
                return {"status": STATUS.RUNNING, "values": dict(values)}
        result: dict[str, Any] = sample(trial_id)
        return result

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        """Runs the trial through the shared loop; returns what the trial keeps, numbers only
        (Keras Tuner stores them as the trial's metrics, so a resumed search has them)."""
        epochs = trial.hyperparameters.values.get("tuner/epochs", self.config.epochs)
        asked = Asked(
            int(trial.trial_id),
            point(trial.hyperparameters, self.config.search_space()),
            int(epochs),
        )
        try:
            outcome = self.loop.run(asked)
        except Exception as error:  # a bug (search.failures): Keras Tuner must not go on
            if interrupts.as_interrupt(error) is not None:
                raise
            raise keras_tuner.errors.FatalError(f"{type(error).__name__}: {error}") from error
        if outcome.state == "failed":
            raise keras_tuner.errors.FailedTrialError(outcome.reason)
        attrs = trial_attrs(outcome, OBJECTIVE.name)
        return {
            OBJECTIVE.name: outcome.val_accuracy,
            **{k: float(v) for k, v in attrs.items() if isinstance(v, int | float)},
        }
