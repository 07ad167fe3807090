"""Search engines: each turns the study's space into trials of ``search.trial.TrialRunner``,
and reads its study's trials back as ``TrialRecord``s (the contract: ``search.contract``).

Engines are named in ``search.components`` and imported only when chosen (Keras Tuner
imports TensorFlow).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from search.components import ENGINES, load, require
from search.contract import BestTrial, Engine, TrialRecord

if TYPE_CHECKING:
    from search.study_config import StudyConfig
    from trainer.objectives import Objective

__all__ = ["BestTrial", "Engine", "TrialRecord", "best_of", "open_engine", "require_engine"]


def open_engine(config: StudyConfig, *, create: bool = True) -> Engine:
    """Opens the study's engine and its storage (a bad storage URL fails here, early). With
    ``create=False`` (reading back) a study that does not exist yet is not created.

    Raises:
        MissingExtra: the engine's extra (``[keras-tuner]``) is not installed.
    """
    require_engine(config)
    target = ENGINES[config.engine].target
    engine: Engine = load(target, f"engine {config.engine}", "--engine optuna")(
        config, create=create
    )
    return engine


def require_engine(config: StudyConfig) -> None:
    """Finds the modules the study's engine imports when it searches, without importing them.

    Raises:
        MissingExtra: the engine's extra is not installed.
    """
    require(ENGINES[config.engine].modules, f"engine {config.engine}", "--engine optuna")


def best_of(
    records: list[TrialRecord], objectives: Sequence[Objective] | None = None
) -> TrialRecord | None:
    """The complete, feasible record of the best primary objective (``val_accuracy`` unless
    ``objectives`` say otherwise), the earliest among ties."""
    from search.front import best_record
    from trainer.objectives import objective

    return best_record(records, objectives or [objective("val_accuracy")])
