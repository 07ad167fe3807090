"""Reporting the objectives to Vertex AI's hyperparameter tuning service (cloudml-hypertune).

The library writes ``$CLOUD_ML_HP_METRIC_FILE`` (default ``/tmp/hypertune/output.metrics``),
one JSON object a line; the service reads the newest value of each metric tag, one tag per
metric of the tuning job's spec (``search.vertex.job``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

logger = logging.getLogger(__name__)


def report_objectives(values: Mapping[str, float], epoch: int, primary: str) -> None:
    """Reports each objective under its own tag, the primary last (the file's last line)."""
    import hypertune

    reporter = hypertune.HyperTune()
    for name in sorted(values, key=lambda n: n == primary):
        reporter.report_hyperparameter_tuning_metric(
            hyperparameter_metric_tag=name, metric_value=float(values[name]), global_step=epoch
        )
    logger.info(
        "reported %s (epoch %d) to hypertune",
        ", ".join(f"{k}={v:.4g}" for k, v in values.items()),
        epoch,
    )
