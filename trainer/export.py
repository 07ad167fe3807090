"""Export: a SavedModel for TensorFlow Serving, ``model.keras`` and ``metadata.json``.

The three are written to a staging folder and moved into place only when all are complete,
so a failed export never leaves a half-written model directory. A ``gs://`` directory gets
``metadata.json`` last: its presence marks a complete export.

Layout (the SavedModel at the root, as Vertex AI's TensorFlow serving containers expect)::

    <model_dir>/saved_model.pb, variables/, assets/, fingerprint.pb
    <model_dir>/model.keras
    <model_dir>/metadata.json
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import keras

from trainer import storage
from trainer.errors import ExportError, disk_full

logger = logging.getLogger(__name__)

KERAS_FILE = "model.keras"
METADATA_FILE = "metadata.json"


def check_writable(model_dir: str) -> None:
    """Fails early, before any training, when a local ``model_dir`` cannot be written.

    Raises:
        ExportError: the path is a file, or its parent cannot be created or written.
    """
    if storage.is_remote(model_dir):
        return
    path = Path(model_dir)
    if path.exists() and not path.is_dir():
        raise ExportError(f"--model-dir {model_dir} is a file: pass a folder path.")
    try:
        path.absolute().parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.absolute().parent):
            pass
    except OSError as error:
        raise ExportError(
            f"Cannot write to --model-dir {model_dir} ({error.strerror or error}): "
            "pass a writable folder."
        ) from error


def export_model(model: keras.Model, model_dir: str, metadata: dict[str, Any]) -> None:
    """Writes the SavedModel (TensorFlow backend only), ``model.keras`` and ``metadata.json``."""
    if storage.is_remote(model_dir):
        with tempfile.TemporaryDirectory() as tmp:
            staged = Path(tmp) / "model"
            _write(model, staged, metadata)
            storage.upload_tree(staged, model_dir)
        return
    final = Path(model_dir).absolute()
    for stale in final.parent.glob(f".{final.name}.partial-*"):  # left by a killed process
        shutil.rmtree(stale, ignore_errors=True)
    staged = final.with_name(f".{final.name}.partial-{os.getpid()}")
    try:
        _write(model, staged, metadata)
        storage.replace_dir(staged, final)
    except BaseException as error:
        shutil.rmtree(staged, ignore_errors=True)
        full = disk_full(error, str(final))
        if full is not None:
            raise full from error
        raise


def _write(model: keras.Model, folder: Path, metadata: dict[str, Any]) -> None:
    folder.mkdir(parents=True)
    saved_model = keras.backend.backend() == "tensorflow"
    if saved_model:
        model.export(str(folder), format="tf_saved_model", verbose=False)
    else:
        logger.warning(
            "SavedModel export needs KERAS_BACKEND=tensorflow; writing only %s and %s",
            KERAS_FILE,
            METADATA_FILE,
        )
    model.save(folder / KERAS_FILE)
    document = {**metadata, "files": {"saved_model": saved_model, "keras": KERAS_FILE}}
    (folder / METADATA_FILE).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
