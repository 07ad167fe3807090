"""Progress a person can follow: each trial's outcome, the best so far, elapsed and remaining."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from search.trial import TrialOutcome
from trainer.objectives import Objective, objective

logger = logging.getLogger("search")


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class Progress:
    """Counts trials toward ``total`` (``done`` of them finished before this process began);
    ``best`` is the best value of the primary objective (``val_accuracy`` by default)."""

    def __init__(
        self,
        total: int,
        done: int = 0,
        best: float = math.nan,
        best_trial: str = "",
        primary: Objective | None = None,
    ) -> None:
        self.primary = primary or objective("val_accuracy")
        self.total = total
        self.done = done
        self.best = best
        self.best_trial = best_trial
        self._started = time.monotonic()
        self._finished_here = 0

    def begin(self, engine: str) -> None:
        if self.done:
            logger.info(
                "resuming with %d of %d trials already finished (best %s %.4f)",
                self.done,
                self.total,
                self.primary.name,
                self.best,
            )
        if self.done >= self.total:
            logger.info(
                "nothing to search: the study already holds %d finished trials of the %d asked "
                "for (raise --trials to run more)",
                self.done,
                self.total,
            )
            return
        logger.info("searching with %s: %d trials to run", engine, self.total - self.done)

    def trial_started(self, key: str, params: Mapping[str, Any]) -> None:
        shown = " ".join(f"{k}={_format(v)}" for k, v in params.items())
        logger.info("trial %s started: %s", key, shown)

    def trial_finished(
        self,
        key: str,
        outcome: TrialOutcome,
        retrain_seconds: float = 0.0,
        budget_left: float = math.inf,
    ) -> None:
        """Logs the trial's end and the time left: the trials still to run at this process's
        pace (no longer than the budget leaves them) plus ``retrain_seconds``, the retrain's
        estimate."""
        if not outcome.trained:  # infeasible: logged by the trial, not counted
            return
        self.done += 1
        self._finished_here += 1
        value = outcome.val_accuracy
        if outcome.state == "complete" and (
            math.isnan(self.best) or self.primary.better(value, self.best)
        ):
            self.best, self.best_trial = value, key
        elapsed = time.monotonic() - self._started
        trials_left = elapsed / self._finished_here * max(self.total - self.done, 0)
        trials_left = min(trials_left, max(0.0, budget_left - retrain_seconds))
        remaining = trials_left + retrain_seconds
        retrain = f" (the retrain {_duration(retrain_seconds)})" if retrain_seconds else ""
        result = (
            f"{self.primary.name} {value:.4f}"
            if outcome.state != "failed"
            else f"reason: {outcome.reason.splitlines()[0] if outcome.reason else 'unknown'}"
        )
        logger.info(
            "trial %s %s after %d epoch(s) (%s), %s | best %.4f (trial %s) | %d/%d done, "
            "%s elapsed, about %s left%s",
            key,
            outcome.state,
            outcome.epochs_run,
            _duration(outcome.seconds),
            result,
            self.best,
            self.best_trial or "-",
            self.done,
            self.total,
            _duration(elapsed),
            _duration(remaining),
            retrain,
        )


def _format(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
