"""The Vertex AI Model Registry: an exported SavedModel (``gs://``) becomes a model version.

The version is served by a prebuilt TensorFlow serving container (the export's signature
takes raw ``uint8`` images and uses only standard TensorFlow ops at inference), sits under one
parent model (``parent_model=`` for later versions), carries aliases (``best`` and the study's
name) and labels linking it to the study and its Experiments run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from search.study_config import StudyError
from search.vertex.job import label
from trainer import interrupts

SERVING_IMAGE = "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-17:latest"
_ALIAS = re.compile(r"^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9-]$")


@dataclass(frozen=True)
class Registration:
    artifact_uri: str
    study: str
    run_name: str
    project: str
    location: str = "us-central1"
    parent_model: str | None = None
    serving_image: str = SERVING_IMAGE
    display_name: str = ""

    def __post_init__(self) -> None:
        if not self.artifact_uri.startswith("gs://"):
            raise StudyError(
                "--register needs the exported model's gs:// folder, "
                f"but got {self.artifact_uri!r}."
            )

    @property
    def aliases(self) -> list[str]:
        study = re.sub(r"[^a-z0-9-]", "-", self.study.lower())
        candidates = ["best", study if study[:1].isalpha() else f"study-{study}"]
        return [alias for alias in candidates if _ALIAS.match(alias)]

    @property
    def labels(self) -> dict[str, str]:
        return {"study": label(self.study), "experiment_run": label(self.run_name)}


def register(registration: Registration, credentials: Any = None) -> tuple[str, str]:
    """Uploads the model version; returns its resource name and version ID.

    Raises:
        CloudError: the service refused (quota, permission), with what to change.
    """
    from google.cloud import aiplatform

    from search.vertex.job import explain_cloud_error

    try:
        model = aiplatform.Model.upload(
            display_name=registration.display_name or registration.study,
            artifact_uri=registration.artifact_uri,
            serving_container_image_uri=registration.serving_image,
            parent_model=registration.parent_model,
            is_default_version=True,
            version_aliases=registration.aliases,
            labels=registration.labels,
            project=registration.project,
            location=registration.location,
            credentials=credentials,
        )
    except Exception as error:
        interrupts.raise_if_interrupt(error)
        raise explain_cloud_error(error) from error
    return str(model.resource_name), str(model.version_id)
