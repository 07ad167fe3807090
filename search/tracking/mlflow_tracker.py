"""MLflow as the local Experiments service: one experiment per study, one run per trial.

The store is SQLite in the study folder by default; ``mlflow ui --backend-store-uri
sqlite:///studies/<name>/mlflow.db`` is the local console.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from search.tracking.base import ParamValue, RunState

logger = logging.getLogger(__name__)

KEY_TAG = "trial_key"
STATE_TAG = "trial_state"
REASON_TAG = "fail_reason"
_STATUS: dict[RunState, str] = {
    "complete": "FINISHED",
    "pruned": "FINISHED",
    "failed": "FAILED",
    "interrupted": "KILLED",
}


class MlflowRun:
    def __init__(self, client: MlflowClient, run_id: str, name: str) -> None:
        self._client = client
        self._run_id = run_id
        self._name = name

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def name(self) -> str:
        return self._name

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        now = int(time.time() * 1000)
        batch = [Metric(key, float(value), now, step or 0) for key, value in metrics.items()]
        self._client.log_batch(self._run_id, metrics=batch)

    def log_confusion_matrix(self, labels: Sequence[str], matrix: Sequence[Sequence[int]]) -> None:
        document = {"labels": list(labels), "matrix": [list(row) for row in matrix]}
        self._client.log_dict(self._run_id, document, "confusion_matrix.json")

    def set_tags(self, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self._client.set_tag(self._run_id, key, value)

    def end(self, state: RunState, reason: str = "") -> None:
        self._client.set_tag(self._run_id, STATE_TAG, state)
        if reason:
            self._client.set_tag(self._run_id, REASON_TAG, reason[:5000])
        self._client.set_terminated(self._run_id, status=_STATUS[state])


class MlflowTracker:
    """Runs in the MLflow experiment named ``experiment`` at ``uri``."""

    def __init__(self, uri: str, *, experiment: str, artifact_dir: Path) -> None:
        self.uri = uri
        self.client = MlflowClient(tracking_uri=uri)
        self._experiment = experiment
        found = self.client.get_experiment_by_name(experiment)
        if found is not None:
            self.experiment_id = found.experiment_id
        else:
            self.experiment_id = self.client.create_experiment(
                experiment, artifact_location=artifact_dir.absolute().as_uri()
            )

    @property
    def experiment(self) -> str:
        return self._experiment

    def start_run(self, name: str, params: Mapping[str, ParamValue], key: str) -> MlflowRun:
        for stale in self._runs_with_key(key, statuses=("RUNNING", "KILLED")):
            logger.info("discarding the unfinished run %s of %s", stale.info.run_name, key)
            self.client.delete_run(stale.info.run_id)
        run = self.client.create_run(
            self.experiment_id, run_name=name, tags={KEY_TAG: key, STATE_TAG: "running"}
        )
        self.client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items()])
        return MlflowRun(self.client, run.info.run_id, name)

    def close_orphans(self, keys: Sequence[str]) -> int:
        closed = 0
        for key in keys:
            for run in self._runs_with_key(key, statuses=("RUNNING",)):
                MlflowRun(self.client, run.info.run_id, run.info.run_name or "").end("interrupted")
                closed += 1
        return closed

    def _runs_with_key(self, key: str, *, statuses: tuple[str, ...]) -> list[Any]:
        runs = self.client.search_runs(
            [self.experiment_id], filter_string=f"tags.{KEY_TAG} = '{key}'"
        )
        return [run for run in runs if run.info.status in statuses]
