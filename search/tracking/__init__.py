"""Every trial is an Experiments run: the tracking interface and its backends.

``mlflow`` (MLflow on SQLite in the study folder) is the embedded default; ``none`` logs
nothing. Backends are imported only when chosen.
"""

from __future__ import annotations

import logging
import os

from search.study_config import StudyConfig
from search.tracking.base import Run, RunState, Tracker
from search.tracking.null import NullTracker
from trainer.errors import CloudError

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
    if config.tracking == "vertex":
        return _vertex_tracker(config)
    return NullTracker(experiment=config.name)


def _vertex_tracker(config: StudyConfig) -> Tracker:
    """Checks the project and credentials before any trial starts."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    project = config.project or os.environ.get("GOOGLE_CLOUD_PROJECT")
    if not project:
        raise CloudError(
            "tracking vertex needs a Google Cloud project: pass --project, set project in the "
            "study, or set GOOGLE_CLOUD_PROJECT."
        )
    try:
        google.auth.default()
    except DefaultCredentialsError as error:
        raise CloudError(
            "tracking vertex needs Google Cloud credentials: run `gcloud auth "
            "application-default login` or set GOOGLE_APPLICATION_CREDENTIALS."
        ) from error
    from search.tracking.vertex_tracker import VertexTracker

    return VertexTracker(
        project=project,
        location=config.location,
        experiment=config.experiment or config.name,
        tensorboard=config.tensorboard,
    )
