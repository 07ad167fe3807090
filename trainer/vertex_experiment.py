"""Logging one training job as a Vertex AI Experiments run (``--experiment``).

A tuning trial or custom job on Vertex AI runs this inside the container: the run is named by
the run-name rule (with the trial's ID), its parameters cast to ``float | int | str``, its
final metrics and test confusion matrix logged, and it ends COMPLETE. The project comes from
the job's credentials, the region from ``$CLOUD_ML_REGION``. ``search.tracking`` uses the same
``cast`` and ``start_run`` for its Vertex backend.
"""

from __future__ import annotations

import logging
import numbers
import os
from collections.abc import Mapping
from typing import Any

from trainer import interrupts

logger = logging.getLogger(__name__)

MAX_RENAMES = 9


def cast(value: Any) -> float | int | str:
    """A value the SDK accepts: numpy scalars to Python numbers, booleans and the rest to text."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return str(value)


def start_run(name: str) -> str:
    """Starts run ``name``; a name already taken gets ``-r2``, ``-r3``... deterministically."""
    from google.cloud import aiplatform

    chosen = name
    for attempt in range(1, MAX_RENAMES + 2):
        try:
            aiplatform.start_run(run=chosen)
            return chosen
        except Exception as error:
            interrupts.raise_if_interrupt(error)
            if "already exists" not in str(error).lower() or attempt > MAX_RENAMES:
                raise
            chosen = f"{name}-r{attempt + 1}"
            logger.info("run %s exists; using %s", name, chosen)
    return chosen


def log_job(
    *,
    experiment: str,
    name: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    labels: list[str],
    matrix: list[list[int]],
) -> str:
    """Logs a finished job as one run of ``experiment``; returns the run's name."""
    from google.cloud import aiplatform

    aiplatform.init(experiment=experiment, location=os.environ.get("CLOUD_ML_REGION") or None)
    chosen = start_run(name)
    aiplatform.log_params({k: cast(v) for k, v in params.items()})
    aiplatform.log_metrics({k: float(v) for k, v in metrics.items()})
    aiplatform.log_classification_metrics(
        labels=labels, matrix=matrix, display_name="test-confusion-matrix"
    )
    aiplatform.end_run()  # COMPLETE
    logger.info("logged run %s in Vertex AI experiment %s", chosen, experiment)
    return chosen
