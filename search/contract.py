"""The search contract: what every engine gives and takes, written down in one place.

An engine (``search.components.ENGINES``) is opened as ``factory(config, create=...)`` and is an
``Engine``: it runs the study's remaining trials through a ``Runner`` and reads its trials back
as ``TrialRecord``s. Whatever it is, it

- asks the runner ``allows_trial`` before each new trial (the time budget) and passes
  ``retrain_reserve`` as the trial's ``reserve``;
- names each trial ``trial_key(engine, number)`` and calls ``Runner.run`` once per trial;
- stores ``trial_attrs(outcome)`` with the trial and tells its sampler the ``TrialOutcome``'s
  state (an infeasible trial, never trained, is ``failed`` with ``feasible`` false and does not
  count toward ``trials``) and ``values`` (one per objective);
- reads back, in ``records()``, every trial (finished, running, interrupted) in the one state
  vocabulary, with ``record_fields`` of what it stored, the value of the primary objective as
  ``value`` and every measured objective in ``values``.

``search.engine_loop.TrialLoop`` does the shared part of this (progress, budget, keys, the
retrain's reserve, checkpoint hand-over), so an engine is its ask, its tell and its records.

The best trial is the one ``search.front.best_record`` chooses: a complete, feasible trial of the
best primary value. The engine conformance suite (``search.testing.engine_suite``) checks all of
this for any engine; a plug-in author runs it on theirs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from search.tracking.base import STATES, RunState, State

if TYPE_CHECKING:
    import keras

    from search.budget import Throughput
    from search.study_config import StudyConfig
    from search.tracking import Run, Tracker
    from search.trial import TrialOutcome

__all__ = [
    "STATES",
    "BestTrial",
    "Engine",
    "EngineFactory",
    "RunState",
    "Runner",
    "State",
    "TrialRecord",
    "record_fields",
    "trial_attrs",
    "trial_key",
]


def trial_key(engine: str, number: int) -> str:
    """A trial's key, unique in its study: ``optuna-7``, ``keras-tuner-3``, ``vertex-12``. The
    tracker's run, the checkpoint folder and the compare table's row all go by it."""
    return f"{engine}-{number}"


@dataclass(frozen=True)
class BestTrial:
    """The trial chosen to retrain, whatever its engine.

    Attributes:
        val_accuracy: the primary objective's value (named so because it is
            ``val_accuracy`` unless the study says otherwise).
        values: every objective measured for it.
    """

    key: str
    number: int
    params: dict[str, Any]
    val_accuracy: float
    run_id: str = ""
    throughput: Throughput | None = None
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialRecord:
    """One trial read back.

    Attributes:
        value: the primary objective's value (``None`` unless complete or pruned).
        values: every objective measured for it (before training, and after it when trained).
        feasible: whether it met the study's constraints (``None``: the study has none).
        metrics: its run's final metrics where a tracker kept them.
    """

    number: int
    key: str
    state: State
    value: float | None
    params: dict[str, Any]
    curve: tuple[float, ...] = ()
    seconds: float | None = None
    parameter_count: int | None = None
    run_name: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    values: dict[str, float] = field(default_factory=dict)
    feasible: bool | None = None


class Runner(Protocol):
    """What an engine may ask of the trial runner (``search.trial.TrialRunner``)."""

    @property
    def config(self) -> StudyConfig: ...

    @property
    def tracker(self) -> Tracker: ...

    def allows_trial(self, best: Throughput | None, trial_seconds: Sequence[float]) -> bool:
        """Whether a typical trial and the best trial's retrain still fit in the budget."""
        ...

    def retrain_reserve(self, throughput: Throughput | None) -> float:
        """The seconds to keep for the retrain of a trial of ``throughput``."""
        ...

    def time_left(self) -> float:
        """The seconds left in the budget (``math.inf`` without one)."""
        ...

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
        """Trains one trial (or records it infeasible, untrained) and says how it ended.
        ``on_start`` gets its run; ``on_measured`` the objectives known before training."""
        ...


class Engine(Protocol):
    def search(self, runner: Runner) -> BestTrial | None:
        """Runs the study's remaining trials; returns its best completed trial."""
        ...

    def best(self) -> BestTrial | None:
        """The best completed trial so far, running nothing."""
        ...

    def records(self) -> list[TrialRecord]:
        """Every trial of the study (finished, running, interrupted), ordered by number;
        empty for a study that has none yet. Imports nothing heavy."""
        ...


#: The attributes a trial keeps for the budget and the views, beside its values.
TIMING_ATTRS = (
    "compile_seconds",
    "steady_epoch_seconds",
    "train_images_per_second",
    "val_images_per_second",
)


def trial_attrs(outcome: TrialOutcome, primary: str) -> dict[str, Any]:
    """What an engine keeps with a finished trial (JSON values), read back by
    ``record_fields``."""
    values = {primary: outcome.val_accuracy, **outcome.values}
    attrs: dict[str, Any] = {
        "values": {k: v for k, v in values.items() if math.isfinite(v)},
        "trial_seconds": outcome.seconds,
    }
    if outcome.trained:
        attrs["epochs_run"] = outcome.epochs_run
        attrs["parameter_count"] = outcome.parameter_count
        attrs.update(outcome.throughput.as_attrs() if outcome.throughput else {})
    else:
        attrs["infeasible"] = True
    if outcome.feasible is not None:
        attrs["feasible"] = outcome.feasible
    if outcome.reason:
        attrs["fail_reason" if outcome.state == "failed" else "prune_reason"] = outcome.reason[
            :2000
        ]
    return attrs


def record_fields(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The ``TrialRecord`` fields that ``trial_attrs`` kept."""
    feasible = attrs.get("feasible")
    return {
        "seconds": attrs.get("trial_seconds"),
        "parameter_count": attrs.get("parameter_count"),
        "reason": str(attrs.get("fail_reason") or attrs.get("prune_reason") or ""),
        "metrics": {k: float(attrs[k]) for k in TIMING_ATTRS if k in attrs},
        "values": {k: float(v) for k, v in dict(attrs.get("values") or {}).items()},
        "feasible": None if feasible is None else bool(feasible),
    }


#: ``factory(config, create=...)``: ``create=False`` reads back without creating a study.
EngineFactory = Callable[..., Engine]
