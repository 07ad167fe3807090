"""Compiling and fitting as the seed did: Adam with clipping and weight decay, three callbacks."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras

from trainer.splits import Splits

logger = logging.getLogger(__name__)

CLIPNORM = 1.0
REDUCE_LR_FACTOR = 0.2
REDUCE_LR_PATIENCE = 3
EARLY_STOPPING_PATIENCE = 10


@dataclass(frozen=True)
class FitResult:
    """What fitting produced: the per-epoch history and the restored best epoch's metrics."""

    history: dict[str, list[float]]
    best_epoch: int
    val_accuracy: float
    val_loss: float
    epochs_run: int
    seconds: float
    diverged: bool


def compile_model(model: keras.Model, params: Mapping[str, Any]) -> None:
    """Adam (clipnorm 1.0, weight decay), sparse cross-entropy, accuracy."""
    optimizer = keras.optimizers.Adam(
        learning_rate=params["learning_rate"],
        weight_decay=params["weight_decay"],
        clipnorm=CLIPNORM,
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def fit(
    model: keras.Model,
    splits: Splits,
    params: Mapping[str, Any],
    epochs: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> FitResult:
    """Fits a compiled model with validation, LR reduction, early stopping and NaN termination.

    No standard callback hooks individual batches, so Keras dispatches steps asynchronously.

    ``callbacks`` (such as a pruner's report or a tracker) run after the standard ones, so they
    see the learning rate and timing that ``EpochLog`` adds to each epoch's logs.
    """
    standard = [
        TerminateOnNaNEpoch(),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=REDUCE_LR_FACTOR, patience=REDUCE_LR_PATIENCE, verbose=0
        ),
        keras.callbacks.EarlyStopping(
            monitor="val_accuracy",
            mode="max",
            patience=EARLY_STOPPING_PATIENCE,
            restore_best_weights=True,
            verbose=0,
        ),
        EpochLog(epochs),
    ]
    started = time.perf_counter()
    history = model.fit(
        splits.x_train,
        splits.y_train,
        batch_size=int(params["batch_size"]),
        epochs=epochs,
        validation_data=(splits.x_val, splits.y_val),
        callbacks=[*standard, *callbacks],
        shuffle=True,
        verbose=0,
    )
    return _summarise(history.history, time.perf_counter() - started)


def _summarise(history: dict[str, list[float]], seconds: float) -> FitResult:
    losses = history.get("loss", [])
    val_accuracy = history.get("val_accuracy", [])
    diverged = not losses or not all(math.isfinite(v) for v in losses + val_accuracy)
    finite = [(v, i) for i, v in enumerate(val_accuracy) if math.isfinite(v)]
    best_value, best_index = max(finite) if finite else (math.nan, 0)
    val_loss = history.get("val_loss", [math.nan])
    return FitResult(
        history={key: [float(v) for v in values] for key, values in history.items()},
        best_epoch=best_index + 1,
        val_accuracy=float(best_value),
        val_loss=float(val_loss[best_index]) if best_index < len(val_loss) else math.nan,
        epochs_run=len(losses),
        seconds=seconds,
        diverged=diverged,
    )


class TerminateOnNaNEpoch(keras.callbacks.Callback):
    """Stops training when an epoch's loss is NaN or infinite, as ``TerminateOnNaN`` does.

    Keras's ``TerminateOnNaN`` checks every batch, which makes Keras wait for each step and
    turn its logs into Python numbers, giving up asynchronous dispatch (several percent of
    training speed on 2 CPU cores). A NaN in any batch makes the epoch's mean loss NaN, so
    checking once an epoch stops the same runs, at most one epoch later.
    """

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            logger.error("epoch %d: the loss is %s; training stops", epoch + 1, loss)
            self.model.stop_training = True


class EpochLog(keras.callbacks.Callback):
    """Logs one line per epoch and adds ``learning_rate`` and ``epoch_seconds`` to its logs."""

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None:
            return
        logs["epoch_seconds"] = time.perf_counter() - self._started
        logs["learning_rate"] = float(
            keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
        )
        logger.info(
            "epoch %d/%d  %.1fs  loss %.4f  accuracy %.4f  val_loss %.4f  val_accuracy %.4f"
            "  lr %.2e",
            epoch + 1,
            self.epochs,
            logs["epoch_seconds"],
            logs.get("loss", math.nan),
            logs.get("accuracy", math.nan),
            logs.get("val_loss", math.nan),
            logs.get("val_accuracy", math.nan),
            logs["learning_rate"],
        )
