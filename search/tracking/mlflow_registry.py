"""The local Model Registry: MLflow's. Each retrained best model becomes a new version.

The version is logged with MLflow's Keras flavour from the exported ``model.keras``, linked to
its run, and given two aliases: ``best`` (the newest registered best) and the study's name.
Load it with ``mlflow.keras.load_model("models:/fashion-mnist-cnn@best")``: the exported model
is built from stock Keras layers only (``model_space.tta.served_model``).
"""

from __future__ import annotations

import logging
import re
from importlib import metadata
from pathlib import Path

import keras
import numpy as np
from mlflow.exceptions import MlflowException

from search.tracking.mlflow_tracker import MlflowTracker

logger = logging.getLogger(__name__)

MODEL_NAME = "fashion-mnist-cnn"
BEST_ALIAS = "best"


def register_best(
    tracker: MlflowTracker, run_id: str, model_dir: Path, *, study: str, tags: dict[str, str]
) -> str:
    """Registers ``model_dir/model.keras`` as a new version of ``fashion-mnist-cnn``.

    A version left by a registration that was killed half-way (its run was discarded when the
    retrain ran again) is deleted first, so a model is registered once.

    Returns:
        The new version number.
    """
    import mlflow
    import mlflow.keras
    from mlflow.models import infer_signature

    _drop_unfinished_versions(tracker)
    model = keras.models.load_model(model_dir / "model.keras")
    example = np.zeros((2, 28, 28), dtype=np.uint8)
    signature = infer_signature(example, np.asarray(model.predict(example, verbose=0)))
    mlflow.set_tracking_uri(tracker.uri)
    with mlflow.start_run(run_id=run_id):
        info = mlflow.keras.log_model(
            model,
            name="model",
            registered_model_name=MODEL_NAME,
            signature=signature,
            pip_requirements=_requirements(),
            await_registration_for=0,
        )
    version = str(info.registered_model_version)
    client = tracker.client
    for alias in (BEST_ALIAS, _alias(study)):
        client.set_registered_model_alias(MODEL_NAME, alias, version)
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, version, key, value)
    logger.info(
        "registered %s version %s (aliases %s, %s)", MODEL_NAME, version, BEST_ALIAS, _alias(study)
    )
    return version


def _drop_unfinished_versions(tracker: MlflowTracker) -> None:
    client = tracker.client
    for version in client.search_model_versions(f"name='{MODEL_NAME}'"):
        if version.tags.get("study"):  # tags are set last: this registration finished
            continue
        try:
            stage = client.get_run(version.run_id).info.lifecycle_stage if version.run_id else ""
        except MlflowException as error:
            if error.error_code != "RESOURCE_DOES_NOT_EXIST":  # a transient error proves nothing
                logger.warning(
                    "version %s kept: its run could not be read (%s)", version.version, error
                )
                continue
            stage = "deleted"  # the run is gone altogether
        if stage == "deleted":
            logger.info("deleting version %s of a registration never finished", version.version)
            client.delete_model_version(MODEL_NAME, version.version)


def _alias(study: str) -> str:
    alias = re.sub(r"[^A-Za-z0-9_-]", "-", study)
    return (
        alias
        if alias not in ("latest", BEST_ALIAS) and not re.fullmatch(r"v\d+", alias)
        else f"study-{alias}"
    )


def _requirements() -> list[str]:
    requirements = []
    for package in ("keras", "tensorflow-cpu", "tensorflow", "numpy"):
        try:
            requirements.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return requirements
