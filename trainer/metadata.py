"""The ``metadata.json`` document that travels with every exported model."""

from __future__ import annotations

import platform
from dataclasses import asdict
from datetime import datetime
from importlib import metadata as package_metadata
from typing import Any

import keras

from trainer.data import FashionMnist
from trainer.evaluate import Evaluation
from trainer.fit import FitResult
from trainer.settings import RunSettings
from trainer.splits import Splits

_PACKAGES = ("keras", "tensorflow", "tensorflow-cpu", "jax", "numpy", "scikit-learn")


def build_metadata(
    *,
    run_name: str,
    params: dict[str, Any],
    settings: RunSettings,
    model: keras.Model,
    data: FashionMnist,
    splits: Splits,
    fitted: FitResult,
    validation: Evaluation,
    test: Evaluation,
    started: datetime,
    finished: datetime,
) -> dict[str, Any]:
    return {
        "run_name": run_name,
        "params": params,
        "settings": asdict(settings),
        "seed": settings.seed,
        "parameter_count": int(model.count_params()),
        "validation": {
            "accuracy": validation.accuracy,
            "accuracy_95": validation.accuracy_interval(),
            "loss": validation.loss,
            "best_epoch_accuracy": fitted.val_accuracy,
            "best_epoch_loss": fitted.val_loss,
            "best_epoch": fitted.best_epoch,
            "epochs_run": fitted.epochs_run,
            "fit_seconds": fitted.seconds,
            "history": fitted.history,
        },
        "test": test.to_dict(),
        "validation_minus_test": validation.accuracy - test.accuracy,
        "flip_tta": settings.tta,
        "data": {
            "source": data.source,
            "sha256": data.checksums,
            "train_images": len(splits.y_train),
            "validation_images": len(splits.y_val),
            "test_images": len(splits.y_test),
        },
        "versions": library_versions(),
        "started": started.isoformat(),
        "finished": finished.isoformat(),
    }


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "keras_backend": keras.backend.backend()}
    for name in _PACKAGES:
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            continue
    return versions
