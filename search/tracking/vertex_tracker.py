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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from google.cloud import aiplatform
from google.cloud.aiplatform_v1.types import Execution

from search.tracking.base import ParamValue, RunRecord, RunState, state_of
from trainer.errors import CloudError
from trainer.vertex_experiment import cast, start_run

if TYPE_CHECKING:
    from search.study_config import StudyConfig

logger = logging.getLogger(__name__)

_STATES: dict[RunState, Any] = {
    "complete": Execution.State.COMPLETE,
    "pruned": Execution.State.COMPLETE,
    "failed": Execution.State.FAILED,
    "interrupted": Execution.State.CANCELLED,
}


class VertexRun:
    def __init__(self, name: str, time_series: bool, on_end: Callable[[], object]) -> None:
        self._name = name
        self._time_series = time_series
        self._warned = False
        self._on_end = on_end

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
        self._on_end()


def open_tracker(config: StudyConfig, *, create: bool = True) -> VertexTracker:
    """Checks the project and credentials before any trial starts.

    Raises:
        CloudError: no project, or no credentials.
    """
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    project = config.vertex.project_or_environment()
    if not project:
        raise CloudError(
            "tracking vertex needs a Google Cloud project: pass --project, set "
            "`vertex: {project: ...}` in the study, or set GOOGLE_CLOUD_PROJECT."
        )
    try:
        google.auth.default()
    except DefaultCredentialsError as error:
        raise CloudError(
            "tracking vertex needs Google Cloud credentials: run `gcloud auth "
            "application-default login` or set GOOGLE_APPLICATION_CREDENTIALS."
        ) from error
    return VertexTracker(
        project=project,
        location=config.vertex.location,
        experiment=config.vertex.experiment or config.name,
        tensorboard=config.vertex.tensorboard,
    )


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
        # The experiment's unfinished runs by trial key, read once: listing the experiment
        # costs a request per run or more, so reading it at every run start made a search's
        # requests grow with the square of its trials (Vertex's quotas count them).
        self._open: dict[str, list[str]] | None = None

    @property
    def experiment(self) -> str:
        return self._experiment

    def start_run(self, name: str, params: Mapping[str, ParamValue], key: str) -> VertexRun:
        """Starts ``name`` after deleting any unfinished run of ``key`` (its worker was
        killed); a name already taken gets ``-r2``, ``-r3``... deterministically.

        The experiment is read once, at the first call: the unfinished runs of processes that
        ended before it, and the runs this tracker starts and ends after it, are known.
        """
        for stale in self._unfinished(key):
            logger.info("discarding the unfinished run %s of %s", stale, key)
            aiplatform.ExperimentRun(stale, experiment=self._experiment).delete()
        chosen = start_run(name)
        aiplatform.log_params({"trial_key": key, **{k: cast(v) for k, v in params.items()}})
        self._unfinished_runs().setdefault(key, []).append(chosen)
        return VertexRun(chosen, self._time_series, on_end=lambda: self._unfinished(key))

    def close_orphans(self, keys: Sequence[str]) -> int:
        """Ends the unfinished runs of ``keys`` as CANCELLED (``trial_state`` interrupted),
        reading the experiment again (the runs of workers killed since the first read)."""
        self._open = None
        closed = 0
        for key in keys:
            for stale in self._unfinished(key):
                run = aiplatform.ExperimentRun(stale, experiment=self._experiment)
                run.log_params({"trial_state": "interrupted"})
                run.end_run(state=_STATES["interrupted"])
                closed += 1
        return closed

    def _unfinished_runs(self) -> dict[str, list[str]]:
        if self._open is None:
            self._open = {}
            for record in self.runs():
                if record.state == "running":
                    self._open.setdefault(record.key, []).append(record.name)
        return self._open

    def _unfinished(self, key: str) -> list[str]:
        """The unfinished runs of ``key``, forgotten as they are returned (the caller ends or
        deletes them)."""
        return self._unfinished_runs().pop(key, [])

    def runs(self) -> list[RunRecord]:
        """The experiment's runs as ``aiplatform.get_experiment_df`` gives them; the state is
        the ``trial_state`` param the search logged, else the run's own."""
        frame = aiplatform.get_experiment_df(self._experiment, include_time_series=False)
        records = []
        for row in frame.to_dict("records"):
            params = {k[6:]: v for k, v in row.items() if k.startswith("param.")}
            key = str(params.pop("trial_key", "") or "")
            state = params.pop("trial_state", None)
            if not isinstance(state, str):  # a run the search never ended (or a NaN cell)
                state = str(row.get("state", ""))
            records.append(
                RunRecord(
                    run_id=str(row.get("run_name", "")),
                    name=str(row.get("run_name", "")),
                    key=key,
                    state=state_of(str(state)),
                    params=params,
                    metrics={
                        k[7:]: float(v)
                        for k, v in row.items()
                        if k.startswith("metric.") and _is_number(v)
                    },
                )
            )
        return records

    def register(self, run_id: str, model_dir: Path, *, study: str, tags: Mapping[str, str]) -> str:
        """Vertex's Model Registry takes a ``gs://`` export (``python -m search.vertex
        --register``); a local export is not registered."""
        logger.info(
            "tracking vertex: the local export %s is not registered; upload it to gs:// and "
            "run python -m search.vertex --register GS_MODEL_DIR",
            model_dir,
        )
        return ""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(float(value))
