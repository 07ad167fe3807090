"""Vertex AI Experiments as a tracking backend: one experiment per study, one run per trial.

Calls go through ``aiplatform``'s module functions (``aiplatform.start_run(...)``), which act
on the current run; trials in one process run one at a time. Values are cast to
``float | int | str``, the only types the SDK accepts. Per-epoch metrics need the experiment's
TensorBoard (``tensorboard:`` in the study, ``--tensorboard``); without one they are not sent
(a warning says so once) and each run keeps its final metrics.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from google.cloud import aiplatform
from google.cloud.aiplatform_v1.types import Execution

from search.tracking.base import ParamValue, RunState
from trainer.vertex_experiment import cast, start_run

logger = logging.getLogger(__name__)

_STATES: dict[RunState, Any] = {
    "complete": Execution.State.COMPLETE,
    "pruned": Execution.State.COMPLETE,
    "failed": Execution.State.FAILED,
    "interrupted": Execution.State.CANCELLED,
}


class VertexRun:
    def __init__(self, name: str, time_series: bool) -> None:
        self._name = name
        self._time_series = time_series
        self._warned = False

    @property
    def run_id(self) -> str:
        return self._name

    @property
    def name(self) -> str:
        return self._name

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        values = {k: float(v) for k, v in metrics.items() if math.isfinite(float(v))}
        if step is None:
            aiplatform.log_metrics(dict(values))
        elif self._time_series:
            aiplatform.log_time_series_metrics(values, step=int(step))
        elif not self._warned:
            logger.warning(
                "the experiment has no TensorBoard: per-epoch metrics are not sent to Vertex AI "
                "(set tensorboard in the study to keep them)"
            )
            self._warned = True

    def log_confusion_matrix(self, labels: Sequence[str], matrix: Sequence[Sequence[int]]) -> None:
        aiplatform.log_classification_metrics(
            labels=[str(label) for label in labels],
            matrix=[[int(v) for v in row] for row in matrix],
            display_name="test-confusion-matrix",
        )

    def set_tags(self, tags: Mapping[str, str]) -> None:
        aiplatform.log_params({f"tag_{k}": cast(v) for k, v in tags.items()})

    def end(self, state: RunState, reason: str = "") -> None:
        params: dict[str, float | int | str] = {"trial_state": state}
        if reason:
            params["fail_reason"] = reason[:1000]
        aiplatform.log_params(params)
        aiplatform.end_run(state=_STATES[state])


class VertexTracker:
    """Runs in the Vertex AI experiment ``experiment`` of ``project`` and ``location``."""

    def __init__(
        self, *, project: str, location: str, experiment: str, tensorboard: str | None = None
    ) -> None:
        aiplatform.init(
            project=project,
            location=location,
            experiment=experiment,
            experiment_tensorboard=tensorboard or None,
        )
        self._experiment = experiment
        self._time_series = bool(tensorboard)

    @property
    def experiment(self) -> str:
        return self._experiment

    def start_run(self, name: str, params: Mapping[str, ParamValue], key: str) -> VertexRun:
        """Starts ``name``; a name already taken gets ``-r2``, ``-r3``... deterministically."""
        chosen = start_run(name)
        aiplatform.log_params({"trial_key": key, **{k: cast(v) for k, v in params.items()}})
        return VertexRun(chosen, self._time_series)

    def close_orphans(self, keys: Sequence[str]) -> int:
        """Vertex AI ends a run whose process died as it stands; nothing to close here."""
        return 0
