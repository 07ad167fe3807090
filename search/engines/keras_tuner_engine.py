"""The Keras Tuner engine: RandomSearch, BayesianOptimization or Hyperband over the same space.

Its state lives in ``studies/<name>/keras_tuner/``; running the same command again reloads it:
finished trials are kept and counted, a trial cut off mid-way is run again under its own ID.
Keras Tuner imports TensorFlow, so this module is imported only when the engine is chosen.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import keras_tuner

from search.engines import BestTrial
from search.progress import Progress
from search.space_keras_tuner import declare, point
from search.study_config import StudyConfig
from search.trial import TrialRunner

logger = logging.getLogger(__name__)

OBJECTIVE = keras_tuner.Objective("val_accuracy", direction="max")
DONE = (keras_tuner.engine.trial.TrialStatus.COMPLETED, keras_tuner.engine.trial.TrialStatus.FAILED)


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
        super().__init__(
            oracle=make_oracle(config),
            directory=str(config.output_dir),
            project_name="keras_tuner",
            overwrite=False,
        )
        self.oracle.max_trials = config.trials

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        params = point(trial.hyperparameters, self.config.search_space())
        key = f"keras-tuner-{trial.trial_id}"
        self.progress.trial_started(key, params)
        epochs = trial.hyperparameters.values.get("tuner/epochs", self.config.epochs)
        outcome = self.runner.run(params, key, int(trial.trial_id), epochs=int(epochs))
        self.progress.trial_finished(key, outcome)
        if outcome.state == "failed":
            raise keras_tuner.errors.FailedTrialError(outcome.reason)
        return {"val_accuracy": outcome.val_accuracy}


class KerasTunerEngine:
    """The engine behind ``open_engine`` for ``engine: keras-tuner``."""

    def __init__(self, config: StudyConfig) -> None:
        self.config = config

    def search(self, runner: TrialRunner) -> BestTrial | None:
        progress = Progress(self.config.trials)
        tuner = CnnTuner(self.config, runner, progress)
        progress.done = sum(t.status in DONE for t in tuner.oracle.trials.values())
        best = best_trial(tuner)
        if best:
            progress.best, progress.best_trial = best.val_accuracy, best.key
        progress.begin(f"keras-tuner ({self.config.algorithm})")
        tuner.search(verbose=0)
        return best_trial(tuner)

    def best(self, runner: TrialRunner) -> BestTrial | None:
        return best_trial(CnnTuner(self.config, runner, Progress(self.config.trials)))


def best_trial(tuner: CnnTuner) -> BestTrial | None:
    done = [
        t
        for t in tuner.oracle.trials.values()
        if t.status == keras_tuner.engine.trial.TrialStatus.COMPLETED and t.score is not None
    ]
    if not done:
        return None
    best = max(done, key=lambda t: (t.score, -int(t.trial_id)))
    return BestTrial(
        key=f"keras-tuner-{best.trial_id}",
        number=int(best.trial_id),
        params=point(best.hyperparameters, tuner.config.search_space()),
        val_accuracy=float(best.score if best.score is not None else math.nan),
    )
