"""The study's ``vertex:`` section: where Vertex AI's runs, tuning jobs and models go.

Owned by the Vertex plug-ins (the ``vertex`` tracker and ``python -m search.vertex``); a study
file writes it as one mapping, and the flags ``--project``, ``--location``, ``--experiment``,
``--tensorboard`` override its keys. Imports nothing of the Vertex SDK.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from search.settings import setting

#: The study keys of this section, refused at the top of a study file (they were there once).
KEYS = ("project", "location", "experiment", "tensorboard")


@dataclass(frozen=True)
class VertexSettings:
    project: str | None = setting(
        None,
        "Google Cloud project (default $GOOGLE_CLOUD_PROJECT)",
        group="vertex",
    )
    location: str = setting("us-central1", "Google Cloud region", group="vertex")
    experiment: str | None = setting(
        None,
        "Vertex AI Experiments experiment (default: the study's name)",
        group="vertex",
    )
    tensorboard: str | None = setting(
        None,
        "the experiment's TensorBoard resource, for per-epoch metrics",
        group="vertex",
    )

    def project_or_environment(self) -> str | None:
        """The project, or ``$GOOGLE_CLOUD_PROJECT`` where the study names none."""
        return self.project or os.environ.get("GOOGLE_CLOUD_PROJECT") or None
