"""MLflow as the local Experiments service: one experiment per study, one run per trial.

The store is SQLite in the study folder by default; ``mlflow ui --backend-store-uri
sqlite:///studies/<name>/mlflow.db`` is the local console.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from search.tracking.base import ParamValue, RunRecord, RunState, state_of

if TYPE_CHECKING:
    from search.study_config import StudyConfig

logger = logging.getLogger(__name__)

KEY_TAG = "trial_key"
#: The study's parent run (MLflow's convention for a search: the trials are its nested runs,
#: which the UI groups under it); it holds no trial.
PARENT_TAG = "study_parent"
#: MLflow's own tag that nests a run under another.
NESTED_TAG = "mlflow.parentRunId"
STATE_TAG = "trial_state"
REASON_TAG = "fail_reason"
#: Logged per epoch (steps 1, 2...) under their own names, and as the run's result (the best
#: epoch's, which the trial reports; the retrained model's, as exported) under
#: ``objective_<name>``: MLflow's UI shows a metric's latest step, the last epoch, so the result
#: gets a column of its own. Stores written before kept the result at step 0 of the name.
FINAL_AND_PER_EPOCH = ("val_accuracy", "val_loss")
RESULT_PREFIX = "objective_"
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
        if step is None:
            metrics = {_result_key(key): value for key, value in metrics.items()}
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


def open_tracker(config: StudyConfig, *, create: bool = True) -> MlflowTracker:
    """The study's MLflow experiment (SQLite in the study folder unless ``tracking_uri``)."""
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    # It logs a store's error with its traceback, then raises it: the raise alone says it
    # (as one line where it is a fault of the machine, such as a lock held past the wait).
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
    if not create:
        return MlflowTracker(config.mlflow_uri, experiment=config.name, artifact_dir=None)
    config.output_dir.mkdir(parents=True, exist_ok=True)
    return MlflowTracker(
        config.mlflow_uri, experiment=config.name, artifact_dir=config.output_dir / "mlartifacts"
    )


