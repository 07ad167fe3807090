"""Search engines: each turns the study's space into trials of ``search.trial.TrialRunner``.

Engines are imported only when chosen (Keras Tuner imports TensorFlow).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from search.budget import Throughput
    from search.study_config import StudyConfig
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


class Engine(Protocol):
    def search(self, runner: TrialRunner) -> BestTrial | None:
        """Runs the study's remaining trials; returns its best completed trial."""
        ...

    def best(self, runner: TrialRunner) -> BestTrial | None:
        """The best completed trial so far, running nothing."""
        ...


def open_engine(config: StudyConfig) -> Engine:
    """Opens the study's engine and its storage (a bad storage URL fails here, early)."""
    if config.engine == "optuna":
        from search.engines.optuna_engine import OptunaEngine

        return OptunaEngine(config)
    from search.engines.keras_tuner_engine import KerasTunerEngine

    return KerasTunerEngine(config)
