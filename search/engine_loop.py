"""The loop every engine's search shares, so an engine only asks, tells and reads back.

An engine's search, whatever its sampler, goes: ``loop.begin(records)``; then, for each new
trial, ``loop.allows_trial(records)`` (the time budget and the constraints' guard), the
engine's own ask, ``loop.run(asked)``, and the engine's own tell, which stores
``search.contract.trial_attrs(outcome)`` with the trial. The loop owns the rest: the progress
lines, the trial keys, the retrain's reserve and the checkpoint an interrupted trial hands
over; the contract says which attributes a trial keeps (its times, throughput, objectives,
feasibility), so that ``record_fields`` reads them back the same way for every engine and the
budget survives a resume.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import keras

from search.budget import Throughput
from search.contract import Runner, TrialRecord, trial_key
from search.front import best_record
from search.progress import Progress
from search.trial import TrialOutcome

if TYPE_CHECKING:
    from search.tracking import Run

logger = logging.getLogger(__name__)

#: A search stops when its untrained, infeasible trials reach this many per asked-for trial:
#: its constraints leave too little of the space.
INFEASIBLE_PER_TRIAL = 10


class Pruning(Protocol):
    """A Keras callback that may stop the trial: ``pruned`` tells afterwards; ``measured``
    gets the objectives known before training."""

    pruned: bool

    def measured(self, values: Mapping[str, float]) -> None: ...


@dataclass(frozen=True)
class Asked:
    """A trial the engine asked for.

    Attributes:
        number: its number in the study (its key is ``<engine>-<number>``).
        params: a complete point of the study's space.
        epochs: its most epochs (default: the study's).
        resumes: the key of an interrupted trial whose checkpoint it continues.
        pruning: the engine's pruning callback, if it prunes.
        on_start: called with the trial's run once it has started.
    """

    number: int
    params: Mapping[str, Any]
    epochs: int | None = None
    resumes: str = ""
    pruning: Pruning | None = None
    on_start: Callable[[Run], None] | None = None


class TrialLoop:
    """Progress, budget, keys, checkpoint hand-over and trial attributes for one engine."""

    def __init__(self, engine: str, runner: Runner) -> None:
        self.engine = engine
        self.runner = runner
        self.config = runner.config
        self.objectives = self.config.objective_list()
        self.progress = Progress(self.config.trials, primary=self.objectives[0])
        self._reserve = 0.0

    def key(self, number: int) -> str:
        return trial_key(self.engine, number)

    def begin(self, records: Sequence[TrialRecord], description: str) -> None:
        """Logs what the search starts from: the trials already finished, the best."""
        self.progress.done = sum(_counted(r) for r in records)
        best = best_record(records, self.objectives)
        if best is not None and best.value is not None:
            self.progress.best, self.progress.best_trial = best.value, best.key
        self.progress.begin(description)

    def allows_trial(self, records: Sequence[TrialRecord]) -> bool:
        """Whether a new trial may start: the budget still holds a typical trial and the best
        trial's retrain, and the constraints have not refused too many configurations."""
        infeasible = sum(r.feasible is False and r.state == "failed" for r in records)
        if infeasible >= INFEASIBLE_PER_TRIAL * self.config.trials:
            logger.warning(
                "%d configurations broke the constraints (%s) before training: the search "
                "stops. Loosen the constraints or narrow the study's space toward smaller "
                "models.",
                infeasible,
                ", ".join(self.config.constraints),
            )
            return False
        best = best_record(records, self.objectives)
        throughput = Throughput.from_attrs(best.metrics) if best else None
        self._reserve = self.runner.retrain_reserve(throughput)
        durations = [r.seconds for r in records if r.state == "complete" and r.seconds]
        return self.runner.allows_trial(throughput, durations)

    def run(self, asked: Asked) -> TrialOutcome:
        """Runs the trial through the runner, with the checkpoint it continues, its progress
        lines and the retrain's reserve (from the last ``allows_trial``)."""
        key = self.key(asked.number)
        if asked.resumes and self.config.checkpoint_dir(asked.resumes).exists():
            self.config.checkpoint_dir(asked.resumes).rename(self.config.checkpoint_dir(key))
            logger.info(
                "trial %s continues the interrupted %s from its checkpoint", key, asked.resumes
            )
        self.progress.trial_started(key, asked.params)
        pruning = asked.pruning
        callbacks = [pruning] if isinstance(pruning, keras.callbacks.Callback) else []
        outcome = self.runner.run(
            asked.params,
            key,
            asked.number,
            epochs=asked.epochs,
            callbacks=callbacks,
            is_pruned=lambda: bool(pruning and pruning.pruned),
            on_start=asked.on_start or (lambda run: None),
            on_measured=pruning.measured if pruning else lambda values: None,
            reserve=self._reserve,
        )
        self.progress.trial_finished(key, outcome, self._reserve, self.runner.time_left())
        return outcome


def _counted(record: TrialRecord) -> bool:
    if record.state in ("complete", "pruned"):
        return True
    return record.state == "failed" and record.feasible is not False
