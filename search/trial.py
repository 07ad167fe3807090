"""The one trial function every engine calls: train a point, track it as a run, say how it ended.

A failed trial (NaN loss, a value the trainer refuses, out of memory) is returned as ``failed``
with its reason, and the search goes on; any other exception is a bug (``search.failures``): the
run ends failed and the exception propagates, so the engine records the trial and the search
stops. Ctrl-C and SIGTERM (KeyboardInterrupt) end the run as ``interrupted`` and propagate, so
the engine can leave its study consistent.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import keras

from model_space import run_name
from search.budget import SAFETY, Budget, Throughput, retrain_seconds
from search.budget_stop import StopAtBudget
from search.failures import is_trial_failure
from search.study_config import StudyConfig
from search.tail_watch import DUMP_AFTER_SECONDS, WARN_AFTER_SECONDS, TailWatch
from search.tracking import Run, RunState, Tracker
from trainer import interrupts
from trainer.checkpoint import Checkpoint
from trainer.errors import fault
from trainer.job import train_model
from trainer.objectives import Subject, measure, measure_before_training
from trainer.splits import Splits

logger = logging.getLogger(__name__)

EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")
#: Fashion-MNIST's training images, before the validation split.
TRAINING_IMAGES = 60_000


@dataclass(frozen=True)
class TrialOutcome:
    """How a trial ended; ``val_accuracy`` is its primary objective's value, its best epoch's
    (NaN when failed); ``values`` holds every objective and constraint metric it measured;
    ``feasible`` is ``None`` when the study has no constraints, ``violations`` how far each
    constraint is broken (positive) or met (zero or less), in the study's order."""

    state: RunState
    val_accuracy: float
    epochs_run: int
    seconds: float
    parameter_count: int = 0
    reason: str = ""
    run_id: str = ""
    run_name: str = ""
    throughput: Throughput | None = None
    values: dict[str, float] = field(default_factory=dict)
    feasible: bool | None = None
    violations: tuple[float, ...] = ()
    #: False for a configuration that broke a constraint before training (never trained).
    trained: bool = True


