"""One training job: data, fit, test evaluation, export, hypertune report."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import keras

from model_space import CNN_SPACE, run_name
from model_space.cnn import build_cnn
from model_space.tta import served_model
from trainer.batches import full_batches
from trainer.checkpoint import Checkpoint
from trainer.data import FashionMnist, load_fashion_mnist
from trainer.errors import TrainingDiverged
from trainer.evaluate import Evaluation, evaluate
from trainer.export import check_writable, export_model
from trainer.fit import FitResult, compile_model, fit
from trainer.hypertune_report import report_objectives
from trainer.keras_session import reset_keras_session
from trainer.metadata import build_metadata
from trainer.objectives import OBJECTIVES, Subject, describe, measure
from trainer.settings import SUSPICIOUS_GAP, RunSettings
from trainer.splits import Splits, split

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobResult:
    """``validation`` and ``test`` evaluate the exported model (with flip TTA when on)."""

    run_name: str
    model_dir: str
    params: dict[str, Any]
    fit: FitResult
    validation: Evaluation
    test: Evaluation
    metadata: dict[str, Any]

    @property
    def gap(self) -> float:
        """Validation minus test accuracy of the exported model."""
        return self.validation.accuracy - self.test.accuracy


def train_model(
    params: Mapping[str, Any],
    splits: Splits,
    *,
    epochs: int,
    seed: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    checkpoint: Checkpoint | None = None,
) -> tuple[keras.Model, FitResult]:
    """Seeds every random source, builds, compiles and fits the CNN for ``params``; with
    ``checkpoint``, saves every epoch and continues from an earlier fit's last epoch.

    Keras's and TensorFlow's global state from earlier models (a search's previous trials) is
    freed first, so memory does not grow from trial to trial.
    """
    reset_keras_session()
    keras.utils.set_random_seed(seed)
    model = build_cnn(params, seed=seed)
    compile_model(
        model, params, epochs * full_batches(len(splits.y_train), int(params["batch_size"]))
    )
    logger.info(
        "training %s (%s parameters) on %d images, validating on %d, for up to %d epochs",
        params["filters"],
        f"{model.count_params():,}",
        len(splits.y_train),
        len(splits.y_val),
        epochs,
    )
    return model, fit(model, splits, params, epochs, callbacks, checkpoint=checkpoint, seed=seed)


def train_job(
    params: Mapping[str, Any],
    settings: RunSettings,
    *,
    data: FashionMnist | None = None,
    name: str | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> JobResult:
    """Trains ``params``, evaluates once on the test set, exports, and reports to hypertune.

    Args:
        params: a point of the space (missing names take their defaults).
        settings: epochs, data, model directory, seed...
        data: the data set, when the caller has it loaded already.
        name: the run name (default: the run-name rule at the current time).
        callbacks: more Keras callbacks for the fit, such as a tracker's.

    Raises:
        ValueError: a parameter outside the space, or split sizes that do not fit.
        DataError: the data set is missing or corrupt.
        ExportError: the model directory cannot be written (checked before training).
        TrainingDiverged: the loss became NaN; nothing is exported.
    """
    point = CNN_SPACE.validate(params)
    started = datetime.now(UTC)
    name = name or run_name(point, started)
    model_dir = settings.resolved_model_dir(name)
    check_writable(model_dir)
    data = data or load_fashion_mnist(settings.data_dir)
    splits = split(
        data, validation_size=settings.validation_size, subset=settings.subset, seed=settings.seed
    )
    checkpoint_dir = settings.resolved_checkpoint_dir()
    checkpoint = Checkpoint(checkpoint_dir) if checkpoint_dir else None
    model, fitted = train_model(
        point,
        splits,
        epochs=settings.epochs,
        seed=settings.seed,
        callbacks=callbacks,
        checkpoint=checkpoint,
    )
    if fitted.diverged:
        raise TrainingDiverged(f"{name}: the loss became NaN; nothing was exported.")
    served = served_model(model, settings.tta)
    validation = evaluate(served, splits.x_val, splits.y_val)
    test = evaluate(served, splits.x_test, splits.y_test)
    _log_test(fitted, validation, test, tta=settings.tta)
    before = [n for n in settings.objectives if OBJECTIVES[n].before_training]
    after = [n for n in settings.objectives if n not in before]
    measured = measure(Subject(served), before)
    metadata = build_metadata(
        run_name=name,
        params=point,
        settings=settings,
        model=model,
        data=data,
        splits=splits,
        fitted=fitted,
        validation=validation,
        test=test,
        started=started,
        finished=datetime.now(UTC),
    )
    metadata["objectives"] = describe(
        {**measured, **measure(Subject(served, fitted, validation), after)}
    )
    export_model(served, model_dir, metadata)
    logger.info("exported %s to %s", name, model_dir)
    if checkpoint is not None:
        checkpoint.delete()  # the export is complete: nothing left to continue
    if settings.reports_hypertune:
        trial_values = {**measured, **measure(Subject(served, fitted), after)}
        report_objectives(trial_values, fitted.best_epoch, primary=settings.objectives[0])
    if settings.experiment:
        _log_experiment_run(settings.experiment, name, point, settings, fitted, test)
    return JobResult(name, model_dir, point, fitted, validation, test, metadata)


def _log_experiment_run(
    experiment: str,
    name: str,
    params: dict[str, Any],
    settings: RunSettings,
    fitted: FitResult,
    test: Evaluation,
) -> None:
    from trainer.vertex_experiment import log_job

    trial = os.environ.get("CLOUD_ML_TRIAL_ID")
    log_job(
        experiment=experiment,
        name=f"{name}-t{trial}" if trial else name,
        params={**params, "seed": settings.seed, "epochs": settings.epochs},
        metrics={
            "val_accuracy": fitted.val_accuracy,
            "val_loss": fitted.val_loss,
            "test_accuracy": test.accuracy,
            "test_loss": test.loss,
            "epochs_run": fitted.epochs_run,
        },
        labels=[row.name for row in test.per_class],
        matrix=[list(row) for row in test.confusion_matrix],
    )


def _log_test(fitted: FitResult, validation: Evaluation, test: Evaluation, *, tta: bool) -> None:
    gap = validation.accuracy - test.accuracy
    low, high = test.accuracy_interval()
    logger.info(
        "%svalidation accuracy %.4f (epoch %d), test accuracy %.4f (95%% interval %.4f-%.4f), "
        "test loss %.4f\n%s",
        "with flip TTA: " if tta else "",
        validation.accuracy,
        fitted.best_epoch,
        test.accuracy,
        low,
        high,
        test.loss,
        test.table(),
    )
    if gap > SUSPICIOUS_GAP:
        logger.warning(
            "test accuracy is %.1f points below validation: check preprocessing and leakage",
            100 * gap,
        )
