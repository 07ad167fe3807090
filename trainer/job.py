"""One training job: data, fit, test evaluation, export, hypertune report."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import keras
import numpy as np

from model_space import CNN_SPACE, run_name
from model_space.cnn import build_cnn
from model_space.tta import served_model
from trainer import storage
from trainer.batches import full_batches
from trainer.checkpoint import Checkpoint
from trainer.data import FashionMnist, load_fashion_mnist
from trainer.errors import TrainingDiverged
from trainer.evaluate import PREDICT_BATCH_SIZE, Evaluation, evaluate, evaluate_probabilities
from trainer.export import check_writable, export_model
from trainer.fit import FitResult, compile_model, fit
from trainer.hypertune_report import report_objectives
from trainer.keras_session import reset_keras_session
from trainer.metadata import build_metadata
from trainer.objectives import OBJECTIVES, Subject, describe, measure
from trainer.precision import apply as apply_precision
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
    precision: str = "float32",
) -> tuple[keras.Model, FitResult]:
    """Seeds every random source, builds, compiles and fits the CNN for ``params`` under
    ``precision`` (``trainer.precision``); with ``checkpoint``, saves every epoch and continues
    from an earlier fit's last epoch.

    Keras's and TensorFlow's global state from earlier models (a search's previous trials) is
    freed first, so memory does not grow from trial to trial; the reset also resets the dtype
    policy, which is set after it.
    """
    reset_keras_session()
    policy = apply_precision(precision)
    keras.utils.set_random_seed(seed)
    model = build_cnn(params, seed=seed)
    compile_model(
        model, params, epochs * full_batches(len(splits.y_train), int(params["batch_size"]))
    )
    logger.info(
        "training %s (%s parameters) on %d images, validating on %d, for up to %d epochs%s",
        params["filters"],
        f"{model.count_params():,}",
        len(splits.y_train),
        len(splits.y_val),
        epochs,
        "" if policy == "float32" else f" in {policy}",
    )
    return model, fit(model, splits, params, epochs, callbacks, checkpoint=checkpoint, seed=seed)


def train_job(
    params: Mapping[str, Any],
    settings: RunSettings,
    *,
    data: FashionMnist | None = None,
    name: str | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    more_members: Sequence[tuple[Mapping[str, Any], int]] = (),
    member_callbacks: Callable[[int], Sequence[keras.callbacks.Callback]] = lambda index: (),
) -> JobResult:
    """Trains ``params``, evaluates once on the test set, exports, and reports to hypertune.

    With ``more_members`` (``(params, seed)`` pairs), those are trained too, each like the
    first, and the export is their ensemble: the mean of the members' probabilities. A member
    whose validation accuracy is more than ``MEMBER_DROP`` below the best member's is left out.

    Args:
        params: a point of the space (missing names take their defaults).
        settings: epochs, data, model directory, seed...
        data: the data set, when the caller has it loaded already.
        name: the run name (default: the run-name rule at the current time).
        callbacks: more Keras callbacks for the (first member's) fit, such as a tracker's.
        more_members: the ensemble's other members.
        member_callbacks: the callbacks of member ``index`` (2, 3...), such as a budget guard.

    Raises:
        ValueError: a parameter outside the space, or split sizes that do not fit.
        DataError: the data set is missing or corrupt.
        ExportError: the model directory cannot be written (checked before training).
        TrainingDiverged: the loss became NaN; nothing is exported.
    """
    point = CNN_SPACE.validate(params)
    points = [(point, settings.seed), *((CNN_SPACE.validate(p), s) for p, s in more_members)]
    started = datetime.now(UTC)
    name = name or run_name(point, started)
    model_dir = settings.resolved_model_dir(name)
    check_writable(model_dir)
    data = data or load_fashion_mnist(settings.data_dir)
    splits = split(
        data, validation_size=settings.validation_size, subset=settings.subset, seed=settings.seed
    )
    checkpoint_dir = settings.resolved_checkpoint_dir()
    trained: list[tuple[keras.Model, FitResult]] = []
    checkpoints: list[Checkpoint] = []
    for index, (member, seed) in enumerate(points, start=1):
        if len(points) > 1:
            logger.info("ensemble member %d of %d (seed %d)", index, len(points), seed)
        folder = checkpoint_dir and (
            checkpoint_dir if index == 1 else storage.join(checkpoint_dir, f"member-{index}")
        )
        checkpoint = Checkpoint(folder) if folder else None
        checkpoints.extend([checkpoint] if checkpoint else [])
        model, fitted = train_model(
            member,
            splits,
            epochs=settings.epochs,
            seed=seed,
            callbacks=callbacks if index == 1 else member_callbacks(index),
            checkpoint=checkpoint,
            precision=settings.precision,
        )
        if fitted.diverged:
            raise TrainingDiverged(f"{name}: the loss became NaN; nothing was exported.")
        trained.append((model, fitted))
    model, fitted = trained[0]
    kept, members, ensemble_validation, ensemble_test = _ensemble(
        trained, points, splits, settings.tta
    )
    served = served_model([m for m, _ in kept], settings.tta)
    validation = ensemble_validation or evaluate(served, splits.x_val, splits.y_val)
    test = ensemble_test or evaluate(served, splits.x_test, splits.y_test)
    _log_test(fitted, validation, test, tta=settings.tta, members=len(kept))
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
    if members:
        metadata["parameter_count"] = sum(int(m.count_params()) for m, _ in kept)
        metadata["ensemble"] = {"combine": "mean of the members' probabilities", "members": members}
    export_model(served, model_dir, metadata)
    logger.info("exported %s to %s", name, model_dir)
    for checkpoint in reversed(checkpoints):  # the members' folders are inside the first's
        checkpoint.delete()  # the export is complete: nothing left to continue
    if settings.reports_hypertune:
        trial_values = {**measured, **measure(Subject(served, fitted), after)}
        report_objectives(trial_values, fitted.best_epoch, primary=settings.objectives[0])
    if settings.experiment:
        _log_experiment_run(settings.experiment, name, point, settings, fitted, test)
    return JobResult(name, model_dir, point, fitted, validation, test, metadata)


#: A member more than this far below the best member's validation accuracy is left out.
MEMBER_DROP = 0.01


def _ensemble(
    trained: Sequence[tuple[keras.Model, FitResult]],
    points: Sequence[tuple[dict[str, Any], int]],
    splits: Splits,
    tta: bool,
) -> tuple[
    list[tuple[keras.Model, FitResult]], list[dict[str, Any]], Evaluation | None, Evaluation | None
]:
    """The members kept (all but those far below the best on validation), what the metadata
    says of each, and the ensemble's validation and test evaluations: the mean of the kept
    members' served probabilities, which is what the served ensemble computes (both means are
    linear), so no image goes through the members twice. One trained model is kept as it is,
    with nothing to say (the evaluations are ``None``)."""
    if len(trained) == 1:
        return list(trained), [], None, None
    described: list[dict[str, Any]] = []
    outputs: list[tuple[np.ndarray, np.ndarray]] = []
    for (model, fitted), (point, seed) in zip(trained, points, strict=True):
        served = served_model(model, tta)
        on_val, on_test = (
            np.asarray(served.predict(x, batch_size=PREDICT_BATCH_SIZE, verbose=0))
            for x in (splits.x_val, splits.x_test)
        )
        outputs.append((on_val, on_test))
        described.append(
            {
                "params": point,
                "seed": seed,
                "parameter_count": int(model.count_params()),
                "best_epoch": fitted.best_epoch,
                "epochs_run": fitted.epochs_run,
                "fit_seconds": fitted.seconds,
                "validation_accuracy": evaluate_probabilities(on_val, splits.y_val).accuracy,
                "test_accuracy": evaluate_probabilities(on_test, splits.y_test).accuracy,
            }
        )
    best = max(float(d["validation_accuracy"]) for d in described)
    kept, members, kept_outputs = [], [], []
    for index, (pair, description, output) in enumerate(
        zip(trained, described, outputs, strict=True), start=1
    ):
        description["kept"] = description["validation_accuracy"] >= best - MEMBER_DROP
        logger.info(
            "member %d: validation accuracy %.4f, test accuracy %.4f%s",
            index,
            description["validation_accuracy"],
            description["test_accuracy"],
            "" if description["kept"] else " (left out: too far below the best member)",
        )
        if description["kept"]:
            kept.append(pair)
            kept_outputs.append(output)
        members.append(description)
    validation = evaluate_probabilities(np.mean([v for v, _ in kept_outputs], axis=0), splits.y_val)
    test = evaluate_probabilities(np.mean([t for _, t in kept_outputs], axis=0), splits.y_test)
    return kept, members, validation, test


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


def _log_test(
    fitted: FitResult, validation: Evaluation, test: Evaluation, *, tta: bool, members: int = 1
) -> None:
    gap = validation.accuracy - test.accuracy
    low, high = test.accuracy_interval()
    served = [f"an ensemble of {members}"] if members > 1 else []
    served += ["flip TTA"] if tta else []
    logger.info(
        "%svalidation accuracy %.4f (epoch %d), test accuracy %.4f (95%% interval %.4f-%.4f), "
        "test loss %.4f\n%s",
        f"with {' and '.join(served)}: " if served else "",
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
