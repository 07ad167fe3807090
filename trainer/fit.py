"""Compiling and fitting: AdamW on a schedule tied to the epoch budget, label smoothing.

The learning rate warms up linearly for the first ``WARMUP_FRACTION`` of the steps from a tenth
of its peak (the ``learning_rate`` parameter) to the peak, then follows a cosine to zero at the
last step (a one-cycle shape). So a 6-epoch trial is a complete schedule, not the first part of
a 20-epoch one, and short trials rank configurations the way long runs do far better.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras

from model_space.space import NUM_CLASSES
from trainer.batches import EpochBatches, validation_dataset
from trainer.checkpoint import Checkpoint, EpochCheckpoint, fingerprint
from trainer.splits import Splits

logger = logging.getLogger(__name__)

CLIPNORM = 1.0
WARMUP_FRACTION = 0.2
WARMUP_START = 0.1
EARLY_STOPPING_PATIENCE = 10
# Validation in batches of 1,000 whatever the training batch: 10,000 images make 10 steps of one
# shape (one XLA program; batches of 64 took 157 steps and a second program for the last 16).
VALIDATION_BATCH_SIZE = 1000


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


def learning_rate_schedule(peak: float, total_steps: int) -> keras.optimizers.schedules.CosineDecay:
    """Linear warm-up from ``WARMUP_START * peak`` to ``peak``, then a cosine to 0 at the end."""
    warmup = max(1, round(WARMUP_FRACTION * total_steps))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=WARMUP_START * peak,
        decay_steps=max(1, total_steps - warmup),
        alpha=0.0,
        warmup_target=peak,
        warmup_steps=warmup,
    )


def compile_model(model: keras.Model, params: Mapping[str, Any], total_steps: int) -> None:
    """AdamW (clipnorm 1.0) on the schedule over ``total_steps``, cross-entropy with
    ``label_smoothing`` on one-hot labels, accuracy."""
    optimizer = keras.optimizers.AdamW(
        learning_rate=learning_rate_schedule(params["learning_rate"], total_steps),
        weight_decay=params["weight_decay"],
        clipnorm=CLIPNORM,
    )
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=params["label_smoothing"])
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])


def one_hot(labels: Any) -> Any:
    return keras.utils.to_categorical(labels, NUM_CLASSES).astype("float32")


def fit(
    model: keras.Model,
    splits: Splits,
    params: Mapping[str, Any],
    epochs: int,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    checkpoint: Checkpoint | None = None,
    seed: int = 0,
) -> FitResult:
    """Fits a compiled model with validation, early stopping and NaN termination.

    No standard callback hooks individual batches, so Keras dispatches steps asynchronously.

    ``callbacks`` (such as a pruner's report or a tracker) run after the standard ones, so they
    see the learning rate and timing that ``EpochLog`` adds to each epoch's logs. Callbacks with
    a ``restored(history)`` method are told the epochs a checkpoint brought back first.

    With ``checkpoint``, the fit's state is saved at the end of every epoch, and a fit of the
    same parameters, data sizes, epochs and seed continues from it after its last epoch.
    """
    stopping = EarlyStoppingOnDevice(EARLY_STOPPING_PATIENCE)
    standard: list[keras.callbacks.Callback] = [TerminateOnNaNEpoch(), stopping, EpochLog(epochs)]
    initial_epoch, restored_history = 0, {}
    if checkpoint is not None:
        key = fingerprint(
            params,
            epochs=epochs,
            seed=seed,
            train=len(splits.y_train),
            val=len(splits.y_val),
            precision=model.dtype_policy.name,
        )
        restored = checkpoint.restore(model, key)
        if restored is not None:
            initial_epoch, restored_history = restored.epoch, restored.history
            stopping.resume(restored.stopping, restored.best_weights)
            logger.info("continuing from the checkpoint of epoch %d of %d", initial_epoch, epochs)
            for callback in callbacks:
                if hasattr(callback, "restored"):
                    callback.restored(restored_history)
        standard.append(EpochCheckpoint(checkpoint, key, stopping, restored_history))
    batches = EpochBatches(
        splits.x_train,
        one_hot(splits.y_train),
        int(params["batch_size"]),
        seed=seed,
        first_epoch=initial_epoch,
    )
    tensorflow = keras.backend.backend() == "tensorflow"
    # a checkpoint of the last epoch leaves no epoch to run: one is built, never read
    data = batches.tf_dataset(max(1, epochs - initial_epoch)) if tensorflow else batches
    validation_size = min(VALIDATION_BATCH_SIZE, len(splits.y_val))
    validation: dict[str, Any] = (
        {
            "validation_data": validation_dataset(
                splits.x_val, one_hot(splits.y_val), validation_size
            )
        }
        if tensorflow
        else {
            "validation_data": (splits.x_val, one_hot(splits.y_val)),
            "validation_batch_size": validation_size,
        }
    )
    started = time.perf_counter()
    history = model.fit(
        data,
        steps_per_epoch=batches.steps,
        epochs=epochs,
        initial_epoch=initial_epoch,
        **validation,
        callbacks=[*standard, *callbacks],
        shuffle=False,  # EpochBatches orders each epoch
        verbose=0,
    )
    merged = {
        name: [*restored_history.get(name, []), *history.history.get(name, [])]
        for name in {*restored_history, *history.history}
    }
    return _summarise(merged, time.perf_counter() - started)


def _summarise(history: dict[str, list[float]], seconds: float) -> FitResult:
    losses = history.get("loss", [])
    val_accuracy = history.get("val_accuracy", [])
    diverged = not losses or not all(math.isfinite(v) for v in losses + val_accuracy)
    finite = [i for i, v in enumerate(val_accuracy) if math.isfinite(v)]
    # EarlyStopping restores the first of tied best epochs: report that one
    best_index = max(finite, key=lambda i: (val_accuracy[i], -i)) if finite else 0
    best_value = val_accuracy[best_index] if finite else math.nan
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


class EarlyStoppingOnDevice(keras.callbacks.Callback):
    """Keras's ``EarlyStopping(monitor="val_accuracy", restore_best_weights=True)``, keeping
    the best epoch's weights as copies on the device.

    Keras's callback copies every weight to the host (``get_weights``) at each improving epoch,
    one synchronous transfer a variable: on a GPU, where a seed-sized epoch takes about a
    second, that stalls the device each time. Here the copy stays where the weights are, and
    is written back once, at the end. Ties keep the first best epoch, as Keras does.
    """

    def __init__(self, patience: int) -> None:
        super().__init__()
        self.patience = patience
        self.best = -math.inf
        self.best_epoch = -1
        self.wait = 0
        self.best_weights: list[Any] | None = None
        self._resumed = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._resumed:
            self.best, self.best_epoch, self.wait, self.best_weights = -math.inf, -1, 0, None

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps (the best weights go beside it)."""
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def resume(self, state: Mapping[str, Any], best_weights: list[Any] | None) -> None:
        """Continues from a checkpoint's ``state()`` and best weights."""
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.wait = int(state["wait"])
        self.best_weights = (
            None if best_weights is None else [keras.ops.convert_to_tensor(w) for w in best_weights]
        )
        self._resumed = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get("val_accuracy")
        if value is None:
            return
        if float(value) > self.best:
            self.best, self.best_epoch, self.wait = float(value), epoch, 0
            self.best_weights = [keras.ops.copy(weight.value) for weight in self.model.weights]
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.best_weights is None:
            return
        for weight, saved in zip(self.model.weights, self.best_weights, strict=True):
            weight.assign(saved)


class EpochLog(keras.callbacks.Callback):
    """Logs one line per epoch and adds ``learning_rate``, ``epoch_seconds`` and
    ``val_seconds`` (the part of the epoch spent validating) to its logs.

    The epoch count it shows and its time left come from the fit's ``params["epochs"]`` (one
    dict shared by all the fit's callbacks), so a callback that shortens the fit (the retrain's
    annealing budget stop) can say so there; ``epochs`` serves outside a fit."""

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs
        self._started = 0.0
        self._validation_started = 0.0
        self._validation_seconds = 0.0
        self._epoch_seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._started = time.perf_counter()
        self._validation_seconds = 0.0

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._validation_started = time.perf_counter()

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        self._validation_seconds += time.perf_counter() - self._validation_started

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None:
            return
        logs["epoch_seconds"] = time.perf_counter() - self._started
        logs["val_seconds"] = self._validation_seconds
        logs["learning_rate"] = float(
            keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
        )
        self._epoch_seconds.append(logs["epoch_seconds"])
        logger.info(
            "epoch %d/%d  %.1fs  loss %.4f  accuracy %.4f  val_loss %.4f  val_accuracy %.4f"
            "  lr %.2e%s",
            epoch + 1,
            self._total(),
            logs["epoch_seconds"],
            logs.get("loss", math.nan),
            logs.get("accuracy", math.nan),
            logs.get("val_loss", math.nan),
            logs.get("val_accuracy", math.nan),
            logs["learning_rate"],
            self._left(epoch + 1),
        )

    def _total(self) -> int:
        return int((self.params or {}).get("epochs") or self.epochs)

    def _left(self, done: int) -> str:
        """``"  about 3m20s left"`` from the steady epochs so far (the first compiles)."""
        total = self._total()
        if done >= total:
            return ""
        steady = self._epoch_seconds[1:] or self._epoch_seconds
        seconds = round(sum(steady) / len(steady) * (total - done))
        return f"  about {seconds // 60}m{seconds % 60:02d}s left"
