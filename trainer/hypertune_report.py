"""Reporting the objective to Vertex AI's hyperparameter tuning service (cloudml-hypertune).

The library writes ``$CLOUD_ML_HP_METRIC_FILE`` (default ``/tmp/hypertune/output.metrics``),
one JSON object a line; the service reads the newest value for the metric tag.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

METRIC_TAG = "val_accuracy"


def report_val_accuracy(value: float, epoch: int) -> None:
    import hypertune

    hypertune.HyperTune().report_hyperparameter_tuning_metric(
        hyperparameter_metric_tag=METRIC_TAG, metric_value=float(value), global_step=int(epoch)
    )
    logger.info("reported %s=%.4f (epoch %d) to hypertune", METRIC_TAG, value, epoch)
