"""Pruning an Optuna trial from Keras: Optuna's own pruner with one objective, and successive
halving on the primary objective with several, which Optuna's ``trial.report`` refuses
(optuna/optuna#3450)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import optuna
from optuna.trial import TrialState

from search.engines.optuna_study import CURVE, VALUES
from trainer.objectives import Objective

#: Rungs at epochs 1, 3, 9...; the best third goes on (as Optuna's SuccessiveHalvingPruner
#: with ``min_resource=1, reduction_factor=3``, the single-objective ``asha``).
REDUCTION_FACTOR = 3


class ReportToOptuna(keras.callbacks.Callback):
    """Reports each epoch's ``metric`` (the primary objective) and stops training when the
    study's pruner says so."""

    def __init__(self, trial: optuna.Trial, metric: str = "val_accuracy") -> None:
        super().__init__()
        self.trial = trial
        self.metric = metric
        self.pruned = False

    def measured(self, values: Mapping[str, float]) -> None:
        """The objectives known before training (Optuna's pruners do not read them)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self.metric)
        if value is None or not math.isfinite(float(value)):
            return
        self.trial.report(float(value), step=epoch + 1)
        if self.trial.should_prune():
            self.pruned = True
            self.model.stop_training = True

    def restored(self, history: dict[str, list[float]]) -> None:
        """Reports the epochs a checkpoint brought back (the pruner decides from then on)."""
        for step, value in enumerate(history.get(self.metric, []), start=1):
            if math.isfinite(value):
                self.trial.report(value, step=step)


class SuccessiveHalving(keras.callbacks.Callback):
    """Successive halving on the primary objective among the trials that are at least as good
    on every objective known before training.

    Each epoch's primary value is kept in the trial's user attribute ``curve``. At a rung
    (epochs 1, 3, 9...), the trial goes on when its value there is among the best third (at
    least the best one) of the trials that reached the rung and are no worse than it on every
    objective known before training (its size, its latency): a small model competes only with
    models as small, so bigger models' accuracy never prunes the cheap end of the front.
    Infeasible configurations are never trained, so they never compete.
    """

    def __init__(
        self,
        study: optuna.Study,
        trial: optuna.Trial,
        objectives: Sequence[Objective],
        enabled: bool = True,
    ) -> None:
        super().__init__()
        self.study = study
        self.trial = trial
        self.primary = objectives[0]
        self.cheap = [o for o in objectives[1:] if o.before_training]
        self.enabled = enabled
        self.before: dict[str, float] = {}
        self.curve: list[float] = []
        self.pruned = False

    def measured(self, values: Mapping[str, float]) -> None:
        """Keeps the objectives known before training, with the trial (others compare)."""
        self.before = dict(values)
        self.trial.set_user_attr(VALUES, self.before)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self.primary.name)
        if value is None or not math.isfinite(float(value)):
            return
        self.curve.append(float(value))
        self.trial.set_user_attr(CURVE, self.curve)
        step = len(self.curve)
        if self.enabled and _is_rung(step) and not self._promotable(step):
            self.pruned = True
            self.model.stop_training = True

    def restored(self, history: dict[str, list[float]]) -> None:
        """Takes the epochs a checkpoint brought back as the trial's curve."""
        self.curve = [float(v) for v in history.get(self.primary.name, [])]
        self.trial.set_user_attr(CURVE, self.curve)

    def _promotable(self, step: int) -> bool:
        value = self.curve[step - 1]
        competing = [value]
        states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        for other in self.study.get_trials(deepcopy=False, states=states):
            curve = other.user_attrs.get(CURVE, ())
            if other.number == self.trial.number or len(curve) < step:
                continue
            if self._no_worse_before_training(other.user_attrs.get(VALUES, {})):
                competing.append(float(curve[step - 1]))
        ranked = sorted(competing, key=self.primary.loss)
        threshold = ranked[max(len(ranked) // REDUCTION_FACTOR - 1, 0)]
        return self.primary.loss(value) <= self.primary.loss(threshold)

    def _no_worse_before_training(self, theirs: Mapping[str, float]) -> bool:
        return all(
            o.name in theirs
            and o.name in self.before
            and o.loss(float(theirs[o.name])) <= o.loss(self.before[o.name])
            for o in self.cheap
        )


def _is_rung(step: int) -> bool:
    """Epochs 1, 3, 9, 27...: ``REDUCTION_FACTOR`` to a whole power."""
    while step % REDUCTION_FACTOR == 0:
        step //= REDUCTION_FACTOR
    return step == 1