class TrialRunner:
    """Runs trials of one study on one process's data split, logging each as a run, within
    the study's time ``budget``."""

    def __init__(
        self,
        config: StudyConfig,
        splits: Splits,
        tracker: Tracker,
        budget: Budget | None = None,
        retrain: bool = True,
    ) -> None:
        """``retrain``: whether a retrain follows the search (in this process or the
        workers' parent), so that its time is kept free of trials."""
        self.config = config
        self.splits = splits
        self.tracker = tracker
        self.budget = budget or Budget(None)
        self.retrain = retrain
        self._said_unfit = False

    def retrain_epoch_seconds(self, throughput: Throughput) -> float:
        """One retrain epoch of a configuration that ran at ``throughput`` in its trial."""
        images = self.config.retrain_subset or TRAINING_IMAGES - self.config.validation_size
        return throughput.epoch_seconds(images, self.config.validation_size)

    def retrain_reserve(self, throughput: Throughput | None) -> float:
        """The seconds the retrain of one model of ``throughput`` needs (0: unknown, or no
        retrain follows). An ensemble's further members get only what the search leaves:
        keeping their time too cost 13 of 30 trials and gave no test accuracy
        (docs/performance.md). A budget too short for the whole retrain keeps half of itself
        for it, and says so once."""
        if throughput is None or not self.retrain:
            return 0.0
        epoch = self.retrain_epoch_seconds(throughput)
        wanted = self.config.retrain_epochs
        reserve = retrain_seconds(wanted, epoch, self.config.retrain_seeds)
        reserve += throughput.compile_seconds
        whole = self.budget.seconds
        if whole is None or SAFETY * reserve <= whole:
            return reserve
        if not self._said_unfit:
            self._said_unfit = True
            logger.warning(
                "time budget: %.1f min cannot hold the best trial's retrain (about %.1f min "
                "for %d epochs), so half of it is kept for the retrain, which trains the epochs "
                "that fit; raise --budget or lower --retrain-epochs to keep its full length",
                whole / 60,
                SAFETY * reserve / 60,
                wanted,
            )
        return whole / 2 / SAFETY

    def time_left(self) -> float:
        return self.budget.left()

    def allows_trial(self, best: Throughput | None, trial_seconds: Sequence[float]) -> bool:
        """Whether a typical trial (the median of ``trial_seconds``) and then the retrain of
        the best trial (of throughput ``best``) still fit in the budget."""
        if not self.budget.limited:
            return True
        typical = statistics.median(trial_seconds) if trial_seconds else 0.0
        reserve = self.retrain_reserve(best)
        if self.budget.allows_trial(typical, reserve):
            return True
        logger.info(
            "time budget: %.1f min left, a trial takes about %.1f min and the best trial's "
            "retrain about %.1f min: no more trials",
            self.budget.left() / 60,
            typical / 60,
            reserve / 60,
        )
        return False

    def run(
        self,
        params: Mapping[str, Any],
        key: str,
        number: int,
        *,
        epochs: int | None = None,
        callbacks: Sequence[keras.callbacks.Callback] = (),
        is_pruned: Callable[[], bool] = lambda: False,
        on_start: Callable[[Run], None] = lambda run: None,
        on_measured: Callable[[Mapping[str, float]], None] = lambda values: None,
        reserve: float = 0.0,
    ) -> TrialOutcome:
        """Trains ``params`` for up to ``epochs`` (the study's by default) as trial ``key``.

        The objectives known before training are measured first; a configuration that breaks
        a constraint on them is not trained: it ends ``failed`` and infeasible. Under a time
        budget, training stops (and the trial counts as pruned) at an epoch's end when one more
        epoch would leave less than ``reserve`` seconds: the retrain's time."""
        name = run_name(
            params, datetime.now(UTC), experiment=self.tracker.experiment, suffix=f"t{number}"
        )
        epochs = epochs or self.config.epochs
        run = self.tracker.start_run(name, self._run_params(params, number, epochs), key)
        on_start(run)
        started = time.perf_counter()
        before = self._measure_before_training(params, run)
        if self._violations(before, before_training=True):
            return self._infeasible(key, run, before, started)
        on_measured(before)
        watch = TailWatch()
        try:
            return self._fit(
                params, key, run, started, before, epochs, callbacks, is_pruned, reserve, watch
            )
        finally:
            tail = watch.stop()
            if tail > WARN_AFTER_SECONDS:
                logger.warning(
                    "trial %s took %.1f s to end after its last epoch (a second is usual; "
                    "stderr holds the stacks past %.0f s)",
                    key,
                    tail,
                    DUMP_AFTER_SECONDS,
                )

    def _fit(
        self,
        params: Mapping[str, Any],
        key: str,
        run: Run,
        started: float,
        before: dict[str, float],
        epochs: int,
        callbacks: Sequence[keras.callbacks.Callback],
        is_pruned: Callable[[], bool],
        reserve: float,
        watch: TailWatch,
    ) -> TrialOutcome:
        """Trains the trial and records how it ended (``run``)."""
        name = run.name
        budget_stop = StopAtBudget(self.budget, reserve)
        extra = [budget_stop] if self.budget.limited else []
        checkpoint = Checkpoint(str(self.config.checkpoint_dir(key)))
        try:
            model, fitted = train_model(
                params,
                self.splits,
                epochs=epochs,
                seed=self.config.seed,
                callbacks=[EpochTracking(run), *callbacks, *extra, watch],
                checkpoint=checkpoint,
                precision=self.config.precision,
            )
        except KeyboardInterrupt:
            run.end("interrupted", "the worker was interrupted")
            raise  # the checkpoint stays: the same command continues this trial
        except Exception as error:  # search.failures: the trial's own failure, or a bug
            interrupt = interrupts.as_interrupt(error)
            if interrupt is not None:
                run.end("interrupted", "the worker was interrupted")
                raise interrupt from error  # the checkpoint stays: the command continues it
            if not is_trial_failure(error):
                found = fault(error)
                why = f"stopped the search: {found}" if found else "a bug stopped the search"
                run.end("failed", f"{why}: {type(error).__name__}: {error}")
                raise  # the checkpoint stays: the same command continues once it is fixed
            checkpoint.delete()
            reason = f"{type(error).__name__}: {error}".strip()
            logger.warning("trial %s failed: %s", key, reason.splitlines()[0])
            run.end("failed", reason)
            return TrialOutcome(
                "failed",
                math.nan,
                0,
                time.perf_counter() - started,
                reason=reason,
                run_id=run.run_id,
                run_name=name,
            )
        checkpoint.delete()
        seconds = time.perf_counter() - started
        state: RunState = "pruned" if is_pruned() or budget_stop.stopped else "complete"
        reason = "stopped by the time budget" if budget_stop.stopped else ""
        if fitted.diverged:
            state, reason = "failed", "the loss became NaN or infinite"
        throughput = Throughput.measure(
            fitted.history, len(self.splits.y_train), len(self.splits.y_val)
        )
        values = {
            **before,
            **measure(Subject(model, fitted), self._after_training_metrics()),
        }
        violations = self._violations(values)
        final = {
            **values,
            "val_accuracy": fitted.val_accuracy,
            "val_loss": fitted.val_loss,
            "best_epoch": fitted.best_epoch,
            "epochs_run": fitted.epochs_run,
            "trial_seconds": seconds,
            "parameter_count": model.count_params(),
            **(throughput.as_attrs() if throughput else {}),
        }
        run.log_metrics({k: v for k, v in final.items() if math.isfinite(v)})
        run.end(state, reason)
        primary = values[self.config.objectives[0]]
        return TrialOutcome(
            state=state,
            val_accuracy=primary if state != "failed" else math.nan,
            epochs_run=fitted.epochs_run,
            seconds=seconds,
            parameter_count=int(model.count_params()),
            reason=reason,
            run_id=run.run_id,
            run_name=name,
            throughput=throughput,
            values=values,
            feasible=_feasible(violations) if self.config.constraints else None,
            violations=tuple(violations),
        )

    def _measure_before_training(self, params: Mapping[str, Any], run: Run) -> dict[str, float]:
        names = self.config.before_training_metrics()
        values = measure_before_training(params, names, tta=self.config.tta, seed=self.config.seed)
        if values:
            run.log_metrics(values)
        return values

    def _after_training_metrics(self) -> list[str]:
        names = [*self.config.objectives, *(c.metric for c in self.config.constraint_list())]
        return [n for n in dict.fromkeys(names) if n not in self.config.before_training_metrics()]

    def _violations(
        self, values: Mapping[str, float], before_training: bool = False
    ) -> list[float]:
        """Each constraint's violation on ``values``; with ``before_training``, only the broken
        ones among those known before training."""
        constraints = self.config.constraint_list()
        if not before_training:
            return [c.violation(values) if c.metric in values else math.nan for c in constraints]
        return [v for c in constraints if c.before_training and (v := c.violation(values)) > 0]

    def _infeasible(
        self, key: str, run: Run, values: dict[str, float], started: float
    ) -> TrialOutcome:
        broken = [c for c in self.config.constraint_list() if c.before_training]
        reason = "infeasible, not trained: " + "; ".join(
            f"{c.metric} {values[c.metric]:,.4g} breaks {c}" for c in broken if not c.holds(values)
        )
        logger.info("trial %s %s", key, reason)
        run.end("failed", reason)
        return TrialOutcome(
            "failed",
            math.nan,
            0,
            time.perf_counter() - started,
            parameter_count=int(values.get("parameters", 0)),
            reason=reason,
            run_id=run.run_id,
            run_name=run.name,
            values=values,
            feasible=False,
            violations=tuple(self._violations(values)),
            trained=False,
        )

    def _run_params(self, params: Mapping[str, Any], number: int, epochs: int) -> dict[str, Any]:
        return {
            **params,
            "engine": self.config.engine,
            "algorithm": self.config.algorithm,
            "trial_number": number,
            "seed": self.config.seed,
            "epochs": epochs,
            "subset": self.config.subset or len(self.splits.y_train),
        }


def _feasible(violations: Sequence[float]) -> bool | None:
    """Whether every constraint holds; ``None`` when one could not be measured (NaN)."""
    if any(math.isnan(v) for v in violations):
        return None
    return all(v <= 0 for v in violations)


class EpochTracking(keras.callbacks.Callback):
    """Logs each epoch's losses, accuracies and learning rate to the run, at step = epoch."""

    def __init__(self, run: Run) -> None:
        super().__init__()
        self.run = run

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        metrics = {
            key: float(logs[key])
            for key in EPOCH_METRICS
            if key in logs and math.isfinite(float(logs[key]))
        }
        if metrics:
            self.run.log_metrics(metrics, step=epoch + 1)

    def restored(self, history: dict[str, list[float]]) -> None:
        """Logs the epochs a checkpoint brought back, so the run holds each epoch once."""
        for index in range(len(history.get("loss", []))):
            self.on_epoch_end(index, {k: v[index] for k, v in history.items() if index < len(v)})
