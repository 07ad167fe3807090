"""The best trial, retrained on every training image, tested once, exported, logged, registered."""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from model_space import run_name
from model_space.tta import served_model
from search import interrupts
from search.budget import RETRAIN_OVERHEAD_SECONDS
from search.engines import BestTrial
from search.study_config import StudyConfig
from search.tracking import RunState, Tracker
from search.trial import EpochTracking, StopAtBudget, TrialRunner
from trainer import storage
from trainer.data import CLASS_NAMES, FashionMnist
from trainer.evaluate import evaluate
from trainer.export import METADATA_FILE
from trainer.job import JobResult, train_job, train_model
from trainer.settings import RunSettings
from trainer.splits import split

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BestModel:
    job: JobResult
    run_id: str
    registered_version: str = ""
    #: the test accuracy of each retrained seed, the exported (first) one first
    seed_accuracies: tuple[float, ...] = field(default_factory=tuple)


def retrain_best(
    config: StudyConfig,
    best: BestTrial,
    data: FashionMnist,
    runner: TrialRunner,
    search_summary: dict[str, Any] | None = None,
) -> BestModel:
    """Retrains ``best`` for up to ``retrain_epochs`` with validation early stopping, evaluates
    it once on the test set, exports it to ``studies/<name>/best/`` and logs it as its own run.
    With MLflow tracking, registers it as a new version of ``fashion-mnist-cnn``.

    Under a time budget it trains as many epochs as the time left holds (at most
    ``retrain_epochs``); with ``retrain_seeds`` K > 1, K - 1 more seeds are trained and tested,
    and the mean and standard deviation of their test accuracy are logged and written to the
    export's metadata."""
    tracker = runner.tracker
    epochs = _affordable_epochs(config, best, runner)
    settings = RunSettings(
        epochs=epochs,
        data_dir=config.data_dir,
        model_dir=str(config.best_dir.absolute()),
        subset=config.retrain_subset,
        validation_size=config.validation_size,
        seed=config.seed,
        tta=config.tta,
        checkpoint_dir=str(config.checkpoint_dir(f"best-{best.key}").absolute()),
        objectives=config.objectives,
    )
    name = run_name(best.params, datetime.now(UTC), experiment=tracker.experiment, suffix="best")
    logger.info(
        "retraining the best trial %s (val_accuracy %.4f) for up to %d epochs as %s",
        best.key,
        best.val_accuracy,
        epochs,
        name,
    )
    run = tracker.start_run(
        name,
        {
            **best.params,
            "source_trial": best.key,
            "epochs": epochs,
            "seed": config.seed,
            "tta": str(config.tta).lower(),
            "retrain_seeds": config.retrain_seeds,
        },
        key=f"best-{best.key}",
    )
    guard = [StopAtBudget(runner.budget, RETRAIN_OVERHEAD_SECONDS)] if runner.budget.limited else []
    try:
        job = train_job(
            best.params, settings, data=data, name=name, callbacks=[EpochTracking(run), *guard]
        )
        accuracies = (job.test.accuracy, *_more_seeds(config, best, data, epochs))
    except KeyboardInterrupt:
        run.end("interrupted", "the worker was interrupted")
        raise
    except Exception as error:
        interrupt = interrupts.as_interrupt(error)
        if interrupt is not None:
            run.end("interrupted", "the worker was interrupted")
            raise interrupt from error
        run.end("failed", f"{type(error).__name__}: {error}")
        raise
    try:
        extra: dict[str, Any] = {"search": search_summary} if search_summary else {}
        if len(accuracies) > 1:
            extra["seeds"] = {**seed_summary(accuracies), "first_seed": config.seed}
        if extra:
            _add_to_metadata(config, extra)
        run.log_metrics(_final_metrics(job, accuracies))
        run.log_confusion_matrix(CLASS_NAMES, job.test.confusion_matrix)
        run.set_tags({"source_trial": best.key, "model_dir": job.model_dir, "role": "best"})
        version = _register(config, tracker, run.run_id, job, best)
    except BaseException as error:  # the export stands; the run must not stay RUNNING
        state: RunState = "interrupted" if interrupts.as_interrupt(error) else "failed"
        run.end(state, f"logging or registering failed: {type(error).__name__}: {error}")
        raise
    run.end("complete")
    return BestModel(job, run.run_id, version, accuracies)


