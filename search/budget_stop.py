"""The time budget inside a running fit: stop in time, and (for the retrain) end annealed.

A trial stops at an epoch's end when one more epoch would eat the retrain's reserve. The retrain
does more: its epochs were planned from a trial's measured speed, and a 2-core machine's speed
drifts by 30% or more within a search (the default command on an AMD EPYC, 2026-12-07: a trial
measured 84 s a retrain epoch, the retrain ran 104-124 s), so it may find at an epoch's end that
fewer of its planned epochs fit than it has left. Cut there, its learning rate would still be
mid-cosine (that run stopped at epoch 17 of 20 with the rate at 8% of its peak). With
``anneal``, the schedule moves on instead, at that epoch's end, by the epochs that no longer
fit (``optimizer.iterations``, which the schedule reads, is advanced by their steps: one drop of
the rate), and training stops after the last epoch that fits, with the rate at zero as planned.
The fit's ``params["epochs"]`` (shared by its callbacks) then holds that epoch, so the epoch log
line counts and times what is left of the shortened fit, not of the plan.

The anneal is decided on steady epochs only: the first one also traces the train step (the
default command on the AMD EPYC, 2026-12-07: 97 s, then 94, 87 and 88), and a move cannot be
taken back: read from the first epoch, the schedule lost two of its 20 epochs, where the
second epoch's time held 19. After the first epoch only the plain stop applies.

Nor does the schedule move while it still warms up (the first ``WARMUP_FRACTION`` of the planned
epochs): a move there skips the rest of the warm-up and raises the rate to its peak at once
(the default command on the AMD EPYC, 2026-12-07: moved on by 3 of 23 epochs after epoch 2, the
rate went from 1.47e-3 to 2.96e-3). Moved at the warm-up's end instead, by the same epochs, it
skips the flat top of the cosine: the small drop the move is meant to be. The plain stop still
applies meanwhile, and the epochs that fit are counted again at each epoch's end, so waiting
costs no time.

Each decision keeps ``SAFETY``'s share of one epoch to spare, not of every epoch left
(``search.budget.epochs_that_fit``): the next epoch's end decides again from its own time.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import keras

from search.budget import Budget, epochs_that_fit
from trainer.fit import WARMUP_FRACTION

logger = logging.getLogger(__name__)


class StopAtBudget(keras.callbacks.Callback):
    """Stops training at an epoch's end when one more epoch would leave less than ``reserve``
    seconds of the budget (the time the retrain needs); with ``anneal``, also moves the
    learning-rate schedule on so that it ends with the last epoch that fits. ``stopped`` tells
    afterwards whether the budget cut any epoch."""

    def __init__(self, budget: Budget, reserve: float, anneal: bool = False) -> None:
        super().__init__()
        self.budget = budget
        self.reserve = reserve
        self.anneal = anneal
        self.stopped = False
        self._planned: float = math.inf

    @property
    def last_epoch(self) -> float:
        """The epoch (counted from 1) that the schedule now ends with: the fit's
        ``params["epochs"]``, which the anneal shortens."""
        return (self.params or {}).get("epochs") or math.inf

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._planned = self.last_epoch

    def _warming_up(self, done: int) -> bool:
        """Whether the learning rate still warms up after ``done`` epochs of the plan."""
        return math.isfinite(self._planned) and done < WARMUP_FRACTION * self._planned

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        done = epoch + 1
        if done >= self.last_epoch:
            if done < self._planned:
                logger.info(
                    "the shortened schedule is complete: training stops after epoch %d", done
                )
                self.model.stop_training = True
            return
        seconds = float((logs or {}).get("epoch_seconds", 0.0))
        room = self.budget.left() - self.reserve
        remaining = int(self.last_epoch - done) if math.isfinite(self.last_epoch) else 1
        fit = epochs_that_fit(room, seconds, remaining)
        if fit < 1:
            logger.info("the time budget is spent: training stops after epoch %d", done)
            self.stopped = True
            self.model.stop_training = True
            return
        if not self.anneal or done == 1 or fit >= remaining or self._warming_up(done):
            return
        iterations = self.model.optimizer.iterations
        steps = self.params.get("steps") or int(keras.ops.convert_to_numpy(iterations)) // done
        skipped = remaining - fit
        iterations.assign_add(skipped * steps)
        self.params["epochs"] = done + fit
        self.stopped = True
        logger.info(
            "the time budget holds %d more epoch(s) of about %.0f s, not %d: the learning-rate "
            "schedule moves on by %d epoch(s) and ends with epoch %d",
            fit,
            seconds,
            remaining,
            skipped,
            self.last_epoch,
        )
