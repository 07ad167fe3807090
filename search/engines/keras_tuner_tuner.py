"""Keras Tuner's tuner and oracle over the study's space (imports TensorFlow: only when the
search runs).

The study's ``enqueue`` points are the oracle's first trials (random and bayesian; Hyperband
chooses its brackets itself and refuses them), and the time budget stops the oracle: both
through ``populate_space``, the oracle's one hook for choosing the next trial.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import keras_tuner

from search.budget import Throughput
from search.engines import BestTrial
from search.engines.keras_tuner_space import declare, point
from search.progress import Progress
from search.study_config import StudyConfig, StudyError
from search.trial import TrialRunner

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

    def __init__(self, config: StudyConfig, runner: TrialRunner, progress: Progress) -> None:
        self.config = config
        self.runner = runner
        self.progress = progress
        self.durations: list[float] = []
        self.throughputs: dict[str, Throughput] = {}
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
        best = best_trial(self)
        if not self.runner.allows_trial(best.throughput if best else None, self.durations):
            return {"status": STATUS.STOPPED}
        tried = [t.hyperparameters.values for t in self.oracle.trials.values()]
        for values in self.enqueued:
            if not any(all(old.get(k) == v for k, v in values.items()) for old in tried):
                return {"status": STATUS.RUNNING, "values": dict(values)}
        result: dict[str, Any] = sample(trial_id)
        return result

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        params = point(trial.hyperparameters, self.config.search_space())
        key = f"keras-tuner-{trial.trial_id}"
        self.progress.trial_started(key, params)
        epochs = trial.hyperparameters.values.get("tuner/epochs", self.config.epochs)
        best = best_trial(self)
        outcome = self.runner.run(
            params,
            key,
            int(trial.trial_id),
            epochs=int(epochs),
            reserve=self.runner.retrain_reserve(best.throughput if best else None),
        )
        self.progress.trial_finished(key, outcome)
        if outcome.throughput:
            self.throughputs[key] = outcome.throughput
        if outcome.state == "complete":
            self.durations.append(outcome.seconds)
        if outcome.state == "failed":
            raise keras_tuner.errors.FailedTrialError(outcome.reason)
        return {"val_accuracy": outcome.val_accuracy}


def best_trial(tuner: CnnTuner) -> BestTrial | None:
    done = [
        t
        for t in tuner.oracle.trials.values()
        if t.status == STATUS.COMPLETED and t.score is not None
    ]
    if not done:
        return None
    best = max(done, key=lambda t: (t.score, -int(t.trial_id)))
    key = f"keras-tuner-{best.trial_id}"
    return BestTrial(
        key=key,
        number=int(best.trial_id),
        params=point(best.hyperparameters, tuner.config.search_space()),
        val_accuracy=float(best.score if best.score is not None else math.nan),
        throughput=tuner.throughputs.get(key),
    )