class MlflowTracker:
    """Runs in the MLflow experiment named ``experiment`` at ``uri``; with ``artifact_dir``
    ``None`` (reading back) a missing experiment is not created and reads as no runs."""

    def __init__(self, uri: str, *, experiment: str, artifact_dir: Path | None) -> None:
        self.uri = uri
        self._experiment = experiment
        self.experiment_id: str | None = None
        self.parent_id = ""
        if artifact_dir is None:  # reading: never create the store or the experiment
            if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
                return
            self.client = MlflowClient(tracking_uri=uri)
            found = self.client.get_experiment_by_name(experiment)
            self.experiment_id = found.experiment_id if found else None
            return
        # Workers started together would create the store (MLflow's migrations: "table
        # _alembic_tmp_experiments already exists") and the experiment at once: one at a time.
        with _setup_lock(uri, artifact_dir):
            self.client = MlflowClient(tracking_uri=uri)
            found = self.client.get_experiment_by_name(experiment)
            if found is not None:
                self.experiment_id = found.experiment_id
            else:
                self.experiment_id = self.client.create_experiment(
                    experiment, artifact_location=artifact_dir.absolute().as_uri()
                )
            self.parent_id = self._parent_run()

    def _parent_run(self) -> str:
        """The study's parent run, created with the experiment's first trial (under the setup
        lock: one per study however many workers start together)."""
        experiment_id = self._writable()
        found = self.client.search_runs(
            [experiment_id], filter_string=f"tags.{PARENT_TAG} = '1'", max_results=1
        )
        if found:
            return str(found[0].info.run_id)
        run = self.client.create_run(
            experiment_id, run_name=f"study-{self._experiment}", tags={PARENT_TAG: "1"}
        )
        self.client.set_terminated(run.info.run_id, status="FINISHED")
        return str(run.info.run_id)

    @property
    def experiment(self) -> str:
        return self._experiment

    def _writable(self) -> str:
        if self.experiment_id is None:
            raise RuntimeError("this MLflow tracker was opened for reading (create=False)")
        return self.experiment_id

    def start_run(self, name: str, params: Mapping[str, ParamValue], key: str) -> MlflowRun:
        for stale in self._runs_with_key(key, statuses=("RUNNING", "KILLED")):
            logger.info("discarding the unfinished run %s of %s", stale.info.run_name, key)
            self.client.delete_run(stale.info.run_id)
        tags = {KEY_TAG: key, STATE_TAG: "running"}
        if self.parent_id:
            tags[NESTED_TAG] = self.parent_id
        run = self.client.create_run(self._writable(), run_name=name, tags=tags)
        self.client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items()])
        return MlflowRun(self.client, run.info.run_id, name)

    def close_orphans(self, keys: Sequence[str]) -> int:
        closed = 0
        for key in keys:
            for run in self._runs_with_key(key, statuses=("RUNNING",)):
                MlflowRun(self.client, run.info.run_id, run.info.run_name or "").end("interrupted")
                closed += 1
        return closed

    def runs(self) -> list[RunRecord]:
        if self.experiment_id is None:
            return []
        return [
            self._record(run)
            for run in self.client.search_runs([self.experiment_id], max_results=50_000)
            if PARENT_TAG not in run.data.tags
        ]

    def register(self, run_id: str, model_dir: Path, *, study: str, tags: Mapping[str, str]) -> str:
        from search.tracking.mlflow_registry import register_best

        return register_best(self, run_id, model_dir, study=study, tags=dict(tags))

    def _record(self, run: Any) -> RunRecord:
        metrics = dict(run.data.metrics)
        curve: tuple[float, ...] = ()
        for key in FINAL_AND_PER_EPOCH:
            result = metrics.pop(_result_key(key), None)
            if key not in metrics and result is None:
                continue
            history = (  # read for the curve, or for a result kept at step 0 (stores before)
                sorted(self.client.get_metric_history(run.info.run_id, key), key=_step)
                if result is None or key == "val_accuracy"
                else []
            )
            if result is None:
                finals = [m.value for m in history if m.step == 0]
                result = finals[-1] if finals else None
            if result is not None:
                metrics[key] = result
            else:
                metrics.pop(key)  # only per-epoch values: the run never finished
            if key == "val_accuracy":
                curve = tuple(m.value for m in history if m.step > 0 and math.isfinite(m.value))
        return RunRecord(
            run_id=run.info.run_id,
            name=run.info.run_name or "",
            key=run.data.tags.get(KEY_TAG, ""),
            state=state_of(run.data.tags.get(STATE_TAG, run.info.status)),
            params={k: _number(v) for k, v in run.data.params.items()},
            metrics=metrics,
            curve=curve,
        )

    def _runs_with_key(self, key: str, *, statuses: tuple[str, ...]) -> list[Any]:
        if self.experiment_id is None:
            return []
        runs = self.client.search_runs(
            [self.experiment_id], filter_string=f"tags.{KEY_TAG} = '{key}'"
        )
        # A run our tracker never ended still says "running", whatever MLflow's status (code
        # that reopens a run with ``mlflow.start_run(run_id=...)`` marks it FINISHED on exit).
        return [
            run
            for run in runs
            if run.info.status in statuses or run.data.tags.get(STATE_TAG) == "running"
        ]


def _setup_lock(uri: str, artifact_dir: Path) -> FileLock:
    """A file lock beside a SQLite store (else beside the artifacts): the processes of one
    machine create the store and the experiment one at a time."""
    if uri.startswith("sqlite:///"):
        return FileLock(f"{uri.removeprefix('sqlite:///')}.setup.lock")
    artifact_dir.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(artifact_dir.parent / "mlflow.setup.lock"))


def _result_key(key: str) -> str:
    return f"{RESULT_PREFIX}{key}" if key in FINAL_AND_PER_EPOCH else key


def _step(metric: Any) -> tuple[int, int]:
    return (metric.step, metric.timestamp)


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text
