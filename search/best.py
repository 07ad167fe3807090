"""The best trial, retrained on every training image, tested once, exported, logged, registered."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from model_space import run_name
from search.engines import BestTrial
from search.study_config import StudyConfig
from search.tracking import Tracker
from search.trial import EpochTracking
from trainer.data import CLASS_NAMES, FashionMnist
from trainer.job import JobResult, train_job
from trainer.settings import RunSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BestModel:
    job: JobResult
    run_id: str
    registered_version: str = ""


def retrain_best(
    config: StudyConfig, best: BestTrial, data: FashionMnist, tracker: Tracker
) -> BestModel:
    """Retrains ``best`` for up to ``retrain_epochs`` with validation early stopping, evaluates
    it once on the test set, exports it to ``studies/<name>/best/`` and logs it as its own run.
    With MLflow tracking, registers it as a new version of ``fashion-mnist-cnn``."""
    settings = RunSettings(
        epochs=config.retrain_epochs,
        data_dir=config.data_dir,
        model_dir=str(config.best_dir.absolute()),
        subset=config.retrain_subset,
        validation_size=config.validation_size,
        seed=config.seed,
    )
    name = run_name(best.params, datetime.now(UTC), experiment=tracker.experiment, suffix="best")
    logger.info(
        "retraining the best trial %s (val_accuracy %.4f) for up to %d epochs as %s",
        best.key,
        best.val_accuracy,
        config.retrain_epochs,
        name,
    )
    run = tracker.start_run(
        name,
        {
            **best.params,
            "source_trial": best.key,
            "epochs": config.retrain_epochs,
            "seed": config.seed,
        },
        key=f"best-{best.key}",
    )
    try:
        job = train_job(best.params, settings, data=data, name=name, callbacks=[EpochTracking(run)])
    except KeyboardInterrupt:
        run.end("interrupted", "the worker was interrupted")
        raise
    except Exception as error:
        run.end("failed", f"{type(error).__name__}: {error}")
        raise
    run.log_metrics(_final_metrics(job))
    run.log_confusion_matrix(CLASS_NAMES, job.test.confusion_matrix)
    run.set_tags({"source_trial": best.key, "model_dir": job.model_dir, "role": "best"})
    version = _register(config, tracker, run.run_id, job, best)
    run.end("complete")
    return BestModel(job=job, run_id=run.run_id, registered_version=version)


def _final_metrics(job: JobResult) -> dict[str, float]:
    metrics = {
        "val_accuracy": job.fit.val_accuracy,
        "val_loss": job.fit.val_loss,
        "test_accuracy": job.test.accuracy,
        "test_loss": job.test.loss,
        "best_epoch": float(job.fit.best_epoch),
        "epochs_run": float(job.fit.epochs_run),
        "parameter_count": float(job.metadata["parameter_count"]),
    }
    for row in job.test.per_class:
        slug = row.name.lower().replace("/", "_").replace("-", "_").replace(" ", "_")
        metrics[f"test_f1_{slug}"] = row.f1
    return metrics


def _register(
    config: StudyConfig, tracker: Tracker, run_id: str, job: JobResult, best: BestTrial
) -> str:
    if config.tracking != "mlflow":
        logger.info(
            "tracking is %s: the best model is exported but not registered", config.tracking
        )
        return ""
    from search.registry import register_best
    from search.tracking.mlflow_tracker import MlflowTracker

    if not isinstance(tracker, MlflowTracker):
        raise TypeError(f"MLflow tracking expected, but got {type(tracker).__name__}.")
    return register_best(
        tracker,
        run_id,
        config.best_dir,
        study=config.name,
        tags={
            "study": config.name,
            "run_name": job.run_name,
            "source_trial": best.key,
            "val_accuracy": f"{job.fit.val_accuracy:.4f}",
            "test_accuracy": f"{job.test.accuracy:.4f}",
        },
    )
