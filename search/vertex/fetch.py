"""Bringing a finished Vertex AI tuning job's trials back into the study folder.

The trials (parameters, each objective's final value, the primary's per step, states, times)
are written to
``studies/<name>/vertex_trials.json``, which ``search.results.records`` reads, so the local
dashboard and compare table show cloud results too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from model_space import CNN_SPACE
from search.results.records import FETCHED_FILE
from search.study_config import StudyConfig
from trainer import interrupts
from trainer.cli_types import flag_type

_STATES = {
    "SUCCEEDED": "complete",
    "INFEASIBLE": "failed",
    "STOPPING": "pruned",
    "ACTIVE": "running",
}


def fetch(
    config: StudyConfig, job_name: str, *, project: str, location: str, credentials: Any = None
) -> Path:
    """Reads the job's trials and writes them to the study folder; returns the file's path.

    Raises:
        CloudError: the service refused (no credentials, no permission, no such job).
    """
    from google.cloud import aiplatform

    from search.vertex.job import explain_cloud_error

    try:
        job: Any = aiplatform.HyperparameterTuningJob.get(
            resource_name=job_name, project=project, location=location, credentials=credentials
        )
        trials = [trial_record(trial, config.objectives[0]) for trial in job.trials]
    except Exception as error:
        interrupts.raise_if_interrupt(error)
        raise explain_cloud_error(error) from error
    path = config.output_dir / FETCHED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{os.getpid()}")
    staged.write_text(json.dumps({"job": job_name, "trials": trials}, indent=2) + "\n")
    staged.replace(path)
    return path


def trial_record(trial: Any, primary: str = "val_accuracy") -> dict[str, Any]:
    """One Vertex ``Trial`` as plain data, parameters typed by the declared space: ``curve``
    and ``value`` are the ``primary`` objective's, ``values`` every metric it reported."""
    params = {
        p.parameter_id: flag_type(CNN_SPACE[p.parameter_id])(_text(p.value))
        for p in trial.parameters
        if p.parameter_id in CNN_SPACE.names
    }
    curve = [
        metric.value
        for measurement in sorted(trial.measurements, key=lambda m: m.step_count)
        for metric in measurement.metrics
        if metric.metric_id == primary
    ]
    values = {m.metric_id: float(m.value) for m in trial.final_measurement.metrics}
    seconds = None
    if trial.start_time and trial.end_time:
        seconds = (trial.end_time - trial.start_time).total_seconds()
    return {
        "number": int(trial.id),
        "state": _STATES.get(type(trial).State(trial.state).name, "failed"),
        "value": values.get(primary),
        "values": values,
        "params": params,
        "curve": curve,
        "seconds": seconds,
        "reason": trial.infeasible_reason,
    }


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
