"""Search engines: each turns the study's space into trials of ``search.trial.TrialRunner``,
and reads its study's trials back as ``TrialRecord``s.

Engines are named in ``search.components`` and imported only when chosen (Keras Tuner
imports TensorFlow).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from search.components import ENGINES, load

if TYPE_CHECKING:
    from search.budget import Throughput
    from search.study_config import StudyConfig
    from search.tracking.base import State
    from search.trial import TrialRunner


@dataclass(frozen=True)
class BestTrial:
    """The best finished trial of a study, whatever its engine."""

    key: str
    number: int
    params: dict[str, Any]
    val_accuracy: float
    run_id: str = ""
    throughput: Throughput | None = None


@dataclass(frozen=True)
class TrialRecord:
    """One trial read back: ``value`` is its best ``val_accuracy`` (``None`` unless complete
    or pruned); ``metrics`` are its run's final metrics where a tracker kept them."""

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


class Engine(Protocol):
    def search(self, runner: TrialRunner) -> BestTrial | None:
        """Runs the study's remaining trials; returns its best completed trial."""
        ...

    def best(self) -> BestTrial | None:
        """The best completed trial so far, running nothing."""
        ...

    def records(self) -> list[TrialRecord]:
        """Every trial of the study (finished, running, interrupted), ordered by number;
        empty for a study that has none yet. Imports nothing heavy."""
        ...


def open_engine(config: StudyConfig, *, create: bool = True) -> Engine:
    """Opens the study's engine and its storage (a bad storage URL fails here, early). With
    ``create=False`` (reading back) a study that does not exist yet is not created."""
    engine: Engine = load(ENGINES[config.engine].target)(config, create=create)
    return engine


def best_of(records: list[TrialRecord]) -> TrialRecord | None:
    """The complete record of the highest value, the earliest among ties."""
    complete = [r for r in records if r.state == "complete" and r.value is not None]
    return max(complete, key=lambda r: (r.value, -r.number)) if complete else None
