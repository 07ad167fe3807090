"""Every trial is an Experiments run: the tracking interface and its backends.

``mlflow`` (MLflow on SQLite in the study folder) is the embedded default; ``none`` logs
nothing. Backends are imported only when chosen.
"""

from __future__ import annotations

import logging

from search.study_config import StudyConfig
from search.tracking.base import Run, RunState, Tracker
from search.tracking.null import NullTracker

__all__ = ["Run", "RunState", "Tracker", "make_tracker"]


def make_tracker(config: StudyConfig) -> Tracker:
    """The tracker the study names, its experiment named after the study."""
    if config.tracking == "mlflow":
        from search.tracking.mlflow_tracker import MlflowTracker

        logging.getLogger("mlflow").setLevel(logging.WARNING)

        config.output_dir.mkdir(parents=True, exist_ok=True)
        return MlflowTracker(
            config.mlflow_uri,
            experiment=config.name,
            artifact_dir=config.output_dir / "mlartifacts",
        )
    return NullTracker(experiment=config.name)
