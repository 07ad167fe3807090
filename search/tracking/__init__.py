"""Every trial is an Experiments run: the tracking interface and its backends.

``mlflow`` (MLflow on SQLite in the study folder) is the embedded default; ``vertex`` is
Vertex AI Experiments; ``none`` logs nothing. Backends are named in ``search.components`` and
imported only when chosen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from search.components import TRACKERS, load
from search.tracking.base import STATES, Run, RunRecord, RunState, State, Tracker

if TYPE_CHECKING:
    from search.study_config import StudyConfig

__all__ = ["STATES", "Run", "RunRecord", "RunState", "State", "Tracker", "open_tracker"]


def open_tracker(config: StudyConfig, *, create: bool = True) -> Tracker:
    """The tracker the study names, its experiment named after the study.

    With ``create=False`` (reading back) nothing is created: a study never tracked reads as
    no runs.

    Raises:
        CloudError: tracking vertex without a project or credentials.
        MissingExtra: the tracker's extra (``[mlflow]``, ``[vertex]``) is not installed.
    """
    target = TRACKERS[config.tracking]
    tracker: Tracker = load(target, f"tracking {config.tracking}", "--tracking none")(
        config, create=create
    )
    return tracker