def _affordable_epochs(config: StudyConfig, best: BestTrial, runner: TrialRunner) -> int:
    if best.throughput is None or not runner.budget.limited:
        return config.retrain_epochs
    epoch_seconds = runner.retrain_epoch_seconds(best.throughput)
    epochs = runner.budget.retrain_epochs(
        config.retrain_epochs, epoch_seconds, runs=config.retrain_seeds
    )
    if epochs < config.retrain_epochs:
        logger.warning(
            "time budget: %.1f min left and an epoch takes about %.0f s, so the retrain runs "
            "%d epochs instead of %d",
            runner.budget.left() / 60,
            epoch_seconds,
            epochs,
            config.retrain_epochs,
        )
    return epochs


def _more_seeds(
    config: StudyConfig, best: BestTrial, data: FashionMnist, epochs: int
) -> list[float]:
    """The test accuracy of seeds 2..K, trained and tested like the first, not exported."""
    if config.retrain_seeds < 2:
        return []
    splits = split(
        data,
        validation_size=config.validation_size,
        subset=config.retrain_subset,
        seed=config.seed,
    )
    accuracies = []
    for offset in range(1, config.retrain_seeds):
        logger.info("retraining seed %d of %d", offset + 1, config.retrain_seeds)
        model, _ = train_model(best.params, splits, epochs=epochs, seed=config.seed + offset)
        served = served_model(model, config.tta)
        accuracies.append(evaluate(served, splits.x_test, splits.y_test).accuracy)
    return accuracies


def seed_summary(accuracies: tuple[float, ...]) -> dict[str, Any]:
    return {
        "test_accuracy": list(accuracies),
        "mean": statistics.fmean(accuracies),
        "std": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
    }


def _add_to_metadata(config: StudyConfig, extra: dict[str, Any]) -> None:
    """Adds ``extra``'s keys to the export's metadata.json, replaced whole (never torn)."""
    path = config.best_dir / METADATA_FILE
    document = {**json.loads(path.read_text()), **extra}
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    storage.write_bytes(str(path), text.encode())


def _final_metrics(job: JobResult, accuracies: tuple[float, ...]) -> dict[str, float]:
    low, high = job.test.accuracy_interval()
    metrics = {
        "val_accuracy": job.validation.accuracy,
        "val_loss": job.validation.loss,
        "best_epoch_val_accuracy": job.fit.val_accuracy,
        "test_accuracy": job.test.accuracy,
        "test_accuracy_95_low": low,
        "test_accuracy_95_high": high,
        "val_minus_test": job.gap,
        "test_loss": job.test.loss,
        "best_epoch": float(job.fit.best_epoch),
        "epochs_run": float(job.fit.epochs_run),
        "parameter_count": float(job.metadata["parameter_count"]),
    }
    for name, measured in job.metadata.get("objectives", {}).items():
        metrics.setdefault(name, float(measured["value"]))
    for row in job.test.per_class:
        slug = row.name.lower().replace("/", "_").replace("-", "_").replace(" ", "_")
        metrics[f"test_f1_{slug}"] = row.f1
    if len(accuracies) > 1:
        summary = seed_summary(accuracies)
        metrics["test_accuracy_mean"] = summary["mean"]
        metrics["test_accuracy_std"] = summary["std"]
    return metrics


def _register(
    config: StudyConfig, tracker: Tracker, run_id: str, job: JobResult, best: BestTrial
) -> str:
    version = tracker.register(
        run_id,
        config.best_dir,
        study=config.name,
        tags={
            "study": config.name,
            "run_name": job.run_name,
            "source_trial": best.key,
            "val_accuracy": f"{job.validation.accuracy:.4f}",
            "test_accuracy": f"{job.test.accuracy:.4f}",
        },
    )
    if not version:
        logger.info("tracking %s: the best model is exported but not registered", config.tracking)
    return version
